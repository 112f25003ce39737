"""What a planned visit says on the rep's calendar: subject, location and description.

The subject names the account ("Visit: Acme Dental"; a transition's joint
visit "Handoff visit: Acme Dental"), the location is its
address, and the description reads as the rep's day: the stops in route
order with their local times, this stop marked, then the account's last
visit and its tier's cadence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sync.handoff_visits import HANDOFF_KEY_MARK
from sync.store import PlannedVisit

SUBJECT_LIMIT = 255  # Salesforce Event.Subject; HubSpot titles take more


@dataclass(frozen=True)
class AccountLabel:
    name: str
    address: str


def visit_subject(visit_key: str, account_id: str, label: AccountLabel | None) -> str:
    kind = "Handoff visit" if HANDOFF_KEY_MARK in visit_key else "Visit"
    return f"{kind}: {label.name if label and label.name else account_id}"[:SUBJECT_LIMIT]


def visit_description(
    visit: PlannedVisit,
    day: Sequence[PlannedVisit],
    labels: Mapping[str, AccountLabel],
    zone: ZoneInfo,
    plan_run_id: int,
) -> str:
    """The day in route order with this stop marked, the last visit and the cadence."""
    stops = sorted(day, key=lambda v: v.sequence)
    lines = [f"Stop {visit.sequence} of {len(stops)} on {_day(visit.visit_date)}:"]
    for stop in stops:
        mark = "▶" if stop.visit_key == visit.visit_key else " "
        label = labels.get(stop.account_crm_id)
        name = label.name if label and label.name else stop.account_crm_id
        lines.append(f"{mark} {stop.sequence}. {stop.starts_at.astimezone(zone):%H:%M} {name}")
    lines.append(f"Last visit: {visit.last_visit.isoformat() if visit.last_visit else 'none on record'}")
    if visit.tier or visit.visits_per_year:
        lines.append(f"Cadence: {_cadence(visit.tier, visit.visits_per_year)}")
    lines.append(f"Times in {zone.key}. Planned by territory-sync (plan run {plan_run_id}).")
    return "\n".join(lines)


def _day(on: date) -> str:
    return f"{on:%a} {on.day} {on:%b %Y}"


def _cadence(tier: str | None, visits_per_year: float | None) -> str:
    parts = [f"tier {tier}"] if tier else []
    if visits_per_year:
        weeks, months = 52 / visits_per_year, 12 / visits_per_year
        every = f"about every {weeks:.0f} weeks" if weeks < 8.5 else f"about every {months:.0f} months"
        parts.append(f"{visits_per_year:g} visits a year ({every})")
    return ", ".join(parts)
