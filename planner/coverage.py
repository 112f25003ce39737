"""A coverage plan that fits: the least cut to visit frequencies that brings a short team's book
within its capacity, buffer kept.

Per layer (base reps, overlay reps) whose workload exceeds its capacity, in
the policy's order: `tier` lowers the least-visited tier a visit a year at a
time down to `policy.coverage_floor`, then moves that tier's accounts to
digital touch (no visits), least potential first, then goes on to the next
tier; `value` moves accounts to digital touch in order of potential per
minute of workload, least first. An account's workload is proportional to its
visits (each visit carries its service and its share of the day's drive), so
a cut is exact arithmetic on the plan's own workloads.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from planner.capacity import amortised_drive_minutes, default_travel, service_minutes, visits_per_year
from planner.model import Account, CoveragePlan, FrequencyCut, Policy, Rep
from planner.travel import TravelMatrix


@dataclass(frozen=True)
class _Book:
    """One layer's accounts with their visits a year and workload at their assigned rep."""

    accounts: list[Account]
    visits: np.ndarray  # (n,) visits a year under the policy
    workload: np.ndarray  # (n,) minutes a year at the assigned rep
    capacity: float  # the layer's plannable minutes a year


def coverage_plan(
    assignments: Mapping[str, str], accounts: Sequence[Account], reps: Sequence[Rep], policy: Policy,
    capacity: Mapping[str, float], overlay: Mapping[str, bool], travel: TravelMatrix | None = None,
) -> CoveragePlan | None:
    """The cut that makes every short layer fit its capacity; None when every layer fits already."""
    cuts: list[FrequencyCut] = []
    visits: dict[str, float] = {}
    before = after = total_capacity = 0.0
    fits = True
    for flag in (False, True):
        book = _layer_book(assignments, accounts, reps, policy, capacity, overlay, flag, travel)
        if book is None or book.workload.sum() <= book.capacity * (1.0 + 1e-9):
            continue
        new_visits = (_cut_by_tier if policy.coverage_order == "tier" else _cut_by_value)(book, policy)
        work_after = float((book.workload * _ratio(new_visits, book.visits)).sum())
        fits = fits and work_after <= book.capacity * (1.0 + 1e-9)
        before += float(book.workload.sum())
        after += work_after
        total_capacity += book.capacity
        cuts += _cuts(book, new_visits, policy, overlay=flag)
        changed = zip(book.accounts, new_visits, book.visits, strict=True)
        visits.update({a.id: float(v) for a, v, old in changed if v != old})
    if not cuts:
        return None
    return CoveragePlan(cuts=tuple(cuts), visits_per_year=MappingProxyType(visits), workload_before=before,
                        workload_after=after, capacity=total_capacity, fits=fits, order=policy.coverage_order)


def _layer_book(
    assignments: Mapping[str, str], accounts: Sequence[Account], reps: Sequence[Rep], policy: Policy,
    capacity: Mapping[str, float], overlay: Mapping[str, bool], flag: bool, travel: TravelMatrix | None,
) -> _Book | None:
    layer_reps = [r for r in reps if overlay[r.id] == flag]
    ids = {r.id for r in layer_reps}
    served = [a for a in accounts if a.located and assignments.get(a.id) in ids]
    if not served:
        return None
    provider = travel if travel is not None else default_travel(policy)
    visits = visits_per_year(served, policy)
    workload = service_minutes(served, policy)
    points = np.array([(a.lat, a.lon) for a in served], dtype=np.float64)
    for rep in layer_reps:
        mine = np.flatnonzero([assignments[a.id] == rep.id for a in served])
        if mine.size:
            home = np.array([[rep.home_lat, rep.home_lon]])
            one_way = np.asarray(provider.durations(home, points[mine]))[0]
            workload[mine] += amortised_drive_minutes(visits[mine], one_way, policy)
    return _Book(served, visits, workload, float(sum(capacity[r.id] for r in layer_reps)))


def _ratio(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    return np.where(old > 0, new / np.where(old > 0, old, 1.0), 1.0)


def _cut_by_tier(book: _Book, policy: Policy) -> np.ndarray:
    """Lowest tiers first: a visit a year off the tier down to the floor, then digital touch."""
    visits = book.visits.copy()
    tiers = np.array([a.tier if a.tier in policy.tiers else policy.default_tier for a in book.accounts])
    per_visit = np.where(book.visits > 0, book.workload / np.where(book.visits > 0, book.visits, 1.0), 0.0)
    order = sorted(policy.tiers, key=lambda t: (policy.tiers[t].visits_per_year, t))
    excess = float(book.workload.sum()) - book.capacity
    potential = np.array([a.potential for a in book.accounts])
    for tier in order:
        members = np.flatnonzero(tiers == tier)
        if excess <= 0 or members.size == 0:
            break
        frequency = policy.tiers[tier].visits_per_year
        while excess > 0 and frequency - 1.0 >= policy.coverage_floor - 1e-9:
            lower = max(frequency - 1.0, 0.0)
            excess -= float((per_visit[members] * (frequency - lower)).sum())
            frequency = lower
            visits[members] = frequency
        for i in members[np.argsort(potential[members], kind="stable")]:
            if excess <= 0:
                break
            excess -= float(per_visit[i] * visits[i])
            visits[i] = 0.0
    return visits


def _cut_by_value(book: _Book, policy: Policy) -> np.ndarray:
    """Least potential per minute of workload first, to digital touch, until the book fits."""
    visits = book.visits.copy()
    potential = np.array([a.potential for a in book.accounts])
    value = potential / np.maximum(book.workload, 1e-9)
    excess = float(book.workload.sum()) - book.capacity
    for i in np.argsort(value, kind="stable"):
        if excess <= 0:
            break
        excess -= float(book.workload[i])
        visits[i] = 0.0
    return visits


def _cuts(book: _Book, new_visits: np.ndarray, policy: Policy, *, overlay: bool) -> list[FrequencyCut]:
    """What the cut does to each tier: its new frequency and how many accounts go to digital touch."""
    out = []
    tiers = [a.tier if a.tier in policy.tiers else policy.default_tier for a in book.accounts]
    for tier in sorted(set(tiers), key=lambda t: (policy.tiers[t].visits_per_year, t)):  # as cut
        members = [k for k, t in enumerate(tiers) if t == tier]
        kept = [new_visits[k] for k in members if new_visits[k] > 0]
        digital = sum(1 for k in members if new_visits[k] == 0 and book.visits[k] > 0)
        frequency = policy.tiers[tier].visits_per_year
        to = max(kept) if kept else 0.0
        if digital or not math.isclose(to, frequency):
            out.append(FrequencyCut(tier=tier, overlay=overlay, accounts=len(members), visits_from=frequency,
                                    visits_to=to, digital=digital))
    return out
