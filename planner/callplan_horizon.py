"""One rep's horizon for the call planner: working days, a fleet per day, travel minutes, lunch.

Lunch (`policy.capacity.lunch` minutes, from `lunch_from`) is planned on the
routers' clock: each day closes `lunch` minutes earlier, and a visit that
starts at or after `lunch_from` on that clock starts `lunch` minutes later on
the rep's, after the break. `Lunch.solver_window` turns a window on the rep's
clock into one on the routers' clock that keeps that promise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from numpy.typing import NDArray

from planner.callplan_model import Calendar, DayOff
from planner.model import Account, Policy, Rep
from planner.routing import DayFleet
from planner.travel import TravelMatrix
from planner.workdays import work_days


@dataclass(frozen=True, slots=True)
class Lunch:
    """A break of `minutes` taken before the first visit that starts at or after `from_minute`."""

    minutes: int
    from_minute: int

    def solver_window(self, start: int, end: int) -> tuple[int, int] | None:
        """The routers' window for a visit that must start within [start, end] on the rep's clock."""
        if self.minutes == 0 or end < self.from_minute:
            return start, end  # before lunch both clocks agree
        after = (max(start - self.minutes, self.from_minute), end - self.minutes)
        if after[0] <= after[1]:
            return after
        before = (start, min(end, self.from_minute - 1))
        return before if before[0] <= before[1] else None


@dataclass(frozen=True)
class RepHorizon:
    """One rep's working days over the horizon, with each day's fleet and the travel minutes."""

    rep: Rep
    start: date
    end: date
    dates: list[date]
    day_index: dict[date, int]
    fleets: list[DayFleet]  # closing `lunch.minutes` before the rep's day ends
    opens: int
    closes: int  # the rep's day end
    max_work: int  # plannable minutes a day (driving and visits), after admin and the buffer
    lunch: Lunch
    account_loc: dict[str, int]  # located account id → its row in `T`
    T: NDArray[np.int64]  # whole travel minutes between locations (home, day points, accounts)
    days_off: tuple[DayOff, ...]
    warnings: tuple[str, ...]

    @property
    def day_length(self) -> int:
        return self.closes - self.opens

    def solver_window(self, start: int, end: int) -> tuple[int, int] | None:
        """A window within working hours on the routers' clock (None if lunch leaves no room)."""
        return self.lunch.solver_window(max(start, self.opens), end)


def horizon(
    rep: Rep, book: Sequence[Account], policy: Policy, *, start: date, weeks: int, calendar: Calendar,
    travel: TravelMatrix,
) -> RepHorizon:
    """The rep's working dates, a fleet per date, and travel minutes between every location."""
    days = work_days(rep, policy, calendar, start, weeks)
    opens, closes = rep.day_start_minute, rep.day_end_minute
    cap = policy.capacity
    max_work = math.floor((closes - opens) * (1.0 - cap.admin_share) * (1.0 - cap.buffer))
    lunch = Lunch(cap.lunch, cap.lunch_from_minute)
    # Locations: 0 = home, then distinct per-day start/end points, then accounts.
    points: list[tuple[float, float]] = [(rep.home_lat, rep.home_lon)]
    point_index: dict[tuple[float, float], int] = {points[0]: 0}

    def location_of(p: tuple[float, float] | None) -> int:
        if p is None:
            return 0
        if p not in point_index:
            point_index[p] = len(points)
            points.append(p)
        return point_index[p]

    fleets = []
    for on in days.dates:
        dp = calendar.day_points(rep.id, on)
        fleets.append(DayFleet(vehicles=1, start=location_of(dp.start), end=location_of(dp.end),
                               max_work=max_work, opens=opens, closes=closes - lunch.minutes))
    located = [a for a in book if a.located]
    account_loc = {a.id: len(points) + k for k, a in enumerate(located)}
    all_points = np.array(
        points + [(float(a.lat or 0.0), float(a.lon or 0.0)) for a in located], dtype=np.float64
    ).reshape(-1, 2)
    minutes = np.asarray(travel.durations(all_points, all_points), dtype=np.float64)
    # Whole minutes rounded up: a plan that fits in these minutes fits on the road.
    T: NDArray[np.int64] = np.ceil(minutes - 1e-9).astype(np.int64)
    np.fill_diagonal(T, 0)
    return RepHorizon(
        rep=rep, start=start, end=start + timedelta(weeks=weeks), dates=days.dates,
        day_index={d: k for k, d in enumerate(days.dates)}, fleets=fleets, opens=opens, closes=closes,
        max_work=max_work, lunch=lunch, account_loc=account_loc, T=T, days_off=days.days_off,
        warnings=days.warnings,
    )
