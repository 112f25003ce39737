"""The pipeline end to end: pull → plan → push against the HubSpot emulator, over real HTTP.

Each test runs the real connector (hubspot-api-client) against a seeded
emulated portal and a real store, and asserts on what the CRM ends up holding
and what the run history says.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlmodel import Session, col, func, select

from connectors.hubspot import HubSpotConnector
from emulators.faults import FaultConfig
from emulators.server import RunningServer
from sync import pipeline
from sync.crm import OrgConfig
from sync.outbox import requeue_parked
from sync.settings import Settings, load_settings
from sync.store import (
    AccountRow,
    OutboxItem,
    OutboxStatus,
    PlannedAssignment,
    PlanRun,
    RecordIssue,
    SyncRun,
)
from sync.store.plan_summary import HumanEdit
from sync.store.schema import upgrade

from .conftest import FIELD_TEAM, EmulatedCRM

ORG = "hubspot"


@pytest.fixture
def crm(hubspot_crm: Callable[..., EmulatedCRM]) -> EmulatedCRM:
    return hubspot_crm(240, 6, seed=11, metros=1)


def quick_connector(org: OrgConfig, settings: Settings) -> HubSpotConnector:
    """The real connector, with retries short enough for a test to watch them run out."""
    assert settings.hubspot_access_token is not None
    return HubSpotConnector(
        settings.hubspot_access_token.get_secret_value(),
        base_url=settings.hubspot_base_url,
        search_per_second=None,
        retry_attempts=3,
        retry_initial_wait=0.02,
        rep_teams=settings.hubspot_rep_team_names,
    )


@pytest.fixture
def context(crm: tuple[RunningServer, FastAPI]) -> Callable[..., pipeline.Context]:
    server, _app = crm

    def make(database_url: str, **overrides: Any) -> pipeline.Context:
        settings = load_settings(
            database_url=database_url,
            celery_broker_url=None,
            redis_url=None,
            hubspot_access_token="pat-na1-test",
            hubspot_base_url=server.url,
            plan_seconds=3,
            plan_weeks=1,
            **{**FIELD_TEAM, **overrides},
        )
        upgrade(settings.database_url)
        ctx = pipeline.Context.from_settings(settings)
        ctx.connector_factory = quick_connector
        return ctx

    return make


def writes(app: FastAPI) -> int:
    """CRM calls that change data (reads and searches excluded)."""
    routes: dict[str, int] = app.state.faults.stats()["routes"]
    return sum(
        n
        for route, n in routes.items()
        if route.split()[0] in {"POST", "PATCH", "PUT", "DELETE"}
        and not route.endswith(("/search", "/batch/read"))
    )


def company(app: FastAPI, crm_id: str) -> dict[str, str | None]:
    return dict(app.state.org.properties_of("companies", crm_id))


def test_a_run_pulls_plans_and_pushes_owners_territories_and_visits_into_the_crm(
    context: Callable[..., pipeline.Context], crm: tuple[RunningServer, FastAPI], database_url: str
) -> None:
    _server, app = crm
    ctx = context(database_url)
    summary = pipeline.run_all(ORG, ctx=ctx)

    assert summary.push is not None
    assert summary.push.report.rejected == 0 and summary.push.report.done > 0
    with Session(ctx.engine) as session:
        planned = session.exec(
            select(PlannedAssignment).where(PlannedAssignment.plan_run_id == summary.plan.plan_run_id)
        ).all()
        runs = {r.kind: r.status for r in session.exec(select(SyncRun)).all()}
        outbox_rows = session.exec(select(func.count()).select_from(OutboxItem)).one()
    assert runs == {"run": "succeeded", "pull": "succeeded", "plan": "succeeded", "push": "succeeded"}
    assert summary.push.queued == outbox_rows == summary.push.report.done
    assigned = [p for p in planned if p.rep_crm_id is not None]
    assert assigned, "the plan assigns accounts"
    for p in assigned:
        props = company(app, p.account_crm_id)
        assert props["hubspot_owner_id"] == p.rep_crm_id
        assert props["territory"] == p.territory
    meetings = [
        m
        for m in app.state.org.ids("meetings")
        if app.state.org.properties_of("meetings", m).get("territory_sync_visit_key")
    ]
    assert len(meetings) == summary.plan.visits_to_push > 0


def test_pushing_the_same_plan_twice_writes_nothing_the_second_time(
    context: Callable[..., pipeline.Context], crm: tuple[RunningServer, FastAPI], postgres_url: str
) -> None:
    _server, app = crm
    ctx = context(postgres_url)
    first = pipeline.run_all(ORG, ctx=ctx)
    before = writes(app)
    again = pipeline.push(ORG, ctx=ctx, plan_run_id=first.plan.plan_run_id)
    assert (again.queued, again.report.sent) == (0, 0)
    assert writes(app) == before
    # And after pulling our own changes back, the plan's diff is empty.
    pipeline.pull(ORG, ctx=ctx)
    assert pipeline.preview(ORG, ctx=ctx, plan_run_id=first.plan.plan_run_id).changes == []


def test_a_dry_run_writes_nothing_and_explains_each_move(
    context: Callable[..., pipeline.Context], crm: tuple[RunningServer, FastAPI], postgres_url: str
) -> None:
    _server, app = crm
    ctx = context(postgres_url)
    summary = pipeline.run_all(ORG, ctx=ctx, dry_run=True)
    assert writes(app) == 0
    assert summary.diff is not None and summary.push is None
    diff = summary.diff.as_dict()
    gained = [g for rep in diff["reps"] for g in rep["gained"]]
    assert len(gained) == summary.plan.moves > 0
    assert all(g["reason"] for g in gained)
    with Session(ctx.engine) as session:
        assert session.exec(select(func.count()).select_from(OutboxItem)).one() == 0


def test_a_human_edit_in_the_crm_wins_over_the_plan(
    context: Callable[..., pipeline.Context], crm: tuple[RunningServer, FastAPI], postgres_url: str
) -> None:
    _server, app = crm
    ctx = context(postgres_url)
    first = pipeline.run_all(ORG, ctx=ctx)
    with Session(ctx.engine) as session:
        row = session.exec(
            select(PlannedAssignment).where(
                PlannedAssignment.plan_run_id == first.plan.plan_run_id,
                col(PlannedAssignment.rep_crm_id).is_not(None),
            )
        ).first()
    assert row is not None
    others = [o for o in app.state.org.owner_ids() if o != row.rep_crm_id]
    # A sales manager re-assigns the account by hand after our push.
    app.state.org.update("companies", row.account_crm_id, {"hubspot_owner_id": others[0]})

    second = pipeline.run_all(ORG, ctx=ctx)

    assert company(app, row.account_crm_id)["hubspot_owner_id"] == others[0]
    with Session(ctx.engine) as session:
        plan_run = session.get(PlanRun, second.plan.plan_run_id)
        assert plan_run is not None
        edits = plan_run.summary.human_edits
        kept = session.get(PlannedAssignment, (second.plan.plan_run_id, row.account_crm_id))
    assert (
        HumanEdit(account_id=row.account_crm_id, field="owner", pushed=row.rep_crm_id, crm_value=others[0])
        in edits
    )
    assert kept is not None and kept.rep_crm_id == others[0]


def test_rejected_records_are_retried_then_parked_with_the_crms_message(
    context: Callable[..., pipeline.Context], crm: tuple[RunningServer, FastAPI], postgres_url: str
) -> None:
    _server, app = crm
    ctx = context(postgres_url, outbox_max_attempts=2, outbox_retry_minutes=0)
    preview_ctx = pipeline.run_all(ORG, ctx=ctx, dry_run=True)
    assert preview_ctx.diff is not None
    targets = [c.record_id for c in preview_ctx.diff.changes if c.kind == "assignment"][:3]
    app.state.faults.configure(
        FaultConfig(reject_ids={t: "Owner is not allowed for this company" for t in targets})
    )

    first = pipeline.push(ORG, ctx=ctx)
    assert first.report.rejected == 3
    with Session(ctx.engine) as session:
        failed = session.exec(select(OutboxItem).where(col(OutboxItem.record_id).in_(targets))).all()
        push_run = session.get(SyncRun, first.run_id)
    assert {f.status for f in failed} == {OutboxStatus.RETRY}
    assert all("Owner is not allowed" in (f.last_error or "") for f in failed)
    assert push_run is not None and push_run.status == "partial" and push_run.counts["rejected"] == 3

    second = pipeline.push(ORG, ctx=ctx)
    assert second.report.parked == 3
    with Session(ctx.engine) as session:
        assert {
            f.status for f in session.exec(select(OutboxItem).where(col(OutboxItem.record_id).in_(targets)))
        } == {OutboxStatus.PARKED}

    # Someone fixes the records in the CRM and requeues them.
    app.state.faults.configure(FaultConfig())
    assert requeue_parked(ctx.engine, org_id=ORG) == 3
    third = pipeline.push(ORG, ctx=ctx)
    assert third.report.done == 3
    plan_run_id = first.plan_run_id
    with Session(ctx.engine) as session:
        for target in targets:
            pa = session.get(PlannedAssignment, (plan_run_id, target))
            assert pa is not None and company(app, target)["hubspot_owner_id"] == pa.rep_crm_id


def test_a_crm_outage_mid_pull_resumes_from_the_last_stored_page(
    context: Callable[..., pipeline.Context], crm: tuple[RunningServer, FastAPI], postgres_url: str
) -> None:
    _server, app = crm
    ctx = context(postgres_url)
    pages = 0

    def outage_after_two_pages(what: str, _n: int) -> None:
        nonlocal pages
        if what == "accounts":
            pages += 1
            if pages == 2:
                app.state.faults.configure(FaultConfig(error_share=1.0))

    with pytest.raises(Exception):  # noqa: B017 - whatever the connector gives up with
        pipeline.pull(ORG, ctx=ctx, progress=outage_after_two_pages)
    with Session(ctx.engine) as session:
        stored_before = session.exec(select(func.count()).select_from(AccountRow)).one()
        failed = session.exec(select(SyncRun).where(SyncRun.kind == "pull")).one()
    assert failed.status == "failed" and failed.error_summary
    assert 0 < stored_before < app.state.org.count("companies")

    app.state.faults.configure(FaultConfig())
    resumed = pipeline.pull(ORG, ctx=ctx)
    with Session(ctx.engine) as session:
        stored = session.exec(select(func.count()).select_from(AccountRow)).one()
    assert stored == app.state.org.count("companies")
    assert resumed.counts["accounts"] <= stored - stored_before + 100  # at most the interrupted page again


def test_imperfect_records_are_reported_by_id_and_none_is_dropped(
    context: Callable[..., pipeline.Context], crm: tuple[RunningServer, FastAPI], postgres_url: str
) -> None:
    _server, app = crm
    ctx = context(postgres_url)
    summary = pipeline.run_all(ORG, ctx=ctx)
    with Session(ctx.engine) as session:
        issues = session.exec(select(RecordIssue)).all()
        accounts = session.exec(select(AccountRow)).all()
        planned = session.exec(
            select(PlannedAssignment).where(PlannedAssignment.plan_run_id == summary.plan.plan_run_id)
        ).all()
    assert len(accounts) == app.state.org.count("companies")
    assert {p.account_crm_id for p in planned} == {a.crm_id for a in accounts}
    problems = " ".join(i.problem for i in issues)
    assert "kept out of routing" in problems or "postal code" in problems
    unplaced = {a.crm_id for a in accounts if a.lat is None}
    unassigned = {p.account_crm_id for p in planned if p.rep_crm_id is None}
    assert unplaced <= unassigned
    assert all(any(i.crm_id == a for i in issues) for a in unplaced)


def test_the_run_history_records_every_stage_with_counts(
    context: Callable[..., pipeline.Context], crm: tuple[RunningServer, FastAPI], sqlite_url: str
) -> None:
    ctx = context(sqlite_url)
    summary = pipeline.run_all(ORG, ctx=ctx, trigger="nightly")
    with Session(ctx.engine) as session:
        runs = session.exec(select(SyncRun).order_by(col(SyncRun.id))).all()
    by_kind = {r.kind: r for r in runs}
    assert by_kind["pull"].counts["accounts"] > 0 and by_kind["pull"].counts["api_calls"] > 0
    assert by_kind["plan"].counts["plan_run_id"] == summary.plan.plan_run_id
    assert summary.push is not None
    assert by_kind["push"].counts["pushed"] == summary.push.report.done
    assert all(r.trigger == "nightly" and r.finished_at is not None for r in runs)
    assert all(r.finished_at - r.started_at < timedelta(minutes=5) for r in runs if r.finished_at)
