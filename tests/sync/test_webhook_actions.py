"""A stored webhook event makes the daemon re-pull: end to end in embedded mode (no broker)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import Session, col, select

from emulators.server import RunningServer, serve
from sync import pipeline
from sync.dispatch import wait_for_local_work
from sync.settings import Settings
from sync.store import AccountRow, SyncRun, WebhookEvent
from sync.web import create_app
from sync.web.webhooks import hubspot_v3_signature

from .conftest import EmulatedCRM

SECRET = "hs-secret"


def deliver(url: str, event_id: int, company: str) -> httpx.Response:
    """A signed HubSpot delivery saying the company changed."""
    body = json.dumps(
        [
            {
                "eventId": event_id,
                "subscriptionType": "company.propertyChange",
                "objectId": int(company),
                "propertyName": "name",
            }
        ]
    ).encode()
    stamp = str(int(time.time() * 1000))
    return httpx.post(
        url,
        content=body,
        headers={
            "X-HubSpot-Request-Timestamp": stamp,
            "X-HubSpot-Signature-v3": hubspot_v3_signature(SECRET, "POST", url, body, stamp),
        },
    )


@pytest.fixture
def crm(hubspot_crm: Callable[..., EmulatedCRM]) -> EmulatedCRM:
    return hubspot_crm(150, 4, seed=2, metros=1)


@pytest.fixture
def settings(
    make_settings: Callable[..., Settings], crm: tuple[RunningServer, FastAPI], sqlite_url: str
) -> Settings:
    """Embedded mode (no broker, no Redis) on SQLite, pointed at the emulated portal."""
    server, _app = crm
    return make_settings(
        database_url=sqlite_url,
        hubspot_access_token="pat-na1-w",
        hubspot_base_url=server.url,
        hubspot_client_secret=SECRET,
        celery_broker_url="",
        redis_url="",
    )


def test_a_company_change_webhook_re_pulls_the_change_after_answering(
    settings: Settings, crm: tuple[RunningServer, FastAPI]
) -> None:
    _server, app = crm
    assert settings.embedded
    pipeline.pull("hubspot")  # the nightly state
    company = app.state.org.ids("companies")[0]
    app.state.org.update("companies", company, {"name": "Renamed By Ops"})

    with serve(create_app(settings)) as web:
        url = f"{web.url}/webhooks/hubspot"
        started = time.perf_counter()
        answer = deliver(url, 77, company)
        answered_in = time.perf_counter() - started
        wait_for_local_work(timeout=60)

    assert answer.status_code == 202 and answered_in < 2.0
    with Session(pipeline.default_context().engine) as session:
        row = session.get(AccountRow, ("hubspot", company))
        event = session.exec(select(WebhookEvent)).one()
        webhook_runs = session.exec(select(SyncRun).where(col(SyncRun.trigger) == "webhook")).all()
    assert row is not None and row.name == "Renamed By Ops"
    assert event.status == "processed" and event.task_id
    assert [(r.kind, r.status) for r in webhook_runs] == [("pull", "succeeded")]


def test_changes_after_a_handled_burst_queue_the_next_pull(
    settings: Settings, crm: tuple[RunningServer, FastAPI]
) -> None:
    _server, app = crm
    pipeline.pull("hubspot")
    first, second = app.state.org.ids("companies")[:2]
    with serve(create_app(settings)) as web:
        url = f"{web.url}/webhooks/hubspot"

        app.state.org.update("companies", first, {"name": "First Change"})
        assert deliver(url, 1, first).status_code == 202
        wait_for_local_work(timeout=60)
        app.state.org.update("companies", second, {"name": "Second Change"})
        assert deliver(url, 2, second).status_code == 202
        wait_for_local_work(timeout=60)

    with Session(pipeline.default_context().engine) as session:
        names = {a.crm_id: a.name for a in session.exec(select(AccountRow))}
        statuses = {e.event_id: e.status for e in session.exec(select(WebhookEvent))}
        pulls = session.exec(select(SyncRun).where(col(SyncRun.trigger) == "webhook")).all()
    assert (names[first], names[second]) == ("First Change", "Second Change")
    assert statuses == {"1": "processed", "2": "processed"}
    assert len(pulls) == 2


def test_a_webhook_re_pulls_the_org_of_its_crm_whatever_ops_named_it(
    make_settings: Callable[..., Settings], crm: tuple[RunningServer, FastAPI], sqlite_url: str
) -> None:
    server, app = crm
    make_settings(
        database_url=sqlite_url,
        hubspot_access_token="pat-na1-w",
        hubspot_base_url=server.url,
        hubspot_client_secret=SECRET,
        hubspot_org_key="acme-portal",
        celery_broker_url="",
        redis_url="",
    )
    pipeline.pull("acme-portal")
    company = app.state.org.ids("companies")[0]
    app.state.org.update("companies", company, {"name": "Renamed In The Portal"})

    with serve(create_app(pipeline.default_context().settings)) as web:
        assert deliver(f"{web.url}/webhooks/hubspot", 5, company).status_code == 202
        wait_for_local_work(timeout=60)

    with Session(pipeline.default_context().engine) as session:
        row = session.get(AccountRow, ("acme-portal", company))
        event = session.exec(select(WebhookEvent)).one()
    assert row is not None and row.name == "Renamed In The Portal"
    assert (event.org_id, event.status) == ("acme-portal", "processed")
