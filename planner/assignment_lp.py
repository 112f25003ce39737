"""The territory assignment model as a linear program, solved with OR-Tools.

The only module of the territory planner that imports a solver library.
One column per candidate (account, rep) pair; each account is assigned once;
each rep's potential and workload stay within a band around its fair share
and its workload within capacity. Band and capacity rows are elastic (a
penalised slack), so the model is always feasible and a capacity shortfall
is a result, not an error. Workload's fair share depends on the total
workload, which depends on the assignment, so the total is a variable ω
(in units of an estimate) tied to the pairs by one row.

`price_pairs` evaluates reduced costs of pairs outside the model from the
duals, which the caller uses for column generation and for a Lagrangian lower
bound valid for the model over *all* pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from ortools.linear_solver.python import model_builder_helper as mbh
from scipy.sparse import csr_matrix

ROWS_PER_REP = 5  # potential low/high, workload low/high, capacity
PL, PU, WL, WU, CAP = range(ROWS_PER_REP)
INF = float("inf")


@dataclass(frozen=True)
class AssignmentModel:
    """Data of one layer's assignment problem; pairs are parallel arrays."""

    n_accounts: int
    n_reps: int
    pair_account: NDArray[np.int64]  # (P,)
    pair_rep: NDArray[np.int64]  # (P,)
    pair_cost: NDArray[np.float64]  # (P,) travel + disruption
    pair_workload: NDArray[np.float64]  # (P,) workload minutes if this rep serves it
    pair_is_move: NDArray[np.bool_]  # (P,) counts against the move budget
    potential: NDArray[np.float64]  # (n,)
    potential_target: NDArray[np.float64]  # (m,) fair share of the layer's potential
    share: NDArray[np.float64]  # (m,) fair share of the layer's workload, sums to 1
    fixed_potential: NDArray[np.float64]  # (m,) from locked accounts
    fixed_workload: NDArray[np.float64]  # (m,)
    capacity: NDArray[np.float64]  # (m,)
    workload_estimate: float  # scale of the total workload
    potential_band: float
    workload_band: float
    move_budget: float | None  # None: no budget row
    band_penalty: float  # per unit of relative band violation
    capacity_penalty: float  # per unit of relative capacity excess
    fixed_total: float | None = None  # pin ω (e.g. to the LP's value when fixing a few accounts)
    elastic: bool = True  # False: bands and capacity are hard (slacks fixed at zero)
    move_weight: NDArray[np.float64] | None = None  # (n,) accounts in each unit (clusters)
    # a convex band price in two steps: band slack beyond `band_step` costs `steep_penalty`
    band_step: float | None = None
    steep_penalty: float = 0.0
    # (m,) × each rep's penalties: its share over the mean share, so a minute over a ramping rep's
    # half share or half capacity costs what a minute over a full rep's does (None: all 1)
    rep_weight: NDArray[np.float64] | None = None


@dataclass(frozen=True)
class LPSolution:
    status: str  # "optimal", "feasible" or the solver's word for failure
    values: NDArray[np.float64]  # (P,) pair values, empty when no solution
    objective: float
    row_duals: NDArray[np.float64]  # duals of every row, empty for MIPs
    has_solution: bool
    total: float = 0.0  # ω: total workload in units of the model's estimate


def _rows(model: AssignmentModel) -> tuple[int, int, int]:
    """Index of the first rep row, of the total-workload row and the row count."""
    first_rep_row = model.n_accounts
    total_row = first_rep_row + ROWS_PER_REP * model.n_reps
    n_rows = total_row + 1 + (1 if model.move_budget is not None else 0)
    return first_rep_row, total_row, n_rows


def _pair_coefficients(
    model: AssignmentModel,
    account: NDArray[np.int64],
    rep: NDArray[np.int64],
    workload: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Coefficients of pairs in their rep's potential rows, workload rows, capacity and total."""
    p_coef = model.potential[account] / model.potential_target[rep]
    w_coef = workload / (model.share[rep] * model.workload_estimate)
    c_coef = workload / model.capacity[rep]
    t_coef = workload / model.workload_estimate
    return p_coef, w_coef, c_coef, t_coef


def _row_bounds(model: AssignmentModel) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Lower and upper bound of every row, in the row order of `_rows`."""
    n, m = model.n_accounts, model.n_reps
    first_rep_row, total_row, n_rows = _rows(model)
    base = first_rep_row + ROWS_PER_REP * np.arange(m)
    bp = model.potential_band
    lo = np.full(n_rows, -INF)
    hi = np.full(n_rows, INF)
    lo[:n] = hi[:n] = 1.0
    fixed_p = model.fixed_potential / model.potential_target
    fixed_w = model.fixed_workload / (model.share * model.workload_estimate)
    lo[base + PL] = (1.0 - bp) - fixed_p
    hi[base + PU] = (1.0 + bp) - fixed_p
    lo[base + WL] = -fixed_w
    hi[base + WU] = -fixed_w
    hi[base + CAP] = 1.0 - model.fixed_workload / model.capacity
    if model.fixed_total is None:
        lo[total_row] = hi[total_row] = -model.fixed_workload.sum() / model.workload_estimate
    if model.move_budget is not None:
        hi[total_row + 1] = model.move_budget
    return lo, hi


def side_rows_value(model: AssignmentModel, duals: NDArray[np.float64]) -> float:
    """Σ dual × bound over every row but the assignment rows: the Lagrangian's constant.

    With side-row prices y from any optimal LP of the same side rows (e.g. an
    aggregated one), a lower bound for the model is this value plus, for each
    account, its cheapest reduced cost with the assignment dual left out.
    """
    n = model.n_accounts
    lo, hi = _row_bounds(model)
    y = duals[-(len(lo) - n):] if len(lo) > n else np.zeros(0)
    lo, hi = lo[n:], hi[n:]
    bound = np.where(y > 0, lo, np.where(y < 0, hi, 0.0))
    bound = np.where(np.isfinite(bound), bound, 0.0)  # a wrong-signed tiny dual from round-off
    return float((y * bound).sum())


@dataclass(frozen=True)
class _Columns:
    """Column layout: pairs, then one slack per rep row, ω, then the band's second-step slacks."""

    n_pairs: int
    slack0: int
    omega: int
    steep0: int
    n_cols: int

    @classmethod
    def of(cls, model: AssignmentModel) -> _Columns:
        m, n_pairs = model.n_reps, len(model.pair_account)
        omega = n_pairs + ROWS_PER_REP * m
        steep0 = omega + 1
        return cls(n_pairs, n_pairs, omega, steep0, steep0 + (4 * m if model.band_step is not None else 0))


def _matrix(model: AssignmentModel, cols_of: _Columns) -> csr_matrix:
    """The constraint matrix: assignment rows, five rows per rep, the total row and the budget row."""
    m = model.n_reps
    n_pairs, slack0, omega, steep0 = cols_of.n_pairs, cols_of.slack0, cols_of.omega, cols_of.steep0
    first_rep_row, total_row, n_rows = _rows(model)
    acc, rep = model.pair_account, model.pair_rep
    p_coef, w_coef, c_coef, t_coef = _pair_coefficients(model, acc, rep, model.pair_workload)
    rep_row = first_rep_row + ROWS_PER_REP * rep
    pair_cols = np.arange(n_pairs)
    rows = [
        acc,
        rep_row + PL,
        rep_row + PU,
        rep_row + WL,
        rep_row + WU,
        rep_row + CAP,
        np.full(n_pairs, total_row),
    ]
    cols = [pair_cols] * 7
    data = [np.ones(n_pairs), p_coef, p_coef, w_coef, w_coef, c_coef, t_coef]
    if model.move_budget is not None:
        moving = np.flatnonzero(model.pair_is_move)
        rows.append(np.full(len(moving), total_row + 1))
        cols.append(moving)
        weight = model.move_weight
        data.append(np.ones(len(moving)) if weight is None else weight[acc[moving]])

    reps = np.arange(m)
    base = first_rep_row + ROWS_PER_REP * reps
    # slack columns: one per rep row; sign makes a positive slack relax the row
    for kind, sign in ((PL, 1.0), (PU, -1.0), (WL, 1.0), (WU, -1.0), (CAP, -1.0)):
        rows.append(base + kind)
        cols.append(slack0 + kind * m + reps)
        data.append(np.full(m, sign))
    if model.band_step is not None:
        for kind, sign in ((PL, 1.0), (PU, -1.0), (WL, 1.0), (WU, -1.0)):
            rows.append(base + kind)
            cols.append(steep0 + kind * m + reps)
            data.append(np.full(m, sign))
    bw = model.workload_band
    rows += [base + WL, base + WU, np.array([total_row])]
    cols += [np.full(m, omega), np.full(m, omega), np.array([omega])]
    data += [np.full(m, -(1.0 - bw)), np.full(m, -(1.0 + bw)), np.array([-1.0])]
    return csr_matrix(
        (np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_rows, cols_of.n_cols),
    )


def _column_costs_and_bounds(
    model: AssignmentModel, cols_of: _Columns
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Objective, lower and upper bound of every column."""
    m = model.n_reps
    n_pairs, slack0, omega, steep0, n_cols = (
        cols_of.n_pairs, cols_of.slack0, cols_of.omega, cols_of.steep0, cols_of.n_cols
    )
    weight = np.ones(m) if model.rep_weight is None else model.rep_weight
    objective = np.concatenate(
        [
            model.pair_cost,
            model.band_penalty * np.tile(weight, 4),
            model.capacity_penalty * weight,
            [0.0],
            model.steep_penalty * (np.tile(weight, 4) if model.band_step is not None else np.zeros(0)),
        ]
    )
    var_lo = np.zeros(n_cols)
    var_hi = np.full(n_cols, INF)
    var_hi[:n_pairs] = 1.0
    if model.band_step is not None:
        var_hi[slack0:slack0 + 4 * m] = model.band_step
    if not model.elastic:
        var_hi[slack0:omega] = 0.0
        var_hi[steep0:] = 0.0
    if model.fixed_total is not None:
        var_lo[omega] = var_hi[omega] = model.fixed_total
    return objective, var_lo, var_hi


def solve_lp(
    model: AssignmentModel,
    *,
    time_limit: float,
    integral: bool = False,
    solver: str = "glop",
    mip_gap: float = 0.005,
) -> LPSolution:
    """Solve the (relaxed or integral) assignment model within `time_limit` seconds.

    `mip_gap` is SCIP's relative gap when `integral`.
    """
    cols_of = _Columns.of(model)
    objective, var_lo, var_hi = _column_costs_and_bounds(model, cols_of)
    lo, hi = _row_bounds(model)
    helper = mbh.ModelBuilderHelper()
    fill: Any = helper.fill_model_from_sparse_data  # its stub mistypes the numpy arguments
    fill(var_lo, var_hi, objective, lo, hi, _matrix(model, cols_of))
    if integral:
        for col in range(cols_of.n_pairs):
            helper.set_var_integrality(col, True)

    engine = mbh.ModelSolverHelper(solver)
    engine.set_time_limit_in_seconds(max(time_limit, 0.01))
    if solver == "glop":
        # dual simplex warm-starts well on assignment structure; one thread keeps it deterministic
        engine.set_solver_specific_parameters("use_dual_simplex: true")
    elif solver in ("sat", "cp-sat"):
        engine.set_solver_specific_parameters("num_workers: 1, random_seed: 0")
    elif solver == "scip":
        engine.set_solver_specific_parameters(f"randomization/randomseedshift = 0\nlimits/gap = {mip_gap}")
    engine.solve(helper)
    status = engine.status().name.lower() if engine.has_response() else "none"
    if not engine.has_solution():
        return LPSolution(status, np.zeros(0), INF, np.zeros(0), False)
    every = np.asarray(engine.variable_values(), dtype=np.float64)
    duals = np.zeros(0) if integral else np.asarray(engine.dual_values(), dtype=np.float64)
    return LPSolution(
        status, every[:cols_of.n_pairs], float(engine.objective_value()), duals, True,
        float(every[cols_of.omega]),
    )


def price_pairs(
    model: AssignmentModel,
    duals: NDArray[np.float64],
    account: NDArray[np.int64],
    rep: NDArray[np.int64],
    cost: NDArray[np.float64],
    workload: NDArray[np.float64],
    is_move: NDArray[np.bool_],
) -> NDArray[np.float64]:
    """Reduced costs of arbitrary (account, rep) pairs under the LP's row duals."""
    first_rep_row, total_row, _ = _rows(model)
    p_coef, w_coef, c_coef, t_coef = _pair_coefficients(model, account, rep, workload)
    y = duals
    rep_row = first_rep_row + ROWS_PER_REP * rep
    rc = (
        cost
        - y[account]
        - p_coef * (y[rep_row + PL] + y[rep_row + PU])
        - w_coef * (y[rep_row + WL] + y[rep_row + WU])
        - c_coef * y[rep_row + CAP]
        - t_coef * y[total_row]
    )
    if model.move_budget is not None:
        weight = 1.0 if model.move_weight is None else model.move_weight[account]
        rc = rc - is_move * y[total_row + 1] * weight
    return np.asarray(rc, dtype=np.float64)
