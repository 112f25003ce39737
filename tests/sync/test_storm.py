"""A full run through a CRM storm: rate limits, 5xx, latency and a session expiry, on Salesforce."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlmodel import Session, col, func, select

from connectors.salesforce import SalesforceConnector, SalesforceCredentials
from emulators.faults import FaultConfig
from emulators.salesforce import create_salesforce_app
from emulators.seed import generate_org
from emulators.server import RunningServer, serve
from sync import pipeline
from sync.crm import OrgConfig
from sync.settings import Settings, load_settings
from sync.store import AccountRow, ActivityRow, OutboxItem, OutboxStatus, SyncRun
from sync.store.schema import upgrade

ORG = "salesforce"


@pytest.fixture
def storm() -> Iterator[tuple[RunningServer, FastAPI]]:
    app = create_salesforce_app(
        generate_org(1200, 8, seed=9, metros=1),
        faults=FaultConfig(
            error_share=0.2,  # 500 / 503
            request_budget=12,  # ...plus Salesforce's rate-limit answer past 12 calls a second
            budget_window_seconds=1.0,
            latency_ms=15,
            session_expiry_after=25,  # the session dies mid-run: the client logs in again
            seed=3,
        ),
    )
    with serve(app) as server:
        yield server, app


def patient_connector(org: OrgConfig, settings: Settings) -> SalesforceConnector:
    """The real connector, retrying often and briefly so the storm fits in a test."""
    return SalesforceConnector(
        SalesforceCredentials(username="ops@acme.example", password="pw", security_token=""),
        base_url=settings.salesforce_base_url,
        retry_attempts=12,
        max_retry_wait=0.5,
    )


def test_a_full_run_through_a_crm_storm_finishes_with_nothing_lost_and_the_retries_on_record(
    storm: tuple[RunningServer, FastAPI], postgres_url: str
) -> None:
    server, app = storm
    settings = load_settings(
        database_url=postgres_url,
        salesforce_username="ops@acme.example",
        salesforce_password="pw",
        salesforce_base_url=server.url,
        plan_seconds=3,
        plan_weeks=1,
        celery_broker_url=None,
        redis_url=None,
    )
    upgrade(settings.database_url)
    ctx = pipeline.Context.from_settings(settings)
    ctx.connector_factory = patient_connector

    summary = pipeline.run_all(ORG, ctx=ctx)

    org = app.state.org
    assert summary.push is not None and summary.push.report.rejected == 0
    with Session(ctx.engine) as session:
        accounts = session.exec(select(func.count()).select_from(AccountRow)).one()
        activities = session.exec(select(func.count()).select_from(ActivityRow)).one()
        not_done = session.exec(select(OutboxItem).where(col(OutboxItem.status) != OutboxStatus.DONE)).all()
        runs = {r.kind: r for r in session.exec(select(SyncRun))}
    assert accounts == org.count("Account")
    notices = [t for t in org.find("Task") if str(t.get("Visit_Key__c") or "").startswith("tsn-")]
    assert notices and len({t["OwnerId"] for t in notices}) == len(notices)  # one Task per rep
    assert activities == org.count("Event") + org.count("Task") - summary.plan.visits_to_push - len(notices)
    assert not_done == []
    keys = [e["Visit_Key__c"] for e in org.find("Event") if e.get("Visit_Key__c")]
    assert len(keys) == len(set(keys)) == summary.plan.visits_to_push  # every visit once, none twice
    assert all(r.status == "succeeded" for r in runs.values())
    retried = runs["pull"].counts["retries"] + runs["push"].counts["retries"]
    assert retried > 0, "the storm must show in the run history"
    served = app.state.faults.stats()["total"]
    assert runs["pull"].counts["api_calls"] + runs["push"].counts["api_calls"] <= served
