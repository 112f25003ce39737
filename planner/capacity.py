"""What it takes to serve a book: account workload, rep capacity, and reps needed.

Workload of an account served by a rep = visits/year × visit minutes × effort
(the service) + the driving to reach it from the rep's home, amortised over
the route: each visit pays its share of a day's out-and-back drive, i.e.
2 × one-way minutes / stops per day. Capacity of a rep = plannable selling
minutes per year (after admin share and buffer), scaled by the rep's working
days per week and its target share.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from planner.model import Account, Policy, Rep
from planner.travel import HaversineTravel, TravelMatrix

FULL_WEEK_DAYS = 5  # the policy's selling days assume a five-day week


def default_travel(policy: Policy) -> HaversineTravel:
    """The policy's haversine × circuity provider, used when the caller passes none."""
    return HaversineTravel(speed_kmh=policy.travel.speed_kmh, circuity=policy.travel.circuity)


def visits_per_year(accounts: Sequence[Account], policy: Policy) -> NDArray[np.float64]:
    """Required visits per year of each account, from its tier."""
    return np.array([policy.tier(a.tier).visits_per_year for a in accounts], dtype=np.float64)


def service_minutes(accounts: Sequence[Account], policy: Policy) -> NDArray[np.float64]:
    """Minutes per year spent at each account: visits × visit minutes × effort."""
    return np.array(
        [
            policy.tier(a.tier).visits_per_year * policy.tier(a.tier).visit_minutes * a.effort
            for a in accounts
        ],
        dtype=np.float64,
    )


def amortised_drive_minutes(
    visits: NDArray[np.float64], one_way_minutes: NDArray[np.float64], policy: Policy
) -> NDArray[np.float64]:
    """Driving minutes per year charged to an account: its share of each route's drive."""
    stops = max(policy.travel.stops_per_day, 1.0)
    return np.asarray(visits * 2.0 * one_way_minutes / stops, dtype=np.float64)


def rep_capacity_minutes(rep: Rep, policy: Policy) -> float:
    """Plannable minutes per year for the book: selling minutes × (1 − buffer), pro rata to working
    days, × the rep's `target_share` (a ramping hire at 0.5 has half a rep's time for accounts).

    So a short team is stretched in proportion to its shares: capacity and fair share agree.
    """
    return full_capacity_minutes(rep, policy) * max(rep.target_share, 0.0)


def full_capacity_minutes(rep: Rep, policy: Policy) -> float:
    """Plannable minutes per year of the rep at a full share (what one more hire like them adds)."""
    days = len(rep.working_days) if rep.working_days else FULL_WEEK_DAYS
    return policy.capacity.plannable_minutes_per_year * min(days, 7) / FULL_WEEK_DAYS


def reps_needed(workload_minutes: float, capacity_minutes_per_rep: float) -> int:
    """How many reps of the given capacity a book of this workload needs (at least one)."""
    if capacity_minutes_per_rep <= 0:
        raise ValueError("capacity per rep must be positive")
    # a hair of tolerance so a book at exactly 100 % does not ask for one more rep
    return max(1, math.ceil(workload_minutes / capacity_minutes_per_rep - 1e-9))


@dataclass(frozen=True, slots=True)
class WorkloadTable:
    """Workload and travel of every (rep, account) pair, as dense (reps × accounts) arrays."""

    visits: NDArray[np.float64]  # (n,) visits per year
    service: NDArray[np.float64]  # (n,) service minutes per year
    km: NDArray[np.float64]  # (m, n) one-way km from rep home to account
    drive: NDArray[np.float64]  # (m, n) amortised drive minutes per year
    capacity: NDArray[np.float64]  # (m,) plannable minutes per year
    minutes: NDArray[np.float64] | None = None  # (m, n) one-way drive minutes from home

    def within_a_day(self, policy: Policy) -> NDArray[np.bool_]:
        """(m, n): can the rep drive out, make one visit and drive home within a plannable day?

        The same test the call planner applies: a territory that breaks it cannot be worked.
        """
        if self.minutes is None:
            return np.ones_like(self.km, dtype=bool)
        cap = policy.capacity
        day = cap.day_minutes * (1.0 - cap.admin_share) * (1.0 - cap.buffer)
        per_visit = self.service / np.maximum(self.visits, 1e-9)
        return np.asarray(2.0 * self.minutes + per_visit[None, :] <= day, dtype=bool)

    @property
    def workload(self) -> NDArray[np.float64]:
        """(m, n) workload minutes per year if rep r serves account i."""
        return np.asarray(self.service[None, :] + self.drive, dtype=np.float64)

    @property
    def travel_km(self) -> NDArray[np.float64]:
        """(m, n) visit-weighted home-to-account km per year: the compactness cost."""
        return np.asarray(self.visits[None, :] * self.km, dtype=np.float64)


def workload_table(
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    policy: Policy,
    travel: TravelMatrix | None = None,
) -> WorkloadTable:
    """Workload, travel and capacity for located accounts × reps."""
    if any(not a.located for a in accounts):
        raise ValueError("workload_table needs located accounts only")
    provider = travel if travel is not None else default_travel(policy)
    visits = visits_per_year(accounts, policy)
    service = service_minutes(accounts, policy)
    n, m = len(accounts), len(reps)
    if n == 0 or m == 0:
        empty = np.zeros((m, n), dtype=np.float64)
        return WorkloadTable(
            visits,
            service,
            empty,
            empty.copy(),
            np.array([rep_capacity_minutes(r, policy) for r in reps], dtype=np.float64),
            empty.copy(),
        )
    points = np.array([(a.lat, a.lon) for a in accounts], dtype=np.float64)
    homes = np.array([(r.home_lat, r.home_lon) for r in reps], dtype=np.float64)
    km = np.asarray(provider.distances(homes, points), dtype=np.float64)
    minutes = np.asarray(provider.durations(homes, points), dtype=np.float64)
    drive = amortised_drive_minutes(visits[None, :], minutes, policy)
    capacity = np.array([rep_capacity_minutes(r, policy) for r in reps], dtype=np.float64)
    return WorkloadTable(visits, service, km, drive, capacity, minutes)
