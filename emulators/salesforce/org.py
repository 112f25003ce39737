"""The in-memory Salesforce org behind the emulator: records, SOQL execution, writes, deletes.

`SalesforceOrg` holds every record of every sObject in `salesforce_schema`,
keyed by 18-character id, with `SystemModstamp`/`LastModifiedDate` kept per
record (millisecond precision, as Salesforce stores them), a recycle bin
(`IsDeleted = true` rows seen only by `queryAll`) and a delete log for
`getDeleted`. All methods are thread-safe (one re-entrant lock).

What tests use to act like a person working in the CRM (all take an
optional `at=` timestamp; default: the org clock, i.e. now):

- `create(sobject, fields, at=None) -> id`
- `update(sobject, record_id, fields, at=None)`: a human edit (stamps the record)
- `touch(sobject, ids, at=None)`: bump `SystemModstamp` only (a system update)
- `soft_delete(sobject, ids, at=None)`: to the recycle bin (`IsDeleted = true`)
- `hard_delete(sobject, ids, at=None)`: purge; only `getDeleted` still knows it
- `merge(sobject, winner_id, loser_ids, at=None)`: losers soft-deleted with
  `MasterRecordId = winner`, their Events/Tasks re-parented to the winner
- `get(sobject, record_id) -> dict | None`, `ids(sobject, include_deleted=False)`,
  `count(sobject, include_deleted=False)`, `find(sobject, **equals) -> list[dict]`

Writes made through the REST API go through the same validation
(`api_create`, `api_update`, `api_upsert`, `api_delete`), which raises
`ApiError` carrying Salesforce's status, error code, message and fields.
"""

from __future__ import annotations

import itertools
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from emulators.salesforce.relative_dates import date_range
from emulators.salesforce.schema import (
    PREFIX_TO_OBJECT,
    STAGE_PROBABILITY,
    FieldSpec,
    ObjectSpec,
    build_objects,
    id18,
    make_id,
    make_ids,
)
from emulators.salesforce.soql import (
    BoolOp,
    Comparison,
    Condition,
    DateLiteral,
    Not,
    SoqlError,
    SoqlQuery,
    parse_datetime_literal,
)

Record = dict[str, Any]

MAX_EVENT_DAYS = 14
DELETED_WINDOW_DAYS = 15
UPDATED_WINDOW_DAYS = 30
MAX_OPEN_CURSORS = 200
# Compared as they are (numbers, ids, times); every other type compares case-insensitively.
_UNFOLDED_TYPES = frozenset(
    {"id", "reference", "datetime", "date", "boolean", "double", "currency", "percent", "int"}
)


class ApiError(Exception):
    """A Salesforce error answer: `[{"message", "errorCode", "fields"}]` with `status`."""

    def __init__(self, status: int, code: str, message: str, fields: Iterable[str] = ()):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = list(fields)

    def body(self) -> list[dict[str, Any]]:
        return [{"message": self.message, "errorCode": self.code, "fields": self.fields}]


def _default(rec: Record, name: str, value: Any) -> None:
    """Fill a field the caller left empty (rows carry every field, so `setdefault` will not do)."""
    if rec.get(name) is None:
        rec[name] = value


def now_ms() -> datetime:
    """Now in UTC at Salesforce's millisecond precision."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def format_datetime(value: datetime) -> str:
    value = value.astimezone(UTC)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}+0000"


def render_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


@dataclass(slots=True)
class QueryCursor:
    """An open query locator: the matching ids, and which fields to render."""

    sobject: str
    fields: tuple[str, ...]
    ids: list[str]
    batch_size: int
    include_deleted: bool
    last_used: float = 0.0
    children: tuple[ChildRows, ...] = ()


@dataclass(frozen=True, slots=True)
class ChildRows:
    """A child subquery's answer: per parent id, the child ids in the subquery's order."""

    relationship: str
    spec: ObjectSpec
    fields: tuple[str, ...]
    by_parent: dict[str, list[str]]


@dataclass(slots=True)
class _Table:
    spec: ObjectSpec
    rows: dict[str, Record] = field(default_factory=dict)
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    # external-id / unique field (lower name) -> value -> record id
    unique_index: dict[str, dict[str, str]] = field(default_factory=dict)


class SalesforceOrg:
    """One emulated org. See the module docstring for the methods tests call."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] = now_ms,
        org_id: str = "00DDn00000EmuOrg",
        objects: dict[str, ObjectSpec] | None = None,
    ):
        self._lock = threading.RLock()
        self.clock = clock
        self.org_id = org_id
        self.objects = objects if objects is not None else build_objects()
        self.tables: dict[str, _Table] = {}
        for key, spec in self.objects.items():
            table = _Table(spec)
            for f in spec.fields_list:
                if f.unique or f.external_id:
                    table.unique_index[f.name.lower()] = {}
            self.tables[key] = table
        self.deleted_log: list[tuple[str, str, datetime]] = []  # (sobject, id, when)
        self.cursors: dict[str, QueryCursor] = {}
        self.rejection_for: Callable[[str | None], str | None] = lambda _id: None
        self.api_user_id: str | None = None
        # (table key, id) -> the row before this scope touched it (None: it did not exist)
        self._undo: dict[tuple[str, str], Record | None] | None = None

    # ------------------------------------------------------------------ undo (allOrNone)

    @contextmanager
    def undo_scope(self) -> Iterator[Callable[[], None]]:
        """Hold the lock and journal changes; calling the yielded function rolls them back."""
        with self._lock:
            self._undo = {}
            log_len = len(self.deleted_log)

            def rollback() -> None:
                journal = self._undo or {}
                for (key, rid), before in journal.items():
                    table = self.tables[key]
                    current = table.rows.get(rid)
                    if current is not None:
                        self._index_remove(table, current)
                        del table.rows[rid]
                    if before is not None:
                        table.rows[rid] = before
                        self._index_add(table, before)
                del self.deleted_log[log_len:]
                self._undo = {}

            try:
                yield rollback
            finally:
                self._undo = None

    def _remember(self, table: _Table, rid: str) -> None:
        if self._undo is not None:
            key = (table.spec.name.lower(), rid)
            if key not in self._undo:
                rec = table.rows.get(rid)
                self._undo[key] = dict(rec) if rec is not None else None

    # ------------------------------------------------------------------ basics

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    def load_rows(self, sobject: str, rows: list[dict[str, Any]]) -> list[str]:
        """Store fresh row dicts as records (seeding: no validation), minting ids; returns the ids.

        Every row has the same keys, canonical field names; the rows become the
        records. Keys the org's schema lacks (a custom field in a `standard`
        org) are dropped; fields the rows leave out are None.
        """
        with self._lock:
            table = self.table(sobject)
            if not rows:
                return []
            known = {f.name for f in table.spec.fields_list}
            given = set(rows[0])
            dropped, missing = given - known, known - given - {"Id"}
            indexed = bool(table.unique_index) and any(
                table.spec.fields[name].name in given for name in table.unique_index
            )
            ids = self._reserve_ids(table, len(rows))
            for rid, rec in zip(ids, rows, strict=True):
                for name in dropped:
                    del rec[name]
                for name in missing:
                    rec[name] = None
                rec["Id"] = rid
                table.rows[rid] = rec
                if indexed:
                    self._index_add(table, rec)
            if "isdeleted" in table.spec.fields:
                for rec in rows:
                    rec["IsDeleted"] = rec.get("IsDeleted") or False
            return ids

    def table(self, sobject: str) -> _Table:
        table = self.tables.get(sobject.lower())
        if table is None:
            raise ApiError(404, "NOT_FOUND", f"The requested resource does not exist: {sobject}")
        return table

    def spec(self, sobject: str) -> ObjectSpec:
        return self.table(sobject).spec

    def object_spec(self, sobject: str) -> ObjectSpec | None:
        """The object's spec in this org's schema, None if the org has no such object."""
        return self.objects.get(sobject.lower())

    def child_relationships(self, sobject: str) -> list[dict[str, object]]:
        """describe's `childRelationships`: every lookup pointing at this object, named as its parent says."""
        name = self.spec(sobject).name
        out: list[dict[str, object]] = []
        for child in self.objects.values():
            for f in child.fields_list:
                if f.type != "reference" or name not in f.reference_to:
                    continue
                rel = f.child_name or (f"{child.name}s" if f.name == "WhatId" else None)
                out.append(
                    {
                        "cascadeDelete": False,
                        "childSObject": child.name,
                        "deprecatedAndHidden": False,
                        "field": f.name,
                        "relationshipName": rel,
                        "restrictedDelete": False,
                    }
                )
        return out

    def sobject_or_404(self, sobject: str) -> ObjectSpec:
        """The object a REST path names, or Salesforce's 404 `NOT_FOUND`."""
        spec = self.objects.get(sobject.lower())
        if spec is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return spec

    def _stamp(self, at: datetime | None) -> datetime:
        when = at if at is not None else self.clock()
        when = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
        return when.replace(microsecond=when.microsecond // 1000 * 1000)

    def _new_id(self, table: _Table) -> str:
        return make_id(table.spec.key_prefix, next(table.counter))

    def _reserve_ids(self, table: _Table, count: int) -> list[str]:
        first = next(table.counter)
        ids = make_ids(table.spec.key_prefix, first, count)
        table.counter = itertools.count(first + count)
        return ids

    @staticmethod
    def normalise_id(value: str) -> str:
        return id18(value) if len(value) == 15 else value

    def object_of_id(self, record_id: str) -> str | None:
        return PREFIX_TO_OBJECT.get(record_id[:3])

    def _index_add(self, table: _Table, rec: Record) -> None:
        for lname, index in table.unique_index.items():
            spec = table.spec.fields[lname]
            value = rec.get(spec.name)
            if value is not None:
                index[str(value).lower()] = rec["Id"]

    def _index_remove(self, table: _Table, rec: Record) -> None:
        for lname, index in table.unique_index.items():
            value = rec.get(table.spec.fields[lname].name)
            if value is not None and index.get(str(value).lower()) == rec["Id"]:
                del index[str(value).lower()]

    # ------------------------------------------------------------------ test-facing mutations

    def create(self, sobject: str, fields: Mapping[str, Any], *, at: datetime | None = None) -> str:
        """Create a record as a person would (validated like the API); returns its id."""
        with self._lock:
            return self.api_create(sobject, dict(fields), at=at)

    def update(
        self, sobject: str, record_id: str, fields: Mapping[str, Any], *, at: datetime | None = None
    ) -> None:
        """Edit a record as a person would; stamps LastModifiedDate and SystemModstamp."""
        with self._lock:
            self.api_update(sobject, record_id, dict(fields), at=at)

    def touch(self, sobject: str, ids: Iterable[str], *, at: datetime | None = None) -> None:
        """A system update: only SystemModstamp moves (e.g. a recalculated rollup)."""
        with self._lock:
            table = self.table(sobject)
            when = self._stamp(at)
            for rid in ids:
                table.rows[self.normalise_id(rid)]["SystemModstamp"] = when

    def soft_delete(self, sobject: str, ids: Iterable[str], *, at: datetime | None = None) -> None:
        """Delete to the recycle bin: `queryAll` shows `IsDeleted = true`, `getDeleted` lists it."""
        with self._lock:
            for rid in ids:
                self._delete(self.table(sobject), self.normalise_id(rid), self._stamp(at))

    def hard_delete(self, sobject: str, ids: Iterable[str], *, at: datetime | None = None) -> None:
        """Purge (emptied recycle bin): gone from every query; `getDeleted` still lists it."""
        with self._lock:
            table = self.table(sobject)
            when = self._stamp(at)
            for rid in ids:
                rid = self.normalise_id(rid)
                rec = table.rows.get(rid)
                if rec is None:
                    continue
                if not rec.get("IsDeleted"):
                    self.deleted_log.append((table.spec.name, rid, when))
                self._index_remove(table, rec)
                del table.rows[rid]

    def merge(
        self, sobject: str, winner_id: str, loser_ids: Iterable[str], *, at: datetime | None = None
    ) -> None:
        """Merge losers into the winner, as the CRM's merge does."""
        with self._lock:
            table = self.table(sobject)
            when = self._stamp(at)
            winner_id = self.normalise_id(winner_id)
            losers = {self.normalise_id(i) for i in loser_ids}
            for rid in losers:
                table.rows[rid]["MasterRecordId"] = winner_id
                self._delete(table, rid, when)
            for activity in ("event", "task"):
                for rec in self.tables[activity].rows.values():
                    if rec.get("WhatId") in losers:
                        rec["WhatId"] = winner_id
                        rec["LastModifiedDate"] = rec["SystemModstamp"] = when
            winner = table.rows[winner_id]
            winner["LastModifiedDate"] = winner["SystemModstamp"] = when

    def get(self, sobject: str, record_id: str) -> Record | None:
        with self._lock:
            rec = self.table(sobject).rows.get(self.normalise_id(record_id))
            return dict(rec) if rec is not None else None

    def ids(self, sobject: str, *, include_deleted: bool = False) -> list[str]:
        with self._lock:
            return [
                rid
                for rid, rec in self.table(sobject).rows.items()
                if include_deleted or not rec.get("IsDeleted")
            ]

    def count(self, sobject: str, *, include_deleted: bool = False) -> int:
        with self._lock:
            rows = self.table(sobject).rows
            if include_deleted:
                return len(rows)
            return sum(1 for rec in rows.values() if not rec.get("IsDeleted"))

    def find(self, sobject: str, **equals: Any) -> list[Record]:
        """Live (not deleted) records whose fields equal the given values, as copies."""
        with self._lock:
            return [
                dict(rec)
                for rec in self.table(sobject).rows.values()
                if not rec.get("IsDeleted") and all(rec.get(k) == v for k, v in equals.items())
            ]

    # ------------------------------------------------------------------ deletes

    def _delete(self, table: _Table, rid: str, when: datetime) -> None:
        rec = table.rows.get(rid)
        if rec is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        if rec.get("IsDeleted"):
            raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
        self._remember(table, rid)
        self.deleted_log.append((table.spec.name, rid, when))
        if not table.spec.has_recycle_bin:
            self._index_remove(table, rec)
            del table.rows[rid]
            return
        rec["IsDeleted"] = True
        rec["LastModifiedDate"] = rec["SystemModstamp"] = when
        # A deleted record no longer holds its unique values (a new one may reuse them).
        self._index_remove(table, rec)

    # ------------------------------------------------------------------ API writes

    def _coerce(self, spec: FieldSpec, value: Any) -> Any:
        if value is None:
            if not spec.nillable and spec.type != "boolean":
                raise ApiError(
                    400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{spec.name}]", [spec.name]
                )
            return False if spec.type == "boolean" else None
        t = spec.type
        bad = ApiError(
            400,
            "JSON_PARSER_ERROR",
            f"Cannot deserialize instance of {t} from {type(value).__name__} value {value!r} "
            "or request may be missing a required field",
        )
        if t in ("double", "currency", "percent"):
            if isinstance(value, bool):
                raise bad
            if isinstance(value, int | float):
                return float(value)
            if isinstance(value, str):
                try:
                    return float(value)
                except ValueError:
                    raise bad from None
            raise bad
        if t == "int":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise bad
            return int(value)
        if t == "boolean":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            raise bad
        if t == "datetime":
            if not isinstance(value, str):
                raise bad
            try:
                return parse_datetime_literal(value).replace(
                    microsecond=parse_datetime_literal(value).microsecond // 1000 * 1000
                )
            except SoqlError:
                raise bad from None
        if t == "date":
            try:
                return date.fromisoformat(str(value)[:10])
            except ValueError:
                raise bad from None
        if isinstance(value, dict | list):
            raise bad
        text = str(value) if not isinstance(value, str) else value
        if t in ("id", "reference"):
            text = self.normalise_id(text) if text else text
            if not text:
                return None
        if spec.length and len(text) > spec.length:
            raise ApiError(
                400,
                "STRING_TOO_LONG",
                f"{spec.label or spec.name}: data value too large: {text[:40]}... (max length={spec.length})",
                [spec.name],
            )
        return text

    def _check_fields(self, table: _Table, fields: Mapping[str, Any], *, creating: bool) -> Record:
        """Map body keys to canonical field names and typed values, or raise like Salesforce."""
        out: Record = {}
        not_writable: list[str] = []
        for key, value in fields.items():
            if key == "attributes":
                continue
            spec = table.spec.field(key)
            if spec is None:
                raise ApiError(
                    400,
                    "INVALID_FIELD",
                    f"No such column '{key}' on sobject of type {table.spec.name}",
                    [key],
                )
            if (creating and not spec.createable) or (not creating and not spec.updateable):
                if spec.name == "Id" and not creating:
                    continue  # Collections updates carry the id in the body
                not_writable.append(spec.name)
                continue
            out[spec.name] = self._coerce(spec, value)
        if not_writable:
            raise ApiError(
                400,
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(not_writable)}. Please check the "
                "security settings of this field and verify that it is read/write for your "
                "profile or permission set.",
                not_writable,
            )
        return out

    def _check_references(self, table: _Table, values: Record) -> None:
        for name, value in values.items():
            spec = table.spec.fields[name.lower()]
            if spec.type != "reference" or value is None:
                continue
            target = self.object_of_id(value)
            if target is None or target not in spec.reference_to:
                raise ApiError(
                    400,
                    "INVALID_CROSS_REFERENCE_KEY",
                    f"{spec.label or spec.name}: id value of incorrect type: {value}",
                    [spec.name],
                )
            ref = self.tables[target.lower()].rows.get(value)
            if ref is None:
                raise ApiError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [spec.name])
            if ref.get("IsDeleted"):
                raise ApiError(400, "ENTITY_IS_DELETED", "entity is deleted", [spec.name])
            if target == "User" and name == "OwnerId" and not ref.get("IsActive", True):
                raise ApiError(
                    400,
                    "INACTIVE_OWNER_OR_USER",
                    f"operation performed with inactive user [{value}] as owner of {table.spec.name.lower()}",
                    [spec.name],
                )

    def _check_unique(self, table: _Table, rec: Record, own_id: str | None) -> None:
        for lname, index in table.unique_index.items():
            spec = table.spec.fields[lname]
            value = rec.get(spec.name)
            if value is None:
                continue
            holder = index.get(str(value).lower())
            if holder is not None and holder != own_id:
                raise ApiError(
                    400,
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {spec.name} duplicates value on record with id: {holder}",
                    [spec.name],
                )
        if table.spec.name == "ObjectTerritory2Association":
            for other in table.rows.values():
                if (
                    other["Id"] != own_id
                    and other["ObjectId"] == rec.get("ObjectId")
                    and other["Territory2Id"] == rec.get("Territory2Id")
                ):
                    raise ApiError(
                        400,
                        "DUPLICATE_VALUE",
                        f"duplicate value found: <unknown> duplicates value on record with id: {other['Id']}",
                    )

    def _derive(self, table: _Table, rec: Record) -> None:
        """Fields Salesforce computes, and the cross-field rules it enforces."""
        name = table.spec.name
        if name == "Event":
            start = rec.get("StartDateTime") or rec.get("ActivityDateTime")
            end = rec.get("EndDateTime")
            if start is None:
                raise ApiError(
                    400,
                    "REQUIRED_FIELD_MISSING",
                    "Required fields are missing: [StartDateTime]",
                    ["StartDateTime"],
                )
            if end is None and rec.get("DurationInMinutes") is not None:
                end = start + timedelta(minutes=int(rec["DurationInMinutes"]))
            if end is None:
                raise ApiError(
                    400,
                    "REQUIRED_FIELD_MISSING",
                    "Required fields are missing: [EndDateTime]",
                    ["EndDateTime"],
                )
            if end < start:
                raise ApiError(
                    400,
                    "FIELD_INTEGRITY_EXCEPTION",
                    "End Date Time: End time can't be before start time",
                    ["EndDateTime"],
                )
            if end - start > timedelta(days=MAX_EVENT_DAYS):
                raise ApiError(
                    400,
                    "FIELD_INTEGRITY_EXCEPTION",
                    "Event duration can't exceed 14 days",
                    ["EndDateTime"],
                )
            rec["StartDateTime"] = rec["ActivityDateTime"] = start
            rec["EndDateTime"] = end
            rec["ActivityDate"] = start.date()
            rec["DurationInMinutes"] = int((end - start).total_seconds() // 60)
            _default(rec, "IsAllDayEvent", False)
        elif name == "Task":
            rec["Status"] = rec.get("Status") or "Not Started"
            rec["Priority"] = rec.get("Priority") or "Normal"
            rec["IsClosed"] = rec["Status"] == "Completed"
        elif name in ("User", "Contact"):
            rec["Name"] = " ".join(p for p in (rec.get("FirstName"), rec.get("LastName")) if p)
            if name == "User":
                _default(rec, "IsActive", True)
        elif name == "Account":
            _default(rec, "Locked__c", False)
            if rec.get("OwnerId") is None and self.api_user_id:
                rec["OwnerId"] = self.api_user_id
        elif name == "Opportunity":
            stage = rec.get("StageName") or ""
            rec["IsClosed"] = stage.startswith("Closed")
            rec["IsWon"] = stage == "Closed Won"
            _default(rec, "Probability", STAGE_PROBABILITY.get(stage))
            if rec.get("OwnerId") is None and self.api_user_id:
                rec["OwnerId"] = self.api_user_id
        elif name == "Territory2Model":
            _default(rec, "State", "Planning")
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", rec.get("DeveloperName") or ""):
                raise ApiError(
                    400,
                    "FIELD_INTEGRITY_EXCEPTION",
                    "The API name must begin with a letter and use only alphanumeric characters "
                    "and underscores.",
                    ["DeveloperName"],
                )
        elif name == "ObjectTerritory2Association":
            rec["SobjectType"] = self.object_of_id(rec["ObjectId"]) or "Account"
        elif name == "UserTerritory2Association":
            _default(rec, "IsActive", True)

    def _reject_if_configured(self, *keys: str | None) -> None:
        for key in keys:
            message = self.rejection_for(key)
            if message is not None:
                raise ApiError(400, "FIELD_CUSTOM_VALIDATION_EXCEPTION", message)

    def api_create(self, sobject: str, fields: Mapping[str, Any], *, at: datetime | None = None) -> str:
        with self._lock:
            table = self.table(sobject)
            if "Id" in fields or "id" in fields:
                raise ApiError(
                    400,
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    "Record ID: cannot specify Id in an insert call",
                    ["Id"],
                )
            values = self._check_fields(table, fields, creating=True)
            missing = [f for f in table.spec.required if values.get(f) in (None, "")]
            if missing:
                raise ApiError(
                    400,
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{', '.join(missing)}]",
                    missing,
                )
            ext_values = [str(v) for k, v in values.items() if table.spec.fields[k.lower()].external_id and v]
            self._reject_if_configured(*ext_values)
            self._check_references(table, values)
            when = self._stamp(at)
            rid = self._new_id(table)
            rec: Record = {f.name: None for f in table.spec.fields_list}
            rec.update(values)
            rec["Id"] = rid
            self._remember(table, rid)
            rec["CreatedDate"] = rec["LastModifiedDate"] = rec["SystemModstamp"] = when
            if "isdeleted" in table.spec.fields:
                rec["IsDeleted"] = False
            self._derive(table, rec)
            self._check_unique(table, rec, None)
            table.rows[rid] = rec
            self._index_add(table, rec)
            return rid

    def api_update(
        self, sobject: str, record_id: str, fields: Mapping[str, Any], *, at: datetime | None = None
    ) -> None:
        with self._lock:
            table = self.table(sobject)
            rid = self.normalise_id(record_id)
            rec = table.rows.get(rid)
            if rec is None:
                raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
            if rec.get("IsDeleted"):
                raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
            values = self._check_fields(table, fields, creating=False)
            self._reject_if_configured(rid)
            self._check_references(table, values)
            candidate = {**rec, **values}
            self._derive(table, candidate)
            self._check_unique(table, candidate, rid)
            self._remember(table, rid)
            self._index_remove(table, rec)
            when = self._stamp(at)
            rec.update(candidate)
            rec["LastModifiedDate"] = rec["SystemModstamp"] = when
            self._index_add(table, rec)

    def api_upsert(
        self,
        sobject: str,
        ext_field: str,
        ext_value: str,
        fields: Mapping[str, Any],
        *,
        at: datetime | None = None,
    ) -> tuple[str, bool]:
        """Update the record whose external id matches, or create it. Returns (id, created)."""
        with self._lock:
            table = self.table(sobject)
            spec = table.spec.field(ext_field)
            if spec is None or not (spec.external_id or spec.type == "id"):
                raise ApiError(
                    404,
                    "NOT_FOUND",
                    f"Provided external ID field does not exist or is not accessible: {ext_field}",
                )
            body = dict(fields)
            for key in list(body):
                if key.lower() == spec.name.lower():
                    if body[key] is not None and str(body[key]) != ext_value:
                        raise ApiError(
                            400,
                            "INVALID_FIELD",
                            f"The value of the external ID field in the body ({body[key]}) does not "
                            f"match the value in the URL ({ext_value})",
                            [spec.name],
                        )
                    del body[key]
            if spec.type == "id":
                existing = self.normalise_id(ext_value)
                if existing not in table.rows:
                    raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
                self.api_update(sobject, existing, body, at=at)
                return existing, False
            holder = table.unique_index[spec.name.lower()].get(ext_value.lower())
            if holder is not None:
                self._reject_if_configured(ext_value)
                self.api_update(sobject, holder, body, at=at)
                return holder, False
            body[spec.name] = ext_value
            return self.api_create(sobject, body, at=at), True

    def api_delete(self, sobject: str, record_id: str, *, at: datetime | None = None) -> None:
        with self._lock:
            table = self.table(sobject)
            rid = self.normalise_id(record_id)
            if rid in table.rows and not table.rows[rid].get("IsDeleted"):
                self._reject_if_configured(rid)
            self._delete(table, rid, self._stamp(at))

    # ------------------------------------------------------------------ reads

    def api_get(self, sobject: str, record_id: str) -> Record:
        with self._lock:
            rec = self.table(sobject).rows.get(self.normalise_id(record_id))
            if rec is None or rec.get("IsDeleted"):
                raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
            return rec

    def get_by_external_id(self, sobject: str, ext_field: str, value: str) -> Record:
        with self._lock:
            table = self.table(sobject)
            spec = table.spec.field(ext_field)
            if spec is None or not spec.external_id:
                raise ApiError(
                    404,
                    "NOT_FOUND",
                    f"Provided external ID field does not exist or is not accessible: {ext_field}",
                )
            holder = table.unique_index[spec.name.lower()].get(value.lower())
            if holder is None:
                raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
            return table.rows[holder]

    def resolve(self, rec: Record, path: str, spec: ObjectSpec) -> Any:
        """The value of `Field` or `Relationship.Field` on a record (None through a null lookup)."""
        if "." not in path:
            f = spec.field(path)
            return rec.get(f.name) if f is not None else None
        rel, rest = path.split(".", 1)
        ref_spec = spec.relationships.get(rel.lower())
        if ref_spec is None:
            return None
        ref_id = rec.get(ref_spec.name)
        if ref_id is None:
            return None
        target = self.object_of_id(ref_id)
        if target is None:
            return None
        target_table = self.tables[target.lower()]
        target_rec = target_table.rows.get(ref_id)
        if target_rec is None:
            return None
        return self.resolve(target_rec, rest, target_table.spec)

    def field_spec_of_path(self, spec: ObjectSpec, path: str) -> FieldSpec:
        """The field a (possibly dotted) path ends at, or raise `INVALID_FIELD`."""
        parts = path.split(".")
        current = spec
        for i, part in enumerate(parts):
            if i < len(parts) - 1:
                ref = current.relationships.get(part.lower())
                if ref is None:
                    break
                current = self.objects[ref.reference_to[0].lower()]
                continue
            f = current.field(part)
            if f is not None:
                return f
        raise ApiError(
            400,
            "INVALID_FIELD",
            f"No such column '{path}' on entity '{spec.name}'. If you are attempting to use a "
            "custom field, be sure to append the '__c' after the custom field name. Please "
            "reference your WSDL or the describe call for the appropriate names.",
        )

    # ------------------------------------------------------------------ SOQL

    def _compile(self, spec: ObjectSpec, cond: Condition) -> Callable[[Record], bool]:
        if isinstance(cond, BoolOp):
            parts = [self._compile(spec, t) for t in cond.terms]
            if cond.op == "AND":
                return lambda r: all(p(r) for p in parts)
            return lambda r: any(p(r) for p in parts)
        if isinstance(cond, Not):
            inner = self._compile(spec, cond.term)
            return lambda r: not inner(r)
        return self._compile_comparison(spec, cond)

    def _literal(self, f: FieldSpec, value: Any) -> Any:
        if value is None:
            return None
        t = f.type
        wrong = SoqlError(
            f"value of filter criterion for field '{f.name}' must be of type {t} "
            "and should not be enclosed in quotes"
        )
        if t == "datetime":
            if not isinstance(value, datetime):
                raise wrong
            return value
        if t == "date":
            if not isinstance(value, date) or isinstance(value, datetime):
                raise wrong
            return value
        if t == "boolean":
            if not isinstance(value, bool):
                raise wrong
            return value
        if t in ("double", "currency", "percent", "int"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise wrong
            return float(value)
        if not isinstance(value, str):
            raise SoqlError(f"value of filter criterion for field '{f.name}' must be a quoted string")
        if t in ("id", "reference"):
            return self.normalise_id(value)
        return value.lower()

    def _compile_comparison(self, spec: ObjectSpec, c: Comparison) -> Callable[[Record], bool]:
        f = self.field_spec_of_path(spec, c.field)
        folded = f.type not in _UNFOLDED_TYPES
        dotted = "." in c.field
        name = f.name

        def get(r: Record) -> Any:
            v = self.resolve(r, c.field, spec) if dotted else r.get(name)
            if folded and isinstance(v, str):
                return v.lower()
            return v

        op = c.op
        if isinstance(c.value, DateLiteral):
            return self._compile_relative(f, get, op, c.value)
        if op in ("IN", "NOT IN"):
            values = {self._literal(f, v) for v in c.value}
            if op == "IN":
                return lambda r: get(r) in values
            return lambda r: get(r) not in values
        if op == "LIKE":
            pattern = re.compile(
                "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in c.value.lower()),
                re.DOTALL,
            )
            return lambda r: (v := get(r)) is not None and pattern.fullmatch(str(v).lower()) is not None
        lit = self._literal(f, c.value)
        if op == "=":
            return lambda r: get(r) == lit
        if op == "!=":
            return lambda r: get(r) != lit
        if lit is None:
            return lambda r: False
        if op == "<":
            return lambda r: (v := get(r)) is not None and v < lit
        if op == "<=":
            return lambda r: (v := get(r)) is not None and v <= lit
        if op == ">":
            return lambda r: (v := get(r)) is not None and v > lit
        return lambda r: (v := get(r)) is not None and v >= lit

    def _compile_relative(
        self, f: FieldSpec, get: Callable[[Record], Any], op: str, literal: DateLiteral
    ) -> Callable[[Record], bool]:
        """A comparison with a relative date: `=` means within its days, `<` before them, `>` after."""
        if f.type not in ("date", "datetime"):
            raise SoqlError(f"value of filter criterion for field '{f.name}' must be of type {f.type}")
        first, after = date_range(literal, self.clock().astimezone(UTC).date())
        lo: Any = first
        hi: Any = after
        if f.type == "datetime":
            lo = datetime(first.year, first.month, first.day, tzinfo=UTC)
            hi = datetime(after.year, after.month, after.day, tzinfo=UTC)
        tests: dict[str, Callable[[Any], bool]] = {
            "=": lambda v: lo <= v < hi,
            "!=": lambda v: not lo <= v < hi,
            "<": lambda v: v < lo,
            "<=": lambda v: v < hi,
            ">": lambda v: v >= hi,
            ">=": lambda v: v >= lo,
        }
        if op not in tests:
            raise SoqlError(f"{op} does not take a date literal")
        test = tests[op]
        return lambda r: (v := get(r)) is not None and test(v)

    def run_query(self, query: SoqlQuery, *, include_deleted: bool) -> tuple[ObjectSpec, list[str]]:
        """Ids matching the query, in its order (LIMIT/OFFSET applied). Raises ApiError."""
        spec = self.object_spec(query.sobject)
        if spec is None:
            raise ApiError(
                400,
                "INVALID_TYPE",
                f"sObject type '{query.sobject}' is not supported. If you are attempting to use a "
                "custom object, be sure to append the '__c' after the entity name.",
            )
        for path in query.referenced_fields():
            self.field_spec_of_path(spec, path)
        try:
            predicate = self._compile(spec, query.where) if query.where is not None else None
        except SoqlError as exc:
            raise ApiError(400, "MALFORMED_QUERY", str(exc)) from None
        with self._lock:
            table = self.tables[spec.name.lower()]
            rows: list[Record] = [
                r
                for r in table.rows.values()
                if (include_deleted or not r.get("IsDeleted")) and (predicate is None or predicate(r))
            ]
            for key in reversed(query.order_by):
                f = self.field_spec_of_path(spec, key.field)
                folded = f.type in ("string", "textarea", "picklist", "multipicklist", "email")
                dotted = "." in key.field

                def sort_key(
                    r: Record, _k: Any = key, _f: FieldSpec = f, _fold: bool = folded, _d: bool = dotted
                ) -> tuple[int, Any]:
                    v = self.resolve(r, _k.field, spec) if _d else r.get(_f.name)
                    if v is None:
                        # Nulls sort to the end that NULLS FIRST/LAST asks for.
                        return (1 if _k.nulls_last != _k.descending else 0, None)
                    if _fold and isinstance(v, str):
                        v = v.lower()
                    return (0 if _k.nulls_last != _k.descending else 1, v)

                rows.sort(key=sort_key, reverse=key.descending)
            ids = [r["Id"] for r in rows]
        if query.offset:
            ids = ids[query.offset :]
        if query.limit is not None:
            ids = ids[: query.limit]
        return spec, ids

    def open_cursor(self, cursor: QueryCursor, when: float) -> str:
        with self._lock:
            if len(self.cursors) >= MAX_OPEN_CURSORS:
                oldest = min(self.cursors, key=lambda k: self.cursors[k].last_used)
                del self.cursors[oldest]
            locator = "01g" + uuid.uuid4().hex[:12]
            cursor.last_used = when
            self.cursors[locator] = cursor
            return locator

    def page(self, cursor: QueryCursor, start: int, spec: ObjectSpec) -> list[Record]:
        """The live records of one page of a cursor (records purged since are skipped)."""
        with self._lock:
            rows = self.tables[spec.name.lower()].rows
            out = []
            for rid in cursor.ids[start : start + cursor.batch_size]:
                rec = rows.get(rid)
                if rec is not None and (cursor.include_deleted or not rec.get("IsDeleted")):
                    out.append(rec)
            return out

    # ------------------------------------------------------------------ replication

    def updated_ids(self, sobject: str, start: datetime, end: datetime) -> list[str]:
        with self._lock:
            return [
                rid
                for rid, rec in self.table(sobject).rows.items()
                if not rec.get("IsDeleted") and start <= rec["SystemModstamp"] < end
            ]

    def deleted_since(self, sobject: str, start: datetime, end: datetime) -> list[tuple[str, datetime]]:
        name = self.spec(sobject).name
        with self._lock:
            return [(rid, when) for obj, rid, when in self.deleted_log if obj == name and start <= when < end]
