"""What a rep's day's drive allows: which pairs may be planned, and which reps cannot balance.

A territory is only executable if its rep can drive out, make a visit and be
home the same day. `servable_pairs` is that rule, shared by the planner and
the benchmark. `reach_limits` asks, per rep, whether the accounts within that
day's drive could balance the rep, or fit its capacity, at all;
`TerritoryPlan.out_of_band` uses it to say why a rep stays outside the band or
over capacity. `short_areas` finds the areas that lack reps: the accounts
only their reps can reach need more time than those reps have, even when the
team as a whole has room.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

NEAR_AS_NEAREST = 1.5  # an unreachable account may go to reps within this × the nearest one's km


def servable_pairs(
    within_a_day: NDArray[np.bool_], km: NDArray[np.float64], suitable: NDArray[np.bool_]
) -> NDArray[np.bool_]:
    """(m, n): which reps may serve which accounts.

    A suitable rep who can drive out, visit and be home the same day; for an
    account no suitable rep can reach, the suitable reps nearly as near as
    the nearest (the call plan reports it as beyond a day's drive).
    """
    reach = within_a_day & suitable
    skilled_km = np.where(suitable, km, np.inf)
    nearest_km = skilled_km.min(axis=0, initial=np.inf)[None, :]
    near_enough = suitable & (skilled_km <= NEAR_AS_NEAREST * nearest_km)
    reachable = np.asarray(reach.any(axis=0), dtype=np.bool_)
    return np.asarray(np.where(reachable[None, :], reach, near_enough), dtype=np.bool_)


@dataclass(frozen=True, slots=True)
class RepReach:
    """One rep's day's drive, measured against a fair book and against capacity."""

    accounts: int  # movable accounts the rep may serve
    sole: int  # of those, how many no other rep may serve
    sole_potential_ratio: float  # potential of those (plus locked accounts') / a fair share
    sole_workload_ratio: float  # workload of those (plus locked accounts') / a fair share
    sole_capacity_ratio: float  # the same workload / the rep's capacity
    potential_ratio: float  # their potential (plus locked accounts') / a fair share of potential
    cheapest_workload_ratio: float  # least workload carrying (1 − band) of a fair potential / fair workload
    neighbours: int  # other reps who may serve any account this rep may serve
    enclosed: int  # accounts that only this rep or its neighbours may serve
    enclosed_potential_ratio: float  # their potential (plus the group's locked) / the group's fair share
    enclosed_workload_ratio: float  # their least workload within the group / the group's fair share
    enclosed_capacity_ratio: float  # the same workload / the group's capacity
    group_potential_ratio: float  # potential all of the group may serve / the group's fair share


@dataclass(frozen=True)
class ReachMap:
    """Who may serve what, and which reps share accounts: the costly part, built once per layer."""

    servable: NDArray[np.bool_]  # (m, n)
    shared: NDArray[np.bool_]  # (m, m): the two reps may serve a common account
    reached: NDArray[np.bool_]  # (m, n): some rep of r's group may serve the account
    enclosed: NDArray[np.bool_]  # (m, n): only reps of r's group may serve it
    least_work: NDArray[np.float64]  # (n,) least workload over the reps who may serve it

    @classmethod
    def of(cls, servable: NDArray[np.bool_], workload: NDArray[np.float64]) -> ReachMap:
        # group sums as float matrix products (BLAS): a loop over reps would be m² × n at 200 × 50,000
        pairs = servable.astype(np.float32)
        shared = (pairs @ pairs.T) > 0
        reached = (shared.astype(np.float32) @ pairs) > 0
        outside = ((~shared).astype(np.float32) @ pairs) > 0  # a rep outside r's group may serve it
        least = np.where(servable, workload, np.inf).min(axis=0, initial=np.inf)
        return cls(
            servable=servable,
            shared=np.asarray(shared, dtype=np.bool_),
            reached=np.asarray(reached, dtype=np.bool_),
            enclosed=np.asarray(reached & ~outside, dtype=np.bool_),
            least_work=np.where(np.isfinite(least), least, 0.0),
        )


def _reps_short(work: float, capacity: NDArray[np.float64]) -> int:
    """Reps of the group's average capacity to add so `work` fits (0 when it already does)."""
    if capacity.size == 0 or work <= float(capacity.sum()) * (1.0 + 1e-9):
        return 0
    return math.ceil((work - float(capacity.sum())) / float(capacity.mean()) - 1e-9)


def reach_limits(
    reach: ReachMap,
    workload: NDArray[np.float64],
    potential: NDArray[np.float64],
    fixed_potential: NDArray[np.float64],
    fixed_workload: NDArray[np.float64],
    potential_target: NDArray[np.float64],
    workload_target: NDArray[np.float64],
    capacity: NDArray[np.float64],
    potential_band: float,
) -> list[RepReach]:
    """Per rep, what the accounts it may serve allow, ignoring every other rep's needs.

    `cheapest_workload_ratio` is exact for the fractional relaxation: take the
    accounts with the least workload per unit of potential first until the rep
    holds (1 − band) of its fair potential. Above 1 + the workload band, no
    plan can keep this rep in band on both dimensions; likewise an
    `enclosed_capacity_ratio` above 1 means no plan keeps the group within
    capacity. Both are properties of the map, not of the search.
    """
    servable = reach.servable
    m = servable.shape[0]
    only_one = servable.sum(axis=0) == 1
    limits: list[RepReach] = []
    for r in range(m):
        mine = np.flatnonzero(servable[r] & (potential > 0))
        target_p = max(float(potential_target[r]), 1e-9)
        target_w = max(float(workload_target[r]), 1e-9)
        reach_p = float(fixed_potential[r] + potential[mine].sum())
        needed = (1.0 - potential_band) * target_p - float(fixed_potential[r])
        cheapest = float(fixed_workload[r])
        if needed > 0:
            with np.errstate(over="ignore"):  # a near-zero potential sorts last as inf: intended
                ratio = workload[r, mine] / potential[mine]
            order = mine[np.argsort(ratio, kind="stable")]
            cum_p = np.cumsum(potential[order])
            cum_w = np.cumsum(workload[r, order])
            k = int(np.searchsorted(cum_p, needed))
            if k >= len(order):
                cheapest = np.inf
            else:
                before_p = float(cum_p[k - 1]) if k else 0.0
                before_w = float(cum_w[k - 1]) if k else 0.0
                last = (needed - before_p) / float(potential[order[k]])
                cheapest += before_w + last * float(workload[r, order[k]])
        sole = np.flatnonzero(servable[r] & only_one)
        sole_work = float(fixed_workload[r] + workload[r, sole].sum())
        group = np.flatnonzero(reach.shared[r])
        group_p = max(float(potential_target[group].sum()), 1e-9)
        group_w = max(float(workload_target[group].sum()), 1e-9)
        enclosed_work = float(fixed_workload[group].sum() + reach.least_work[reach.enclosed[r]].sum())
        limits.append(
            RepReach(
                accounts=int(servable[r].sum()),
                sole=len(sole),
                sole_potential_ratio=float(fixed_potential[r] + potential[sole].sum()) / target_p,
                sole_workload_ratio=sole_work / target_w,
                sole_capacity_ratio=sole_work / max(float(capacity[r]), 1e-9),
                potential_ratio=reach_p / target_p,
                cheapest_workload_ratio=cheapest / target_w,
                neighbours=len(group) - 1,
                enclosed=int(reach.enclosed[r].sum()),
                enclosed_potential_ratio=float(
                    fixed_potential[group].sum() + potential[reach.enclosed[r]].sum()
                ) / group_p,
                enclosed_workload_ratio=enclosed_work / group_w,
                enclosed_capacity_ratio=enclosed_work / max(float(capacity[group].sum()), 1e-9),
                group_potential_ratio=float(
                    fixed_potential[group].sum() + potential[reach.reached[r]].sum()
                ) / group_p,
            )
        )
    return limits


@dataclass(frozen=True, slots=True)
class ShortArea:
    """Reps whose day's drives overlap, with more work only some of them can reach than time to do it."""

    reps: tuple[int, ...]  # every rep of the area (over-capacity reps and their neighbours), by index
    binding: tuple[int, ...]  # the reps whose enclosed accounts prove the shortfall
    accounts: int  # accounts no rep outside `binding` may serve
    capacity_ratio: float  # their least workload (plus locked) / the capacity of `binding`
    reps_short: int  # reps of `binding`'s average capacity to add


def short_areas(
    reach: ReachMap,
    over: NDArray[np.bool_],
    fixed_workload: NDArray[np.float64],
    capacity: NDArray[np.float64],
) -> list[ShortArea]:
    """Areas around the `over`-capacity reps that lack reps: a lower bound on the hires that fix them.

    The over-capacity reps' groups are merged where they share a rep. A set
    of reps must carry the accounts no rep outside it may serve, at least at
    their least workload; each area is measured as a whole and by each of its
    over-capacity reps' groups, and the largest shortfall counts (a group can
    be short while the whole area has room). Areas are disjoint, so their
    shortfalls add up. Areas that fit are left out.
    """
    label = np.arange(len(over))
    # a rep whose whole book is locked shares no movable account, not even with itself
    groups = {int(r): reach.shared[r] | (label == r) for r in np.flatnonzero(over)}
    for group in groups.values():  # union the groups of over-capacity reps
        roots = np.unique(label[group])
        label[np.isin(label, roots)] = roots.min()
    areas: list[ShortArea] = []
    for root in np.unique(label[over]):
        area = label == root
        candidates = [area] + [groups[int(r)] for r in np.flatnonzero(over & area)]
        best: tuple[int, float, NDArray[np.bool_], int] | None = None
        for reps in candidates:
            inside = reach.servable[reps].any(axis=0) & ~reach.servable[~reps].any(axis=0)
            work = float(fixed_workload[reps].sum() + reach.least_work[inside].sum())
            short = _reps_short(work, capacity[reps])
            ratio = work / float(capacity[reps].sum())
            if short and (best is None or (short, ratio) > best[:2]):
                best = (short, ratio, reps, int(inside.sum()))
        if best is not None:
            short, ratio, reps, accounts = best
            areas.append(ShortArea(
                tuple(int(r) for r in np.flatnonzero(area)), tuple(int(r) for r in np.flatnonzero(reps)),
                accounts, ratio, short,
            ))
    return areas
