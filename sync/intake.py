"""Pulled records to store rows: normalise, place, and report what is wrong by id.

A record that is imperfect in the way real CRMs are (no coordinates, an
impossible location, a negative potential) is still stored, with the problem
recorded as a `RecordIssue`; nothing is dropped here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Generic, TypeVar

from annotated_types import MaxLen
from pydantic import ValidationError

from connectors.base import AccountRecord, ActivityRecord, OpportunityRecord, RepRecord, Stream, as_utc
from sync.geocode import Geocoder
from sync.runs import RecordProblem
from sync.store import (
    LocationSource,
    PulledAccount,
    PulledActivity,
    PulledOpportunity,
    PulledRep,
    PulledRow,
)

RowT = TypeVar("RowT", bound=PulledRow)
# No single deal is worth a hundred billion: above that, the amount is a typo or a test record.
MAX_DEAL_AMOUNT = 1e11


@dataclass(frozen=True)
class IntakeContext:
    """What turning a page into rows needs besides the records."""

    org_id: str
    geocoder: Geocoder


@dataclass
class Intake(Generic[RowT]):
    """Rows ready for `upsert_page`, plus the problems found on the way."""

    stream: Stream
    rows: list[RowT] = field(default_factory=list)
    problems: list[RecordProblem] = field(default_factory=list)

    def problem(self, crm_id: str, problem: str) -> None:
        self.problems.append(RecordProblem(self.stream, crm_id, problem))

    def add(self, model: type[RowT], values: dict[str, Any]) -> None:
        """A row from the values: text longer than its column is cut to fit, and said; a record
        that still cannot be a row (an id longer than its column) is reported and not stored."""
        crm_id = str(values["crm_id"])
        for name, limit in _text_limits(model).items():
            value = values.get(name)
            if not isinstance(value, str) or len(value) <= limit:
                continue
            if name in ("org_id", "crm_id"):
                self.problem(crm_id[:limit], f"{name} is longer than {limit} characters: not stored")
                return
            values[name] = value[:limit]
            self.problem(crm_id, f"{name} is longer than {limit} characters: cut to fit")
        try:
            self.rows.append(model(**values))
        except ValidationError as exc:
            first = exc.errors(include_input=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            self.problem(crm_id, f"not stored: {where}: {first['msg']}")


@cache
def _text_limits(model: type[PulledRow]) -> dict[str, int]:
    """The longest text each column of a row takes (its `max_length`)."""
    return {
        name: meta.max_length
        for name, info in model.model_fields.items()
        for meta in info.metadata
        if isinstance(meta, MaxLen)
    }


@dataclass(frozen=True)
class Placement:
    lat: float | None
    lon: float | None
    source: LocationSource
    problem: str | None


def _valid_point(lat: float | None, lon: float | None) -> bool:
    if lat is None or lon is None:
        return False
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return False
    # (0, 0) is the classic "geocoder gave up" value, not an account in the Gulf of Guinea.
    return -90 <= lat <= 90 and -180 <= lon <= 180 and not (lat == 0 and lon == 0)


def _place(
    lat: float | None, lon: float | None, postal_code: str | None, country: str | None, geocoder: Geocoder
) -> Placement:
    """CRM coordinates, else the postal code's centroid, else none (with the problem, if any)."""
    if _valid_point(lat, lon):
        return Placement(lat, lon, LocationSource.CRM, None)
    problem = None if lat is None and lon is None else f"invalid coordinates ({lat}, {lon}) ignored"
    point = geocoder.locate(postal_code, country)
    if point is not None:
        note = "placed at its postal code's centre (approximate)"
        return Placement(point[0], point[1], LocationSource.POSTAL, f"{problem}; {note}" if problem else None)
    missing = "no coordinates" if problem is None else problem
    where = f"postal code {postal_code!r} not found" if postal_code else "no postal code"
    return Placement(None, None, LocationSource.NONE, f"{missing} and {where}: kept out of routing")


def _amount(value: float | None, *, positive: bool) -> bool:
    """Is a potential (>= 0) or an effort (> 0) usable as the CRM sent it?"""
    return value is None or (math.isfinite(value) and (value > 0 if positive else value >= 0))


def accounts(records: Sequence[AccountRecord], ctx: IntakeContext) -> Intake[PulledAccount]:
    out: Intake[PulledAccount] = Intake(Stream.ACCOUNTS)
    for r in records:
        place = _place(r.lat, r.lon, r.postal_code, r.country, ctx.geocoder)
        if place.problem:
            out.problem(r.crm_id, place.problem)
        potential, effort = r.potential, r.effort
        if not _amount(potential, positive=False):
            out.problem(r.crm_id, f"potential {potential} is not a non-negative amount: planned as 0")
            potential = None
        if not _amount(effort, positive=True):
            out.problem(r.crm_id, f"effort {effort} is not positive: planned as 1")
            effort = None
        out.add(
            PulledAccount,
            {
                "org_id": ctx.org_id,
                "crm_id": r.crm_id,
                "name": r.name,
                "lat": place.lat,
                "lon": place.lon,
                "location_source": place.source,
                "postal_code": r.postal_code,
                "country": r.country,
                "tier": (r.tier or "").strip() or None,
                "potential": potential,
                "effort": effort,
                "industry": r.industry,
                "owner_crm_id": r.owner_id,
                "territory": r.territory,
                "locked": r.locked,
                "crm_modified_at": as_utc(r.modified_at),
                "deleted_at": None,  # present in a pull: alive (an undeleted record comes back)
                "merged_into": None,
                "raw": dict(r.raw),
            },
        )
    return out


def reps(records: Sequence[RepRecord], ctx: IntakeContext) -> Intake[PulledRep]:
    out: Intake[PulledRep] = Intake(Stream.REPS)
    for r in records:
        place = _place(r.home_lat, r.home_lon, r.home_postal_code, None, ctx.geocoder)
        if place.problem and (r.home_lat is not None or r.home_postal_code):
            out.problem(r.crm_id, f"home: {place.problem}")
        out.add(
            PulledRep,
            {
                "org_id": ctx.org_id,
                "crm_id": r.crm_id,
                "name": r.name,
                "email": r.email,
                "active": r.active,
                "home_lat": place.lat,
                "home_lon": place.lon,
                "home_postal_code": r.home_postal_code,
                "crm_modified_at": as_utc(r.modified_at),
                "deleted_at": None,
                "merged_into": None,
                "raw": dict(r.raw),
            },
        )
    return out


def activities(records: Sequence[ActivityRecord], ctx: IntakeContext) -> Intake[PulledActivity]:
    out: Intake[PulledActivity] = Intake(Stream.ACTIVITIES)
    for r in records:
        out.add(
            PulledActivity,
            {
                "org_id": ctx.org_id,
                "crm_id": r.crm_id,
                "kind": r.kind,
                "account_crm_id": r.account_id,
                "owner_crm_id": r.owner_id,
                "started_at": as_utc(r.started_at) if r.started_at else None,
                "ended_at": as_utc(r.ended_at) if r.ended_at else None,
                "subject": r.subject,
                "completed": r.completed,
                "external_id": r.external_id,
                "crm_modified_at": as_utc(r.modified_at),
                "deleted_at": None,
                "merged_into": None,
                "raw": dict(r.raw),
            },
        )
    return out


def opportunities(records: Sequence[OpportunityRecord], ctx: IntakeContext) -> Intake[PulledOpportunity]:
    out: Intake[PulledOpportunity] = Intake(Stream.OPPORTUNITIES)
    for r in records:
        amount = r.amount
        if amount is not None and not (math.isfinite(amount) and 0 <= amount <= MAX_DEAL_AMOUNT):
            out.problem(r.crm_id, f"amount {amount} is not a plausible deal amount: counted as 0")
            amount = None
        out.add(
            PulledOpportunity,
            {
                "org_id": ctx.org_id,
                "crm_id": r.crm_id,
                "name": r.name,
                "amount": amount,
                "stage": r.stage,
                "close_date": r.close_date,
                "owner_crm_id": r.owner_id,
                "account_crm_id": r.account_id,
                "is_closed": r.is_closed,
                "crm_modified_at": as_utc(r.modified_at),
                "deleted_at": None,
                "merged_into": None,
                "raw": dict(r.raw),
            },
        )
    return out
