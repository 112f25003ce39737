"""The call plan's vocabulary: calendar and completed visits in, validated call plans out.

Times of day are whole minutes after midnight; dates come from the caller.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date
from types import MappingProxyType
from typing import Literal

# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class DayPoints:
    """Where a rep starts and/or ends one day (a hotel, the office); None keeps home."""

    start: tuple[float, float] | None = None  # (lat, lon)
    end: tuple[float, float] | None = None


def _no_days_off() -> Mapping[str, frozenset[date]]:
    return MappingProxyType({})


def _no_points() -> Mapping[str, Mapping[date, DayPoints]]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Calendar:
    """Days nobody works (`holidays`), per-rep days off, and per-rep per-day start/end points.

    A rep's own `Rep.days_off` and `Rep.working_days` apply as well.
    """

    holidays: frozenset[date] = frozenset()
    days_off: Mapping[str, frozenset[date]] = field(default_factory=_no_days_off)
    points: Mapping[str, Mapping[date, DayPoints]] = field(default_factory=_no_points)

    def is_off(self, rep_id: str, day: date) -> bool:
        return day in self.holidays or day in self.days_off.get(rep_id, frozenset())

    def day_points(self, rep_id: str, day: date) -> DayPoints:
        return self.points.get(rep_id, {}).get(day, DayPoints())


@dataclass(frozen=True, slots=True)
class CompletedVisit:
    """A visit already done (pulled from the CRM); it counts toward the account's frequency."""

    account_id: str
    on: date


@dataclass(frozen=True, slots=True)
class CallPlanParams:
    """How the call planner searches; `from_toml("")` gives these defaults."""

    day_choice: Literal["optimised", "round_robin"] = "optimised"  # round_robin: the naive peer
    max_rounds: int = 400  # ruin-and-recreate rounds of the periodic engine per rep
    ruin_size: int = 10
    final_iterations: int = 1_500  # PyVRP iterations per day in the final polish
    gap_after_completed: float = 0.5  # of an account's interval kept free after a done visit
    # a day whose only visit is a round trip of at least this many minutes is combined with
    # another day where the spacing rules and the day's room allow it (0: never)
    lone_visit_minutes: int = 60

    @classmethod
    def from_toml(cls, text: str) -> CallPlanParams:
        data = tomllib.loads(text)
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown call plan parameters: {sorted(unknown)}")
        params = replace(cls(), **data)
        if params.day_choice not in ("optimised", "round_robin"):
            raise ValueError(f"day_choice must be optimised or round_robin, not {params.day_choice}")
        return params


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Visit:
    account_id: str
    arrive: int  # start of the visit, minutes after midnight (after any wait for its window)
    depart: int
    appointment: bool = False  # a fixed slot from the account's time windows
    drive_minutes: int = 0  # the leg from the previous stop (the first: from the day's start point)
    # for the rep's calendar entry: the account's cadence and its visit before this one
    tier: str = ""
    visits_per_year: float = 0.0  # the cadence this plan follows (a coverage plan's, if applied)
    last_visit: date | None = None  # the latest visit before this one, done (from the CRM) or planned
    joint_with: str = ""  # a handoff's joint visit: the other rep, at the same time on both plans

    def __post_init__(self) -> None:
        if self.depart < self.arrive:
            raise ValueError(f"visit to {self.account_id} departs before it arrives")


@dataclass(frozen=True, slots=True)
class DayRoute:
    """One working day: leave the start point, visit in order, return to the end point."""

    date: date
    visits: tuple[Visit, ...]
    leave: int  # minutes after midnight
    back: int
    drive_minutes: int
    visit_minutes: int
    slack_minutes: int  # of the working day left free (buffer, admin, waiting), lunch not counted
    lunch: int | None = None  # start of the lunch break, minutes after midnight (None: none)
    lunch_minutes: int = 0
    drive_home_minutes: int = 0  # the last leg, to the day's end point

    def __post_init__(self) -> None:
        clock = self.leave
        for v in self.visits:
            if v.arrive < clock:
                raise ValueError(f"{self.date}: visit to {v.account_id} overlaps the one before")
            lunch = self.lunch
            if lunch is not None and v.arrive < lunch + self.lunch_minutes and v.depart > lunch:
                raise ValueError(f"{self.date}: visit to {v.account_id} overlaps lunch")
            clock = v.depart
        if self.back < clock:
            raise ValueError(f"{self.date}: the day ends before its last visit")


@dataclass(frozen=True, slots=True)
class TierCoverage:
    tier: str
    accounts: int
    required: int  # visits the frequency asks for over the horizon
    completed: int  # of those, already done (from the CRM)
    planned: int


@dataclass(frozen=True, slots=True)
class Unplannable:
    account_id: str
    visits: int  # how many required visits could not be planned
    reason: str


@dataclass(frozen=True)
class Coverage:
    tiers: tuple[TierCoverage, ...]
    working_minutes: int  # sum of the working days' lengths
    visit_minutes: int
    drive_minutes: int
    unplannable: tuple[Unplannable, ...]  # required visits the plan could not place, and why
    # visits the policy's frequency asks for that this plan does not: none due in the horizon,
    # already done, or cut by the coverage plan (visits: how many; 0 when none was due)
    not_required: tuple[Unplannable, ...] = ()

    @property
    def required(self) -> int:
        return sum(t.required - t.completed for t in self.tiers)

    @property
    def planned(self) -> int:
        return sum(t.planned for t in self.tiers)

    @property
    def selling_share(self) -> float:
        """Share of working time spent with customers."""
        return self.visit_minutes / self.working_minutes if self.working_minutes else 0.0

    @property
    def drive_share(self) -> float:
        return self.drive_minutes / self.working_minutes if self.working_minutes else 0.0


@dataclass(frozen=True, slots=True)
class DayOff:
    """A day the rep would work by weekday but does not, and why ("Christmas Day", "day off")."""

    date: date
    reason: str


@dataclass(frozen=True)
class CallPlan:
    """One rep's dated, routed days. Times are minutes after midnight in the rep's `time_zone`."""

    rep_id: str
    start: date
    weeks: int
    days: tuple[DayRoute, ...]
    coverage: Coverage
    time_zone: str = ""  # IANA zone of the times (the rep's, else the policy's; "" when neither says)
    days_off: tuple[DayOff, ...] = ()  # holidays and days off on the rep's working weekdays
    warnings: tuple[str, ...] = ()  # inputs the plan could not use, e.g. an unknown holiday country

    def __post_init__(self) -> None:
        dates = [d.date for d in self.days]
        if dates != sorted(set(dates)):
            raise ValueError(f"call plan of {self.rep_id}: days are not distinct and in order")

    def visits_of(self, account_id: str) -> tuple[date, ...]:
        return tuple(d.date for d in self.days for v in d.visits if v.account_id == account_id)
