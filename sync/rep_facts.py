"""A rep's planning facts as text cells spell them, parsed one way for the team file and plan-file.

Each parser takes a cell's text and returns the value, or raises `ValueError`
with a message the CSV readers prefix with file, line and column. An empty
cell is "not said" (None), so a fact left out keeps the CRM's value or the
planner's default. `RepFacts.apply` lays what was said over a `Rep`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from planner import Rep
from planner.model import WEEKDAY_NAMES, parsehhmm
from planner.public_holidays import check_holiday_region

MAX_DAYS_OFF_RANGE = 366  # a longer range is a typo in a year, not a sabbatical to plan around
_WEEKDAYS = {name.lower(): k for k, name in enumerate(WEEKDAY_NAMES)}


def parse_working_days(text: str) -> frozenset[int] | None:
    """`Mon;Tue;Thu` (or commas, any case, full names) as weekday numbers, Monday = 0."""
    if not text.strip():
        return None
    days: set[int] = set()
    for part in text.replace(",", ";").split(";"):
        word = part.strip().lower()
        if not word:
            continue
        day = _WEEKDAYS.get(word[:3]) if len(word) >= 3 else None
        if day is None or not WEEKDAY_NAMES[day].lower().startswith(word[:3]):
            raise ValueError(f"{part.strip()!r} is not a weekday (use Mon, Tue, Wed, Thu, Fri, Sat, Sun)")
        days.add(day)
    if not days:
        raise ValueError(f"{text!r} names no weekday (use e.g. Mon;Tue;Thu)")
    return frozenset(days)


def parse_clock(text: str, what: str) -> int | None:
    """An `HH:MM` time of day as minutes after midnight."""
    return parsehhmm(text, what) if text.strip() else None


def parse_days_off(text: str) -> frozenset[date] | None:
    """`2026-12-21..2027-01-01;2027-02-14`: single dates and inclusive ranges."""
    if not text.strip():
        return None
    days: set[date] = set()
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        first_text, dots, last_text = part.partition("..")
        first = _date(first_text)
        last = _date(last_text) if dots else first
        if last < first:
            raise ValueError(f"{part!r} ends before it starts")
        if (last - first).days >= MAX_DAYS_OFF_RANGE:
            raise ValueError(f"{part!r} is longer than a year")
        days.update(first + timedelta(days=k) for k in range((last - first).days + 1))
    return frozenset(days)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a date as YYYY-MM-DD") from None


def parse_time_zone(text: str) -> str | None:
    """An IANA zone name such as America/New_York."""
    if not text.strip():
        return None
    try:
        ZoneInfo(text.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{text!r} is not a time zone (use a name like America/New_York)") from None
    return text.strip()


def parse_holiday_region(country: str, subdivision: str) -> tuple[str, str]:
    """(country, subdivision) upper-cased, once the `holidays` package knows them."""
    region = country.strip().upper(), subdivision.strip().upper()
    check_holiday_region(*region)
    return region


@dataclass(frozen=True)
class RepFacts:
    """What a team file (or a rep CSV) says about one rep; None: it does not say."""

    home_lat: float | None = None
    home_lon: float | None = None
    home_postal_code: str | None = None
    skills: frozenset[str] | None = None
    target_share: float | None = None
    overlay: bool | None = None
    working_days: frozenset[int] | None = None
    day_start_minute: int | None = None
    day_end_minute: int | None = None
    days_off: frozenset[date] | None = None
    time_zone: str | None = None
    holidays_country: str | None = None
    holidays_subdivision: str | None = None

    @property
    def home(self) -> tuple[float, float] | None:
        if self.home_lat is None or self.home_lon is None:
            return None
        return self.home_lat, self.home_lon

    def apply(self, rep: Rep) -> Rep:
        """The rep with every fact said here in place of its own (home excepted: see `team`)."""
        home = ("home_lat", "home_lon", "home_postal_code")
        said: dict[str, Any] = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in home and getattr(self, f.name) is not None
        }
        return replace(rep, **said)

    def said(self) -> list[str]:
        """The facts given, by name, for `tsync team`."""
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]
