"""Territory rebalancing: `rebalance` turns accounts, reps and a policy into a `TerritoryPlan`.

Method (chosen by measurement, see docs/planner.md): per layer (base reps,
overlay reps) solve the LP relaxation of the assignment model over the pairs a
rep can serve within a day's drive, round each account to its largest LP
value (the few split accounts fixed by a small MIP), then improve by local
search (moves and exchanges); a large book's LP is solved over micro-clusters
of nearby, alike accounts (`planner.territory_layer`). Where the LP cannot be
solved in time the search starts from the current owners (minimal) or the
nearest rep (full) instead, so a plan always comes back. How hard it searches
is `RebalanceParams`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from planner.capacity import full_capacity_minutes
from planner.coverage import coverage_plan
from planner.metrics import balance_report, layer_flags
from planner.model import Account, BalanceReport, Move, Policy, Rep, TerritoryPlan, Unassigned
from planner.rebalance_params import RebalanceParams
from planner.territory_layer import LayerResult, Mode, plan_layer
from planner.territory_reasons import NamedArea, move_reason, named_short_areas, out_of_band
from planner.travel import TravelMatrix


@dataclass
class _Book:
    """The accounts sorted for planning: unplannable (with reasons), locked, and movable per layer."""

    unassigned: list[Unassigned] = field(default_factory=list)
    fixed: dict[str, str] = field(default_factory=dict)  # locked account id → its rep
    movable: dict[bool, list[Account]] = field(default_factory=lambda: {False: [], True: []})  # by overlay

    @property
    def plannable(self) -> int:
        return sum(len(v) for v in self.movable.values()) + len(self.fixed)


def rebalance(
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    policy: Policy,
    *,
    mode: Mode = "minimal",
    seed: int = 0,
    time_limit: float = 30.0,
    travel: TravelMatrix | None = None,
    params: RebalanceParams = RebalanceParams(),
) -> TerritoryPlan:
    """Assign every located, plannable account to exactly one rep.

    Locked accounts stay with their current rep, required skills are
    respected, overlay reps are balanced as their own layer. `minimal` moves
    at most `policy.disruption.max_move_share` of the accounts by choice
    (accounts whose rep left or lacks a skill must move and are not counted
    against the budget); `full` redesigns from scratch. The same inputs, seed,
    params and time limit give the same plan unless the time limit cuts the search.
    """
    if mode not in ("minimal", "full"):
        raise ValueError(f"mode must be 'minimal' or 'full', not {mode!r}")
    started = time.perf_counter()
    # the reports, reasons and reach limits after the search take time too: stop the search in time
    finish = min(params.finish_seconds_per_pair * len(accounts) * len(reps),
                 params.finish_share * max(time_limit, 0.0))
    deadline = started + max(time_limit, 0.0) - finish
    _require_unique_ids(accounts, reps)
    rep_by_id = {r.id: r for r in reps}
    overlay = dict(zip((r.id for r in reps), layer_flags(reps), strict=True))
    book = _sort_book(accounts, reps, rep_by_id, overlay)
    layers = [
        plan_layer(
            book.movable[is_overlay], pinned, book.fixed, layer_reps, policy, params, mode=mode, seed=seed,
            deadline=deadline, travel=travel, move_budget=budget,
        )
        for is_overlay, layer_reps, pinned, budget in _layers(accounts, reps, policy, book, overlay, mode)
    ]
    owner: dict[str, str] = dict(book.fixed)
    for layer in layers:
        owner.update(layer.owner)
    plannable = [a for a in accounts if a.id in owner]
    current = {
        a.id: a.current_rep for a in plannable if a.current_rep is not None and a.current_rep in rep_by_id
    }
    before = balance_report(current, plannable, reps, policy, travel)
    after = balance_report(owner, plannable, reps, policy, travel)
    return _territory_plan(
        plannable, owner, book, layers, before, after, rep_by_id, overlay, policy, mode,
        seconds=time.perf_counter() - started, travel=travel,
    )


def _require_unique_ids(accounts: Sequence[Account], reps: Sequence[Rep]) -> None:
    for kind, ids in (("account", [a.id for a in accounts]), ("rep", [r.id for r in reps])):
        if len(set(ids)) != len(ids):
            dupes = sorted({i for i in ids if ids.count(i) > 1})[:5]
            raise ValueError(f"duplicate {kind} ids: {dupes}")


def _sort_book(
    accounts: Sequence[Account], reps: Sequence[Rep], rep_by_id: Mapping[str, Rep],
    overlay: Mapping[str, bool],
) -> _Book:
    """Unplannable accounts out with a reason, locked ones fixed, the rest to the layer that serves them."""
    book = _Book()
    for account in accounts:
        reason = _unplannable_reason(account, reps, rep_by_id)
        if reason is not None:
            book.unassigned.append(Unassigned(account.id, reason))
        elif account.locked and account.current_rep is not None and account.current_rep in rep_by_id:
            book.fixed[account.id] = account.current_rep
        else:
            suitable_base = any(account.skills <= r.skills for r in reps if not overlay[r.id])
            book.movable[not suitable_base].append(account)
    return book


def _layers(
    accounts: Sequence[Account], reps: Sequence[Rep], policy: Policy, book: _Book,
    overlay: Mapping[str, bool], mode: Mode,
) -> list[tuple[bool, list[Rep], list[Account], int | None]]:
    """Per layer with work to plan: its reps, its locked accounts and its share of the move budget."""
    layers = []
    for is_overlay in (False, True):
        layer_reps = [r for r in reps if overlay[r.id] == is_overlay]
        movable = book.movable[is_overlay]
        if not movable or not layer_reps:
            continue
        pinned = [a for a in accounts if a.id in book.fixed and overlay[book.fixed[a.id]] == is_overlay]
        share = (len(movable) + len(pinned)) / max(book.plannable, 1)
        budget = (
            math.floor(policy.disruption.max_move_share * book.plannable * share)
            if mode == "minimal"
            else None
        )
        layers.append((is_overlay, layer_reps, pinned, budget))
    return layers


def _territory_plan(
    plannable: Sequence[Account], owner: Mapping[str, str], book: _Book, layers: Sequence[LayerResult],
    before: BalanceReport, after: BalanceReport, rep_by_id: Mapping[str, Rep], overlay: Mapping[str, bool],
    policy: Policy, mode: Mode, *, seconds: float, travel: TravelMatrix | None,
) -> TerritoryPlan:
    """The plan with its moves and reasons, what moved, the bound, the hires and the reps out of band."""
    km: dict[tuple[str, str], float] = {}
    for layer in layers:
        km.update(layer.km)
    moves = tuple(
        Move(a.id, a.current_rep, owner[a.id],
             move_reason(a, owner[a.id], rep_by_id, before, after, km, policy))
        for a in sorted(plannable, key=lambda a: a.id)
        if a.current_rep != owner[a.id]
    )
    had_rep = sum(1 for a in plannable if a.current_rep is not None)
    total_potential = sum(a.potential for a in plannable)
    moved_ids = {m.account_id for m in moves if m.from_rep is not None}
    moved_potential = sum(a.potential for a in plannable if a.id in moved_ids)
    bounds = [layer.lower_bound for layer in layers]
    lower = (
        float(sum(b for b in bounds if b is not None))
        if mode == "full" and bounds and all(b is not None for b in bounds)
        else None
    )
    reach = {rep_id: limit for layer in layers for rep_id, limit in layer.reach.items()}
    team_short = _team_shortfall(after, overlay, rep_by_id, policy)
    in_short_layer = {r for r in rep_by_id if team_short[overlay[r]] > 0}
    areas = named_short_areas(after, layers, rep_by_id)
    capacity = {load.rep_id: load.capacity_minutes for load in after.reps}
    return TerritoryPlan(
        assignments=MappingProxyType(dict(sorted(owner.items()))),
        unassigned=tuple(sorted(book.unassigned, key=lambda u: u.account_id)),
        moves=moves,
        before=before,
        after=after,
        extra_reps_needed=_extra_reps_needed(team_short, areas),
        over_capacity=after.over_capacity,
        out_of_band=out_of_band(
            after, reach, rep_by_id, policy, in_short_layer,
            {rep_id: area for area in areas for rep_id in area.rep_ids},
        ),
        mode=mode,
        moved_share=len(moved_ids) / had_rep if had_rep else 0.0,
        moved_potential_share=moved_potential / total_potential if total_potential > 0 else 0.0,
        lower_bound_travel_km=lower,
        status="+".join(sorted({layer.status for layer in layers})) or "nothing to plan",
        seconds=seconds,
        coverage_plan=coverage_plan(owner, plannable, list(rep_by_id.values()), policy, capacity, overlay,
                                    travel),
    )


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


def _team_shortfall(
    after: BalanceReport, overlay: Mapping[str, bool], rep_by_id: Mapping[str, Rep], policy: Policy
) -> dict[bool, int]:
    """Per layer (overlay or not), the full-share reps to hire so its workload fits its capacity."""
    short = {False: 0, True: 0}
    for flag in short:
        loads = [load for load in after.reps if overlay[load.rep_id] == flag]
        work = sum(load.workload_minutes for load in loads)
        capacity = sum(load.capacity_minutes for load in loads)
        if loads and work > capacity + 1e-6:
            full = [full_capacity_minutes(rep_by_id[load.rep_id], policy) for load in loads]
            per_hire = sum(full) / len(full)
            short[flag] = math.ceil((work - capacity) / per_hire - 1e-9)
    return short


def _extra_reps_needed(team_short: Mapping[bool, int], areas: Sequence[NamedArea]) -> int:
    """Reps to hire so each layer's workload fits its capacity (0 when it already does).

    Per layer, the larger of the team's shortfall and the sum of its short
    areas': a team with room in one metro still needs a hire in another whose
    hinterland outgrows the reps who can reach it.
    """
    return sum(
        max(short, sum(a.short.reps_short for a in areas if a.overlay == flag))
        for flag, short in team_short.items()
    )
