"""The days one plan covers, in the org's time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class PlanWindow:
    """Visits from tomorrow for `weeks`; the first `push_weeks` of them are written to the CRM."""

    today: date
    zone: ZoneInfo
    weeks: int
    push_weeks: int

    @property
    def start(self) -> date:
        return self.today + timedelta(days=1)

    @property
    def end(self) -> date:
        """The first day after the window."""
        return self.today + timedelta(days=7 * self.weeks)

    @property
    def last_pushed_day(self) -> date:
        """The first day whose visits stay in the store only (a later night pushes them)."""
        return self.start + timedelta(weeks=self.push_weeks)

    def at(self, day: date, minute: float = 0.0, zone: ZoneInfo | None = None) -> datetime:
        """A local minute of a day (in the org's zone, or `zone`: a rep's), as aware UTC."""
        local = datetime.combine(day, datetime.min.time(), zone or self.zone) + timedelta(minutes=minute)
        return local.astimezone(UTC)
