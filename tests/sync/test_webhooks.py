"""Webhooks: only a valid, first delivery is stored and enqueues work; everything else is refused."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from emulators.server import RunningServer, serve
from sync.settings import Settings
from sync.store import WebhookEvent, engine_for
from sync.web import create_app
from sync.web.users import Role, add_user
from sync.web.webhooks import hubspot_v3_signature

from .conftest import queued_messages
from .web.conftest import PASSWORD, SESSION_SECRET, VIEWER, browser_client, sign_in

SECRET = "hs-client-secret"
RESYNC = "ops-token"
SF_ORG = "00D5g000004ABCDEAZ"
SF_SECRET = "outbound-secret"


@pytest.fixture
def web(
    make_settings: Callable[..., Settings], postgres_url: str, redis_url: str, tmp_path: Path
) -> Iterator[tuple[RunningServer, Settings]]:
    users_file = tmp_path / "users.json"
    add_user(users_file, VIEWER, Role.VIEWER, PASSWORD)
    settings = make_settings(
        session_secret=SESSION_SECRET,
        users_file=str(users_file),
        database_url=postgres_url,
        celery_broker_url=redis_url,
        hubspot_client_secret=SECRET,
        resync_token=RESYNC,
        salesforce_org_id=SF_ORG,
        salesforce_outbound_secret=SF_SECRET,
        webhook_max_body_bytes="20000",
    )
    with serve(create_app(settings)) as server:
        yield server, settings


def hubspot_delivery(
    url: str, events: list[dict[str, Any]], *, age_ms: int = 0, secret: str = SECRET
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(events).encode()
    timestamp = str(int(time.time() * 1000) - age_ms)
    signature = hubspot_v3_signature(secret, "POST", url, body, timestamp)
    headers = {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": signature,
        "X-HubSpot-Signature-Version": "v3",
        "X-HubSpot-Request-Timestamp": timestamp,
    }
    return body, headers


def events(*ids: int) -> list[dict[str, Any]]:
    return [
        {
            "eventId": i,
            "subscriptionType": "company.propertyChange",
            "objectId": 1000 + i,
            "portalId": 62515,
            "occurredAt": int(time.time() * 1000),
            "propertyName": "resync_requested",
            "propertyValue": "true",
            "attemptNumber": 0,
        }
        for i in ids
    ]


def stored(settings: Settings, source: str) -> list[str]:
    with Session(engine_for(settings.database_url)) as session:
        return sorted(
            e.event_id for e in session.exec(select(WebhookEvent).where(WebhookEvent.source == source))
        )


def test_a_valid_hubspot_delivery_is_stored_and_enqueues_one_task(
    web: tuple[RunningServer, Settings], redis_url: str
) -> None:
    server, settings = web
    url = f"{server.url}/webhooks/hubspot"
    body, headers = hubspot_delivery(url, events(1, 2, 3))
    answer = httpx.post(url, content=body, headers=headers)
    assert answer.status_code == 202
    assert answer.json()["accepted"] == 3
    assert stored(settings, "hubspot") == ["1", "2", "3"]
    assert queued_messages(settings, redis_url) == 1


def test_duplicate_deliveries_enqueue_nothing_more(
    web: tuple[RunningServer, Settings], redis_url: str
) -> None:
    server, settings = web
    url = f"{server.url}/webhooks/hubspot"
    body, headers = hubspot_delivery(url, events(7, 8))
    assert httpx.post(url, content=body, headers=headers).status_code == 202
    again = httpx.post(url, content=body, headers=headers)  # HubSpot retries: same events
    overlap_body, overlap_headers = hubspot_delivery(url, events(8))
    overlap = httpx.post(url, content=overlap_body, headers=overlap_headers)
    assert again.status_code == overlap.status_code == 202
    assert again.json()["duplicates"] == 2 and overlap.json()["accepted"] == 0
    assert stored(settings, "hubspot") == ["7", "8"]
    assert queued_messages(settings, redis_url) == 1


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("replayed after 6 minutes", 401),
        ("wrong signature", 401),
        ("malformed", 400),
        ("an eventId too long to store", 400),
        ("oversized", 413),
        ("unsigned", 401),
    ],
)
def test_bad_hubspot_deliveries_are_refused_and_enqueue_nothing(
    web: tuple[RunningServer, Settings], redis_url: str, case: str, expected: int
) -> None:
    server, settings = web
    url = f"{server.url}/webhooks/hubspot"
    if case == "replayed after 6 minutes":
        body, headers = hubspot_delivery(url, events(1), age_ms=6 * 60 * 1000)
    elif case == "wrong signature":
        body, headers = hubspot_delivery(url, events(1), secret="not-the-secret")
    elif case == "malformed":
        body, headers = hubspot_delivery(url, [])
        body = b'{"eventId": "not an array"'
        headers["X-HubSpot-Signature-v3"] = hubspot_v3_signature(
            SECRET, "POST", url, body, headers["X-HubSpot-Request-Timestamp"]
        )
    elif case == "an eventId too long to store":
        body, headers = hubspot_delivery(url, [{**events(1)[0], "eventId": "9" * 129}])
    elif case == "oversized":
        body, headers = hubspot_delivery(url, events(*range(1, 400)))
    else:
        body, headers = json.dumps(events(1)).encode(), {"Content-Type": "application/json"}
    answer = httpx.post(url, content=body, headers=headers)
    assert answer.status_code == expected
    assert stored(settings, "hubspot") == []
    assert queued_messages(settings, redis_url) == 0


def test_a_route_whose_secret_is_unset_answers_503(
    make_settings: Callable[..., Settings], sqlite_url: str
) -> None:
    settings = make_settings(database_url=sqlite_url)
    with serve(create_app(settings)) as server:
        url = f"{server.url}/webhooks/hubspot"
        body, headers = hubspot_delivery(url, events(1))
        assert httpx.post(url, content=body, headers=headers).status_code == 503
        assert httpx.post(f"{server.url}/resync", headers={"Authorization": "Bearer x"}).status_code == 503
        assert httpx.post(f"{server.url}/webhooks/salesforce", content=b"<x/>").status_code == 503
    assert stored(settings, "hubspot") == []


def outbound_message(org: str, *notification_ids: str) -> bytes:
    notes = "".join(
        f'<Notification><Id>{nid}</Id><sObject xsi:type="sf:Account" '
        f'xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>001{nid[-5:]}</sf:Id>'
        f"<sf:Name>Acme</sf:Name></sObject></Notification>"
        for nid in notification_ids
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
        f'<notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>{org}</OrganizationId>'
        '<ActionId>04k5g000000XyzAAA</ActionId><SessionId xsi:nil="true"/>'
        f"{notes}</notifications></soapenv:Body></soapenv:Envelope>"
    ).encode()


def test_a_salesforce_outbound_message_is_acknowledged_once_and_enqueued_once(
    web: tuple[RunningServer, Settings], redis_url: str
) -> None:
    server, settings = web
    url = f"{server.url}/webhooks/salesforce?secret={SF_SECRET}"
    body = outbound_message(SF_ORG, "04l000000000001", "04l000000000002")
    first = httpx.post(url, content=body, headers={"Content-Type": "text/xml"})
    retry = httpx.post(url, content=body, headers={"Content-Type": "text/xml"})
    for answer in (first, retry):
        assert answer.status_code == 200
        assert "<Ack>true</Ack>" in answer.text
    assert stored(settings, "salesforce") == ["04l000000000001", "04l000000000002"]
    assert queued_messages(settings, redis_url) == 1


@pytest.mark.parametrize(
    ("case", "expected"), [("wrong secret", 401), ("other org", 401), ("malformed", 400)]
)
def test_bad_outbound_messages_are_refused(
    web: tuple[RunningServer, Settings], redis_url: str, case: str, expected: int
) -> None:
    server, settings = web
    secret = "guess" if case == "wrong secret" else SF_SECRET
    org = "00D000000000001" if case == "other org" else SF_ORG
    body = b"<not-soap" if case == "malformed" else outbound_message(org, "04l000000000009")
    answer = httpx.post(f"{server.url}/webhooks/salesforce?secret={secret}", content=body)
    assert answer.status_code == expected
    assert stored(settings, "salesforce") == []
    assert queued_messages(settings, redis_url) == 0


def test_ops_resync_needs_the_bearer_token(web: tuple[RunningServer, Settings], redis_url: str) -> None:
    server, settings = web
    wrong = httpx.post(f"{server.url}/resync", headers={"Authorization": "Bearer nope"}, json={})
    bad_scope = httpx.post(
        f"{server.url}/resync", headers={"Authorization": f"Bearer {RESYNC}"}, json={"scope": "everything"}
    )
    assert (wrong.status_code, bad_scope.status_code) == (401, 400)
    assert queued_messages(settings, redis_url) == 0
    ok = httpx.post(
        f"{server.url}/resync", headers={"Authorization": f"Bearer {RESYNC}"}, json={"scope": "accounts"}
    )
    assert ok.status_code == 202
    assert queued_messages(settings, redis_url) == 1


def test_health_and_metrics_report_the_store_broker_and_webhook_counters(
    web: tuple[RunningServer, Settings],
) -> None:
    server, _settings = web
    health = httpx.get(f"{server.url}/health")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "database": "ok", "broker": "ok"}
    url = f"{server.url}/webhooks/hubspot"
    body, headers = hubspot_delivery(url, events(1))
    httpx.post(url, content=body, headers=headers)
    httpx.post(url, content=body, headers={**headers, "X-HubSpot-Signature-v3": "forged"})
    assert httpx.get(f"{server.url}/metrics").status_code == 401  # behind the sign-in
    ops, _ = browser_client(server.url)
    sign_in(ops, VIEWER)
    metrics = ops.get("/metrics").text
    assert 'tsync_webhook_events_accepted_total{source="hubspot"} 1.0' in metrics
    assert 'tsync_webhook_requests_rejected_total{reason="bad_signature",source="hubspot"} 1.0' in metrics


def test_when_the_queue_is_down_a_delivery_is_refused_and_nothing_is_kept(
    make_settings: Callable[..., Settings], postgres_url: str
) -> None:
    settings = make_settings(
        database_url=postgres_url, celery_broker_url="redis://127.0.0.1:1/0", hubspot_client_secret=SECRET
    )
    with serve(create_app(settings)) as server:
        url = f"{server.url}/webhooks/hubspot"
        body, headers = hubspot_delivery(url, events(5))
        answer = httpx.post(url, content=body, headers=headers, timeout=60)
    assert answer.status_code == 503  # HubSpot retries 5xx: its retry must not look like a duplicate
    assert stored(settings, "hubspot") == []


def test_a_burst_of_distinct_deliveries_queues_one_handler_for_all_of_them(
    web: tuple[RunningServer, Settings], redis_url: str
) -> None:
    server, settings = web
    url = f"{server.url}/webhooks/hubspot"
    for event_id in range(20, 25):
        body, headers = hubspot_delivery(url, events(event_id))
        assert httpx.post(url, content=body, headers=headers).status_code == 202
    assert stored(settings, "hubspot") == [str(i) for i in range(20, 25)]
    assert queued_messages(settings, redis_url) == 1  # one pull will cover all five


def test_one_event_delivered_by_many_clients_at_once_is_stored_once_and_queues_one_handler(
    web: tuple[RunningServer, Settings], redis_url: str
) -> None:
    server, settings = web
    url = f"{server.url}/webhooks/hubspot"
    # 40 senders at once, each with the shared event 42 and one of its own.
    deliveries = [hubspot_delivery(url, events(42, 100 + n)) for n in range(40)]

    async def all_at_once() -> list[httpx.Response]:
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=40), timeout=30) as client:
            return await asyncio.gather(*(client.post(url, content=b, headers=h) for b, h in deliveries))

    answers = [a.json() for a in asyncio.run(all_at_once())]
    assert sorted(a["accepted"] for a in answers) == [1] * 39 + [2]
    assert sorted(a["duplicates"] for a in answers) == [0] + [1] * 39
    assert sum(a["queued_handler"] for a in answers) == 1
    assert stored(settings, "hubspot") == sorted(["42", *(str(100 + n) for n in range(40))])
    assert queued_messages(settings, redis_url) == 1
