"""HubSpot shapes <-> CRM-neutral records, and the pull cursor.

Companies become `AccountRecord`s, owners `RepRecord`s (no home location:
HubSpot owners carry none), meetings and calls `ActivityRecord`s. Every
HubSpot datetime (ISO-8601 or epoch milliseconds) becomes an aware UTC
datetime here. Writes go the other way: an `AssignmentChange` becomes a batch
update input, a `VisitRecord` a meeting keyed by `territory_sync_visit_key`.

The cursor of a stream is a `StreamCursor`: a `Watermark` on
`hs_lastmodifieddate` (everything before `ms`, plus the listed ids at exactly
`ms`, has been delivered: `>=` with the ties remembered, so nothing at the
boundary is lost or doubled), another on `archivedAt` for deletions, and the
position of a full listing in progress so a crash resumes mid-listing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
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

CURSOR_PREFIX = "hubspot:1:"
VISIT_KEY = "territory_sync_visit_key"
NOTICE_KEY = "territory_sync_notice_key"
CLOSED_STAGES = frozenset({"closedwon", "closedlost"})  # the default pipeline's closed stages
MODIFIED = "hs_lastmodifieddate"
MEETING_TO_COMPANY = 188
CALL_TO_COMPANY = 182


def territory_property(name: str) -> dict[str, Any]:
    """The company property territory-sync creates when a portal lacks the mapped one."""
    return {
        "name": name,
        "label": "Territory",
        "type": "string",
        "fieldType": "text",
        "groupName": "companyinformation",
        "description": "Sales territory, written by territory-sync",
        "hasUniqueValue": False,
        "formField": False,
    }


VISIT_KEY_PROPERTY = {
    "name": VISIT_KEY,
    "label": "Territory-sync visit key",
    "type": "string",
    "fieldType": "text",
    "groupName": "meetinginformation",
    "description": "Idempotency key of a visit planned by territory-sync",
    "hasUniqueValue": True,
    "formField": False,
}

NOTICE_KEY_PROPERTY = {
    "name": NOTICE_KEY,
    "label": "Territory-sync notice key",
    "type": "string",
    "fieldType": "text",
    "groupName": "taskinformation",
    "description": "Idempotency key of a territory-change notice sent by territory-sync",
    "hasUniqueValue": True,
    "formField": False,
}


# --------------------------------------------------------------------------- time


def parse_time(value: Any) -> datetime | None:
    """A HubSpot datetime (ISO-8601, or epoch milliseconds as digits) as aware UTC."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(text) / 1000.0, tz=UTC)
    try:
        return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None


def epoch_ms(value: datetime) -> int:
    return round(as_utc(value).timestamp() * 1000)


def iso_z(value: datetime) -> str:
    """Aware UTC ISO-8601 with milliseconds and a Z, the form HubSpot writes."""
    dt = as_utc(value)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def modified_ms(obj: Mapping[str, Any], cursor_field: str = MODIFIED) -> int:
    """When a record last changed, in epoch ms (the property first, `updatedAt` as fallback)."""
    props = obj.get("properties") or {}
    when = parse_time(props.get(cursor_field)) or parse_time(obj.get("updatedAt"))
    return epoch_ms(when) if when else 0


# --------------------------------------------------------------------------- the cursor


@dataclass(frozen=True)
class Watermark:
    """Delivered: everything modified before `ms`, and the records `ids` modified at exactly `ms`."""

    ms: int = 0
    ids: frozenset[str] = frozenset()

    def admits(self, ms: int, record_id: str) -> bool:
        """Not delivered yet?"""
        return ms > self.ms or (ms == self.ms and record_id not in self.ids)

    def advance(self, ms: int, record_id: str) -> Watermark:
        if ms > self.ms:
            return Watermark(ms, frozenset({record_id}))
        if ms == self.ms:
            return Watermark(ms, self.ids | {record_id})
        return self

    def as_json(self) -> dict[str, Any]:
        return {"ms": self.ms, "ids": sorted(self.ids, key=lambda i: (len(i), i))}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Watermark:
        if not data:
            return cls()
        return cls(int(data.get("ms", 0)), frozenset(str(i) for i in data.get("ids", ())))


@dataclass(frozen=True)
class StreamCursor:
    """Where one object type's pull stands: changes, deletions, and a full listing in progress."""

    changed: Watermark = field(default_factory=Watermark)
    archived: Watermark = field(default_factory=Watermark)
    listing_after: str | None = None  # a full listing is under way: resume after this id
    listing_started_ms: int | None = None  # the server's clock when that listing began

    @property
    def listing(self) -> bool:
        return self.listing_started_ms is not None

    def finish_listing(self) -> StreamCursor:
        """After a complete listing, changes are tracked from when the listing began."""
        start = self.listing_started_ms or 0
        return replace(self, changed=Watermark(start), listing_after=None, listing_started_ms=None)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"changed": self.changed.as_json(), "archived": self.archived.as_json()}
        if self.listing:
            out["listing"] = {"after": self.listing_after, "started_ms": self.listing_started_ms}
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> StreamCursor:
        if not data:
            return cls()
        listing = data.get("listing") or {}
        return cls(
            changed=Watermark.from_json(data.get("changed")),
            archived=Watermark.from_json(data.get("archived")),
            listing_after=listing.get("after"),
            listing_started_ms=listing.get("started_ms"),
        )


def encode_cursor(streams: Mapping[str, StreamCursor]) -> str:
    payload = {name: c.as_json() for name, c in streams.items()}
    return CURSOR_PREFIX + json.dumps(payload, separators=(",", ":"), sort_keys=True)


def decode_cursor(cursor: str | None) -> dict[str, StreamCursor]:
    """The per-object-type cursors in `cursor`; empty for None (a first, full pull)."""
    if not cursor:
        return {}
    if not cursor.startswith(CURSOR_PREFIX):
        raise ValueError("not a HubSpot cursor (expected the hubspot:1: prefix)")
    payload = json.loads(cursor[len(CURSOR_PREFIX) :])
    return {str(name): StreamCursor.from_json(data) for name, data in payload.items()}


# --------------------------------------------------------------------------- pulled records


def _float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _mapped(props: Mapping[str, Any], name: str | None) -> Any:
    return props.get(name) if name else None


def company_record(obj: Mapping[str, Any], fields: FieldMap) -> AccountRecord:
    props: Mapping[str, Any] = obj.get("properties") or {}
    modified = parse_time(props.get(MODIFIED)) or parse_time(obj.get("updatedAt"))
    return AccountRecord(
        crm_id=str(obj["id"]),
        name=str(props.get("name") or ""),
        modified_at=modified or datetime.fromtimestamp(0, tz=UTC),
        lat=_float(props.get("latitude")),
        lon=_float(props.get("longitude")),
        postal_code=_text(props.get("zip")),
        country=_text(props.get("country")),
        tier=_text(_mapped(props, fields.tier)),
        potential=_float(_mapped(props, fields.potential)),
        effort=_float(_mapped(props, fields.effort)),
        industry=_text(props.get("industry")),
        owner_id=_text(props.get("hubspot_owner_id")),
        territory=_text(props.get(fields.territory)),
        locked=str(_mapped(props, fields.locked) or "").strip().lower() == "true",
        raw=dict(props),
    )


def merged_away(obj: Mapping[str, Any]) -> list[DeletedRecord]:
    """The records merged into this one: each is gone from HubSpot, merged into `obj`."""
    props: Mapping[str, Any] = obj.get("properties") or {}
    merged = str(props.get("hs_merged_object_ids") or "")
    when = parse_time(props.get(MODIFIED)) or datetime.fromtimestamp(0, tz=UTC)
    return [
        DeletedRecord(crm_id=m, deleted_at=when, merged_into=str(obj["id"]))
        for m in merged.split(";")
        if m.strip()
    ]


def archived_record(obj: Mapping[str, Any]) -> DeletedRecord:
    when = parse_time(obj.get("archivedAt")) or parse_time(obj.get("updatedAt"))
    return DeletedRecord(crm_id=str(obj["id"]), deleted_at=when or datetime.fromtimestamp(0, tz=UTC))


def archived_ms(obj: Mapping[str, Any]) -> int:
    when = parse_time(obj.get("archivedAt")) or parse_time(obj.get("updatedAt"))
    return epoch_ms(when) if when else 0


def owner_record(owner: Mapping[str, Any], *, now: datetime) -> RepRecord:
    """An owner; archived owners are deactivated users."""
    name = " ".join(p for p in (owner.get("firstName"), owner.get("lastName")) if p)
    modified = parse_time(owner.get("updatedAt")) or datetime.fromtimestamp(0, tz=UTC)
    return RepRecord(
        crm_id=str(owner["id"]),
        name=name or str(owner.get("email") or owner["id"]),
        modified_at=modified,
        email=_text(owner.get("email")),
        active=not bool(owner.get("archived")),
        raw=dict(owner),
    )


def meeting_record(obj: Mapping[str, Any], *, now: datetime) -> ActivityRecord:
    """A meeting is done when its outcome says so, or when it ended and was not called off."""
    props: Mapping[str, Any] = obj.get("properties") or {}
    start = parse_time(props.get("hs_meeting_start_time")) or parse_time(props.get("hs_timestamp"))
    end = parse_time(props.get("hs_meeting_end_time"))
    outcome = str(props.get("hs_meeting_outcome") or "").upper()
    completed = outcome == "COMPLETED" or (
        end is not None and end < now and outcome not in ("CANCELED", "NO_SHOW", "RESCHEDULED")
    )
    return ActivityRecord(
        crm_id=str(obj["id"]),
        kind=ActivityKind.MEETING,
        modified_at=parse_time(props.get(MODIFIED)) or now,
        account_id=associated_id(obj, "companies"),
        owner_id=_text(props.get("hubspot_owner_id")),
        started_at=start,
        ended_at=end,
        subject=str(props.get("hs_meeting_title") or ""),
        completed=completed,
        external_id=_text(props.get(VISIT_KEY)),
        raw=dict(props),
    )


def call_record(obj: Mapping[str, Any], *, now: datetime) -> ActivityRecord:
    props: Mapping[str, Any] = obj.get("properties") or {}
    start = parse_time(props.get("hs_timestamp"))
    duration = _float(props.get("hs_call_duration"))
    end = start + timedelta(milliseconds=duration) if start and duration is not None else None
    return ActivityRecord(
        crm_id=str(obj["id"]),
        kind=ActivityKind.CALL,
        modified_at=parse_time(props.get(MODIFIED)) or now,
        account_id=associated_id(obj, "companies"),
        owner_id=_text(props.get("hubspot_owner_id")),
        started_at=start,
        ended_at=end,
        subject=str(props.get("hs_call_title") or ""),
        completed=str(props.get("hs_call_status") or "").upper() == "COMPLETED",
        raw=dict(props),
    )


def deal_record(obj: Mapping[str, Any], *, now: datetime) -> OpportunityRecord:
    """A deal; closed by HubSpot's own `hs_is_closed`, else by a closed stage of the default pipeline."""
    props: Mapping[str, Any] = obj.get("properties") or {}
    stage = str(props.get("dealstage") or "")
    flag = str(props.get("hs_is_closed") or "").strip().lower()
    closes = parse_time(props.get("closedate"))
    return OpportunityRecord(
        crm_id=str(obj["id"]),
        name=str(props.get("dealname") or ""),
        modified_at=parse_time(props.get(MODIFIED)) or now,
        amount=_float(props.get("amount")),
        stage=stage,
        close_date=closes.date() if closes else None,
        owner_id=_text(props.get("hubspot_owner_id")),
        account_id=associated_id(obj, "companies"),
        is_closed=flag == "true" if flag in ("true", "false") else stage in CLOSED_STAGES,
        raw=dict(props),
    )


def associated_id(obj: Mapping[str, Any], to_type: str) -> str | None:
    """The first record of `to_type` an object is associated to, as a listing with
    `associations=to_type` returns it (the connector gives search results the same shape)."""
    block = (obj.get("associations") or {}).get(to_type) or {}
    results = block.get("results") or []
    return str(results[0]["id"]) if results else None


def with_associations(obj: Mapping[str, Any], found: Mapping[str, str | None]) -> dict[str, Any]:
    """`obj` with the associations read separately (type -> first id) in the listing shape."""
    blocks = dict(obj.get("associations") or {})
    for to_type, target in found.items():
        blocks[to_type] = {"results": [{"id": target}] if target is not None else []}
    return {**obj, "associations": blocks}


# --------------------------------------------------------------------------- pushed records


def assignment_input(change: AssignmentChange, fields: FieldMap) -> dict[str, Any]:
    props: dict[str, str] = {}
    if change.owner_id is not None:
        props["hubspot_owner_id"] = change.owner_id
    if change.territory is not None:
        props[fields.territory] = change.territory
    return {"id": change.account_id, "properties": props}


def meeting_properties(visit: VisitRecord) -> dict[str, str]:
    return {
        "hs_timestamp": iso_z(visit.start),
        "hs_meeting_title": visit.subject,
        "hs_meeting_body": visit.description,
        "hs_meeting_start_time": iso_z(visit.start),
        "hs_meeting_end_time": iso_z(visit.end),
        "hs_meeting_outcome": "CANCELED" if visit.cancelled else "SCHEDULED",
        "hubspot_owner_id": visit.owner_id,
        VISIT_KEY: visit.key,
    }


def meeting_create_input(visit: VisitRecord) -> dict[str, Any]:
    return {
        "properties": meeting_properties(visit),
        "associations": [
            {
                "to": {"id": visit.account_id},
                "types": [
                    {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": MEETING_TO_COMPANY}
                ],
            }
        ],
    }


def meeting_upsert_input(visit: VisitRecord) -> dict[str, Any]:
    return {"idProperty": VISIT_KEY, "id": visit.key, "properties": meeting_properties(visit)}


def notice_upsert_input(notice: RepNotice) -> dict[str, Any]:
    """A task for the rep, upserted by its notice key (due at the start of its due day, UTC)."""
    due = datetime.combine(notice.due, time(), UTC)
    return {
        "idProperty": NOTICE_KEY,
        "id": notice.key,
        "properties": {
            "hs_timestamp": iso_z(due),
            "hs_task_subject": notice.subject,
            "hs_task_body": notice.description,
            "hs_task_status": "NOT_STARTED",
            "hs_task_priority": "MEDIUM",
            "hs_task_type": "TODO",
            "hubspot_owner_id": notice.owner_id,
            NOTICE_KEY: notice.key,
        },
    }


def meeting_cancel_input(visit: VisitRecord) -> dict[str, Any]:
    return {
        "idProperty": VISIT_KEY,
        "id": visit.key,
        "properties": {"hs_meeting_outcome": "CANCELED"},
    }
