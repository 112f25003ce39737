"""`SalesforceConnector`: incremental pulls and batched, per-record pushes for one Salesforce org.

Pulls run one `queryAll` per sObject of the stream (declared in
`streams.py`: users; accounts; events + tasks; opportunities), ordered by the spec's cursor
field (`SystemModstamp`) and `Id`, and resumed from a keyset cursor (see
`records.py`), so soft-deleted rows and merge losers (`MasterRecordId`)
arrive as deletions, and ties at the cursor are neither lost nor doubled.
Each Salesforce page (2,000 rows) becomes one `Page` the caller stores
before the next is fetched. A final page per pull carries hard deletes
found with `getDeleted` (Salesforce keeps about 15 days of them; for older
ones, run a `full=True` pull and treat ids it no longer returns as gone).

Pushes go out as sObject Collections of 200 with `allOrNone=false`, so one
bad record never fails its batch: each record gets its own outcome, a
rejection carrying Salesforce's own `statusCode` and message. Visits are
Events upserted by the external id `Visit_Key__c` (pushing twice updates,
never duplicates); a cancelled visit deletes its Event. Rep notices are
Tasks upserted by the same external id. With
`use_territory2`, assignments are also written as
`ObjectTerritory2Association` rows in the org's Planning `Territory2Model`.

The quota guard reads `Sforce-Limit-Info` after every call and raises
`QuotaExhausted` before the next one once the org's daily usage reaches
`quota_share` of its limit.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from connectors.base import (
    AssignmentChange,
    CRMError,
    CRMKind,
    DeletedRecord,
    FieldMap,
    Outcome,
    Page,
    PushResult,
    QuotaExhausted,
    RecordOutcome,
    RepNotice,
    Stream,
    StreamSpec,
    VisitRecord,
    specs_for,
    streams_of,
)
from connectors.limits import RequestBudget
from connectors.salesforce.client import (
    COLLECTION_SIZE,
    SalesforceAPIError,
    SalesforceClient,
    SalesforceCredentials,
    soql_datetime,
    soql_string,
)
from connectors.salesforce.records import (
    VISIT_KEY_FIELD,
    Position,
    StreamCursor,
    assignment_to_salesforce,
    deleted_from_salesforce,
    notice_to_salesforce,
    parse_datetime,
    visit_to_salesforce,
)
from connectors.salesforce.streams import DEFAULT_FIELD_MAP, salesforce_streams

log = logging.getLogger(__name__)

R = TypeVar("R")

# Per-record errors worth sending again later rather than reporting as rejected.
TRANSIENT_RECORD_ERRORS = frozenset({"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED"})
DELETED_WINDOW = timedelta(days=15)
# The first getDeleted window starts a little before our own "now" (clock skew).
CLOCK_MARGIN = timedelta(minutes=2)
ID_CHECK_BATCH = 200


class SalesforceConnector:
    """One Salesforce org behind `connectors.base.CRMConnector`."""

    kind = CRMKind.SALESFORCE

    def __init__(
        self,
        credentials: SalesforceCredentials,
        *,
        field_map: FieldMap = DEFAULT_FIELD_MAP,
        base_url: str | None = None,
        api_version: str = "59.0",
        budget: RequestBudget | None = None,
        quota_share: float = 0.5,
        use_territory2: bool = False,
        retry_attempts: int = 8,
        max_retry_wait: float = 30.0,
        timeout: float = 60.0,
    ):
        if not 0.0 < quota_share <= 1.0:
            raise ValueError("quota_share must be within (0, 1]")
        self._credentials = credentials
        self.field_map = field_map
        self.specs = salesforce_streams(field_map)
        self._base_url = base_url
        self.api_version = api_version
        self.budget = budget
        self.quota_share = quota_share
        self.use_territory2 = use_territory2
        self._retry_attempts = retry_attempts
        self._max_retry_wait = max_retry_wait
        self._timeout = timeout
        self._client: SalesforceClient | None = None
        self._planning_model: str | None = None
        self._territories: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"SalesforceConnector(api_version={self.api_version!r}, quota_share={self.quota_share})"

    # ------------------------------------------------------------------ plumbing

    @property
    def client(self) -> SalesforceClient:
        """Logged in on first use, so building a connector costs no API call."""
        if self._client is None:
            self._client = SalesforceClient(
                self._credentials,
                base_url=self._base_url,
                api_version=self.api_version,
                budget=self.budget,
                retry_attempts=self._retry_attempts,
                max_retry_wait=self._max_retry_wait,
                timeout=self._timeout,
                guard=self._check_quota,
            )
        return self._client

    @property
    def api_calls(self) -> int:
        return self._client.calls if self._client is not None else 0

    @property
    def retries(self) -> int:
        return self._client.retries if self._client is not None else 0

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def _check_quota(self) -> None:
        usage = self._client.usage if self._client is not None else None
        if usage is not None and usage.share >= self.quota_share:
            raise QuotaExhausted(
                f"Salesforce API usage is {usage.used:,}/{usage.limit:,} "
                f"({usage.share:.0%}), at or past the {self.quota_share:.0%} share a run may use; "
                "stopping so the org keeps its daily allowance. Raise SALESFORCE_QUOTA_SHARE "
                "or run again after the usage resets."
            )

    # ------------------------------------------------------------------ pulls

    @property
    def streams(self) -> frozenset[Stream]:
        return streams_of(self.specs)

    def pull(self, stream: Stream, since: str | None, *, full: bool = False) -> Iterator[Page[Any]]:
        return self._pull(since, full, specs_for(self.specs, stream))

    def _pull(self, since: str | None, full: bool, specs: Sequence[StreamSpec[R]]) -> Iterator[Page[R]]:
        cursor = StreamCursor() if full else StreamCursor.decode(since)
        started = datetime.now(UTC)
        deleted_seen: set[str] = set()
        for spec in specs:
            soql = self._incremental_soql(spec, cursor.positions.get(spec.crm_object))
            for rows in self.client.query_pages(soql, include_deleted=spec.deletable):
                records: list[R] = []
                deleted: list[DeletedRecord] = []
                for row in rows:
                    if row.get("IsDeleted"):
                        deleted.append(deleted_from_salesforce(row))
                        deleted_seen.add(row["Id"])
                    else:
                        records.append(spec.mapper(row, now=started))
                if rows:
                    last = rows[-1]
                    stamp = parse_datetime(last[spec.cursor_field])
                    assert stamp is not None
                    cursor.positions[spec.crm_object] = Position(stamp, last["Id"])
                yield Page(records=records, deleted=deleted, cursor=cursor.encode())
        deletable = [s.crm_object for s in specs if s.deletable]
        if deletable:
            hard = self._hard_deletes(deletable, cursor, started, deleted_seen)
            yield Page(records=[], deleted=hard, cursor=cursor.encode())

    @staticmethod
    def _incremental_soql(spec: StreamSpec[Any], position: Position | None) -> str:
        stamp = spec.cursor_field
        select = f"SELECT {', '.join(spec.fields)} FROM {spec.crm_object}"
        order = f" ORDER BY {stamp}, Id"
        if position is None:
            return select + order
        ts = soql_datetime(position.modstamp)
        # >= on the timestamp; among records sharing it, only ids after the last one handed over.
        where = f" WHERE {stamp} >= {ts} AND ({stamp} > {ts} OR Id > {soql_string(position.record_id)})"
        return select + where + order

    def _hard_deletes(
        self, sobjects: Sequence[str], cursor: StreamCursor, started: datetime, seen: set[str]
    ) -> list[DeletedRecord]:
        """Deletions queryAll can no longer show (purged from the recycle bin), via getDeleted."""
        window_start = cursor.deleted_until
        if window_start is None:
            # First pull: later pulls look for hard deletes from (about) now on.
            cursor.deleted_until = started - CLOCK_MARGIN
            return []
        oldest = started - DELETED_WINDOW + timedelta(minutes=5)
        if window_start < oldest:
            log.warning(
                "Salesforce keeps deletions for 15 days; hard deletes before %s can only be found "
                "by a full pull",
                oldest.isoformat(),
            )
            window_start = oldest
        if started - window_start < timedelta(minutes=1):
            return []  # getDeleted works in whole minutes
        found: list[DeletedRecord] = []
        latest: datetime | None = None
        for sobject in sobjects:
            answer = self.client.deleted(sobject, window_start, started)
            covered = parse_datetime(answer.get("latestDateCovered"))
            if covered is not None:
                latest = covered if latest is None else min(latest, covered)
            candidates = {
                d["id"]: parse_datetime(d["deletedDate"]) or started
                for d in answer.get("deletedRecords", [])
                if d["id"] not in seen
            }
            # Soft-deleted rows reach the caller through queryAll; report only purged ones.
            still_there: set[str] = set()
            ids = list(candidates)
            for start in range(0, len(ids), ID_CHECK_BATCH):
                chunk = ids[start : start + ID_CHECK_BATCH]
                soql = f"SELECT Id FROM {sobject} WHERE Id IN ({', '.join(soql_string(i) for i in chunk)})"
                for rows in self.client.query_pages(soql, include_deleted=True):
                    still_there.update(r["Id"] for r in rows)
            found.extend(
                DeletedRecord(crm_id=rid, deleted_at=when)
                for rid, when in candidates.items()
                if rid not in still_there
            )
        if latest is not None:
            cursor.deleted_until = latest
        return found

    # ------------------------------------------------------------------ pushes

    def push_assignments(self, changes: Sequence[AssignmentChange]) -> PushResult:
        calls_before = self.api_calls
        outcomes: dict[int, RecordOutcome] = {}
        for batch in _batches(list(enumerate(changes)), key=lambda item: item[1].account_id):
            records = [assignment_to_salesforce(change, self.field_map) for _, change in batch]
            results = self._send(records, self.client.collection_update)
            for (index, change), result in zip(batch, results, strict=True):
                outcomes[index] = _outcome(change.key, result, change.account_id)
        if self.use_territory2:
            self._push_territory2(changes, outcomes)
        ordered = [outcomes[i] for i in range(len(changes))]
        return PushResult(outcomes=ordered, api_calls=self.api_calls - calls_before)

    def push_visits(self, visits: Sequence[VisitRecord]) -> PushResult:
        calls_before = self.api_calls
        outcomes: dict[int, RecordOutcome] = {}
        indexed = list(enumerate(visits))
        upserts = [(i, v) for i, v in indexed if not v.cancelled]
        cancels = [(i, v) for i, v in indexed if v.cancelled]
        for batch in _batches(upserts, key=lambda item: item[1].key):
            records = [visit_to_salesforce(v) for _, v in batch]
            results = self._send(records, partial(self.client.collection_upsert, "Event", VISIT_KEY_FIELD))
            for (index, visit), result in zip(batch, results, strict=True):
                outcomes[index] = _outcome(visit.key, result, None)
        for batch in _batches(cancels, key=lambda item: item[1].key):
            self._cancel_visits(batch, outcomes)
        ordered = [outcomes[i] for i in range(len(visits))]
        return PushResult(outcomes=ordered, api_calls=self.api_calls - calls_before)

    def push_notices(self, notices: Sequence[RepNotice]) -> PushResult:
        """Tasks upserted by their key: a notice sent twice updates its Task."""
        calls_before = self.api_calls
        outcomes: dict[int, RecordOutcome] = {}
        for batch in _batches(list(enumerate(notices)), key=lambda item: item[1].key):
            records = [notice_to_salesforce(n) for _, n in batch]
            results = self._send(records, partial(self.client.collection_upsert, "Task", VISIT_KEY_FIELD))
            for (index, notice), result in zip(batch, results, strict=True):
                outcomes[index] = _outcome(notice.key, result, None)
        ordered = [outcomes[i] for i in range(len(notices))]
        return PushResult(outcomes=ordered, api_calls=self.api_calls - calls_before)

    def _send(
        self, items: Sequence[Any], call: Callable[[Sequence[Any]], list[dict[str, Any]]]
    ) -> list[dict[str, Any]]:
        """One collection call, one result per item.

        A call Salesforce refuses as a whole (a 4xx other than auth/limits) is split in
        halves until the offending records stand alone and get their own rejection; one
        that still fails after the client's retries leaves every item to retry later.
        """
        try:
            results = call(items)
        except QuotaExhausted:
            raise
        except SalesforceAPIError as exc:
            if exc.status >= 500 or exc.status in (401, 403):
                return [_retry_result(str(exc))] * len(items)
            if len(items) == 1:
                return [{"success": False, "errors": [{"statusCode": exc.code, "message": exc.message}]}]
            mid = len(items) // 2
            return self._send(items[:mid], call) + self._send(items[mid:], call)
        except CRMError as exc:
            log.warning("Salesforce collection call failed: %s", exc)
            return [_retry_result(str(exc))] * len(items)
        if len(results) != len(items):
            raise CRMError(f"Salesforce answered {len(results)} results for {len(items)} records")
        return results

    def _cancel_visits(
        self, batch: list[tuple[int, VisitRecord]], outcomes: dict[int, RecordOutcome]
    ) -> None:
        keys = [v.key for _, v in batch]
        soql = (
            f"SELECT Id, {VISIT_KEY_FIELD} FROM Event WHERE {VISIT_KEY_FIELD} IN "
            f"({', '.join(soql_string(k) for k in keys)})"
        )
        event_of: dict[str, str] = {}
        for rows in self.client.query_pages(soql):
            event_of.update({r[VISIT_KEY_FIELD]: r["Id"] for r in rows})
        to_delete = [(i, v) for i, v in batch if v.key in event_of]
        for index, visit in batch:
            if visit.key not in event_of:
                outcomes[index] = RecordOutcome(visit.key, Outcome.DONE)  # nothing left to cancel
        if not to_delete:
            return
        ids = [event_of[v.key] for _, v in to_delete]
        results = self._send(ids, self.client.collection_delete)
        for (index, visit), result in zip(to_delete, results, strict=True):
            outcome = _outcome(visit.key, result, event_of[visit.key])
            if outcome.error_code == "ENTITY_IS_DELETED":
                outcome = RecordOutcome(visit.key, Outcome.DONE, crm_id=event_of[visit.key])
            outcomes[index] = outcome

    # ------------------------------------------------------------------ Territory2

    def _push_territory2(
        self, changes: Sequence[AssignmentChange], outcomes: dict[int, RecordOutcome]
    ) -> None:
        """Associate each account with its territory in the Planning model (replacing others)."""
        wanted = [
            (i, c) for i, c in enumerate(changes) if c.territory and outcomes[i].outcome is Outcome.DONE
        ]
        if not wanted:
            return
        model = self._planning_model_id()
        territory_ids = self._ensure_territories(
            model, sorted({c.territory for _, c in wanted if c.territory})
        )
        for batch in _batches(wanted, key=lambda item: item[1].account_id):
            accounts = [c.account_id for _, c in batch]
            soql = (
                "SELECT Id, ObjectId, Territory2Id FROM ObjectTerritory2Association "
                f"WHERE Territory2.Territory2ModelId = {soql_string(model)} AND ObjectId IN "
                f"({', '.join(soql_string(a) for a in accounts)})"
            )
            existing: dict[str, list[tuple[str, str]]] = {}
            for rows in self.client.query_pages(soql):
                for r in rows:
                    existing.setdefault(r["ObjectId"], []).append((r["Id"], r["Territory2Id"]))
            stale: list[str] = []
            create: list[tuple[int, AssignmentChange]] = []
            for index, change in batch:
                target = territory_ids[change.territory or ""]
                rows_for = existing.get(change.account_id, [])
                stale.extend(rid for rid, tid in rows_for if tid != target)
                if all(tid != target for _, tid in rows_for):
                    create.append((index, change))
            for start in range(0, len(stale), COLLECTION_SIZE):
                chunk = stale[start : start + COLLECTION_SIZE]
                self._send(chunk, self.client.collection_delete)
            if not create:
                continue
            records = [
                {
                    "attributes": {"type": "ObjectTerritory2Association"},
                    "ObjectId": change.account_id,
                    "Territory2Id": territory_ids[change.territory or ""],
                    "AssociationCause": "Territory2Manual",
                }
                for _, change in create
            ]
            results = self._send(records, self.client.collection_create)
            for (index, change), result in zip(create, results, strict=True):
                if not result.get("success"):
                    outcomes[index] = _outcome(change.key, result, change.account_id)

    def _planning_model_id(self) -> str:
        if self._planning_model is None:
            rows = [
                r
                for page in self.client.query_pages(
                    "SELECT Id FROM Territory2Model WHERE State = 'Planning' ORDER BY CreatedDate"
                )
                for r in page
            ]
            if not rows:
                raise CRMError(
                    "Salesforce has no Territory2Model in Planning state; create one in Setup "
                    "or turn SALESFORCE_USE_TERRITORY2 off"
                )
            self._planning_model = str(rows[0]["Id"])
        return self._planning_model

    def _ensure_territories(self, model: str, names: Sequence[str]) -> dict[str, str]:
        missing = [n for n in names if n not in self._territories]
        if missing:
            for page in self.client.query_pages(
                f"SELECT Id, Name FROM Territory2 WHERE Territory2ModelId = {soql_string(model)}"
            ):
                self._territories.update({r["Name"]: r["Id"] for r in page})
        missing = [n for n in names if n not in self._territories]
        if missing:
            type_rows = next(
                iter(self.client.query_pages("SELECT Id FROM Territory2Type ORDER BY Priority LIMIT 1"))
            )
            if not type_rows:
                raise CRMError("Salesforce has no Territory2Type to file new territories under")
            for start in range(0, len(missing), COLLECTION_SIZE):
                chunk = missing[start : start + COLLECTION_SIZE]
                records = [
                    {
                        "attributes": {"type": "Territory2"},
                        "Name": name[:80],
                        "DeveloperName": _developer_name(name),
                        "Territory2ModelId": model,
                        "Territory2TypeId": type_rows[0]["Id"],
                    }
                    for name in chunk
                ]
                for name, result in zip(chunk, self.client.collection_create(records), strict=True):
                    if not result.get("success"):
                        raise CRMError(f"could not create Territory2 {name!r}: {result.get('errors')}")
                    self._territories[name] = result["id"]
        return {n: self._territories[n] for n in names}


def _developer_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_") or "Territory"
    if not cleaned[0].isalpha():
        cleaned = "T_" + cleaned
    return re.sub(r"_+", "_", cleaned)[:80]


T = TypeVar("T")


def _batches(items: list[T], *, key: Callable[[T], str]) -> Iterator[list[T]]:
    """Chunks of at most 200 in which no record id/key appears twice (Salesforce refuses that)."""
    batch: list[T] = []
    keys: set[str] = set()
    for item in items:
        k = key(item)
        if len(batch) == COLLECTION_SIZE or k in keys:
            yield batch
            batch, keys = [], set()
        batch.append(item)
        keys.add(k)
    if batch:
        yield batch


def _retry_result(message: str) -> dict[str, Any]:
    return {"success": False, "errors": [{"statusCode": "RETRY", "message": message}], "retry": True}


def _outcome(key: str, result: dict[str, Any], default_id: str | None) -> RecordOutcome:
    crm_id = result.get("id") or default_id
    if result.get("success"):
        return RecordOutcome(key, Outcome.DONE, crm_id=crm_id)
    errors = result.get("errors") or [{}]
    code = str(errors[0].get("statusCode") or errors[0].get("errorCode") or "UNKNOWN")
    message = str(errors[0].get("message") or "")
    if result.get("retry") or code in TRANSIENT_RECORD_ERRORS:
        return RecordOutcome(key, Outcome.RETRY, crm_id=crm_id, error_code=code, message=message)
    return RecordOutcome(key, Outcome.REJECTED, crm_id=crm_id, error_code=code, message=message)
