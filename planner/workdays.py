"""A rep's working days over a horizon: weekdays less days off, calendar holidays and public holidays.

Public holidays come from the rep's `holidays_country`/`holidays_subdivision`,
else the policy's `[calendar]` default. A country the `holidays` package does
not know is a warning on the call plan, not a failure: the plan goes on
without public holidays for that rep and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from planner.callplan_model import Calendar, DayOff
from planner.model import Policy, Rep
from planner.public_holidays import public_holidays


@dataclass(frozen=True)
class WorkDays:
    """The horizon's working dates, the days off among the rep's working weekdays, and warnings."""

    dates: list[date]
    days_off: tuple[DayOff, ...]
    warnings: tuple[str, ...]


def work_days(rep: Rep, policy: Policy, calendar: Calendar, start: date, weeks: int) -> WorkDays:
    """The rep's working dates in [start, start + weeks), and why the other working weekdays are off."""
    horizon = [start + timedelta(days=k) for k in range(7 * weeks)]
    holidays, warnings = _public_holidays(rep, policy, start, horizon[-1])
    dates: list[date] = []
    off: list[DayOff] = []
    for day in horizon:
        if day.weekday() not in rep.working_days:
            continue
        reason = _off_reason(rep, calendar, holidays, day)
        if reason is None:
            dates.append(day)
        else:
            off.append(DayOff(day, reason))
    return WorkDays(dates, tuple(off), warnings)


def _public_holidays(
    rep: Rep, policy: Policy, first: date, last: date
) -> tuple[dict[date, str], tuple[str, ...]]:
    country = rep.holidays_country or policy.calendar.holidays_country
    subdivision = rep.holidays_subdivision if rep.holidays_country else policy.calendar.holidays_subdivision
    try:
        return public_holidays(country, subdivision, first, last), ()
    except ValueError as exc:
        where = f"{country}-{subdivision}" if subdivision else country
        return {}, (f"no public holidays applied for {where}: {exc}",)


def _off_reason(rep: Rep, calendar: Calendar, holidays: dict[date, str], day: date) -> str | None:
    if day in holidays:
        return holidays[day]
    if day in calendar.holidays:
        return "holiday"
    if day in rep.days_off or day in calendar.days_off.get(rep.id, frozenset()):
        return "day off"
    return None
