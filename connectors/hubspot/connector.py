"""`HubSpotConnector`: incremental pulls and batched, per-record pushes against HubSpot CRM v3.

Pulls (the objects `streams.py` declares: owners; companies; meetings + calls; deals),
each page yielded as it arrives:

- a first or `full` pull lists every record (`limit=100`, the cheapest way
  through a portal); the cursor then tracks changes from the server's clock
  at the start of the listing, and a crash resumes the listing where it was;
- an incremental pull searches `hs_lastmodifieddate >= watermark`, sorted
  ascending, and restarts the search from the newest timestamp seen after
  every page (keyset paging). The search API's 10,000-result cap is therefore
  never reached, however large the change window, and a record whose change
  shifts the result offsets is not skipped. Records sharing the watermark's
  millisecond are remembered by id and left out of the next search
  (`hs_object_id NOT_IN`, up to 100 ids), so the boundary is neither lost nor
  doubled and every page is full of new records even when a batch update
  stamped 100 records with one millisecond; when more records share one
  timestamp than that, they are walked by `hs_object_id` instead;
- deletions: archived records (listed with `archived=true`, newer than the
  deletion watermark) and records merged away (`hs_merged_object_ids` on the
  surviving record) arrive as `DeletedRecord`s. GDPR-purged records leave no
  trace in HubSpot and cannot be reported.

Pushes, always in batches of 100:

- assignments: `hubspot_owner_id` + `territory` through `batch/update`; the
  `territory` property is created if the portal lacks it;
- visits: meetings keyed by the unique `territory_sync_visit_key` (created if
  missing), created with their company association in one `batch/create`;
  when some already exist (409) the batch is upserted by key instead and only
  the new meetings are associated, so pushing again never duplicates a
  meeting; cancelled visits set the meeting outcome to CANCELED;
- rep notices: tasks upserted by the unique `territory_sync_notice_key`
  (created if missing), owned by the rep;
- a batch HubSpot rejects as a whole (400/404/409) is split in halves until
  the bad records are isolated; each record gets its own outcome with
  HubSpot's category and message; transient failures that outlast the
  retries come back as RETRY, never as a silent success.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

import urllib3

from connectors.base import (
    AssignmentChange,
    CRMError,
    CRMKind,
    DeletedRecord,
    FieldMap,
    Outcome,
    Page,
    PushResult,
    RecordOutcome,
    RepNotice,
    Stream,
    StreamSpec,
    VisitRecord,
    specs_for,
    streams_of,
)
from connectors.hubspot.client import (
    BATCH_SIZE,
    SEARCH_LIMIT,
    HubSpotAPIError,
    HubSpotClient,
    HubSpotOAuthRefresh,
    classify,
)
from connectors.hubspot.records import (
    NOTICE_KEY,
    NOTICE_KEY_PROPERTY,
    VISIT_KEY,
    VISIT_KEY_PROPERTY,
    StreamCursor,
    Watermark,
    archived_ms,
    archived_record,
    assignment_input,
    decode_cursor,
    encode_cursor,
    meeting_cancel_input,
    meeting_create_input,
    meeting_upsert_input,
    merged_away,
    modified_ms,
    notice_upsert_input,
    territory_property,
    with_associations,
)
from connectors.hubspot.streams import DEFAULT_FIELD_MAP, OWNERS, hubspot_streams
from connectors.limits import LocalBudget, RequestBudget

# Whole-batch rejections worth splitting: one bad record makes HubSpot refuse them all.
SPLITTABLE = frozenset({400, 404, 409})
# Most ids a search filter's `values` list is given (HubSpot caps the list; 100 is safe).
NOT_IN_LIMIT = 100
X = TypeVar("X")
R = TypeVar("R")


@dataclass(frozen=True)
class Chunk:
    """Raw objects of one API page (with their associations), the deletions found with them,
    and the cursor after them."""

    objects: Sequence[Mapping[str, Any]]
    deleted: Sequence[DeletedRecord]
    cursor: StreamCursor


def _next_after(body: Mapping[str, Any]) -> str | None:
    after = ((body.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after else None


class HubSpotConnector:
    """One HubSpot portal behind `connectors.base.CRMConnector`."""

    kind = CRMKind.HUBSPOT

    def __init__(
        self,
        access_token: str,
        *,
        field_map: FieldMap = DEFAULT_FIELD_MAP,
        base_url: str | None = None,
        budget: RequestBudget | None = None,
        oauth: HubSpotOAuthRefresh | None = None,
        search_per_second: float | None = 5.0,
        search_budget: RequestBudget | None = None,
        retry_attempts: int = 8,
        retry_initial_wait: float = 0.25,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """`search_per_second` paces this process's searches under HubSpot's own search
        limit (5/s); None leaves them unpaced (emulators without that limit). Pass
        `search_budget` (e.g. a `RedisBudget` of 5 per second) to share that limit
        between worker processes instead."""
        if search_budget is None and search_per_second:
            search_budget = LocalBudget(search_per_second, 1.0, burst=min(1.0, search_per_second / 2))
        self._client = HubSpotClient(
            access_token,
            base_url=base_url,
            budget=budget,
            search_budget=search_budget,
            oauth=oauth,
            attempts=retry_attempts,
            initial_wait=retry_initial_wait,
        )
        self._clock = clock
        self.field_map = field_map
        self.specs = hubspot_streams(field_map)
        self._known_properties: set[tuple[str, str]] = set()

    def __repr__(self) -> str:
        return f"HubSpotConnector({self._client!r})"

    @property
    def api_calls(self) -> int:
        return self._client.api_calls

    @property
    def retries(self) -> int:
        return self._client.retries

    def close(self) -> None:
        """Nothing to release: urllib3 pools close with the process."""

    # ================================================================== pulls

    @property
    def streams(self) -> frozenset[Stream]:
        return streams_of(self.specs)

    def pull(self, stream: Stream, since: str | None, *, full: bool = False) -> Iterator[Page[Any]]:
        specs = specs_for(self.specs, stream)
        if specs[0].crm_object == OWNERS:
            return self._owners(specs[0], since, full=full)
        return self._objects(specs, since, full=full)

    def _objects(self, specs: Sequence[StreamSpec[R]], since: str | None, *, full: bool) -> Iterator[Page[R]]:
        """CRM objects feeding one stream, one after the other, under one cursor."""
        cursors = {} if full else decode_cursor(since)
        fresh = full or since is None
        state = {s.crm_object: cursors.get(s.crm_object, StreamCursor()) for s in specs}
        now = self._clock()
        for spec in specs:
            for chunk in self._stream(spec, state[spec.crm_object], full=fresh):
                state[spec.crm_object] = chunk.cursor
                records = [spec.mapper(o, now=now) for o in chunk.objects]
                deleted = [*chunk.deleted, *(d for o in chunk.objects for d in merged_away(o))]
                yield Page(records, deleted, encode_cursor(state))

    def _owners(self, spec: StreamSpec[R], since: str | None, *, full: bool) -> Iterator[Page[R]]:
        """Owners, active and archived (deactivated users), changed since the cursor."""
        cursors = {} if full else decode_cursor(since)
        mark = cursors.get(spec.crm_object, StreamCursor()).changed
        newest = mark
        now = self._clock()
        pages: list[list[R]] = []
        for archived in (False, True):
            after: str | None = None
            while True:
                answer = self._client.owners_page(after=after, archived=archived)
                owners = (answer.body or {}).get("results") or []
                page = []
                for owner in owners:
                    ms = modified_ms(owner, spec.cursor_field)
                    owner_id = str(owner["id"])
                    if full or mark.admits(ms, owner_id):
                        page.append(spec.mapper(owner, now=now))
                        newest = newest.advance(ms, owner_id)
                pages.append(page)
                after = _next_after(answer.body or {})
                if after is None:
                    break
        # Owners come unordered by change time: the watermark moves only once all are read.
        final = encode_cursor({spec.crm_object: StreamCursor(changed=newest)})
        interim = encode_cursor({spec.crm_object: StreamCursor(changed=mark)})
        for i, page in enumerate(pages):
            yield Page(page, [], final if i == len(pages) - 1 else interim)

    # ------------------------------------------------------------------ one object type

    def _stream(self, spec: StreamSpec[Any], cursor: StreamCursor, *, full: bool) -> Iterator[Chunk]:
        if full and not cursor.listing:
            cursor = StreamCursor(listing_after=None, listing_started_ms=-1)
        if cursor.listing:
            cursor = yield from self._listing(spec, cursor)
        else:
            cursor = yield from self._changes(spec, cursor)
        yield from self._deletions(spec.crm_object, cursor)

    def _listing(self, spec: StreamSpec[Any], cursor: StreamCursor) -> Generator[Chunk, None, StreamCursor]:
        """Every live record, by id; resumable from `cursor.listing_after`."""
        after = cursor.listing_after
        started = cursor.listing_started_ms
        while True:
            answer = self._client.list_page(
                spec.crm_object, properties=spec.fields, after=after, associations=spec.associations
            )
            if started is None or started < 0:
                started = answer.server_ms if answer.server_ms is not None else self._now_ms()
            body = answer.body or {}
            objects = body.get("results") or []
            after = _next_after(body)
            cursor = replace(cursor, listing_after=after, listing_started_ms=started)
            if after is None:
                cursor = cursor.finish_listing()
            yield Chunk(objects, [], cursor)
            if after is None:
                return cursor

    def _search(
        self, spec: StreamSpec[Any], groups: list[list[dict[str, Any]]], sort: str
    ) -> Mapping[str, Any]:
        request = {
            "filterGroups": [{"filters": filters} for filters in groups],
            "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
            "properties": list(spec.fields),
            "limit": SEARCH_LIMIT,
        }
        return self._client.search(spec.crm_object, request).body or {}

    @staticmethod
    def _after_watermark(stamp: str, mark: Watermark) -> list[list[dict[str, Any]]]:
        """Filter groups selecting what the watermark on `stamp` has not delivered yet.

        `>= ms` alone would fetch again the records already seen at `ms` (a whole
        batch update shares one millisecond); leaving those out by id keeps every
        page full of new records.
        """
        since = {"propertyName": stamp, "operator": "GTE", "value": str(mark.ms)}
        if not mark.ids or len(mark.ids) > NOT_IN_LIMIT:
            return [[since]]
        return [
            [
                {"propertyName": stamp, "operator": "EQ", "value": str(mark.ms)},
                {"propertyName": "hs_object_id", "operator": "NOT_IN", "values": sorted(mark.ids)},
            ],
            [{"propertyName": stamp, "operator": "GT", "value": str(mark.ms)}],
        ]

    def _changes(self, spec: StreamSpec[Any], cursor: StreamCursor) -> Generator[Chunk, None, StreamCursor]:
        """Records modified at or after the watermark, by keyset search (see the module doc)."""
        stamp = spec.cursor_field
        mark = cursor.changed
        while True:
            body = self._search(spec, self._after_watermark(stamp, mark), stamp)
            objects = body.get("results") or []
            more = _next_after(body) is not None
            fresh = [o for o in objects if mark.admits(modified_ms(o, stamp), str(o["id"]))]
            # No way forward by timestamp: a full page of records seen at the watermark's ms.
            stuck = more and not fresh
            for o in fresh:
                mark = mark.advance(modified_ms(o, stamp), str(o["id"]))
            cursor = replace(cursor, changed=mark)
            if fresh:
                yield Chunk(self._with_associations(spec, fresh), [], cursor)
            if stuck:
                # Walk that millisecond by id, then move past it.
                cursor = yield from self._ties(spec, cursor)
                mark = cursor.changed
                continue
            if not more:
                return cursor

    def _ties(self, spec: StreamSpec[Any], cursor: StreamCursor) -> Generator[Chunk, None, StreamCursor]:
        stamp = spec.cursor_field
        mark = cursor.changed
        at = mark.ms
        last_id: str | None = None
        while True:
            filters: list[dict[str, Any]] = [{"propertyName": stamp, "operator": "EQ", "value": str(at)}]
            if last_id is not None:
                filters.append({"propertyName": "hs_object_id", "operator": "GT", "value": last_id})
            body = self._search(spec, [filters], "hs_object_id")
            objects = body.get("results") or []
            fresh = [o for o in objects if mark.admits(modified_ms(o, stamp), str(o["id"]))]
            for o in fresh:
                mark = mark.advance(modified_ms(o, stamp), str(o["id"]))
            cursor = replace(cursor, changed=mark)
            if fresh:
                yield Chunk(self._with_associations(spec, fresh), [], cursor)
            if _next_after(body) is None or not objects:
                return replace(cursor, changed=Watermark(at + 1))
            last_id = str(objects[-1]["id"])

    def _deletions(self, object_type: str, cursor: StreamCursor) -> Iterator[Chunk]:
        """Archived records newer than the deletion watermark (the archive is listed by id)."""
        mark = cursor.archived
        newest = mark
        after: str | None = None
        while True:
            answer = self._client.list_page(
                object_type, properties=("hs_object_id",), after=after, archived=True
            )
            body = answer.body or {}
            gone = [o for o in body.get("results") or [] if mark.admits(archived_ms(o), str(o["id"]))]
            for o in gone:
                newest = newest.advance(archived_ms(o), str(o["id"]))
            after = _next_after(body)
            done = after is None
            # The watermark may only move once the whole archive has been read.
            at = replace(cursor, archived=newest) if done else cursor
            if gone or done:
                yield Chunk([], [archived_record(o) for o in gone], at)
            if done:
                return

    def _with_associations(
        self, spec: StreamSpec[Any], objects: Sequence[Mapping[str, Any]]
    ) -> Sequence[Mapping[str, Any]]:
        """Search results carry no associations: read them, and attach them as a listing would."""
        if not spec.associations or not objects:
            return objects
        ids = [str(o["id"]) for o in objects]
        found: dict[str, dict[str, str | None]] = {i: {} for i in ids}
        for to_type in spec.associations:
            for i in ids:
                found[i][to_type] = None
            body = self._client.read_associations(spec.crm_object, to_type, ids).body or {}
            for row in body.get("results") or []:
                targets = row.get("to") or []
                if targets:
                    found[str(row["from"]["id"])][to_type] = str(targets[0]["toObjectId"])
        return [with_associations(o, found[str(o["id"])]) for o in objects]

    def _now_ms(self) -> int:
        return round(self._clock().timestamp() * 1000)

    # ================================================================== pushes

    def push_assignments(self, changes: Sequence[AssignmentChange]) -> PushResult:
        calls_before = self.api_calls
        outcomes: dict[int, RecordOutcome] = {}
        todo: list[tuple[int, AssignmentChange]] = []
        for i, change in enumerate(changes):
            if change.owner_id is None and change.territory is None:
                outcomes[i] = RecordOutcome(change.key, Outcome.DONE, crm_id=change.account_id)
            else:
                todo.append((i, change))
        if any(c.territory is not None for _, c in todo):
            self._ensure_property("companies", territory_property(self.field_map.territory))
        for chunk in _chunks(todo, lambda c: c.account_id):
            outcomes.update(self._isolating(chunk, self._send_assignments, lambda c: c.key))
        return PushResult([outcomes[i] for i in range(len(changes))], self.api_calls - calls_before)

    def _send_assignments(self, items: Sequence[tuple[int, AssignmentChange]]) -> dict[int, RecordOutcome]:
        answer = self._client.batch_update(
            "companies", [assignment_input(c, self.field_map) for _, c in items]
        )
        missing = _failed_ids(answer.body or {})
        out = {}
        for i, change in items:
            failure = missing.get(change.account_id)
            if failure is None:
                out[i] = RecordOutcome(change.key, Outcome.DONE, crm_id=change.account_id)
            else:
                out[i] = RecordOutcome(
                    change.key,
                    Outcome.REJECTED,
                    crm_id=change.account_id,
                    error_code=failure[0],
                    message=failure[1],
                )
        return out

    def push_visits(self, visits: Sequence[VisitRecord]) -> PushResult:
        calls_before = self.api_calls
        outcomes: dict[int, RecordOutcome] = {}
        if visits:
            self._ensure_property("meetings", VISIT_KEY_PROPERTY)
        planned = [(i, v) for i, v in enumerate(visits) if not v.cancelled]
        cancelled = [(i, v) for i, v in enumerate(visits) if v.cancelled]
        for chunk in _chunks(planned, lambda v: v.key):
            outcomes.update(self._isolating(chunk, self._send_visits, lambda v: v.key))
        for chunk in _chunks(cancelled, lambda v: v.key):
            outcomes.update(self._isolating(chunk, self._send_cancellations, lambda v: v.key))
        return PushResult([outcomes[i] for i in range(len(visits))], self.api_calls - calls_before)

    def _send_visits(self, items: Sequence[tuple[int, VisitRecord]]) -> dict[int, RecordOutcome]:
        try:
            answer = self._client.batch_create("meetings", [meeting_create_input(v) for _, v in items])
        except HubSpotAPIError as exc:
            if exc.status != 409:
                raise
            # Some of these meetings exist already (an earlier push): upsert them by key.
            return self._upsert_visits(items)
        by_key = {
            str((r.get("properties") or {}).get(VISIT_KEY)): str(r["id"])
            for r in (answer.body or {}).get("results") or []
        }
        return {i: RecordOutcome(v.key, Outcome.DONE, crm_id=by_key.get(v.key)) for i, v in items}

    def _upsert_visits(self, items: Sequence[tuple[int, VisitRecord]]) -> dict[int, RecordOutcome]:
        answer = self._client.batch_upsert("meetings", [meeting_upsert_input(v) for _, v in items])
        results = (answer.body or {}).get("results") or []
        by_key = {str((r.get("properties") or {}).get(VISIT_KEY)): r for r in results}
        new_pairs = []
        for _, visit in items:
            row = by_key.get(visit.key)
            if row is not None and row.get("new"):
                new_pairs.append((str(row["id"]), visit.account_id))
        refused = self._associate(new_pairs)
        if refused:
            # A meeting we could not attach to its company would be an orphan that a later
            # push takes for done: take it back, and report the visit as rejected.
            self._client.batch_archive("meetings", sorted(refused))
        out = {}
        for i, v in items:
            row = by_key.get(v.key)
            meeting_id = str(row["id"]) if row is not None else None
            if meeting_id is not None and meeting_id in refused:
                category, message = refused[meeting_id]
                out[i] = RecordOutcome(v.key, Outcome.REJECTED, error_code=category, message=message)
            else:
                out[i] = RecordOutcome(v.key, Outcome.DONE, crm_id=meeting_id)
        return out

    def _associate(self, pairs: Sequence[tuple[str, str]]) -> dict[str, tuple[str | None, str]]:
        """Associate meetings to companies; the meetings HubSpot refused, with its reason."""
        if not pairs:
            return {}
        try:
            self._client.associate_default("meetings", "companies", pairs)
            return {}
        except HubSpotAPIError as exc:
            if exc.status not in SPLITTABLE:
                raise
            if len(pairs) == 1:
                return {pairs[0][0]: (exc.code, exc.message)}
            mid = len(pairs) // 2
            return {**self._associate(pairs[:mid]), **self._associate(pairs[mid:])}

    def _send_cancellations(self, items: Sequence[tuple[int, VisitRecord]]) -> dict[int, RecordOutcome]:
        answer = self._client.batch_update("meetings", [meeting_cancel_input(v) for _, v in items])
        by_key = {
            str((r.get("properties") or {}).get(VISIT_KEY, "")): str(r["id"])
            for r in (answer.body or {}).get("results") or []
        }
        # A visit never pushed has no meeting to cancel: its goal (no meeting) already holds.
        return {i: RecordOutcome(v.key, Outcome.DONE, crm_id=by_key.get(v.key)) for i, v in items}

    def push_notices(self, notices: Sequence[RepNotice]) -> PushResult:
        """Tasks upserted by the unique `territory_sync_notice_key`: sending again updates, never adds."""
        calls_before = self.api_calls
        outcomes: dict[int, RecordOutcome] = {}
        if notices:
            self._ensure_property("tasks", NOTICE_KEY_PROPERTY)
        for chunk in _chunks(list(enumerate(notices)), lambda n: n.key):
            outcomes.update(self._isolating(chunk, self._send_notices, lambda n: n.key))
        return PushResult([outcomes[i] for i in range(len(notices))], self.api_calls - calls_before)

    def _send_notices(self, items: Sequence[tuple[int, RepNotice]]) -> dict[int, RecordOutcome]:
        answer = self._client.batch_upsert("tasks", [notice_upsert_input(n) for _, n in items])
        by_key = {
            str((r.get("properties") or {}).get(NOTICE_KEY)): str(r["id"])
            for r in (answer.body or {}).get("results") or []
        }
        return {i: RecordOutcome(n.key, Outcome.DONE, crm_id=by_key.get(n.key)) for i, n in items}

    # ------------------------------------------------------------------ shared push rules

    def _isolating(
        self,
        items: Sequence[tuple[int, X]],
        send: Callable[[Sequence[tuple[int, X]]], dict[int, RecordOutcome]],
        key_of: Callable[[X], str],
    ) -> dict[int, RecordOutcome]:
        """Send a batch; if HubSpot refuses it whole, split it until the bad records stand alone."""
        try:
            return send(items)
        except HubSpotAPIError as exc:
            if exc.status in SPLITTABLE and len(items) > 1:
                mid = len(items) // 2
                return {
                    **self._isolating(items[:mid], send, key_of),
                    **self._isolating(items[mid:], send, key_of),
                }
            if exc.status in SPLITTABLE:
                return {
                    i: RecordOutcome(
                        key_of(x), Outcome.REJECTED, error_code=exc.code, message=exc.message
                    )
                    for i, x in items
                }
            if classify(exc).transient:
                return _all_retry(items, key_of, f"HubSpot kept answering {exc.status}")
            raise CRMError(
                f"HubSpot refused the push: {exc.status} {exc.code or ''} {exc.message}"
            ) from None
        except (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError) as exc:
            return _all_retry(items, key_of, f"HubSpot unreachable: {type(exc).__name__}")

    def _ensure_property(self, object_type: str, spec: Mapping[str, Any]) -> None:
        name = str(spec["name"])
        if (object_type, name) in self._known_properties:
            return
        if self._client.get_property(object_type, name) is None:
            try:
                self._client.create_property(object_type, spec)
            except HubSpotAPIError as exc:
                if exc.status != 409:  # another worker created it meanwhile
                    raise CRMError(
                        f"cannot create the HubSpot {object_type} property {name!r}: "
                        f"{exc.status} {exc.message}"
                    ) from None
        self._known_properties.add((object_type, name))


def _chunks(
    items: Sequence[tuple[int, X]], key: Callable[[X], str], size: int = BATCH_SIZE
) -> Iterator[list[tuple[int, X]]]:
    """Batches of `size` in order; a record appearing twice goes to a later batch (HubSpot
    refuses duplicate ids in one batch), so the later change wins."""
    pending = list(items)
    while pending:
        chunk: list[tuple[int, X]] = []
        seen: set[str] = set()
        rest: list[tuple[int, X]] = []
        for item in pending:
            k = key(item[1])
            if len(chunk) < size and k not in seen and not any(key(r[1]) == k for r in rest):
                chunk.append(item)
                seen.add(k)
            else:
                rest.append(item)
        yield chunk
        pending = rest


def _failed_ids(body: Mapping[str, Any]) -> dict[str, tuple[str | None, str]]:
    """Per-record failures of a 207 answer: id -> (category, message)."""
    failed: dict[str, tuple[str | None, str]] = {}
    for error in body.get("errors") or []:
        context = error.get("context") or {}
        for record_id in context.get("ids") or context.get("id") or []:
            failed[str(record_id)] = (error.get("category"), str(error.get("message") or ""))
    return failed


def _all_retry(
    items: Sequence[tuple[int, X]], key_of: Callable[[X], str], message: str
) -> dict[int, RecordOutcome]:
    return {i: RecordOutcome(key_of(x), Outcome.RETRY, message=message) for i, x in items}
