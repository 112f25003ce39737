"""Webhook deliveries into the store by group commit: one transaction for all that arrive together.

Why: committing each delivery on its own (a pooled connection, a transaction
and a Redis round trip per request, from the threadpool) held the HubSpot
endpoint near 400 requests/s on 2 cores, while the store commits far more
rows per transaction than transactions per second. So each web process has
one inbox. A request puts its delivery in and awaits its receipt; one writer
takes whatever has accumulated since its last write and stores it all with
one INSERT ... ON CONFLICT (source, event_id) DO NOTHING in one transaction.
Under light load a batch is a single delivery and nothing waits for company;
under load batches grow by themselves while the previous one commits.

The receipt comes only once the events are committed and their handler is
queued, so a 202 still means "stored durably, work coming" (STYLE.md habit 9).
An event repeated within a batch is stored once and counts for the first
delivery that brought it; later ones count it as a duplicate, as they would
in separate batches.

Order: commit, then raise the source's pending flag, then queue. A delivery
that finds the flag already up relies on the pending handler, which lowers the
flag before it reads the queued events: since our rows were committed before
we looked at the flag, that handler sees them. (Raising the flag first would
let the handler read before a slow commit and leave the event waiting for the
next delivery.) At most one handler per source per batch; ops resyncs
(`debounce=False`) each get their own.

Failures answer 503 so the sender retries, and leave nothing behind. If the
store fails, the transaction rolls back for every delivery of the batch. If
it refuses the data itself (say a JSON string holding \\u0000, which
PostgreSQL's jsonb cannot keep), the deliveries are stored one by one, so a
bad delivery fails alone instead of failing whoever shared its batch, again
at each of its retries. If the queue refuses, the batch's new rows of that
source are deleted again and every delivery of that source in the batch is
refused: a stored event with no handler coming would make the retry look
like a duplicate.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DataError, IntegrityError

from sync.store import WebhookEvent
from sync.store.types import UTCDateTime, utcnow
from sync.webhook_flags import PendingFlags

log = logging.getLogger("territory_sync.webhook_inbox")

Enqueue = Callable[[int, str], object]  # (webhook event row id, task id)

_TABLE = WebhookEvent.__table__  # type: ignore[attr-defined]

# PostgreSQL: one statement of fixed shape whatever the batch size (the rows as one JSON array,
# through jsonb_to_recordset), so psycopg prepares it once per connection and the parameter is a
# single json.dumps. A multi-row VALUES list is a new statement for every batch size, converted,
# parsed and planned each time (about 10 % more CPU per request in the web process and 20 % more
# in PostgreSQL under bench.webhooks); text arrays of JSON cost psycopg a regex escape per quote.
_POSTGRES_INSERT = text(
    """
    INSERT INTO webhook_event (source, event_id, org_id, payload, status, received_at)
    SELECT source, event_id, org_id, payload, 'queued', :now
    FROM jsonb_to_recordset(CAST(:rows AS jsonb))
        AS new (source text, event_id text, org_id text, payload jsonb)
    ON CONFLICT (source, event_id) DO NOTHING
    RETURNING source, event_id, id
    """
).bindparams(bindparam("now", type_=UTCDateTime()))
# SQLite (embedded, one web process): a multi-row INSERT, which SQLAlchemy pages by 1,000 rows.
_SQLITE_INSERT = (
    sqlite.insert(_TABLE)
    .on_conflict_do_nothing(index_elements=["source", "event_id"])
    .returning(_TABLE.c.source, _TABLE.c.event_id, _TABLE.c.id)
)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One request's events, each (event id, raw payload), for one source."""

    source: str
    org_id: str | None
    events: Sequence[tuple[str, dict[str, Any]]]
    debounce: bool = True  # False: this delivery's events get a handler of their own


@dataclass(frozen=True, slots=True)
class Receipt:
    accepted: int  # events this delivery stored
    duplicates: int  # events already stored, or brought first by another delivery of the batch
    queued_handler: bool  # this delivery queued a handler (else one was pending, or nothing was new)


class Refused(Exception):
    """Nothing of the delivery was kept; the sender should retry (503)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason  # store_unavailable | store_refused | queue_unavailable
        self.detail = detail


@dataclass
class _Handler:
    """A handler the batch needs: for a debounced source's new rows, or for one ops delivery."""

    source: str
    debounce: bool
    row_ids: list[int] = field(default_factory=list)  # the smallest goes to the task
    deliveries: list[int] = field(default_factory=list)  # refused together if the queue refuses


class WebhookInbox:
    """Group commit of webhook deliveries for one web process (see the module docstring)."""

    def __init__(
        self, engine: Engine, flags: PendingFlags, enqueue: Enqueue, *, batch_events: int = 2000
    ) -> None:
        self.engine = engine
        self.flags = flags
        self.enqueue = enqueue
        self.batch_events = batch_events  # a larger delivery still goes alone, never split
        self._postgres = engine.dialect.name == "postgresql"
        self._connection: Connection | None = None  # PostgreSQL: the writer's own, in autocommit
        # The store and the broker block: one batch at a time on this thread, off the event loop.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tsync-webhook-inbox")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: deque[tuple[Delivery, asyncio.Future[Receipt]]] = deque()
        self._arrived = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None

    async def deliver(self, delivery: Delivery) -> Receipt:
        """Store the delivery with whatever else is arriving; its receipt once committed and queued.

        Raises `Refused` when the store or the queue would not take it (nothing was kept).
        """
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._writer is None or self._writer.done():
            self._start(loop)
        future: asyncio.Future[Receipt] = loop.create_future()
        self._waiting.append((delivery, future))
        self._arrived.set()
        return await future

    def close(self) -> None:
        """Let the batch in hand finish, then release the writer's connection (app shutdown)."""
        self._executor.submit(self._drop_connection)
        self._executor.shutdown(wait=False)

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        """The writer on this event loop (the app's first request, or a new loop in tests)."""
        self._loop = loop
        self._waiting = deque(item for item in self._waiting if item[1].get_loop() is loop)
        self._arrived = asyncio.Event()
        if self._waiting:
            self._arrived.set()
        self._writer = loop.create_task(self._write_forever(), name="webhook-inbox-writer")

    async def _write_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._arrived.wait()
            self._arrived.clear()
            while self._waiting:
                batch = self._take_batch()
                outcomes: list[Receipt | Exception]
                try:
                    outcomes = await loop.run_in_executor(
                        self._executor, self.store, [delivery for delivery, _ in batch]
                    )
                except Exception as exc:  # a bug, not an outage: fail these requests, keep writing
                    log.exception("webhook batch failed")
                    outcomes = [exc] * len(batch)
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if future.done():  # the client went away; its events are stored all the same
                        continue
                    if isinstance(outcome, Exception):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)

    def _take_batch(self) -> list[tuple[Delivery, asyncio.Future[Receipt]]]:
        """Waiting deliveries in arrival order, up to `batch_events` events (at least one delivery)."""
        batch = [self._waiting.popleft()]
        size = len(batch[0][0].events)
        while self._waiting and size + len(self._waiting[0][0].events) <= self.batch_events:
            delivery, future = self._waiting.popleft()
            size += len(delivery.events)
            batch.append((delivery, future))
        return batch

    def store(self, deliveries: Sequence[Delivery]) -> list[Receipt | Exception]:
        """One group commit (blocking): each delivery's receipt, or why it was refused."""
        try:
            accepted = self._insert_new(deliveries)
        except (DataError, IntegrityError) as exc:
            if len(deliveries) > 1:
                return [outcome for delivery in deliveries for outcome in self.store([delivery])]
            log.error("webhook delivery refused by the store: %s", exc)
            return [Refused("store_refused", f"the store refused the events ({type(exc).__name__})")]
        except Exception as exc:
            log.error("webhook batch not stored: %s: %s", type(exc).__name__, exc)
            why = f"could not store the events ({type(exc).__name__})"
            return [Refused("store_unavailable", why) for _ in deliveries]

        refused: dict[int, Refused] = {}
        leads: set[int] = set()  # the delivery whose row goes to each queued handler
        for handler in _handlers(deliveries, accepted):
            try:
                if self._queue(handler):
                    leads.update(i for i in handler.deliveries if handler.row_ids[0] in accepted[i])
            except Exception as exc:
                self._remove(handler.row_ids)
                why = f"could not queue the work ({type(exc).__name__})"
                refused.update((i, Refused("queue_unavailable", why)) for i in handler.deliveries)
        return [
            refused.get(i) or Receipt(len(new), len(delivery.events) - len(new), i in leads)
            for i, (delivery, new) in enumerate(zip(deliveries, accepted, strict=True))
        ]

    def _insert_new(self, deliveries: Sequence[Delivery]) -> list[list[int]]:
        """Store the batch's events in one transaction; the new row ids of each delivery.

        An event id seen twice in the batch is sent once, for the delivery that brought it first.
        """
        first: dict[tuple[str, str], int] = {}
        rows: list[dict[str, Any]] = []
        now = utcnow()
        for i, delivery in enumerate(deliveries):
            for event_id, payload in delivery.events:
                if (delivery.source, event_id) in first:
                    continue
                first[(delivery.source, event_id)] = i
                rows.append(
                    {
                        "source": delivery.source,
                        "event_id": event_id,
                        "org_id": delivery.org_id,
                        "payload": payload,
                        "status": "queued",
                        "received_at": now,
                        "task_id": None,
                    }
                )
        accepted: list[list[int]] = [[] for _ in deliveries]
        if not rows:
            return accepted
        with self._statement() as conn:
            if self._postgres:
                batch = json.dumps(
                    [{k: r[k] for k in ("source", "event_id", "org_id", "payload")} for r in rows]
                )
                new = conn.execute(_POSTGRES_INSERT, {"rows": batch, "now": now}).all()
            else:
                new = conn.execute(_SQLITE_INSERT, rows).all()
        for source, event_id, row_id in sorted(new, key=lambda row: int(row[2])):
            accepted[first[(source, event_id)]].append(int(row_id))
        return accepted

    @contextmanager
    def _statement(self) -> Iterator[Connection]:
        """A connection for one statement that is committed when the block ends.

        PostgreSQL: the writer keeps one connection in autocommit, so a statement is one round
        trip, committed (and flushed) before its result comes back. A pooled transaction adds a
        pre-ping, BEGIN and COMMIT, each a loopback round trip costing about as much CPU as the
        statement. A connection that failed is dropped; the next batch opens a new one (after a
        database restart the first batch is answered 503, and its sender retries).
        SQLite: a transaction of the pool (a batch over 1,000 rows is several statements).
        """
        if not self._postgres:
            with self.engine.begin() as conn:
                yield conn
            return
        if self._connection is None:
            self._connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            yield self._connection
            self._connection.commit()  # ends SQLAlchemy's autobegun transaction; nothing is sent
        except BaseException:
            self._drop_connection()
            raise

    def _drop_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _queue(self, handler: _Handler) -> bool:
        """Queue the handler unless one is pending for its source; raises if the queue refuses."""
        if handler.debounce and not self.flags.raise_once(handler.source):
            return False  # the pending handler will read our committed rows
        task_id = uuid.uuid4().hex
        try:
            with self._statement() as conn:
                conn.execute(update(_TABLE).where(_TABLE.c.id.in_(handler.row_ids)).values(task_id=task_id))
            self.enqueue(handler.row_ids[0], task_id)
        except Exception:
            if handler.debounce:
                self.flags.lower(handler.source)  # no handler is coming after all
            raise
        return True

    def _remove(self, row_ids: list[int]) -> None:
        """Take back rows whose handler could not be queued (the sender retries them)."""
        try:
            with self._statement() as conn:
                conn.execute(delete(_TABLE).where(_TABLE.c.id.in_(row_ids)))
        except Exception as exc:  # left queued: the source's next handler picks them up
            log.error("could not remove %d unqueued webhook events: %s", len(row_ids), exc)


def _handlers(deliveries: Sequence[Delivery], accepted: list[list[int]]) -> list[_Handler]:
    """One per debounced source with new rows in the batch; one per other delivery with new rows."""
    by_source: dict[str, _Handler] = {}
    handlers: list[_Handler] = []
    for i, delivery in enumerate(deliveries):
        if delivery.debounce:
            handler = by_source.setdefault(delivery.source, _Handler(delivery.source, debounce=True))
        else:
            handler = _Handler(delivery.source, debounce=False)
            handlers.append(handler)
        handler.deliveries.append(i)
        handler.row_ids.extend(accepted[i])
    handlers.extend(by_source.values())
    for handler in handlers:
        handler.row_ids.sort()
    return [handler for handler in handlers if handler.row_ids]
