"""The push outbox: every CRM change is a row with an idempotency key, sent exactly once.

Writing is `INSERT ... ON CONFLICT DO NOTHING` on the key (plan run + record),
so re-running a push never queues a change twice. Sending claims a chunk
(status `sending`, committed), calls the connector, then records each
record's outcome. A crash between the two leaves rows in `sending`; the next
push of the org (one at a time, under the org lock) sends them again, which
the CRM absorbs because every change is a set-value update or an upsert by
external id. Rejected records are retried on later runs with doubling
delays, then parked for a human with the CRM's own message.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from connectors.base import CRMConnector, Outcome, PushResult
from sync.store import OutboxItem, OutboxKind, OutboxStatus, transaction
from sync.store.outbox_payload import AssignmentPayload, NoticePayload, VisitPayload
from sync.store.types import utcnow

CHUNK = 200  # rows claimed per connector call: one Salesforce collection, two HubSpot batches


@dataclass(frozen=True)
class Change:
    """One change a plan makes in the CRM, before it is queued."""

    record_id: str  # the account id, the visit key or the notice key
    key: str  # idempotency key: the same change queued twice is one outbox row
    payload: AssignmentPayload | VisitPayload | NoticePayload

    @property
    def kind(self) -> OutboxKind:
        return OutboxKind(self.payload.kind)


@dataclass(frozen=True)
class SendReport:
    sent: int
    done: int
    rejected: int
    retry: int
    parked: int
    api_calls: int

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


def enqueue(org_id: str, plan_run_id: int | None, changes: Sequence[Change], *, session: Session) -> int:
    """Queue changes; a key already queued is left alone. Older unsent changes to the same record
    are superseded, so a stale plan never overwrites a newer one. Returns rows added."""
    if not changes:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = utcnow()
    added = 0
    for start in range(0, len(changes), 1000):
        batch = changes[start : start + 1000]
        stmt = (
            insert(OutboxItem.__table__)  # type: ignore[attr-defined]
            .values(
                [
                    {
                        "org_id": org_id,
                        "plan_run_id": plan_run_id,
                        "idempotency_key": c.key,
                        "kind": c.kind,
                        "record_id": c.record_id,
                        "payload": c.payload,
                        "status": OutboxStatus.PENDING,
                        "attempts": 0,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for c in batch
                ]
            )
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            # rowcount is -1 for batched multi-row inserts on PostgreSQL: count what came back
            .returning(OutboxItem.__table__.c.id)  # type: ignore[attr-defined]
        )
        added += len(session.execute(stmt).all())
        for kind in {c.kind for c in batch}:
            records = [c.record_id for c in batch if c.kind == kind]
            session.execute(
                update(OutboxItem)
                .where(
                    col(OutboxItem.org_id) == org_id,
                    col(OutboxItem.kind) == kind,
                    col(OutboxItem.record_id).in_(records),
                    col(OutboxItem.plan_run_id) != plan_run_id,
                    col(OutboxItem.status).in_(
                        [OutboxStatus.PENDING, OutboxStatus.RETRY, OutboxStatus.PARKED]
                    ),
                )
                .values(status=OutboxStatus.SUPERSEDED, updated_at=now)
            )
    return added


def send(
    engine: Engine,
    org_id: str,
    connector: CRMConnector,
    *,
    max_attempts: int,
    retry_after: timedelta,
    now: Callable[[], datetime] = utcnow,
    on_chunk: Callable[[int], None] | None = None,
) -> SendReport:
    """Send every due row of the org, chunk by chunk, recording each record's outcome."""
    with transaction(engine) as session:
        # Only one push per org runs at a time (the org lock), so rows still `sending`
        # were interrupted by a crash: they are due again.
        session.execute(
            update(OutboxItem)
            .where(col(OutboxItem.org_id) == org_id, col(OutboxItem.status) == OutboxStatus.SENDING)
            .values(status=OutboxStatus.PENDING)
        )
    totals = dict(sent=0, done=0, rejected=0, retry=0, parked=0, api_calls=0)
    for kind in (OutboxKind.ASSIGNMENT, OutboxKind.VISIT, OutboxKind.NOTICE):
        after_id = 0
        while True:
            with transaction(engine) as session:
                items = _claim(org_id, kind, after_id, now(), session=session)
            if not items:
                break
            after_id = max(i.id or 0 for i in items)
            result = _push(connector, items)
            counts = _record(
                engine, items, result, max_attempts=max_attempts, retry_after=retry_after, now=now()
            )
            for key, value in counts.items():
                totals[key] += value
            totals["sent"] += len(items)
            totals["api_calls"] += result.api_calls
            if on_chunk:
                on_chunk(len(items))
    return SendReport(**totals)


def _claim(
    org_id: str, kind: OutboxKind, after_id: int, now: datetime, *, session: Session
) -> list[OutboxItem]:
    query = (
        select(OutboxItem)
        .where(
            OutboxItem.org_id == org_id,
            OutboxItem.kind == kind,
            col(OutboxItem.id) > after_id,
            or_(
                col(OutboxItem.status) == OutboxStatus.PENDING,
                (col(OutboxItem.status) == OutboxStatus.RETRY) & (col(OutboxItem.next_attempt_at) <= now),
            ),
        )
        .order_by(col(OutboxItem.id))
        .limit(CHUNK)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    items = list(session.exec(query).all())
    for item in items:
        item.status = OutboxStatus.SENDING
        item.attempts += 1
        item.updated_at = now
        session.add(item)
    return items


def _push(connector: CRMConnector, items: Sequence[OutboxItem]) -> PushResult:
    """Send claimed rows (all of one kind) through the connector's call for that kind."""
    changes = [
        r.payload.to_change(r.idempotency_key) for r in items if isinstance(r.payload, AssignmentPayload)
    ]
    visits = [i.payload.to_visit() for i in items if isinstance(i.payload, VisitPayload)]
    notices = [i.payload.to_notice() for i in items if isinstance(i.payload, NoticePayload)]
    results = [
        *([connector.push_assignments(changes)] if changes else []),
        *([connector.push_visits(visits)] if visits else []),
        *([connector.push_notices(notices)] if notices else []),
    ]
    return PushResult(
        outcomes=[o for r in results for o in r.outcomes], api_calls=sum(r.api_calls for r in results)
    )


def _record(
    engine: Engine,
    items: Sequence[OutboxItem],
    result: PushResult,
    *,
    max_attempts: int,
    retry_after: timedelta,
    now: datetime,
) -> dict[str, int]:
    by_key = {o.key: o for o in result.outcomes}
    counts = dict(done=0, rejected=0, retry=0, parked=0)
    with transaction(engine) as session:
        for item in items:
            row = session.get(OutboxItem, item.id)
            if row is None:
                continue
            outcome = by_key.get(item.payload.record_key(item.idempotency_key))
            row.updated_at = now
            if outcome is None:
                # The connector must answer for every record; a silent gap is retried, not lost.
                row.status = OutboxStatus.RETRY
                row.last_error = "no outcome reported by the connector"
                row.next_attempt_at = now
                counts["retry"] += 1
            elif outcome.outcome is Outcome.DONE:
                row.status = OutboxStatus.DONE
                row.crm_record_id = outcome.crm_id
                row.last_error = None
                row.last_error_code = None
                counts["done"] += 1
            else:
                row.last_error = outcome.message
                row.last_error_code = outcome.error_code
                if outcome.outcome is Outcome.REJECTED:
                    counts["rejected"] += 1
                else:
                    counts["retry"] += 1
                if row.attempts >= max_attempts:
                    row.status = OutboxStatus.PARKED
                    counts["parked"] += 1
                else:
                    row.status = OutboxStatus.RETRY
                    delay = retry_after * (2 ** (row.attempts - 1))
                    row.next_attempt_at = now + (
                        delay if outcome.outcome is Outcome.REJECTED else timedelta(0)
                    )
            session.add(row)
    return counts


def requeue_parked(engine: Engine, *, org_id: str | None = None, item_ids: Sequence[int] = ()) -> int:
    """Give parked rows a fresh set of attempts (after a human fixed the record in the CRM)."""
    with transaction(engine) as session:
        stmt = update(OutboxItem).where(col(OutboxItem.status) == OutboxStatus.PARKED)
        if org_id:
            stmt = stmt.where(col(OutboxItem.org_id) == org_id)
        if item_ids:
            stmt = stmt.where(col(OutboxItem.id).in_(list(item_ids)))
        result = session.execute(
            stmt.values(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=None, updated_at=utcnow())
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def outbox_rows(engine: Engine, status: OutboxStatus, *, limit: int = 50) -> list[OutboxItem]:
    """Outbox rows in one status, oldest first (what `tsync outbox list` shows)."""
    with transaction(engine) as session:
        query = select(OutboxItem).where(OutboxItem.status == status)
        return list(session.exec(query.order_by(col(OutboxItem.id)).limit(limit)).all())
