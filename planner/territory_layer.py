"""One layer of a territory plan (the base reps, or the overlay reps): its data and its three steps.

`Layer.of` gathers what every step needs as arrays over the layer's reps and
movable accounts. A start comes from the exact LP (a modest book: every
servable pair) or the clustered LP (a large book: micro-clusters of nearby,
alike accounts, priced back per account), or from the current owners
(minimal) or the nearest rep (full) when no LP finishes in time; the local
search then balances it (`planner.balance_repair`). `plan_layer` runs them in
that order.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from planner.assignment_lp import AssignmentModel
from planner.balance_repair import (
    NO_REP,
    RepairProblem,
    exchange_pass,
    moves_used,
    objective,
    repair,
    shift_boundary,
)
from planner.capacity import WorkloadTable, workload_table
from planner.clusters import Units, group_keys, micro_clusters, plane
from planner.model import Account, Policy, Rep
from planner.reach import ReachMap, RepReach, reach_limits, servable_pairs
from planner.rebalance_params import RebalanceParams
from planner.territory_lp import PairData, account_bound, first_pairs, relax_and_price
from planner.travel import TravelMatrix

Mode = Literal["minimal", "full"]
_EMPTY = np.zeros(0, np.int64)


@dataclass
class LayerResult:
    owner: dict[str, str]
    km: dict[tuple[str, str], float]  # (account id, rep id) → one-way km, for move reasons
    lower_bound: float | None
    status: str
    reach: dict[str, RepReach]  # rep id → what its day's drive allows, for out-of-band reasons
    reach_map: ReachMap  # for counting the reps an over-capacity area lacks
    rep_ids: tuple[str, ...]  # the layer's reps, in the reach map's order
    fixed_workload: NDArray[np.float64]  # (m,) locked accounts' workload per rep
    capacity: NDArray[np.float64]  # (m,)


@dataclass(frozen=True)
class Start:
    """Where the search starts: each movable account's rep, and what the LP proved."""

    rep: NDArray[np.int64]  # (n,)
    lower_bound: float | None  # visit-weighted km, locked accounts included
    status: str


@dataclass(frozen=True)
class Layer:
    """A layer's reps (m) and movable accounts (n) as arrays; locked accounts only load their reps."""

    movable: Sequence[Account]
    reps: Sequence[Rep]
    policy: Policy
    params: RebalanceParams
    mode: Mode
    seed: int
    move_budget: int | None
    table: WorkloadTable  # columns: movable accounts, then the locked ones
    travel_cost: NDArray[np.float64]  # (m, n) visit-weighted km, with a seeded tie-breaking jitter
    potential: NDArray[np.float64]  # (n,)
    fixed_potential: NDArray[np.float64]  # (m,) of the locked accounts
    fixed_workload: NDArray[np.float64]  # (m,)
    pinned_travel_km: float  # the locked accounts' visit-weighted km
    suitable: NDArray[np.bool_]  # (m, n) the rep has the account's skills (and may take it)
    drivable: NDArray[np.bool_]  # (m, n) the reach rule's servable pairs (that the rep may take)
    held: NDArray[np.bool_]  # (n,) kept with its current rep by choice
    reach_map: ReachMap
    km_ok: NDArray[np.float64]  # (m, n) km, inf where the rep lacks a skill
    cur: NDArray[np.int64]  # (n,) the rep the account may stay with, NO_REP if none
    nearest: NDArray[np.int64]  # (n,) nearest suitable rep
    disruption: NDArray[np.float64]  # (n,) price of moving the account (0 in full mode)
    shares: NDArray[np.float64]  # (m,) each rep's share of the layer, sums to 1
    rep_weight: NDArray[np.float64]  # (m,) target share / the mean: scales each rep's penalties
    potential_target: NDArray[np.float64]  # (m,)
    workload_estimate: float  # the layer's workload if every account went to its nearest rep
    rep_travel: float  # a rep's share of that plan's travel: the unit of every price

    @property
    def n(self) -> int:
        return len(self.movable)

    @property
    def m(self) -> int:
        return len(self.reps)

    @property
    def work(self) -> NDArray[np.float64]:
        """(m, n + locked) workload minutes of each pair."""
        return self.table.workload

    @property
    def exact(self) -> bool:
        """A modest book: one LP over every servable pair; a larger one goes by clusters."""
        return self.n * self.m <= self.params.full_lp_pairs

    def planning_capacity(self, total_workload: float) -> NDArray[np.float64]:
        """Each rep's capacity as the LP and the search price it.

        A layer whose book outgrows its capacity stretches every rep in proportion to its share:
        capacity is then priced only past the team's load × (1 + the workload band), so the bands
        share out the shortfall instead of a penalty that equalises hours.
        """
        capacity = self.table.capacity
        load = total_workload / max(float(capacity.sum()), 1e-9)
        if load <= 1.0:
            return capacity
        return np.asarray(capacity * load * (1.0 + self.policy.balance.workload_band))

    @classmethod
    def of(
        cls, movable: Sequence[Account], pinned: Sequence[Account], fixed: Mapping[str, str],
        reps: Sequence[Rep], policy: Policy, params: RebalanceParams, *, mode: Mode, seed: int,
        travel: TravelMatrix | None, move_budget: int | None,
    ) -> Layer:
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
        fixed_potential = np.bincount(pin_rep, weights=potential_all[pin_cols], minlength=m).astype(float)
        fixed_workload = np.bincount(pin_rep, weights=work[pin_rep, pin_cols], minlength=m).astype(float)
        skilled = np.array([[a.skills <= r.skills for a in movable] for r in reps], dtype=bool)
        # A rep who cannot reach an account and be home the same day cannot serve it; an account no
        # skilled rep can reach may go to the reps nearly as near as the nearest, never across the map.
        servable = servable_pairs(table.within_a_day(policy)[:, :n], table.km[:, :n], skilled)
        reach_map = ReachMap.of(servable, work[:, :n])  # before the solvers: its time is in the budget
        # an account whose rep left, lacks its skill or cannot reach it has no rep to keep: it must
        # move, and that move is not the planner's choice, so it does not count against the budget
        cur = np.array(
            [
                rep_pos[a.current_rep] if a.current_rep in rep_pos and servable[rep_pos[a.current_rep], i]
                else NO_REP
                for i, a in enumerate(movable)
            ],
            dtype=np.int64,
        )
        held = np.array([a.keep_rep for a in movable], dtype=bool) & (cur >= 0)
        # an account kept by choice may go to its current rep only
        allowed = ~held[None, :] | (np.arange(m)[:, None] == cur[None, :])
        suitable, drivable = skilled & allowed, servable & allowed
        km_ok = np.where(suitable, table.km[:, :n], np.inf)
        nearest = np.argmin(km_ok, axis=0)
        potential = potential_all[:n]
        travel_cost = cost_km[:, :n]
        raw_shares = np.array([max(r.target_share, 0.0) for r in reps], dtype=np.float64)
        shares = raw_shares / raw_shares.sum() if raw_shares.sum() > 0 else np.full(m, 1.0 / m)
        return cls(
            movable=movable, reps=reps, policy=policy, params=params, mode=mode, seed=seed,
            move_budget=move_budget,
            table=table, travel_cost=travel_cost, potential=potential,
            fixed_potential=fixed_potential, fixed_workload=fixed_workload,
            pinned_travel_km=float(table.travel_km[pin_rep, pin_cols].sum()),
            suitable=suitable, drivable=drivable, held=held, reach_map=reach_map, km_ok=km_ok, cur=cur,
            nearest=nearest,
            disruption=_disruption(mode, policy, travel_cost, potential, cur, nearest, movable),
            shares=shares, rep_weight=raw_shares / raw_shares.mean() if m else raw_shares,
            potential_target=shares * float(potential_all.sum()),
            workload_estimate=float(work[nearest, np.arange(n)].sum() + fixed_workload.sum()),
            rep_travel=max(float(travel_cost[nearest, np.arange(n)].sum()) / m, 1.0),
        )

    def pairs(self, acc: NDArray[np.int64], rep: NDArray[np.int64]) -> PairData:
        """Cost (travel + disruption), workload and whether it is a move, of each (account, rep) pair."""
        is_move = (self.cur[acc] >= 0) & (rep != self.cur[acc])
        return self.travel_cost[rep, acc] + self.disruption[acc] * is_move, self.work[rep, acc], is_move

    def lp_pairs(self, acc: NDArray[np.int64], rep: NDArray[np.int64]) -> PairData:
        """`pairs` in units of a rep's travel: keeps the LP's numbers near 1 for the simplex."""
        cost, wl, is_move = self.pairs(acc, rep)
        return cost / self.rep_travel, wl, is_move

    def search_pairs(self, acc: NDArray[np.int64], rep: NDArray[np.int64]) -> PairData:
        """The search's prices: a rep beyond a day's drive is a last resort."""
        cost, wl, is_move = self.pairs(acc, rep)
        beyond_reach = self.params.unreachable_penalty * self.rep_travel
        return cost + beyond_reach * ~self.drivable[rep, acc], wl, is_move

    def model(
        self, n_units: int, unit_potential: NDArray[np.float64], acc: NDArray[np.int64],
        rep: NDArray[np.int64], data: PairData, unit_size: NDArray[np.float64] | None = None,
        stepped: bool = False,
    ) -> AssignmentModel:
        """The layer's assignment LP over the given pairs of units (accounts or clusters)."""
        cost, wl, is_move = data
        p = self.params
        bp, bw = self.policy.balance.potential_band, self.policy.balance.workload_band
        target = self.potential_target
        return AssignmentModel(
            band_step=bp * p.lp_gentle_step if stepped else None,
            steep_penalty=p.band_penalty,
            move_weight=unit_size,
            n_accounts=n_units, n_reps=self.m, pair_account=acc, pair_rep=rep, pair_cost=cost,
            pair_workload=wl, pair_is_move=is_move, potential=unit_potential,
            potential_target=np.where(target > 0, target, 1.0),
            share=self.shares, fixed_potential=self.fixed_potential, fixed_workload=self.fixed_workload,
            capacity=self.planning_capacity(self.workload_estimate),
            workload_estimate=max(self.workload_estimate, 1.0),
            potential_band=bp * p.lp_band if target.sum() > 0 else 1e6,
            workload_band=bw * p.lp_band,
            move_budget=self.move_budget,
            band_penalty=p.band_penalty * (p.lp_gentle_price if stepped else 1.0),
            capacity_penalty=p.capacity_penalty,
            rep_weight=self.rep_weight,
        )


def _disruption(
    mode: Mode, policy: Policy, travel_cost: NDArray[np.float64], potential: NDArray[np.float64],
    cur: NDArray[np.int64], nearest: NDArray[np.int64], accounts: Sequence[Account],
) -> NDArray[np.float64]:
    """Price of moving each account in minimal mode: low-value accounts are cheap to move,
    and each account's `move_cost` multiplies its price."""
    n = len(potential)
    if mode != "minimal":
        return np.zeros(n)
    anchor = np.where(cur >= 0, cur, nearest)
    mean_cost = float(travel_cost[anchor, np.arange(n)].mean())
    mean_potential = float(potential.mean()) if float(potential.mean()) > 0 else 1.0
    # the travel term already favours territory edges
    price = policy.disruption.move_cost * mean_cost * (0.5 + 0.5 * potential / mean_potential)
    weight = np.array([a.move_cost for a in accounts], dtype=np.float64)
    return np.asarray(price if (weight == 1.0).all() else price * weight)


def plan_layer(
    movable: Sequence[Account], pinned: Sequence[Account], fixed: Mapping[str, str], reps: Sequence[Rep],
    policy: Policy, params: RebalanceParams, *, mode: Mode, seed: int, deadline: float,
    travel: TravelMatrix | None, move_budget: int | None,
) -> LayerResult:
    """Plan one layer: an LP start (exact or clustered), then the local search."""
    layer = Layer.of(movable, pinned, fixed, reps, policy, params, mode=mode, seed=seed, travel=travel,
                     move_budget=move_budget)
    start = None
    if layer.m > 1:
        start = exact_lp_start(layer, deadline) if layer.exact else clustered_lp_start(layer, deadline)
    if start is None:
        greedy = np.where(layer.cur >= 0, layer.cur, layer.nearest) if mode == "minimal" else layer.nearest
        start = Start(greedy, None, "greedy+repair")
    final_rep = search(layer, start.rep, deadline)
    return _layer_result(layer, final_rep, start)


def exact_lp_start(layer: Layer, deadline: float) -> Start | None:
    """The LP over every servable pair, band violations priced in two steps; None if it fails.

    Servable pairs only: an LP over every pair balances on paper with pairs the plan cannot keep.
    """
    def servable_lp(acc: NDArray[np.int64], rep: NDArray[np.int64]) -> AssignmentModel:
        return layer.model(layer.n, layer.potential, acc, rep, layer.lp_pairs(acc, rep), stepped=True)

    lp = relax_and_price(servable_lp, layer.drivable.copy(), layer.drivable, layer.lp_pairs, deadline,
                         layer.params)
    if lp.rep is None:
        return None
    bound = None if lp.lower_bound is None else lp.lower_bound * layer.rep_travel + layer.pinned_travel_km
    return Start(lp.rep, bound, f"lp({lp.status})+repair")


@dataclass(frozen=True)
class _Clusters:
    """The layer's micro-clusters as LP units: sums of their accounts' arrays."""

    layer: Layer
    labels: NDArray[np.int64]  # (n,) each account's cluster
    units: Units
    cur: NDArray[np.int64]  # (u,)
    suitable: NDArray[np.bool_]  # (m, u)
    travel: NDArray[np.float64]  # (m, u)
    work: NDArray[np.float64]  # (m, u)
    disruption: NDArray[np.float64]  # (u,)
    potential: NDArray[np.float64]  # (u,)
    km: NDArray[np.float64]  # (m, u) mean km, inf where unsuitable

    @classmethod
    def of(cls, layer: Layer) -> _Clusters:
        n, p = layer.n, layer.params
        groups = group_keys(layer.movable, layer.cur if layer.mode == "minimal" else None)
        if layer.held.any():  # a kept account shares a cluster only with kept accounts of its rep
            held_rep = np.where(layer.held, layer.cur, NO_REP)
            groups = np.unique(np.c_[groups, held_rep], axis=0, return_inverse=True)[1].astype(np.int64)
        size = max(p.cluster_size, math.ceil(n / p.max_clusters))
        labels = micro_clusters(plane(layer.movable), groups, size)
        units = Units(labels)
        suitable = layer.suitable[:, units.first]
        return cls(
            layer=layer, labels=labels, units=units, cur=layer.cur[units.first], suitable=suitable,
            travel=units.sum(layer.travel_cost), work=units.sum(layer.work[:, :n]),
            disruption=np.bincount(labels, weights=layer.disruption, minlength=units.count).astype(float),
            potential=np.bincount(labels, weights=layer.potential, minlength=units.count).astype(float),
            km=np.where(suitable, units.sum(layer.table.km[:, :n]) / units.size, np.inf),
        )

    def lp_pairs(self, acc: NDArray[np.int64], rep: NDArray[np.int64]) -> PairData:
        """Cost in units of a rep's travel, workload and move flag of (cluster, rep) pairs."""
        is_move = (self.cur[acc] >= 0) & (rep != self.cur[acc])
        cost = self.travel[rep, acc] + self.disruption[acc] * is_move
        return cost / self.layer.rep_travel, self.work[rep, acc], is_move

    def model(self, acc: NDArray[np.int64], rep: NDArray[np.int64]) -> AssignmentModel:
        return self.layer.model(self.units.count, self.potential, acc, rep, self.lp_pairs(acc, rep),
                                self.units.size)


def clustered_lp_start(layer: Layer, deadline: float) -> Start | None:
    """The LP over micro-clusters and every suitable pair, one band price; None if it fails.

    Every suitable pair, not servable ones only, and one price, not two: so it
    finishes in time on a large book (docs/planner.md, tuning notes). The search
    prices pairs beyond a day's drive above any band violation and moves them back.
    """
    clusters = _Clusters.of(layer)
    p = layer.params
    if clusters.units.count * layer.m <= p.full_lp_pairs:
        chosen = clusters.suitable.copy()  # few enough clusters for every pair: no pricing
    else:
        chosen = first_pairs(clusters.km, clusters.cur, clusters.suitable, p.cluster_candidates,
                             p.rep_side_factor)
    lp = relax_and_price(
        clusters.model, chosen, clusters.suitable, clusters.lp_pairs, deadline, p,
        fix_split=False,  # whole clusters are too coarse for the MIP; the search splits them
    )
    if lp.rep is None:
        return None
    bound = None
    if lp.prices is not None:
        account_model = layer.model(layer.n, layer.potential, _EMPTY, _EMPTY, layer.lp_pairs(_EMPTY, _EMPTY))
        bound = layer.rep_travel * account_bound(account_model, lp.prices, layer.suitable, layer.lp_pairs)
        bound += layer.pinned_travel_km  # the LP saw movable accounts only; locked ones travel too
    return Start(lp.rep[clusters.labels], bound, f"clustered-lp({lp.status})+repair")


def search(layer: Layer, start_rep: NDArray[np.int64], deadline: float) -> NDArray[np.int64]:
    """Local search from `start_rep` over each account's nearest reps, current rep and start.

    A descent (single moves and exchanges) first; then, while time is left and shifts of a
    boundary between two reps still pay, perturb-and-repair rounds (kept only if they improve).
    """
    problem, slots = _repair_problem(layer, start_rep)
    p = layer.params
    best = _descend(problem, np.full(layer.n, slots.shape[1] - 1, dtype=np.int64), p, deadline)
    best = _improve(problem, best, p, np.random.default_rng([layer.seed, 1]), deadline)
    return np.asarray(slots[np.arange(layer.n), best], dtype=np.int64)


def _repair_problem(layer: Layer, start_rep: NDArray[np.int64]) -> tuple[RepairProblem, NDArray[np.int64]]:
    """The search's candidate table: per account its nearest reps, its current rep and its start."""
    n, p = layer.n, layer.params
    bp, bw = layer.policy.balance.potential_band, layer.policy.balance.workload_band
    k = layer.m if layer.exact else min(p.nearest_candidates, layer.m)
    near_k = np.argsort(layer.km_ok, axis=0, kind="stable")[:k]  # (k, n)
    slots = np.vstack([near_k, layer.cur[None, :], start_rep[None, :]]).T  # (n, k + 2)
    slots = np.where(slots == NO_REP, start_rep[:, None], slots)
    acc_idx = np.repeat(np.arange(n)[:, None], slots.shape[1], axis=1)
    cost, wl, is_move = layer.search_pairs(acc_idx.ravel(), slots.ravel())
    usable = layer.suitable[slots, acc_idx]
    problem = RepairProblem(
        cand_rep=np.where(usable, slots, NO_REP),
        cand_cost=cost.reshape(slots.shape),
        cand_work=wl.reshape(slots.shape),
        cand_is_move=is_move.reshape(slots.shape),
        potential=layer.potential,
        fixed_potential=layer.fixed_potential,
        fixed_workload=layer.fixed_workload,
        potential_target=layer.potential_target,
        share=layer.shares,
        capacity=layer.planning_capacity(
            float(layer.work[start_rep, np.arange(n)].sum() + layer.fixed_workload.sum())
        ),
        potential_band=bp * p.repair_band,
        workload_band=bw * p.repair_band,
        band_penalty=p.band_penalty * layer.rep_travel,
        capacity_penalty=p.capacity_penalty * layer.rep_travel,
        move_budget=layer.move_budget,
        convexity=p.convexity,
        rep_weight=layer.rep_weight,
    )
    return problem, slots


def _descend(
    problem: RepairProblem, slot: NDArray[np.int64], p: RebalanceParams, deadline: float
) -> NDArray[np.int64]:
    """Single moves until none helps, then exchanges and moves again while exchanges are found."""
    def repaired(slot: NDArray[np.int64]) -> NDArray[np.int64]:
        return repair(problem, slot, max_rounds=p.repair_rounds, moves_per_round=p.moves_per_round,
                      deadline=deadline)

    slot = repaired(slot)
    for _ in range(p.exchange_rounds):
        slot, exchanges = exchange_pass(problem, slot, shortlist=p.exchange_shortlist, deadline=deadline)
        if exchanges == 0:
            break
        slot = repaired(slot)
    return slot


def _improve(
    problem: RepairProblem, slot: NDArray[np.int64], p: RebalanceParams, rng: np.random.Generator,
    deadline: float,
) -> NDArray[np.int64]:
    """Perturb-and-repair rounds: shift a boundary, repair; keep the result only if it is better.

    Better means no worse on either part of the objective (penalties; travel and disruption) and
    better on one, so the rounds never buy balance with travel the LP chose not to spend. Stops
    after `improve_rounds`, after `improve_patience` rounds in a row without a gain, or at the
    deadline, whichever comes first.
    """
    best = objective(problem, slot)
    idle = 0
    for _ in range(p.improve_rounds):
        if idle >= p.improve_patience or time.perf_counter() > deadline:
            break
        shifted = shift_boundary(problem, slot, rng, p.shift_size)
        if shifted is None:
            idle += 1
            continue
        candidate = repair(problem, shifted, max_rounds=p.repair_rounds, moves_per_round=p.moves_per_round,
                           deadline=deadline)
        value = objective(problem, candidate)
        budget = problem.move_budget
        if _dominates(value, best) and (budget is None or moves_used(problem, candidate) <= budget):
            slot, best, idle = candidate, value, 0
        else:
            idle += 1
    return slot


def _dominates(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """`a` no worse than `b` on both parts and better on their sum (beyond round-off)."""
    tol = 1e-9 * (abs(b[0]) + abs(b[1]))
    return a[0] <= b[0] + tol and a[1] <= b[1] + tol and sum(a) < sum(b) - tol


def _layer_result(layer: Layer, final_rep: NDArray[np.int64], start: Start) -> LayerResult:
    """Owners, the km the move reasons quote, and what each rep's day's drive allows."""
    n, reps, work = layer.n, layer.reps, layer.work
    layer_workload = float(work[final_rep, np.arange(n)].sum() + layer.fixed_workload.sum())
    limits = reach_limits(
        layer.reach_map, work[:, :n], layer.potential, layer.fixed_potential, layer.fixed_workload,
        layer.potential_target, layer.shares * layer_workload, layer.table.capacity,
        layer.policy.balance.potential_band,
    )
    rep_pos = {r.id: k for k, r in enumerate(reps)}
    owner = {a.id: reps[int(final_rep[i])].id for i, a in enumerate(layer.movable)}
    km: dict[tuple[str, str], float] = {}
    for i, a in enumerate(layer.movable):
        km[(a.id, owner[a.id])] = float(layer.table.km[final_rep[i], i])
        if a.current_rep in rep_pos:
            km[(a.id, a.current_rep)] = float(layer.table.km[rep_pos[a.current_rep], i])
    return LayerResult(
        owner, km, start.lower_bound, start.status, {r.id: limits[k] for k, r in enumerate(reps)},
        layer.reach_map, tuple(r.id for r in reps), layer.fixed_workload, layer.table.capacity,
    )
