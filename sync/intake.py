"""Pulled records to store rows: normalise, place, and report what is wrong by id.

A record that is imperfect in the way real CRMs are (no coordinates, an
impossible location, a negative potential) is still stored, with the problem
recorded as a `RecordIssue`; nothing is dropped here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from connectors.base import AccountRecord, ActivityRecord, RepRecord, Stream, as_utc
from sync.geocode import Geocoder
from sync.runs import RecordProblem
from sync.store import AccountRow, ActivityRow, LocationSource, RepRow

RowT = TypeVar("RowT", AccountRow, RepRow, ActivityRow)


@dataclass(frozen=True)
class IntakeContext:
    """What turning a page into rows needs besides the records."""

    org_id: str
    geocoder: Geocoder


@dataclass
class Intake(Generic[RowT]):
    """Rows ready for `upsert_page`, plus the problems found on the way."""

    rows: list[RowT] = field(default_factory=list)
    problems: list[RecordProblem] = field(default_factory=list)


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


def accounts(records: Sequence[AccountRecord], ctx: IntakeContext) -> Intake[AccountRow]:
    out: Intake[AccountRow] = Intake()
    for r in records:
        place = _place(r.lat, r.lon, r.postal_code, r.country, ctx.geocoder)
        if place.problem:
            out.problems.append(RecordProblem(Stream.ACCOUNTS, r.crm_id, place.problem))
        potential, effort = r.potential, r.effort
        if not _amount(potential, positive=False):
            problem = f"potential {potential} is not a non-negative amount: planned as 0"
            out.problems.append(RecordProblem(Stream.ACCOUNTS, r.crm_id, problem))
            potential = None
        if not _amount(effort, positive=True):
            problem = f"effort {effort} is not positive: planned as 1"
            out.problems.append(RecordProblem(Stream.ACCOUNTS, r.crm_id, problem))
            effort = None
        out.rows.append(
            AccountRow(
                org_id=ctx.org_id,
                crm_id=r.crm_id,
                name=r.name[:300],
                lat=place.lat,
                lon=place.lon,
                location_source=place.source,
                postal_code=r.postal_code,
                country=r.country,
                tier=(r.tier or "").strip() or None,
                potential=potential,
                effort=effort,
                industry=r.industry,
                owner_crm_id=r.owner_id,
                territory=r.territory,
                locked=r.locked,
                crm_modified_at=as_utc(r.modified_at),
                deleted_at=None,  # present in a pull: alive (an undeleted record comes back)
                merged_into=None,
                raw=dict(r.raw),
            )
        )
    return out


def reps(records: Sequence[RepRecord], ctx: IntakeContext) -> Intake[RepRow]:
    out: Intake[RepRow] = Intake()
    for r in records:
        place = _place(r.home_lat, r.home_lon, r.home_postal_code, None, ctx.geocoder)
        if place.problem and (r.home_lat is not None or r.home_postal_code):
            out.problems.append(RecordProblem(Stream.REPS, r.crm_id, f"home: {place.problem}"))
        out.rows.append(
            RepRow(
                org_id=ctx.org_id,
                crm_id=r.crm_id,
                name=r.name[:200],
                email=r.email,
                active=r.active,
                home_lat=place.lat,
                home_lon=place.lon,
                home_postal_code=r.home_postal_code,
                crm_modified_at=as_utc(r.modified_at),
                deleted_at=None,
                merged_into=None,
                raw=dict(r.raw),
            )
        )
    return out


def activities(records: Sequence[ActivityRecord], ctx: IntakeContext) -> Intake[ActivityRow]:
    out: Intake[ActivityRow] = Intake()
    for r in records:
        out.rows.append(
            ActivityRow(
                org_id=ctx.org_id,
                crm_id=r.crm_id,
                kind=r.kind,
                account_crm_id=r.account_id,
                owner_crm_id=r.owner_id,
                started_at=as_utc(r.started_at) if r.started_at else None,
                ended_at=as_utc(r.ended_at) if r.ended_at else None,
                subject=r.subject[:300],
                completed=r.completed,
                external_id=r.external_id,
                crm_modified_at=as_utc(r.modified_at),
                deleted_at=None,
                merged_into=None,
                raw=dict(r.raw),
            )
        )
    return out
