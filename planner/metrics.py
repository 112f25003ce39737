"""Balance of an assignment: spread per dimension and each rep's load against capacity.

Called on the planner's result ("after") and on the CRM's current owners
("before"), so it takes a plain account → rep mapping. Fair shares are taken
within a layer: overlay reps are compared with overlay reps, base reps with
base reps, each in proportion to its `target_share`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from planner.capacity import (
    amortised_drive_minutes,
    default_travel,
    rep_capacity_minutes,
    service_minutes,
    visits_per_year,
)
from planner.model import Account, BalanceReport, DimensionStats, Policy, Rep, RepLoad
from planner.travel import TravelMatrix


def coefficient_of_variation(values: NDArray[np.float64]) -> float:
    """Population standard deviation over mean; 0 for an empty or all-zero set."""
    if values.size == 0:
        return 0.0
    mean = float(values.mean())
    return float(values.std() / mean) if mean > 0 else 0.0


def gini(values: NDArray[np.float64]) -> float:
    """Gini coefficient of non-negative values (0: all equal, → 1: one holds everything)."""
    if values.size == 0 or float(values.sum()) <= 0:
        return 0.0
    v = np.sort(values)
    n = v.size
    ranks = np.arange(1, n + 1)
    return float((2.0 * (ranks * v).sum()) / (n * v.sum()) - (n + 1.0) / n)


def dimension_stats(loads: NDArray[np.float64], fair: NDArray[np.float64]) -> DimensionStats:
    """Spread of loads relative to each rep's fair share."""
    total = float(loads.sum())
    ok = fair > 0
    ratio = loads[ok] / fair[ok]
    if ratio.size == 0:
        return DimensionStats(total, 0.0, 0.0, 1.0, 0.0)
    top = float(ratio.max())
    return DimensionStats(
        total=total,
        cv=coefficient_of_variation(ratio),
        gini=gini(ratio),
        min_max_ratio=float(ratio.min() / top) if top > 0 else 1.0,
        worst_deviation=float(np.abs(ratio - 1.0).max()),
    )


def fair_shares(reps: Sequence[Rep], totals_by_layer: Mapping[bool, float]) -> NDArray[np.float64]:
    """Each rep's fair share of its layer's total (layer = overlay flag)."""
    layer = layer_flags(reps)
    share = np.array([max(r.target_share, 0.0) for r in reps], dtype=np.float64)
    fair = np.zeros(len(reps), dtype=np.float64)
    for flag, total in totals_by_layer.items():
        members = layer == flag
        weight = share[members].sum()
        if weight > 0:
            fair[members] = share[members] / weight * total
    return fair


def layer_flags(reps: Sequence[Rep]) -> NDArray[np.bool_]:
    """True for reps of the overlay layer; with no base reps at all, everyone is base."""
    flags = np.array([r.overlay for r in reps], dtype=bool)
    return flags if not flags.all() else np.zeros(len(reps), dtype=bool)


def balance_report(
    assignments: Mapping[str, str],
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    policy: Policy,
    travel: TravelMatrix | None = None,
) -> BalanceReport:
    """Balance of `assignments` (account id → rep id); unknown ids and unlocated accounts are skipped."""
    provider = travel if travel is not None else default_travel(policy)
    rep_index = {r.id: k for k, r in enumerate(reps)}
    served = [a for a in accounts if a.located and assignments.get(a.id) in rep_index]
    owner = np.array([rep_index[assignments[a.id]] for a in served], dtype=np.int64)
    visits = visits_per_year(served, policy)
    service = service_minutes(served, policy)
    potential = np.array([a.potential for a in served], dtype=np.float64)
    km = np.zeros(len(served), dtype=np.float64)
    drive = np.zeros(len(served), dtype=np.float64)
    points = np.array([(a.lat, a.lon) for a in served], dtype=np.float64).reshape(-1, 2)
    for k, rep in enumerate(reps):
        mine = np.flatnonzero(owner == k)
        if mine.size == 0:
            continue
        home = np.array([[rep.home_lat, rep.home_lon]])
        km[mine] = np.asarray(provider.distances(home, points[mine]))[0]
        one_way = np.asarray(provider.durations(home, points[mine]))[0]
        drive[mine] = amortised_drive_minutes(visits[mine], one_way, policy)

    m = len(reps)
    count = np.bincount(owner, minlength=m).astype(np.float64)
    pot = np.bincount(owner, weights=potential, minlength=m).astype(np.float64)
    drv = np.bincount(owner, weights=drive, minlength=m).astype(np.float64)
    work = np.bincount(owner, weights=service, minlength=m).astype(np.float64) + drv
    trv = np.bincount(owner, weights=visits * km, minlength=m).astype(np.float64)
    capacity = np.array([rep_capacity_minutes(r, policy) for r in reps], dtype=np.float64)
    layer = layer_flags(reps)

    def fair(loads: NDArray[np.float64]) -> NDArray[np.float64]:
        return fair_shares(reps, {flag: float(loads[layer == flag].sum()) for flag in (False, True)})

    fair_pot, fair_work = fair(pot), fair(work)
    loads = tuple(
        RepLoad(
            rep_id=rep.id,
            accounts=int(count[k]),
            potential=float(pot[k]),
            workload_minutes=float(work[k]),
            capacity_minutes=float(capacity[k]),
            utilisation=float(work[k] / capacity[k]) if capacity[k] > 0 else 0.0,
            travel_km=float(trv[k]),
            drive_minutes=float(drv[k]),
            potential_vs_target=float(pot[k] / fair_pot[k]) if fair_pot[k] > 0 else 0.0,
            workload_vs_target=float(work[k] / fair_work[k]) if fair_work[k] > 0 else 0.0,
        )
        for k, rep in enumerate(reps)
    )
    return BalanceReport(
        potential=dimension_stats(pot, fair_pot),
        workload=dimension_stats(work, fair_work),
        accounts=dimension_stats(count, fair(count)),
        travel=dimension_stats(trv, fair(trv)),
        reps=loads,
    )
