"""Salesforce shapes <-> CRM-neutral records, the pull cursor, and UTC normalisation.

The cursor of every stream is a keyset position per sObject: the
`SystemModstamp` and `Id` of the last record handed to the caller. The next
pull asks for `SystemModstamp >= ts` minus the ids at `ts` up to that `Id`
(records come ordered by `SystemModstamp, Id`), so a boundary shared by any
number of records is never lost nor doubled. The cursor also remembers up to
when `getDeleted` has been asked for hard deletes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from connectors.base import (
    AccountRecord,
    ActivityKind,
    ActivityRecord,
    AssignmentChange,
    DeletedRecord,
    FieldFact,
    FieldKind,
    FieldMap,
    OpportunityRecord,
    RepNotice,
    RepRecord,
    VisitRecord,
    as_utc,
)

ACCOUNT_PREFIX = "001"
VISIT_KEY_FIELD = "Visit_Key__c"  # the Event external id our planned visits are upserted by
BILLING_ADDRESS = ("Street", "City", "State", "PostalCode")  # Billing<part>: the visit's location


def parse_datetime(value: str | None) -> datetime | None:
    """Salesforce's `2024-05-01T09:30:00.000+0000` (or any ISO form) as aware UTC."""
    if not value:
        return None
    return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))


def format_datetime(value: datetime) -> str:
    """An aware datetime as Salesforce writes it, in UTC with milliseconds."""
    value = as_utc(value)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}+0000"


def _plain(rec: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rec.items() if k != "attributes"}


def _float(value: Any) -> float | None:
    """A number field's value; text where a number belongs is NaN, which intake reports by id."""
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _modstamp(rec: Mapping[str, Any]) -> datetime:
    stamp = parse_datetime(rec.get("SystemModstamp"))
    if stamp is None:
        raise ValueError(f"record {rec.get('Id')} has no SystemModstamp")
    return stamp


def _mapped(rec: Mapping[str, Any], field_name: str | None) -> Any:
    return rec.get(field_name) if field_name else None


def account_from_salesforce(rec: Mapping[str, Any], fields: FieldMap) -> AccountRecord:
    tier, tier_problem = fields.tier_of(_text(_mapped(rec, fields.tier)))
    return AccountRecord(
        crm_id=rec["Id"],
        name=rec.get("Name") or "",
        modified_at=_modstamp(rec),
        lat=_float(rec.get("BillingLatitude")),
        lon=_float(rec.get("BillingLongitude")),
        postal_code=rec.get("BillingPostalCode"),
        country=rec.get("BillingCountry"),
        tier=tier,
        potential=_float(_mapped(rec, fields.potential)),
        effort=_float(_mapped(rec, fields.effort)),
        industry=rec.get("Industry"),
        owner_id=rec.get("OwnerId"),
        territory=_mapped(rec, fields.territory),
        locked=bool(_mapped(rec, fields.locked)),
        skills=picklist_values(_mapped(rec, fields.skills)),
        visit_windows=_text(_mapped(rec, fields.visit_windows)),
        issues=(tier_problem,) if tier_problem else (),
        address=one_line_address(*(rec.get(f"Billing{p}") for p in BILLING_ADDRESS)),
        raw=_plain(rec),
    )


def picklist_values(value: Any) -> frozenset[str]:
    """A multi-select picklist's `;`-separated values."""
    return frozenset(v.strip() for v in str(value or "").split(";") if v.strip())


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


SALESFORCE_KINDS = {
    "string": FieldKind.TEXT, "textarea": FieldKind.TEXT, "email": FieldKind.TEXT, "url": FieldKind.TEXT,
    "phone": FieldKind.TEXT, "picklist": FieldKind.PICKLIST, "multipicklist": FieldKind.MULTI_PICKLIST,
    "double": FieldKind.NUMBER, "currency": FieldKind.NUMBER, "int": FieldKind.NUMBER,
    "percent": FieldKind.NUMBER, "long": FieldKind.NUMBER, "boolean": FieldKind.BOOLEAN,
}  # fmt: skip


def salesforce_field_fact(described: Mapping[str, Any]) -> FieldFact:
    """One field of a describe answer; a field absent from describe is one the API user cannot see."""
    crm_type = str(described.get("type") or "")
    return FieldFact(
        name=str(described["name"]),
        kind=SALESFORCE_KINDS.get(crm_type, FieldKind.OTHER),
        crm_type=crm_type,
        readable=True,
        writable=bool(described.get("updateable")),
    )
def one_line_address(street: Any, city: Any, state: Any, postal_code: Any) -> str:
    """`100 Main St, Springfield, IL 62701`, from whichever parts the record has."""
    region = " ".join(str(p).strip() for p in (state, postal_code) if p and str(p).strip())
    return ", ".join(str(p).strip() for p in (street, city, region) if p and str(p).strip())


def rep_from_salesforce(rec: Mapping[str, Any]) -> RepRecord:
    return RepRecord(
        crm_id=rec["Id"],
        name=rec.get("Name") or "",
        modified_at=_modstamp(rec),
        email=rec.get("Email"),
        active=bool(rec.get("IsActive", True)),
        home_lat=_float(rec.get("Latitude")),
        home_lon=_float(rec.get("Longitude")),
        home_postal_code=rec.get("PostalCode"),
        time_zone=rec.get("TimeZoneSidKey") or None,
        raw=_plain(rec),
    )


def _account_of(what_id: str | None) -> str | None:
    return what_id if what_id and what_id.startswith(ACCOUNT_PREFIX) else None


def event_from_salesforce(
    rec: Mapping[str, Any], *, now: datetime, visit_key: str | None = VISIT_KEY_FIELD
) -> ActivityRecord:
    """An Event is a completed visit once its end lies in the past; `visit_key` holds our key."""
    end = parse_datetime(rec.get("EndDateTime"))
    return ActivityRecord(
        crm_id=rec["Id"],
        kind=ActivityKind.EVENT,
        modified_at=_modstamp(rec),
        account_id=_account_of(rec.get("WhatId")),
        owner_id=rec.get("OwnerId"),
        started_at=parse_datetime(rec.get("StartDateTime")),
        ended_at=end,
        subject=rec.get("Subject") or "",
        completed=end is not None and end < now,
        external_id=rec.get(visit_key) if visit_key else None,
        raw=_plain(rec),
    )


def task_from_salesforce(rec: Mapping[str, Any]) -> ActivityRecord:
    """A Task counts as done when its Status is Completed; it has a due date, not times."""
    due = rec.get("ActivityDate")
    started = datetime.combine(date.fromisoformat(due), time(), UTC) if due else None
    return ActivityRecord(
        crm_id=rec["Id"],
        kind=ActivityKind.TASK,
        modified_at=_modstamp(rec),
        account_id=_account_of(rec.get("WhatId")),
        owner_id=rec.get("OwnerId"),
        started_at=started,
        subject=rec.get("Subject") or "",
        completed=rec.get("Status") == "Completed",
        raw=_plain(rec),
    )


def _date(value: Any) -> date | None:
    """A Salesforce date (`2026-12-31`); anything else is no date."""
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def opportunity_from_salesforce(rec: Mapping[str, Any], *, now: datetime) -> OpportunityRecord:
    return OpportunityRecord(
        crm_id=rec["Id"],
        name=rec.get("Name") or "",
        modified_at=_modstamp(rec),
        amount=_float(rec.get("Amount")),
        stage=rec.get("StageName") or "",
        close_date=_date(rec.get("CloseDate")),
        owner_id=rec.get("OwnerId"),
        account_id=rec.get("AccountId"),
        is_closed=bool(rec.get("IsClosed")),
        raw=_plain(rec),
    )


def deleted_from_salesforce(rec: Mapping[str, Any]) -> DeletedRecord:
    """A queryAll row with `IsDeleted = true`; merge losers carry their winner."""
    return DeletedRecord(crm_id=rec["Id"], deleted_at=_modstamp(rec), merged_into=rec.get("MasterRecordId"))


def assignment_to_salesforce(change: AssignmentChange, fields: FieldMap) -> dict[str, Any]:
    """The Account fields an assignment writes (an absent owner/territory is left alone)."""
    rec: dict[str, Any] = {"attributes": {"type": "Account"}, "id": change.account_id}
    if change.owner_id is not None:
        rec["OwnerId"] = change.owner_id
    if change.territory is not None and fields.territory:
        rec[fields.territory] = change.territory
    return rec


def visit_to_salesforce(visit: VisitRecord, visit_key: str = VISIT_KEY_FIELD) -> dict[str, Any]:
    """An Event keyed by the `visit_key` field, for an upsert."""
    return {
        "attributes": {"type": "Event"},
        visit_key: visit.key,
        "Subject": visit.subject[:255],
        "WhatId": visit.account_id,
        "OwnerId": visit.owner_id,
        "StartDateTime": format_datetime(visit.start),
        "EndDateTime": format_datetime(visit.end),
        "Description": visit.description,
        "Location": visit.location[:255],
    }


def notice_to_salesforce(notice: RepNotice, key_field: str = VISIT_KEY_FIELD) -> dict[str, Any]:
    """A Task for the rep, keyed by the activity key field (shared by Events and Tasks), for an upsert."""
    return {
        "attributes": {"type": "Task"},
        key_field: notice.key,
        "Subject": notice.subject[:255],
        "Description": notice.description,
        "OwnerId": notice.owner_id,
        "ActivityDate": notice.due.isoformat(),
        "Status": "Not Started",
        "Priority": "Normal",
    }


# --------------------------------------------------------------------------- cursor


@dataclass(frozen=True, slots=True)
class Position:
    """The last (SystemModstamp, Id) handed over for one sObject."""

    modstamp: datetime
    record_id: str


@dataclass(slots=True)
class StreamCursor:
    """Where a stream stands: a keyset position per sObject, and the getDeleted watermark."""

    positions: dict[str, Position] = field(default_factory=dict)
    deleted_until: datetime | None = None

    def encode(self) -> str:
        return json.dumps(
            {
                "v": 1,
                "positions": {
                    obj: [format_datetime(p.modstamp), p.record_id] for obj, p in self.positions.items()
                },
                "deleted_until": format_datetime(self.deleted_until) if self.deleted_until else None,
            },
            separators=(",", ":"),
            sort_keys=True,
        )

    @classmethod
    def decode(cls, text: str | None) -> StreamCursor:
        if not text:
            return cls()
        try:
            data = json.loads(text)
            positions = {
                obj: Position(parse_datetime(ts) or datetime.min.replace(tzinfo=UTC), rid)
                for obj, (ts, rid) in data.get("positions", {}).items()
            }
            return cls(positions, parse_datetime(data.get("deleted_until")))
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"not a Salesforce cursor: {text[:80]!r}") from exc

    def copy(self) -> StreamCursor:
        return StreamCursor(dict(self.positions), self.deleted_until)
