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
    FieldMap,
    OpportunityRecord,
    RepNotice,
    RepRecord,
    VisitRecord,
    as_utc,
)

ACCOUNT_PREFIX = "001"
VISIT_KEY_FIELD = "Visit_Key__c"  # the Event external id our planned visits are upserted by


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
    return float(value) if value is not None else None


def _modstamp(rec: Mapping[str, Any]) -> datetime:
    stamp = parse_datetime(rec.get("SystemModstamp"))
    if stamp is None:
        raise ValueError(f"record {rec.get('Id')} has no SystemModstamp")
    return stamp


def _mapped(rec: Mapping[str, Any], field_name: str | None) -> Any:
    return rec.get(field_name) if field_name else None


def account_from_salesforce(rec: Mapping[str, Any], fields: FieldMap) -> AccountRecord:
    return AccountRecord(
        crm_id=rec["Id"],
        name=rec.get("Name") or "",
        modified_at=_modstamp(rec),
        lat=_float(rec.get("BillingLatitude")),
        lon=_float(rec.get("BillingLongitude")),
        postal_code=rec.get("BillingPostalCode"),
        country=rec.get("BillingCountry"),
        tier=_mapped(rec, fields.tier),
        potential=_float(_mapped(rec, fields.potential)),
        effort=_float(_mapped(rec, fields.effort)),
        industry=rec.get("Industry"),
        owner_id=rec.get("OwnerId"),
        territory=rec.get(fields.territory),
        locked=bool(_mapped(rec, fields.locked)),
        raw=_plain(rec),
    )


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
        raw=_plain(rec),
    )


def _account_of(what_id: str | None) -> str | None:
    return what_id if what_id and what_id.startswith(ACCOUNT_PREFIX) else None


def event_from_salesforce(rec: Mapping[str, Any], *, now: datetime) -> ActivityRecord:
    """An Event is a completed visit once its end lies in the past."""
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
        external_id=rec.get(VISIT_KEY_FIELD),
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
    if change.territory is not None:
        rec[fields.territory] = change.territory
    return rec


def visit_to_salesforce(visit: VisitRecord) -> dict[str, Any]:
    """An Event keyed by `VISIT_KEY_FIELD`, for an upsert."""
    return {
        "attributes": {"type": "Event"},
        VISIT_KEY_FIELD: visit.key,
        "Subject": visit.subject,
        "WhatId": visit.account_id,
        "OwnerId": visit.owner_id,
        "StartDateTime": format_datetime(visit.start),
        "EndDateTime": format_datetime(visit.end),
        "Description": visit.description,
    }


def notice_to_salesforce(notice: RepNotice) -> dict[str, Any]:
    """A Task for the rep, keyed by `VISIT_KEY_FIELD` (shared by Events and Tasks), for an upsert."""
    return {
        "attributes": {"type": "Task"},
        VISIT_KEY_FIELD: notice.key,
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
