"""Territory rebalancing: `rebalance` turns accounts, reps and a policy into a `TerritoryPlan`.

Method (chosen by measurement, see bench/territories.py): per layer (base
reps, overlay reps) solve the LP relaxation of the assignment model over the
pairs a rep can serve within a day's drive, with band violations priced in
two steps (gently just past the band, at full price beyond), round each
account to its largest LP value (the few split accounts fixed by a small MIP),
then improve by local search (moves and exchanges). A book of more than
600,000 account x rep pairs is solved over micro-clusters of nearby, alike
accounts and every suitable pair, band violations at one price, with column
generation and a lower bound valid for all pairs.
Where the LP cannot be solved in time the search starts from the current
owners (minimal) or the nearest rep (full) instead, so a plan always comes
back.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from planner.assignment_lp import AssignmentModel, price_pairs, side_rows_value, solve_lp
from planner.balance_repair import CONVEXITY, NO_REP, RepairProblem, exchange_pass, repair
from planner.capacity import reps_needed, workload_table
from planner.metrics import balance_report, layer_flags
from planner.model import (
    Account,
    BalanceReport,
    Move,
    OutOfBand,
    Policy,
    Rep,
    RepLoad,
    TerritoryPlan,
    Unassigned,
)
from planner.reach import ReachMap, RepReach, ShortArea, reach_limits, servable_pairs, short_areas
from planner.travel import TravelMatrix

Mode = Literal["minimal", "full"]
PairData = tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]
PairFn = Callable[[NDArray[np.int64], NDArray[np.int64]], PairData]
ModelFn = Callable[[NDArray[np.int64], NDArray[np.int64]], AssignmentModel]

FULL_LP_PAIRS = 600_000  # up to this many (account, rep) pairs the first LP takes them all
NEAREST_CANDIDATES = 10  # suitable reps per account in the first LP; pricing adds more
CLUSTER_SIZE = 8  # accounts per micro-cluster when the book is too big for one LP ...
MAX_CLUSTERS = 2_000  # ... and no more clusters than this, so the clustered LP stays quick
CLUSTER_CANDIDATES = 25  # nearest suitable reps per cluster in the first clustered LP
REP_SIDE_FACTOR = 2  # × the average book size: accounts nearest each rep in the first LP
PRICING_ROUNDS = 4
LP_SOLVER = "glop"
LP_SHARE_OF_TIME = 0.8  # of the remaining time; repair usually needs seconds
BAND_PENALTY = 100.0  # × a rep's travel per unit relative band violation
CAPACITY_PENALTY = 1000.0
# × a rep's travel per account: above what a 100 % band violation costs at the search's steepest
UNREACHABLE_PENALTY = 2 * BAND_PENALTY * (1 + 2 * CONVEXITY)
SPLIT_MIP_SECONDS = 10.0  # cap for the MIP over the accounts the LP split
EXCHANGE_ROUNDS = 50
FINISH_SECONDS_PER_PAIR = 4e-7  # time kept back for what follows the search, per (account, rep) pair
FINISH_SHARE = 0.25  # ... but never more than this share of the time limit
LP_BAND = 0.9  # the LP plans inside the policy's band, leaving room for rounding
# The LP over servable pairs prices a band violation in two steps: gently (this share of
# BAND_PENALTY) for the first LP_GENTLE_STEP × band past the band, at full price beyond. At the full
# price from the start it spent 36 % more travel at 10,000 x 50 chasing the last few reps and
# missed 60 s (GLOP, 108 s); gently it settles in 15 s at 45 of 50 reps in band and the other five
# within about ±10 %, at 1.00 x the travel bound. The clustered LP keeps one step: with two, its
# minimal-mode LP (with the move-budget row) did not finish in 280 s at 50,000 x 200.
LP_GENTLE_PRICE = 0.1
LP_GENTLE_STEP = 1.1
REPAIR_BAND = 0.9  # the search aims a little inside the policy's band


@dataclass
class _LayerResult:
    owner: dict[str, str]
    km: dict[tuple[str, str], float]  # (account id, rep id) → one-way km, for move reasons
    lower_bound: float | None
    status: str
    reach: dict[str, RepReach]  # rep id → what its day's drive allows, for out-of-band reasons
    reach_map: ReachMap  # for counting the reps an over-capacity area lacks
    rep_ids: tuple[str, ...]  # the layer's reps, in the reach map's order
    fixed_workload: NDArray[np.float64]  # (m,) locked accounts' workload per rep
    capacity: NDArray[np.float64]  # (m,)


def rebalance(
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    policy: Policy,
    *,
    mode: Mode = "minimal",
    seed: int = 0,
    time_limit: float = 30.0,
    travel: TravelMatrix | None = None,
) -> TerritoryPlan:
    """Assign every located, plannable account to exactly one rep.

    Locked accounts stay with their current rep, required skills are
    respected, overlay reps are balanced as their own layer. `minimal` moves
    at most `policy.disruption.max_move_share` of the accounts by choice
    (accounts whose rep left or lacks a skill must move and are not counted
    against the budget); `full` redesigns from scratch. The same inputs, seed
    and time limit give the same plan unless the time limit cuts the search.
    """
    if mode not in ("minimal", "full"):
        raise ValueError(f"mode must be 'minimal' or 'full', not {mode!r}")
    started = time.perf_counter()
    # the reports, reasons and reach limits after the search take time too (about 3 s at
    # 50,000 x 200): the search stops early enough for the plan to come back on time
    finish = min(FINISH_SECONDS_PER_PAIR * len(accounts) * len(reps), FINISH_SHARE * max(time_limit, 0.0))
    deadline = started + max(time_limit, 0.0) - finish
    _require_unique_ids(accounts, reps)
    rep_by_id = {r.id: r for r in reps}
    overlay = dict(zip((r.id for r in reps), layer_flags(reps), strict=True))

    unassigned: list[Unassigned] = []
    fixed: dict[str, str] = {}
    layer_accounts: dict[bool, list[Account]] = {False: [], True: []}
    for account in accounts:
        reason = _unplannable_reason(account, reps, rep_by_id)
        if reason is not None:
            unassigned.append(Unassigned(account.id, reason))
        elif account.locked and account.current_rep in rep_by_id:
            fixed[account.id] = account.current_rep
        else:
            suitable_base = any(
                account.skills <= r.skills for r in reps if not overlay[r.id]
            )
            layer_accounts[not suitable_base].append(account)

    n_plannable = sum(len(v) for v in layer_accounts.values()) + len(fixed)
    owner: dict[str, str] = dict(fixed)
    km: dict[tuple[str, str], float] = {}
    bounds: list[float | None] = []
    statuses: list[str] = []
    reach: dict[str, RepReach] = {}
    layers: list[_LayerResult] = []
    for is_overlay in (False, True):
        layer_reps = [r for r in reps if overlay[r.id] == is_overlay]
        movable = layer_accounts[is_overlay]
        if not movable or not layer_reps:
            continue
        pinned = [
            a for a in accounts if a.id in fixed and overlay[fixed[a.id]] == is_overlay
        ]
        share = (len(movable) + len(pinned)) / max(n_plannable, 1)
        budget = (
            math.floor(policy.disruption.max_move_share * n_plannable * share)
            if mode == "minimal"
            else None
        )
        result = _plan_layer(
            movable, pinned, fixed, layer_reps, policy, mode=mode, seed=seed,
            deadline=deadline, travel=travel, move_budget=budget,
        )
        owner.update(result.owner)
        km.update(result.km)
        bounds.append(result.lower_bound)
        statuses.append(result.status)
        reach.update(result.reach)
        layers.append(result)

    plannable = [a for a in accounts if a.id in owner]
    current = {
        a.id: a.current_rep for a in plannable if a.current_rep is not None and a.current_rep in rep_by_id
    }
    before = balance_report(current, plannable, reps, policy, travel)
    after = balance_report(owner, plannable, reps, policy, travel)
    moves = tuple(
        Move(
            a.id, a.current_rep, owner[a.id],
            _move_reason(a, owner[a.id], rep_by_id, before, after, km, policy),
        )
        for a in sorted(plannable, key=lambda a: a.id)
        if a.current_rep != owner[a.id]
    )
    had_rep = sum(1 for a in plannable if a.current_rep is not None)
    total_potential = sum(a.potential for a in plannable)
    moved_ids = {m.account_id for m in moves if m.from_rep is not None}
    moved_potential = sum(a.potential for a in plannable if a.id in moved_ids)
    lower = (
        float(sum(b for b in bounds if b is not None))
        if mode == "full" and bounds and all(b is not None for b in bounds)
        else None
    )
    team_short = _team_shortfall(after, overlay)
    in_short_layer = {r.id for r in reps if team_short[overlay[r.id]] > 0}
    areas = _short_areas(after, layers, rep_by_id)
    return TerritoryPlan(
        assignments=MappingProxyType(dict(sorted(owner.items()))),
        unassigned=tuple(sorted(unassigned, key=lambda u: u.account_id)),
        moves=moves,
        before=before,
        after=after,
        extra_reps_needed=_extra_reps_needed(team_short, areas),
        over_capacity=after.over_capacity,
        out_of_band=_out_of_band(
            after, reach, rep_by_id, policy, in_short_layer,
            {rep_id: area for area in areas for rep_id in area.rep_ids},
        ),
        mode=mode,
        moved_share=len(moved_ids) / had_rep if had_rep else 0.0,
        moved_potential_share=moved_potential / total_potential if total_potential > 0 else 0.0,
        lower_bound_travel_km=lower,
        status="+".join(sorted(set(statuses))) or "nothing to plan",
        seconds=time.perf_counter() - started,
    )


def _require_unique_ids(accounts: Sequence[Account], reps: Sequence[Rep]) -> None:
    for kind, ids in (("account", [a.id for a in accounts]), ("rep", [r.id for r in reps])):
        if len(set(ids)) != len(ids):
            dupes = sorted({i for i in ids if ids.count(i) > 1})[:5]
            raise ValueError(f"duplicate {kind} ids: {dupes}")


def _unplannable_reason(
    account: Account, reps: Sequence[Rep], rep_by_id: Mapping[str, Rep]
) -> str | None:
    if not account.located:
        return "no location: the CRM record has no coordinates and its postal code did not geocode"
    if account.locked and account.current_rep is not None and account.current_rep not in rep_by_id:
        return (
            f"locked to {account.current_rep}, who is not on the team: "
            "a manager must reassign it"
        )
    if account.locked and account.current_rep in rep_by_id:
        return None  # a lock keeps the account with its rep even if a skill is missing
    if not reps:
        return "no reps to assign it to"
    if not any(account.skills <= r.skills for r in reps):
        missing = ", ".join(sorted(account.skills))
        return f"needs skills ({missing}) that no rep has"
    return None


def _plan_layer(
    movable: Sequence[Account],
    pinned: Sequence[Account],
    fixed: Mapping[str, str],
    reps: Sequence[Rep],
    policy: Policy,
    *,
    mode: Mode,
    seed: int,
    deadline: float,
    travel: TravelMatrix | None,
    move_budget: int | None,
) -> _LayerResult:
    """Plan one layer: LP relax-and-price, round, repair."""
    rng = np.random.default_rng(seed)
    n, m = len(movable), len(reps)
    rep_pos = {r.id: k for k, r in enumerate(reps)}
    table = workload_table([*movable, *pinned], reps, policy, travel)
    work = table.workload
    # seeded, negligible jitter: breaks exact ties the same way for the same seed
    cost_km = table.travel_km * (1.0 + 1e-9 * rng.random(table.travel_km.shape))

    # locked accounts load their reps before anything moves
    potential_all = np.array([a.potential for a in [*movable, *pinned]], dtype=np.float64)
    pin_rep = np.array([rep_pos[fixed[a.id]] for a in pinned], dtype=np.int64)
    pin_cols = np.arange(n, n + len(pinned))
    fixed_potential = np.bincount(pin_rep, weights=potential_all[pin_cols], minlength=m).astype(np.float64)
    fixed_workload = np.bincount(pin_rep, weights=work[pin_rep, pin_cols], minlength=m).astype(np.float64)

    suitable = np.array([[a.skills <= r.skills for a in movable] for r in reps], dtype=bool)
    # A rep who cannot reach an account and be home the same day cannot serve it. An account no
    # skilled rep can reach may go to the reps nearly as near as the nearest (the call plan reports
    # it as beyond a day's drive), never across the map. A modest book's LP takes servable pairs
    # only (an LP over every pair balances on paper with pairs the plan cannot keep: the search
    # then left five reps 11-17 % off at 10,000 x 50). The clustered LP of a large book still
    # keeps every pair (over servable ones it did not finish in 280 s at 50,000 x 200); the
    # search prices other pairs above any band violation, so it moves them back within reach.
    drivable = servable_pairs(table.within_a_day(policy)[:, :n], table.km[:, :n], suitable)
    reach_map = ReachMap.of(drivable, work[:, :n])  # before the solvers: its time is in the budget
    km_ok = np.where(suitable, table.km[:, :n], np.inf)
    # an account whose rep left, lacks its skill or cannot reach it has no rep to keep: it must
    # move, and that move is not the planner's choice, so it does not count against the budget
    cur = np.array(
        [
            rep_pos[a.current_rep] if a.current_rep in rep_pos and drivable[rep_pos[a.current_rep], i]
            else NO_REP
            for i, a in enumerate(movable)
        ],
        dtype=np.int64,
    )
    nearest = np.argmin(km_ok, axis=0)
    potential = potential_all[:n]
    travel_cost = cost_km[:, :n]

    if mode == "minimal":
        anchor = np.where(cur >= 0, cur, nearest)
        mean_cost = float(travel_cost[anchor, np.arange(n)].mean())
        mean_potential = float(potential.mean()) if float(potential.mean()) > 0 else 1.0
        # cheap to move: low-value accounts; the travel term already favours territory edges
        disruption = policy.disruption.move_cost * mean_cost * (0.5 + 0.5 * potential / mean_potential)
    else:
        disruption = np.zeros(n)

    shares = np.array([max(r.target_share, 0.0) for r in reps], dtype=np.float64)
    shares = shares / shares.sum() if shares.sum() > 0 else np.full(m, 1.0 / m)
    potential_target = shares * float(potential_all.sum())
    estimate = float(work[nearest, np.arange(n)].sum() + fixed_workload.sum())
    rep_travel = max(float(travel_cost[nearest, np.arange(n)].sum()) / m, 1.0)
    bp, bw = policy.balance.potential_band, policy.balance.workload_band

    beyond_reach = UNREACHABLE_PENALTY * rep_travel

    def pair_data(
        acc: NDArray[np.int64], rep: NDArray[np.int64]
    ) -> PairData:
        is_move = (cur[acc] >= 0) & (rep != cur[acc])
        return travel_cost[rep, acc] + disruption[acc] * is_move, work[rep, acc], is_move

    def drivable_pair_data(acc: NDArray[np.int64], rep: NDArray[np.int64]) -> PairData:
        """The search's prices: a rep beyond a day's drive is a last resort."""
        cost, wl, is_move = pair_data(acc, rep)
        return cost + beyond_reach * ~drivable[rep, acc], wl, is_move

    def unit_model(
        n_units: int, unit_potential: NDArray[np.float64], acc: NDArray[np.int64],
        rep: NDArray[np.int64], data: PairData, unit_size: NDArray[np.float64] | None = None,
        stepped: bool = False,
    ) -> AssignmentModel:
        cost, wl, is_move = data
        return AssignmentModel(
            band_step=bp * LP_GENTLE_STEP if stepped else None,
            steep_penalty=BAND_PENALTY,
            move_weight=unit_size,
            n_accounts=n_units, n_reps=m, pair_account=acc, pair_rep=rep, pair_cost=cost,
            pair_workload=wl, pair_is_move=is_move, potential=unit_potential,
            potential_target=np.where(potential_target > 0, potential_target, 1.0),
            share=shares, fixed_potential=fixed_potential, fixed_workload=fixed_workload,
            capacity=table.capacity, workload_estimate=max(estimate, 1.0),
            potential_band=bp * LP_BAND if potential_target.sum() > 0 else 1e6,
            workload_band=bw * LP_BAND,
            move_budget=move_budget, band_penalty=BAND_PENALTY * (LP_GENTLE_PRICE if stepped else 1.0),
            capacity_penalty=CAPACITY_PENALTY,
        )

    def scaled(pairs: PairFn) -> PairFn:
        """Costs in units of a rep's travel: keeps the LP's numbers near 1 for the simplex."""
        def priced(acc: NDArray[np.int64], rep: NDArray[np.int64]) -> PairData:
            cost, wl, is_move = pairs(acc, rep)
            return cost / rep_travel, wl, is_move
        return priced

    lp_pairs = scaled(pair_data)

    def lp_model(acc: NDArray[np.int64], rep: NDArray[np.int64]) -> AssignmentModel:
        return unit_model(n, potential, acc, rep, lp_pairs(acc, rep))

    # a modest book is solved over all servable pairs (exact LP, no pricing needed);
    # a large one over micro-clusters of nearby, alike accounts, priced back per account
    exact = n * m <= FULL_LP_PAIRS
    k = m if exact else min(NEAREST_CANDIDATES, m)
    near_k = np.argsort(km_ok, axis=0, kind="stable")[:k]  # (k, n)

    start_rep = np.where(cur >= 0, cur, nearest) if mode == "minimal" else nearest
    status = "greedy+repair"
    lower_bound: float | None = None
    if m > 1 and exact:
        def servable_lp(acc: NDArray[np.int64], rep: NDArray[np.int64]) -> AssignmentModel:
            return unit_model(n, potential, acc, rep, lp_pairs(acc, rep), stepped=True)

        lp_rep, lower_bound, lp_status, _ = _relax_and_price(
            servable_lp, drivable.copy(), drivable, lp_pairs, deadline
        )
        lower_bound = None if lower_bound is None else lower_bound * rep_travel
        if lp_rep is not None:
            start_rep = lp_rep
            status = f"lp({lp_status})+repair"
    elif m > 1:
        groups = _group_keys(movable, cur if mode == "minimal" else None)
        size = max(CLUSTER_SIZE, math.ceil(n / MAX_CLUSTERS))
        labels = micro_clusters(_plane(movable), groups, size)
        units = _Units(labels)
        unit_cur = cur[units.first]
        unit_suitable = suitable[:, units.first]
        unit_travel = units.sum(travel_cost)
        unit_work = units.sum(work[:, :n])
        unit_disruption = np.bincount(labels, weights=disruption, minlength=units.count).astype(np.float64)
        unit_potential = np.bincount(labels, weights=potential, minlength=units.count).astype(np.float64)
        unit_km = np.where(unit_suitable, units.sum(table.km[:, :n]) / units.size, np.inf)

        def unit_pairs(acc: NDArray[np.int64], rep: NDArray[np.int64]) -> PairData:
            is_move = (unit_cur[acc] >= 0) & (rep != unit_cur[acc])
            return (unit_travel[rep, acc] + unit_disruption[acc] * is_move, unit_work[rep, acc],
                    is_move)

        def unit_lp(acc: NDArray[np.int64], rep: NDArray[np.int64]) -> AssignmentModel:
            return unit_model(
                units.count, unit_potential, acc, rep, scaled(unit_pairs)(acc, rep), units.size
            )

        if units.count * m <= FULL_LP_PAIRS:
            chosen = unit_suitable.copy()  # few enough clusters for every pair: no pricing
        else:
            chosen = _candidates(unit_km, unit_cur, unit_suitable, CLUSTER_CANDIDATES)
        unit_rep, _, lp_status, prices = _relax_and_price(
            unit_lp, chosen, unit_suitable, scaled(unit_pairs), deadline,
            fix_split=False,  # whole clusters are too coarse for the MIP; the search splits them
        )
        if unit_rep is not None:
            start_rep = unit_rep[labels]
            status = f"clustered-lp({lp_status})+repair"
        if unit_rep is not None and prices is not None:
            lower_bound = rep_travel * _account_bound(
                lp_model(np.zeros(0, np.int64), np.zeros(0, np.int64)), prices, suitable, lp_pairs
            )

    if lower_bound is not None:  # the LP saw movable accounts only; locked ones travel too
        lower_bound += float(table.travel_km[pin_rep, pin_cols].sum())

    # the search may use the nearest reps, the current one and the LP's choice
    slots = np.vstack([near_k, cur[None, :], start_rep[None, :]]).T  # (n, k + 2)
    slots = np.where(slots == NO_REP, start_rep[:, None], slots)
    acc_idx = np.repeat(np.arange(n)[:, None], slots.shape[1], axis=1)
    cost, wl, is_move = drivable_pair_data(acc_idx.ravel(), slots.ravel())
    usable = suitable[slots, acc_idx]
    problem = RepairProblem(
        cand_rep=np.where(usable, slots, NO_REP),
        cand_cost=cost.reshape(slots.shape),
        cand_work=wl.reshape(slots.shape),
        cand_is_move=is_move.reshape(slots.shape),
        potential=potential,
        fixed_potential=fixed_potential,
        fixed_workload=fixed_workload,
        potential_target=potential_target,
        share=shares,
        capacity=table.capacity,
        potential_band=bp * REPAIR_BAND,
        workload_band=bw * REPAIR_BAND,
        band_penalty=BAND_PENALTY * rep_travel,
        capacity_penalty=CAPACITY_PENALTY * rep_travel,
        move_budget=move_budget,
    )
    start_slot = np.full(n, slots.shape[1] - 1, dtype=np.int64)
    final_slot = repair(problem, start_slot, deadline=deadline)
    for _ in range(EXCHANGE_ROUNDS):
        final_slot, exchanges = exchange_pass(problem, final_slot, deadline=deadline)
        if exchanges == 0:
            break
        final_slot = repair(problem, final_slot, deadline=deadline)
    final_rep = slots[np.arange(n), final_slot]
    layer_workload = float(work[final_rep, np.arange(n)].sum() + fixed_workload.sum())
    limits = reach_limits(
        reach_map, work[:, :n], potential, fixed_potential, fixed_workload,
        potential_target, shares * layer_workload, table.capacity, bp,
    )

    owner = {a.id: reps[int(final_rep[i])].id for i, a in enumerate(movable)}
    km: dict[tuple[str, str], float] = {}
    for i, a in enumerate(movable):
        km[(a.id, owner[a.id])] = float(table.km[final_rep[i], i])
        if a.current_rep in rep_pos:
            km[(a.id, a.current_rep)] = float(table.km[rep_pos[a.current_rep], i])
    return _LayerResult(
        owner, km, lower_bound, status, {r.id: limits[k] for k, r in enumerate(reps)},
        reach_map, tuple(r.id for r in reps), fixed_workload, table.capacity,
    )


def _relax_and_price(
    lp_model: ModelFn,
    chosen: NDArray[np.bool_],
    suitable: NDArray[np.bool_],
    pair_data: PairFn,
    deadline: float,
    *,
    fix_split: bool = True,
) -> tuple[NDArray[np.int64] | None, float | None, str, NDArray[np.float64] | None]:
    """Solve the LP over `chosen` pairs, adding negatively priced pairs; round to reps.

    Returns each unit's rep (largest LP value, split units fixed by a small
    MIP), a lower bound valid for all suitable pairs (None when the LP did not
    reach optimality), the status, and the side-row prices of the last
    optimal LP (for pricing accounts when the units are clusters).
    """
    m, n = chosen.shape
    lower_bound: float | None = None
    best: NDArray[np.int64] | None = None
    last: tuple[AssignmentModel, NDArray[np.float64], float] | None = None
    prices: NDArray[np.float64] | None = None
    status = "skipped"
    for _round in range(PRICING_ROUNDS):
        remaining = deadline - time.perf_counter()
        if remaining <= 0.05:
            break
        rep, acc = np.nonzero(chosen)
        model = lp_model(acc, rep)
        solution = solve_lp(model, time_limit=remaining * LP_SHARE_OF_TIME, solver=LP_SOLVER)
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
        # price every suitable pair not yet in the model (dense (m, n) pass)
        side = solution.row_duals[model.n_accounts:]
        # prices without the assignment duals: GLOP may leave whole pairs at their upper
        # bound with a negative reduced cost, which shifts those duals but not the side rows'
        free = np.zeros(model.n_accounts)
        in_rep, in_acc = np.nonzero(chosen)
        rc_in = price_pairs(model, np.concatenate([free, side]), in_acc, in_rep,
                            *pair_data(in_acc, in_rep))
        best_in = np.full(n, np.inf)
        np.minimum.at(best_in, in_acc, rc_in)
        lower_bound = _account_bound(model, side, suitable, pair_data) if prices is not None else None
        out_rep, out_acc = np.nonzero(suitable & ~chosen)
        if out_rep.size == 0:
            break
        rc = price_pairs(model, np.concatenate([free, side]), out_acc, out_rep,
                         *pair_data(out_acc, out_rep)) - best_in[out_acc]
        tol = 1e-7 * max(abs(solution.objective), 1.0) / max(n, 1)
        negative = rc < -tol
        if not negative.any():
            break
        # add the two most attractive new pairs per unit
        order = np.lexsort((rc[negative], out_acc[negative]))
        nacc, nrep = out_acc[negative][order], out_rep[negative][order]
        first = np.ones(len(nacc), dtype=bool)
        first[1:] = nacc[1:] != nacc[:-1]
        rank = np.arange(len(nacc)) - np.maximum.accumulate(np.where(first, np.arange(len(nacc)), 0))
        keep = rank < 2
        chosen[nrep[keep], nacc[keep]] = True
    if best is not None and last is not None and fix_split:
        best = _fix_split_accounts(*last, best, deadline)
    return best, lower_bound, status, prices


def _account_bound(
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


def _group_keys(accounts: Sequence[Account], cur: NDArray[np.int64] | None) -> NDArray[np.int64]:
    """Accounts may share a cluster only with the same skills (and current rep, in minimal mode)."""
    skill_sets: dict[frozenset[str], int] = {}
    skill = np.array([skill_sets.setdefault(a.skills, len(skill_sets)) for a in accounts])
    if cur is None:
        return skill.astype(np.int64)
    return (skill * (int(cur.max(initial=0)) + 2) + cur + 1).astype(np.int64)


def _plane(accounts: Sequence[Account]) -> NDArray[np.float64]:
    """Locations as roughly-kilometre x/y, good enough to cut clusters along the longer side."""
    lat = np.array([a.lat for a in accounts], dtype=np.float64)
    lon = np.array([a.lon for a in accounts], dtype=np.float64)
    return np.c_[lon * 111.0 * np.cos(np.radians(lat)), lat * 111.0]


def micro_clusters(xy: NDArray[np.float64], groups: NDArray[np.int64], size: int) -> NDArray[np.int64]:
    """Label accounts with clusters of at most `size` neighbours from the same group.

    Recursive median cuts along the longer side: deterministic, O(n log² n),
    and clusters stay small in dense metros and large-area in the country.
    """
    labels = np.empty(len(xy), dtype=np.int64)
    stack = [np.flatnonzero(groups == g) for g in np.unique(groups)[::-1]]
    count = 0
    while stack:
        idx = stack.pop()
        if len(idx) <= size:
            labels[idx] = count
            count += 1
            continue
        pts = xy[idx]
        axis = int(np.argmax(pts.max(axis=0) - pts.min(axis=0)))
        order = idx[np.argsort(pts[:, axis], kind="stable")]
        half = len(order) // 2
        stack += [order[half:], order[:half]]
    return labels


class _Units:
    """Sums over the accounts of each cluster."""

    def __init__(self, labels: NDArray[np.int64]) -> None:
        self.count = int(labels.max()) + 1 if labels.size else 0
        self.order = np.argsort(labels, kind="stable")
        self.starts = np.flatnonzero(np.r_[True, np.diff(labels[self.order]) != 0])
        self.first = self.order[self.starts]
        self.size = np.bincount(labels, minlength=self.count).astype(np.float64)

    def sum(self, matrix: NDArray[np.float64]) -> NDArray[np.float64]:
        """(reps, accounts) → (reps, clusters)."""
        return np.asarray(np.add.reduceat(matrix[:, self.order], self.starts, axis=1))


def _candidates(
    km: NDArray[np.float64], cur: NDArray[np.int64], suitable: NDArray[np.bool_], nearest: int
) -> NDArray[np.bool_]:
    """First LP's pairs: each unit's nearest reps, each rep's nearest units, and the current rep."""
    m, n = km.shape
    k = min(nearest, m)
    chosen = np.zeros((m, n), dtype=bool)
    chosen[np.argsort(km, axis=0, kind="stable")[:k], np.arange(n)[None, :]] = True
    # a rep far from the crowd must be able to reach its share in the first LP
    per_rep = min(n, REP_SIDE_FACTOR * math.ceil(n / m))
    if per_rep < n:
        chosen[np.arange(m)[:, None], np.argpartition(km, per_rep - 1, axis=1)[:, :per_rep]] = True
    chosen &= suitable
    chosen[cur[cur >= 0], np.flatnonzero(cur >= 0)] = True
    return chosen


def _fix_split_accounts(
    model: AssignmentModel,
    values: NDArray[np.float64],
    total: float,
    best: NDArray[np.int64],
    deadline: float,
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
    solution = solve_lp(sub, time_limit=min(SPLIT_MIP_SECONDS, remaining * 0.3), integral=True,
                        solver="scip")
    if not solution.has_solution:
        return best
    chosen = solution.values > 0.5
    fixed = best.copy()
    fixed[accounts[sub.pair_account[chosen]]] = sub.pair_rep[chosen]
    return fixed


@dataclass(frozen=True)
class _Area:
    """A short area of one layer, by rep id and name, for reasons and the hiring count."""

    short: ShortArea
    rep_ids: tuple[str, ...]
    names: str  # the binding reps: "Rep 0, Rep 1 and Rep 2" or "Rep 0 and 11 others"
    overlay: bool


def _short_areas(
    after: BalanceReport, layers: Sequence[_LayerResult], rep_by_id: Mapping[str, Rep]
) -> list[_Area]:
    """The areas of over-capacity reps (and their neighbours) that lack reps."""
    over = set(after.over_capacity)
    areas: list[_Area] = []
    for layer in layers:
        flags = np.array([r in over for r in layer.rep_ids])
        for short in short_areas(layer.reach_map, flags, layer.fixed_workload, layer.capacity):
            ids = tuple(layer.rep_ids[k] for k in short.reps)
            labels = [_label(rep_by_id.get(layer.rep_ids[k]), layer.rep_ids[k]) for k in short.binding]
            names = (
                f"{', '.join(labels[:-1])} and {labels[-1]}" if 1 < len(labels) <= 5
                else labels[0] if len(labels) == 1
                else f"{labels[0]} and {len(labels) - 1} others"
            )
            areas.append(_Area(short, ids, names, rep_by_id[ids[0]].overlay))
    return areas


def _team_shortfall(after: BalanceReport, overlay: Mapping[str, bool]) -> dict[bool, int]:
    """Per layer (overlay or not), the reps to hire so its workload fits its capacity as a whole."""
    short = {False: 0, True: 0}
    for flag in short:
        loads = [load for load in after.reps if overlay[load.rep_id] == flag]
        work = sum(load.workload_minutes for load in loads)
        capacity = sum(load.capacity_minutes for load in loads)
        if loads and work > capacity + 1e-6:
            short[flag] = max(reps_needed(work, capacity / len(loads)) - len(loads), 0)
    return short


def _extra_reps_needed(team_short: Mapping[bool, int], areas: Sequence[_Area]) -> int:
    """Reps to hire so each layer's workload fits its capacity (0 when it already does).

    Per layer, the larger of the team's shortfall and the sum of its short
    areas': a team with room in one metro still needs a hire in another whose
    hinterland outgrows the reps who can reach it.
    """
    return sum(
        max(short, sum(a.short.reps_short for a in areas if a.overlay == flag))
        for flag, short in team_short.items()
    )


def _out_of_band(
    after: BalanceReport, reach: Mapping[str, RepReach], rep_by_id: Mapping[str, Rep], policy: Policy,
    in_short_layer: set[str], areas: Mapping[str, _Area],
) -> tuple[OutOfBand, ...]:
    """Every rep outside the policy's band or over capacity, with what limits them."""
    bp, bw = policy.balance.potential_band, policy.balance.workload_band
    return tuple(
        OutOfBand(
            load.rep_id, load.potential_vs_target, load.workload_vs_target, load.utilisation,
            _out_of_band_reason(load, reach.get(load.rep_id),
                                _label(rep_by_id.get(load.rep_id), load.rep_id), policy,
                                load.rep_id in in_short_layer,
                                areas.get(load.rep_id)),
        )
        for load in after.reps
        if abs(load.potential_vs_target - 1.0) > bp + 1e-9
        or abs(load.workload_vs_target - 1.0) > bw + 1e-9
        or load.utilisation > 1.0 + 1e-9
    )


def _out_of_band_reason(
    load: RepLoad, reach: RepReach | None, name: str, policy: Policy, team_short: bool,
    area: _Area | None,
) -> str:
    """Why a rep stays outside the band or over capacity, in figures a manager can act on."""
    bp, bw = policy.balance.potential_band, policy.balance.workload_band
    potential, workload = load.potential_vs_target, load.workload_vs_target
    figures = (
        f"potential {_pct(potential)} and workload {_pct(workload)} of a fair share "
        f"(band ±{bp * 100:.0f} % / ±{bw * 100:.0f} %)"
    )
    if reach is None:
        return f"{figures}: no accounts in {name}'s layer to plan"
    where = (
        f"{reach.accounts} accounts within a day's drive of {name}'s home "
        f"({reach.sole} of them within no one else's)"
    )
    group = f"{name} and the {reach.neighbours} rep(s) whose day's drive overlaps theirs"
    if load.utilisation > 1.0 + 1e-9:
        over = f"at {_pct(load.utilisation)} of capacity"
        if reach.sole_capacity_ratio > 1.0:
            return (
                f"{over}: the {reach.sole} accounts only {name} can reach (or holds locked) take "
                f"{_pct(reach.sole_capacity_ratio)} of {name}'s capacity on their own; the area needs "
                f"{math.ceil(reach.sole_capacity_ratio - 1.0 - 1e-9)} more rep(s)"
            )
        if area is not None:
            return (
                f"{over}: the {area.short.accounts} accounts that only {area.names} can reach take at "
                f"least {area.short.capacity_ratio * 100:.1f} % of their capacity; the area needs "
                f"{area.short.reps_short} more rep(s)"
            )
        if team_short:
            return f"{over}: the team's book needs more time than its reps have"
        return (
            f"{over}: the reps within a day's drive of its accounts could take them, but not "
            "within this plan's time and travel"
        )
    if reach.sole_workload_ratio > 1.0 + bw or reach.sole_potential_ratio > 1.0 + bp:
        return (
            f"{figures}: the {reach.sole} accounts only {name} can reach (or holds locked) already take "
            f"{_pct(reach.sole_workload_ratio)} of a fair workload and "
            f"{_pct(reach.sole_potential_ratio)} of a fair potential"
        )
    if reach.potential_ratio < 1.0 - bp:
        return f"{figures}: the {where} hold only {_pct(reach.potential_ratio)} of a fair share of potential"
    if reach.cheapest_workload_ratio > 1.0 + bw:
        return (
            f"{figures}: of the {where}, the least workload that carries {_pct(1.0 - bp)} of a fair "
            f"potential is {_pct(reach.cheapest_workload_ratio)} of a fair workload; the drive makes "
            "this book dearer to serve than the team's"
        )
    if reach.enclosed_potential_ratio > 1.0 + bp or reach.enclosed_workload_ratio > 1.0 + bw:
        return (
            f"{figures}: the {reach.enclosed} accounts that only {group} can reach carry "
            f"{_pct(reach.enclosed_potential_ratio)} of their fair potential and at least "
            f"{_pct(reach.enclosed_workload_ratio)} of their fair workload"
        )
    if reach.group_potential_ratio < 1.0 - bp:
        return (
            f"{figures}: all the accounts {group} can reach hold only "
            f"{_pct(reach.group_potential_ratio)} of their fair potential"
        )
    return (
        f"{figures}: the {where} could balance {name}, but not alongside the "
        f"{reach.neighbours} rep(s) who share them, within this plan's travel"
    )


def _label(rep: Rep | None, rep_id: str) -> str:
    return rep.name if rep is not None and rep.name else rep_id


def _pct(x: float) -> str:
    return f"{x * 100:.0f} %"


def _move_reason(
    account: Account,
    to_rep: str,
    rep_by_id: Mapping[str, Rep],
    before: BalanceReport,
    after: BalanceReport,
    km: Mapping[tuple[str, str], float],
    policy: Policy,
) -> str:
    """Why `account` goes to `to_rep`, in words a rep manager can check."""
    to = _label(rep_by_id.get(to_rep), to_rep)
    to_km = km.get((account.id, to_rep))
    where = f"{to_km:.0f} km from {to}'s home" if to_km is not None else f"served by {to}"
    src_id = account.current_rep
    if src_id is None:
        return f"had no rep; {where}"
    src_rep = rep_by_id.get(src_id)
    src = _label(src_rep, src_id)
    if src_rep is None:
        return f"{src} is no longer on the team; {where}"
    if not account.skills <= src_rep.skills:
        missing = ", ".join(sorted(account.skills - src_rep.skills))
        return f"needs {missing}, which {src} lacks; {where}"
    if src_rep.overlay != rep_by_id[to_rep].overlay:
        return f"moves layer: {src} and {to} are in different layers; {where}"
    bf, af, bt, at = before.rep(src_id), after.rep(src_id), before.rep(to_rep), after.rep(to_rep)
    band_w, band_p = policy.balance.workload_band, policy.balance.potential_band
    # A driver is named only if the plan moved that rep the way this account's move does: off an
    # over-full rep (which ends lighter), onto an under-full one (which ends fuller). Otherwise the
    # before → after figures would contradict the reason.
    drivers: list[tuple[float, str]] = []
    if bf.utilisation > 1.0 and af.utilisation < bf.utilisation:
        drivers.append(
            (10.0 + bf.utilisation,
             f"balances workload: {src} at {_pct(bf.utilisation)} of capacity → {_pct(af.utilisation)}")
        )
    for who, b, a, sign in ((src, bf, af, 1.0), (to, bt, at, -1.0)):
        for dimension, before_ratio, after_ratio, band in (
            ("workload", b.workload_vs_target, a.workload_vs_target, band_w),
            ("potential", b.potential_vs_target, a.potential_vs_target, band_p),
        ):
            excess = sign * (before_ratio - 1.0)  # > 0: the move relieves this side of the band
            if excess > band and sign * (before_ratio - after_ratio) > 0:
                drivers.append(
                    (excess,
                     f"balances {dimension}: {who} at {_pct(before_ratio)} of a fair share "
                     f"→ {_pct(after_ratio)}")
                )
    from_km = km.get((account.id, src_id))
    if drivers:
        _, text = max(drivers, key=lambda d: d[0])
        if from_km is not None and to_km is not None:
            return f"{text}; {to_km:.0f} km from {to}'s home (was {from_km:.0f} km from {src}'s)"
        return text
    if from_km is not None and to_km is not None and to_km < from_km:
        return f"shortens travel: {to_km:.0f} km from {to}'s home instead of {from_km:.0f} km from {src}'s"
    return (
        f"part of the rebalance: {src} ends at {_pct(af.workload_vs_target)} and {to} at "
        f"{_pct(at.workload_vs_target)} of a fair share of workload"
    )
