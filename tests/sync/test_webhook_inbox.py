"""The webhook inbox: deliveries that arrive together are stored in one transaction, each answered alone.

Batches are made the way the web process makes them (deliveries awaited
together on one event loop) or handed to `store` whole; the store, the
pending flags and the Celery queue are the real PostgreSQL, SQLite and Redis.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from sync.settings import Settings
from sync.store import WebhookEvent, engine_for
from sync.web import create_app
from sync.webhook_inbox import Delivery, Receipt, Refused, WebhookInbox

from .conftest import queued_messages

DEAD_BROKER = "redis://127.0.0.1:1/0"


def inbox_for(settings: Settings) -> WebhookInbox:
    """The inbox of a web process on these settings, queueing to their broker."""
    inbox = create_app(settings).state.inbox
    assert isinstance(inbox, WebhookInbox)
    return inbox


def hubspot(*event_ids: Any, extra: dict[str, Any] | None = None) -> Delivery:
    return Delivery(
        "hubspot", "hubspot", [(str(i), {"eventId": i, "objectId": 7, **(extra or {})}) for i in event_ids]
    )


def deliver_together(inbox: WebhookInbox, *deliveries: Delivery) -> list[Receipt | BaseException]:
    """Deliveries awaited at once, as concurrent requests of one web process await them."""

    async def all_at_once() -> list[Receipt | BaseException]:
        return await asyncio.gather(*(inbox.deliver(d) for d in deliveries), return_exceptions=True)

    return asyncio.run(all_at_once())


def stored(settings: Settings) -> list[tuple[str, str, str | None]]:
    with Session(engine_for(settings.database_url)) as session:
        return sorted((e.source, e.event_id, e.task_id) for e in session.exec(select(WebhookEvent)).all())


@pytest.fixture
def settings(make_settings: Callable[..., Settings], database_url: str, redis_url: str) -> Settings:
    """A migrated store (SQLite, then PostgreSQL) and the real Redis broker."""
    return make_settings(database_url=database_url, celery_broker_url=redis_url, redis_url=redis_url)


def test_an_event_repeated_within_a_batch_counts_once_for_the_delivery_that_brought_it_first(
    settings: Settings, redis_url: str
) -> None:
    first, second, third = deliver_together(inbox_for(settings), hubspot(1, 2), hubspot(2, 3), hubspot(1))
    assert first == Receipt(accepted=2, duplicates=0, queued_handler=True)
    assert second == Receipt(accepted=1, duplicates=1, queued_handler=False)
    assert third == Receipt(accepted=0, duplicates=1, queued_handler=False)
    assert [event_id for _source, event_id, _task in stored(settings)] == ["1", "2", "3"]
    assert queued_messages(settings, redis_url) == 1  # one handler for the whole batch


def test_a_batch_queues_one_handler_per_source_and_one_per_ops_resync(
    settings: Settings, redis_url: str
) -> None:
    inbox = inbox_for(settings)
    receipts = inbox.store(
        [
            hubspot(1),
            Delivery("salesforce", "salesforce", [("04l1", {"id": "04l1"})]),
            Delivery("ops", None, [("resync-a", {"scope": "full"})], debounce=False),
            hubspot(2),
            Delivery("ops", "hubspot", [("resync-b", {"scope": "accounts"})], debounce=False),
        ]
    )
    assert [r.queued_handler for r in receipts if isinstance(r, Receipt)] == [True, True, True, False, True]
    assert queued_messages(settings, redis_url) == 4
    task_ids = {event_id: task for _source, event_id, task in stored(settings)}
    assert task_ids["1"] == task_ids["2"]  # both hubspot rows wait for the same handler
    assert None not in task_ids.values() and len(set(task_ids.values())) == 4


def test_deliveries_while_a_handler_is_pending_are_stored_for_it_and_queue_nothing(
    settings: Settings, redis_url: str
) -> None:
    inbox = inbox_for(settings)
    assert inbox.store([hubspot(1)]) == [Receipt(1, 0, True)]
    assert deliver_together(inbox, hubspot(2), hubspot(3)) == [Receipt(1, 0, False), Receipt(1, 0, False)]
    assert queued_messages(settings, redis_url) == 1
    inbox.flags.lower("hubspot")  # what the handler does before it reads the queued events
    assert inbox.store([hubspot(4)]) == [Receipt(1, 0, True)]
    assert queued_messages(settings, redis_url) == 2


def test_when_the_queue_refuses_every_delivery_of_that_source_in_the_batch_is_refused_and_removed(
    make_settings: Callable[..., Settings], database_url: str, redis_url: str
) -> None:
    down = make_settings(database_url=database_url, celery_broker_url=DEAD_BROKER, redis_url=redis_url)
    answers = deliver_together(inbox_for(down), hubspot(1, 2), hubspot(2), hubspot(3))
    assert all(isinstance(a, Refused) and a.reason == "queue_unavailable" for a in answers)
    assert stored(down) == []

    back = make_settings(database_url=database_url, celery_broker_url=redis_url, redis_url=redis_url)
    retried = deliver_together(inbox_for(back), hubspot(1, 2), hubspot(2), hubspot(3))
    assert retried == [Receipt(2, 0, True), Receipt(0, 1, False), Receipt(1, 0, False)]
    assert queued_messages(back, redis_url) == 1  # the flag was lowered: the retry queued the handler


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_store_failure_mid_batch_refuses_every_delivery_of_the_batch_and_keeps_nothing(
    settings: Settings, redis_url: str
) -> None:
    # The disk fills up at the 1,550th row of the batch, after the others of its statement went in.
    with engine_for(settings.database_url).begin() as conn:
        conn.execute(
            text(
                """
                CREATE FUNCTION refuse_marked_event() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.event_id = '1550' THEN
                        RAISE EXCEPTION 'could not extend file' USING ERRCODE = 'disk_full';
                    END IF;
                    RETURN NEW;
                END $$
                """
            )
        )
        conn.execute(
            text(
                "CREATE TRIGGER disk_fills_up BEFORE INSERT ON webhook_event "
                "FOR EACH ROW EXECUTE FUNCTION refuse_marked_event()"
            )
        )
    batch = [hubspot(*range(start, start + 100)) for start in range(1, 1601, 100)]
    outcomes = inbox_for(settings).store(batch)
    assert len(outcomes) == 16
    assert all(isinstance(o, Refused) and o.reason == "store_unavailable" for o in outcomes)
    assert stored(settings) == []
    assert queued_messages(settings, redis_url) == 0


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_delivery_the_store_cannot_keep_fails_alone(settings: Settings, redis_url: str) -> None:
    # PostgreSQL's jsonb holds no \u0000: that delivery can never be stored, the others must be.
    outcomes = inbox_for(settings).store([hubspot(1), hubspot(2, extra={"note": "a\u0000b"}), hubspot(3)])
    assert outcomes[0] == Receipt(1, 0, True) and outcomes[2] == Receipt(1, 0, False)
    assert isinstance(outcomes[1], Refused) and outcomes[1].reason == "store_refused"
    assert [event_id for _source, event_id, _task in stored(settings)] == ["1", "3"]
    assert queued_messages(settings, redis_url) == 1
