"""Pulled records to store rows: normalise, place, and report what is wrong by id.

A record that is imperfect in the way real CRMs are (no coordinates, an
impossible location, a negative potential) is still stored, with the problem
recorded as a `RecordIssue`; nothing is dropped here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors.base import AccountRecord, ActivityRecord, DeletedRecord, RepRecord, as_utc
from sync.geocode import Geocoder


@dataclass(frozen=True)
class IntakeContext:
    """What turning a page into rows needs besides the records."""

    org_id: str
    geocoder: Geocoder


@dataclass
class Intake:
    """Rows ready for `upsert_page`, plus the problems found on the way."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    issues: list[tuple[str, str]] = field(default_factory=list)  # (crm_id, problem)


def _valid_point(lat: float | None, lon: float | None) -> bool:
    if lat is None or lon is None:
        return False
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return False
    # (0, 0) is the classic "geocoder gave up" value, not an account in the Gulf of Guinea.
    return -90 <= lat <= 90 and -180 <= lon <= 180 and not (lat == 0 and lon == 0)


def _place(
    lat: float | None, lon: float | None, postal_code: str | None, country: str | None, geocoder: Geocoder
) -> tuple[float | None, float | None, str, str | None]:
    """(lat, lon, source, problem): CRM coordinates, else the postal code's centroid, else none."""
    if _valid_point(lat, lon):
        return lat, lon, "crm", None
    problem = None if lat is None and lon is None else f"invalid coordinates ({lat}, {lon}) ignored"
    point = geocoder.locate(postal_code, country)
    if point is not None:
        note = "placed at its postal code's centre (approximate)"
        return point[0], point[1], "postal", f"{problem}; {note}" if problem else None
    missing = "no coordinates" if problem is None else problem
    where = f"postal code {postal_code!r} not found" if postal_code else "no postal code"
    return None, None, "none", f"{missing} and {where}: kept out of routing"


def accounts(records: Sequence[AccountRecord], ctx: IntakeContext) -> Intake:
    out = Intake()
    org_id = ctx.org_id
    for r in records:
        lat, lon, source, problem = _place(r.lat, r.lon, r.postal_code, r.country, ctx.geocoder)
        if problem:
            out.issues.append((r.crm_id, problem))
        potential = r.potential
        if potential is not None and (not math.isfinite(potential) or potential < 0):
            out.issues.append((r.crm_id, f"potential {potential} is not a non-negative amount: planned as 0"))
            potential = None
        effort = r.effort
        if effort is not None and (not math.isfinite(effort) or effort <= 0):
            out.issues.append((r.crm_id, f"effort {effort} is not positive: planned as 1"))
            effort = None
        out.rows.append(
            {
                "org_id": org_id,
                "crm_id": r.crm_id,
                "name": r.name[:300],
                "lat": lat,
                "lon": lon,
                "location_source": source,
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
            }
        )
    return out


def reps(records: Sequence[RepRecord], ctx: IntakeContext) -> Intake:
    out = Intake()
    org_id = ctx.org_id
    for r in records:
        lat, lon, _source, problem = _place(r.home_lat, r.home_lon, r.home_postal_code, None, ctx.geocoder)
        if problem and (r.home_lat is not None or r.home_postal_code):
            out.issues.append((r.crm_id, f"home: {problem}"))
        out.rows.append(
            {
                "org_id": org_id,
                "crm_id": r.crm_id,
                "name": r.name[:200],
                "email": r.email,
                "active": r.active,
                "home_lat": lat,
                "home_lon": lon,
                "home_postal_code": r.home_postal_code,
                "crm_modified_at": as_utc(r.modified_at),
                "deleted_at": None,
                "merged_into": None,
                "raw": dict(r.raw),
            }
        )
    return out


def activities(records: Sequence[ActivityRecord], ctx: IntakeContext) -> Intake:
    out = Intake()
    org_id = ctx.org_id
    for r in records:
        out.rows.append(
            {
                "org_id": org_id,
                "crm_id": r.crm_id,
                "kind": r.kind,
                "account_crm_id": r.account_id,
                "owner_crm_id": r.owner_id,
                "started_at": as_utc(r.started_at) if r.started_at else None,
                "ended_at": as_utc(r.ended_at) if r.ended_at else None,
                "subject": r.subject[:300],
                "completed": r.completed,
                "external_id": r.external_id,
                "crm_modified_at": as_utc(r.modified_at),
                "deleted_at": None,
                "merged_into": None,
                "raw": dict(r.raw),
            }
        )
    return out


def deletions(records: Sequence[DeletedRecord]) -> list[dict[str, Any]]:
    return [
        {"crm_id": d.crm_id, "deleted_at": as_utc(d.deleted_at), "merged_into": d.merged_into}
        for d in records
    ]
