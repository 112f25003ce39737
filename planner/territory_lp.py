"""The LP steps of a territory layer: relax and price, a lower bound, relax-and-fix.

`relax_and_price` solves the assignment LP (`planner.assignment_lp`) over a
set of candidate pairs, adds the pairs its duals price negatively (column
generation) and rounds each unit to its largest LP value, fixing the few split
ones with a small MIP. `account_bound` turns side-row prices into a lower
bound valid for every suitable pair; `first_pairs` picks the clustered LP's
first candidates.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from planner.assignment_lp import AssignmentModel, price_pairs, side_rows_value, solve_lp
from planner.rebalance_params import RebalanceParams

PairData = tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]  # cost, workload, is move
PairFn = Callable[[NDArray[np.int64], NDArray[np.int64]], PairData]  # (accounts, reps) → their data
ModelFn = Callable[[NDArray[np.int64], NDArray[np.int64]], AssignmentModel]


@dataclass(frozen=True)
class RelaxedLP:
    """What the LP of a layer gives the search: a start, a bound, and prices."""

    rep: NDArray[np.int64] | None  # each unit's rep (None: no optimal LP in time)
    lower_bound: float | None  # valid for every suitable pair; None unless the LP reached optimality
    status: str  # the LP's last status, e.g. "optimal", "skipped"
    # side-row prices of the last optimal LP without band or capacity slack (for pricing accounts
    # when the units are clusters); None otherwise
    prices: NDArray[np.float64] | None


def relax_and_price(
    lp_model: ModelFn,
    chosen: NDArray[np.bool_],
    suitable: NDArray[np.bool_],
    pair_data: PairFn,
    deadline: float,
    params: RebalanceParams,
    *,
    fix_split: bool = True,
) -> RelaxedLP:
    """Solve the LP over `chosen` pairs (updated in place), adding negatively priced pairs; round to reps.

    Each unit goes to its largest LP value; split units are fixed by a small
    MIP unless `fix_split` is False.
    """
    m, n = chosen.shape
    lower_bound: float | None = None
    best: NDArray[np.int64] | None = None
    last: tuple[AssignmentModel, NDArray[np.float64], float] | None = None
    prices: NDArray[np.float64] | None = None
    status = "skipped"
    for _round in range(params.pricing_rounds):
        remaining = deadline - time.perf_counter()
        if remaining <= 0.05:
            break
        rep, acc = np.nonzero(chosen)
        model = lp_model(acc, rep)
        solution = solve_lp(model, time_limit=remaining * params.lp_share_of_time, solver=params.lp_solver)
        status = solution.status
        if not solution.has_solution or solution.status != "optimal":
            break
        value = np.zeros((m, n))
        value[rep, acc] = solution.values
        best = np.argmax(value, axis=0).astype(np.int64)
        last = (model, solution.values, solution.total)
        prices = solution.row_duals[model.n_accounts:]
        # with band or capacity slack in the optimum, the bound covers penalties too and
        # says nothing about travel alone
        travel_only = float(model.pair_cost @ solution.values)
        if solution.objective - travel_only > 1e-6 * max(abs(solution.objective), 1.0):
            prices = None
        side = solution.row_duals[model.n_accounts:]
        lower_bound = account_bound(model, side, suitable, pair_data) if prices is not None else None
        if not _add_priced_pairs(model, solution.objective, side, chosen, suitable, pair_data):
            break
    if best is not None and last is not None and fix_split:
        best = fix_split_accounts(*last, best, deadline, params)
    return RelaxedLP(best, lower_bound, status, prices)


def _add_priced_pairs(
    model: AssignmentModel, objective: float, side: NDArray[np.float64], chosen: NDArray[np.bool_],
    suitable: NDArray[np.bool_], pair_data: PairFn,
) -> bool:
    """Price every suitable pair not yet in `chosen`; add the two best negative ones per unit.

    False when none prices negative (the LP is optimal over every suitable pair).
    """
    n = chosen.shape[1]
    # prices without the assignment duals: GLOP may leave whole pairs at their upper
    # bound with a negative reduced cost, which shifts those duals but not the side rows'
    free = np.zeros(model.n_accounts)
    in_rep, in_acc = np.nonzero(chosen)
    rc_in = price_pairs(model, np.concatenate([free, side]), in_acc, in_rep, *pair_data(in_acc, in_rep))
    best_in = np.full(n, np.inf)
    np.minimum.at(best_in, in_acc, rc_in)
    out_rep, out_acc = np.nonzero(suitable & ~chosen)
    if out_rep.size == 0:
        return False
    rc = price_pairs(model, np.concatenate([free, side]), out_acc, out_rep,
                     *pair_data(out_acc, out_rep)) - best_in[out_acc]
    tol = 1e-7 * max(abs(objective), 1.0) / max(n, 1)
    negative = rc < -tol
    if not negative.any():
        return False
    order = np.lexsort((rc[negative], out_acc[negative]))
    nacc, nrep = out_acc[negative][order], out_rep[negative][order]
    first = np.ones(len(nacc), dtype=bool)
    first[1:] = nacc[1:] != nacc[:-1]
    rank = np.arange(len(nacc)) - np.maximum.accumulate(np.where(first, np.arange(len(nacc)), 0))
    keep = rank < 2
    chosen[nrep[keep], nacc[keep]] = True
    return True


def account_bound(
    model: AssignmentModel, prices: NDArray[np.float64], suitable: NDArray[np.bool_],
    pair_data: PairFn,
) -> float:
    """Lagrangian lower bound over every suitable (account, rep) pair from side-row prices.

    Each account takes its cheapest rep at those prices; the prices come
    from an LP with the same side rows (here: over clusters), which makes
    them feasible for the dual, so the bound is valid for the account model.
    """
    m, n = suitable.shape
    duals = np.concatenate([np.zeros(n), prices])
    cheapest = np.full(n, np.inf)
    for first in range(0, m, 16):  # a block of reps at a time keeps memory flat
        rep, acc = np.nonzero(suitable[first:first + 16])
        rep = rep + first
        cost, wl, is_move = pair_data(acc, rep)
        rc = price_pairs(model, duals, acc, rep, cost, wl, is_move)
        np.minimum.at(cheapest, acc, rc)
    return side_rows_value(model, duals) + float(cheapest[np.isfinite(cheapest)].sum())


def first_pairs(
    km: NDArray[np.float64], cur: NDArray[np.int64], suitable: NDArray[np.bool_], nearest: int,
    rep_side_factor: int,
) -> NDArray[np.bool_]:
    """First LP's pairs: each unit's nearest reps, each rep's nearest units, and the current rep."""
    m, n = km.shape
    k = min(nearest, m)
    chosen = np.zeros((m, n), dtype=bool)
    chosen[np.argsort(km, axis=0, kind="stable")[:k], np.arange(n)[None, :]] = True
    # a rep far from the crowd must be able to reach its share in the first LP
    per_rep = min(n, rep_side_factor * math.ceil(n / m))
    if per_rep < n:
        chosen[np.arange(m)[:, None], np.argpartition(km, per_rep - 1, axis=1)[:, :per_rep]] = True
    chosen &= suitable
    chosen[cur[cur >= 0], np.flatnonzero(cur >= 0)] = True
    return chosen


def fix_split_accounts(
    model: AssignmentModel,
    values: NDArray[np.float64],
    total: float,
    best: NDArray[np.int64],
    deadline: float,
    params: RebalanceParams,
) -> NDArray[np.int64]:
    """Relax-and-fix: keep the LP's whole assignments, solve a small MIP for the split accounts.

    A basic LP solution splits at most about one account per side row, so the
    MIP has a few hundred binaries at most and solves in seconds.
    """
    top = np.zeros(model.n_accounts)
    np.maximum.at(top, model.pair_account, values)
    split = top < 1.0 - 1e-6
    if not split.any():
        return best
    keep = ~split[model.pair_account] & (model.pair_rep == best[model.pair_account])
    m = model.n_reps
    kept_rep, kept_acc = model.pair_rep[keep], model.pair_account[keep]
    fixed_potential = model.fixed_potential + np.bincount(
        kept_rep, weights=model.potential[kept_acc], minlength=m
    ).astype(np.float64)
    fixed_workload = model.fixed_workload + np.bincount(
        kept_rep, weights=model.pair_workload[keep], minlength=m
    ).astype(np.float64)
    budget = model.move_budget
    if budget is not None:
        budget = max(budget - float(model.pair_is_move[keep].sum()), 0.0)
    accounts = np.flatnonzero(split)
    renumber = np.full(model.n_accounts, -1, dtype=np.int64)
    renumber[accounts] = np.arange(len(accounts))
    pairs = split[model.pair_account]
    sub = replace(
        model,
        n_accounts=len(accounts),
        pair_account=renumber[model.pair_account[pairs]],
        pair_rep=model.pair_rep[pairs],
        pair_cost=model.pair_cost[pairs],
        pair_workload=model.pair_workload[pairs],
        pair_is_move=model.pair_is_move[pairs],
        potential=model.potential[accounts],
        fixed_potential=fixed_potential,
        fixed_workload=fixed_workload,
        move_budget=budget,
        fixed_total=total,  # a few accounts barely change the total; pinning it keeps the MIP small
    )
    remaining = deadline - time.perf_counter()
    solution = solve_lp(sub, time_limit=min(params.split_mip_seconds, remaining * 0.3), integral=True,
                        solver="scip", mip_gap=params.split_mip_gap)
    if not solution.has_solution:
        return best
    chosen = solution.values > 0.5
    fixed = best.copy()
    fixed[accounts[sub.pair_account[chosen]]] = sub.pair_rep[chosen]
    return fixed
