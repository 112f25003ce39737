"""Open pipeline: opportunities and deals pulled into the store, deals that keep accounts where they
are, move costs that follow the work, and one Task per rep whose book changes.

Against the emulators over HTTP with the real clients (simple-salesforce, hubspot-api-client) and a
real store.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from rich.console import Console
from sqlmodel import Session, select

import planner
from connectors.hubspot import HubSpotConnector
from connectors.salesforce import SalesforceConnector, SalesforceCredentials
from emulators.salesforce import create_salesforce_app
from emulators.seed import generate_org
from emulators.server import serve
from sync import pipeline
from sync.console import print_balance
from sync.crm import OrgConfig
from sync.open_pipeline import OpenDeal, OpenPipeline, weigh_accounts
from sync.settings import Settings, load_settings
from sync.store import OpportunityRow, OutboxItem, OutboxKind, OutboxStatus, PlannedAssignment, PlanRun
from sync.store.outbox_payload import NoticePayload
from sync.store.schema import upgrade
from sync.views import load_plan_view
from sync.web.plan_pages import map_file_html

from .conftest import FIELD_TEAM, EmulatedCRM

AS_OF = datetime(2026, 11, 20, tzinfo=UTC)


def hubspot_connector(org: OrgConfig, settings: Settings) -> HubSpotConnector:
    assert settings.hubspot_access_token is not None
    return HubSpotConnector(
        settings.hubspot_access_token.get_secret_value(),
        base_url=settings.hubspot_base_url,
        search_per_second=None,
        retry_attempts=3,
        retry_initial_wait=0.02,
        rep_teams=settings.hubspot_rep_team_names,
    )


def salesforce_connector(org: OrgConfig, settings: Settings) -> SalesforceConnector:
    creds = SalesforceCredentials(username="ops@acme.example", password="pw", security_token="")
    return SalesforceConnector(
        creds,
        base_url=settings.salesforce_base_url,
        max_retry_wait=0.2,
        rep_filter=settings.salesforce_rep_filter,
    )


@pytest.fixture
def hubspot(hubspot_crm: Callable[..., EmulatedCRM]) -> EmulatedCRM:
    return hubspot_crm(160, 5, seed=21, metros=1, as_of=AS_OF)


@pytest.fixture
def salesforce() -> Iterator[EmulatedCRM]:
    app = create_salesforce_app(generate_org(160, 5, seed=22, metros=1, as_of=AS_OF))
    with serve(app) as running:
        yield running, app


def hubspot_context(crm: EmulatedCRM, database_url: str, **overrides: Any) -> pipeline.Context:
    server, _app = crm
    settings = load_settings(
        **FIELD_TEAM,
        database_url=database_url,
        celery_broker_url=None,
        redis_url=None,
        hubspot_access_token="pat-na1-test",
        hubspot_base_url=server.url,
        plan_seconds=3,
        plan_weeks=1,
        **overrides,
    )
    upgrade(settings.database_url)
    ctx = pipeline.Context.from_settings(settings)
    ctx.connector_factory = hubspot_connector
    return ctx


def salesforce_context(crm: EmulatedCRM, database_url: str) -> pipeline.Context:
    server, _app = crm
    settings = load_settings(
        **FIELD_TEAM,
        database_url=database_url,
        celery_broker_url=None,
        redis_url=None,
        salesforce_username="ops@acme.example",
        salesforce_password="pw",
        salesforce_base_url=server.url,
        plan_seconds=3,
        plan_weeks=1,
    )
    upgrade(settings.database_url)
    ctx = pipeline.Context.from_settings(settings)
    ctx.connector_factory = salesforce_connector
    return ctx


def stored_deals(ctx: pipeline.Context, org_id: str) -> dict[str, tuple[Any, ...]]:
    """Each stored opportunity as a user would read it (pull time aside)."""
    with Session(ctx.engine) as session:
        rows = session.exec(select(OpportunityRow).where(OpportunityRow.org_id == org_id)).all()
        return {
            r.crm_id: (r.name, r.amount, r.stage, r.close_date, r.owner_crm_id, r.account_crm_id,
                       r.is_closed, r.deleted_at is not None)
            for r in rows
        }  # fmt: skip


# --------------------------------------------------------------------------- the stream


def test_hubspot_deals_are_pulled_incrementally_and_a_deleted_deal_is_marked(
    hubspot: EmulatedCRM, database_url: str
) -> None:
    _server, app = hubspot
    ctx = hubspot_context(hubspot, database_url)
    first = pipeline.pull("hubspot", ctx=ctx, streams=["opportunities"])
    deals = stored_deals(ctx, "hubspot")
    portal = app.state.org
    assert first.counts["opportunities"] == len(deals) == portal.count("deals") > 0
    assert all(d[5] is not None for d in deals.values()), "every seeded deal names its company"
    assert {d[6] for d in deals.values()} == {True, False}, "open and closed deals both arrive"

    second = pipeline.pull("hubspot", ctx=ctx, streams=["opportunities"])
    assert second.counts.get("opportunities", 0) == 0 and stored_deals(ctx, "hubspot") == deals

    open_ids = [i for i, d in deals.items() if not d[6]]
    edited, closed, gone = open_ids[:3]
    portal.update("deals", edited, {"amount": "123456"})
    portal.update("deals", closed, {"dealstage": "closedwon"})
    portal.archive("deals", gone)
    third = pipeline.pull("hubspot", ctx=ctx, streams=["opportunities"])
    after = stored_deals(ctx, "hubspot")
    assert third.counts["opportunities"] == 2 and third.counts["deleted"] == 1
    assert after[edited][1] == 123456.0 and after[closed][6] is True and after[gone][7] is True


def test_salesforce_opportunities_are_pulled_incrementally_and_a_deleted_one_is_marked(
    salesforce: EmulatedCRM, database_url: str
) -> None:
    _server, app = salesforce
    ctx = salesforce_context(salesforce, database_url)
    first = pipeline.pull("salesforce", ctx=ctx, streams=["opportunities"])
    deals = stored_deals(ctx, "salesforce")
    org = app.state.org
    assert first.counts["opportunities"] == len(deals) == len(org.ids("Opportunity")) > 0
    assert all(d[5] and d[5].startswith("001") for d in deals.values())
    assert {d[6] for d in deals.values()} == {True, False}

    second = pipeline.pull("salesforce", ctx=ctx, streams=["opportunities"])
    assert second.counts.get("opportunities", 0) == 0 and stored_deals(ctx, "salesforce") == deals

    open_ids = [i for i, d in deals.items() if not d[6]]
    edited, gone = open_ids[:2]
    org.update("Opportunity", edited, {"Amount": 98765.0, "StageName": "Negotiation/Review"})
    org.soft_delete("Opportunity", [gone])
    third = pipeline.pull("salesforce", ctx=ctx, streams=["opportunities"])
    after = stored_deals(ctx, "salesforce")
    assert third.counts["opportunities"] == 1 and third.counts["deleted"] == 1
    assert after[edited][1:3] == (98765.0, "Negotiation/Review") and after[gone][7] is True


def test_an_absurd_deal_amount_is_reported_by_id_and_counted_as_nothing(
    hubspot: EmulatedCRM, database_url: str
) -> None:
    _server, app = hubspot
    portal = app.state.org
    deal = portal.ids("deals")[0]
    portal.update("deals", deal, {"amount": "-5e20"})
    ctx = hubspot_context(hubspot, database_url)
    summary = pipeline.pull("hubspot", ctx=ctx, streams=["opportunities"])
    assert summary.counts["issues"] >= 1
    assert stored_deals(ctx, "hubspot")[deal][1] is None


# --------------------------------------------------------------------------- kept, costs


def near_their_rep(companies: dict[str, dict[str, str | None]], active: set[str]) -> list[str]:
    """Located companies of active owners within 60 km of the centre of their owner's book (a HubSpot
    owner's home is that centre): the rep can keep them, a day's drive is no reason to move them."""
    books: dict[str, list[tuple[float, float]]] = {}
    for p in companies.values():
        if p.get("hubspot_owner_id") in active and p.get("latitude") and p.get("longitude"):
            point = (float(str(p["latitude"])), float(str(p["longitude"])))
            books.setdefault(str(p["hubspot_owner_id"]), []).append(point)
    centre = {
        o: (sum(x for x, _ in pts) / len(pts), sum(y for _, y in pts) / len(pts)) for o, pts in books.items()
    }
    near = []
    for c, p in companies.items():
        owner = p.get("hubspot_owner_id")
        if owner in centre and p.get("latitude") and p.get("longitude"):
            lat, lon = float(str(p["latitude"])), float(str(p["longitude"]))
            dy, dx = (
                (lat - centre[owner][0]) * 111,
                (lon - centre[owner][1]) * 111 * math.cos(math.radians(lat)),
            )
            if math.hypot(dx, dy) < 60:
                near.append(c)
    return near


def big_open_deals(app: FastAPI, accounts: int, amount: float) -> dict[str, str]:
    """One open deal of `amount` on each of `accounts` companies their rep can keep: company -> deal name."""
    portal = app.state.org
    named: dict[str, str] = {}
    companies = {c: portal.properties_of("companies", c) for c in portal.ids("companies")}
    for company in near_their_rep(companies, set(portal.owner_ids()))[:accounts]:
        owner = companies[company]["hubspot_owner_id"]
        name = f"Big renewal {company}"
        portal.create(
            "deals",
            {"dealname": name, "amount": f"{amount:g}", "dealstage": "contractsent", "pipeline": "default",
             "closedate": "2027-01-15T00:00:00.000Z", "hubspot_owner_id": owner},
            associate_to=[("companies", company)],
        )  # fmt: skip
        named[company] = name
    return named


def latest_plan(ctx: pipeline.Context, org_id: str) -> tuple[PlanRun, dict[str, PlannedAssignment]]:
    with Session(ctx.engine) as session:
        plan_run = pipeline.latest_plan_run(org_id, session=session)
        assert plan_run is not None
        rows = session.exec(select(PlannedAssignment).where(PlannedAssignment.plan_run_id == plan_run.id))
        return plan_run, {p.account_crm_id: p for p in rows}


def test_an_account_with_an_open_deal_over_the_threshold_stays_with_its_rep_through_a_full_rebalance(
    hubspot: EmulatedCRM, database_url: str, tmp_path: Any
) -> None:
    _server, app = hubspot
    protected = big_open_deals(app, 40, 250_000)
    policy = tmp_path / "policy.toml"
    policy.write_text("[transition]\nprotect_pipeline_over = 200000\n")
    # auto: the plan's own assignments carry its rebalance (with proposals it would wait for approval)
    ctx = hubspot_context(
        hubspot, database_url, plan_mode="full", policy_file=str(policy), territory_changes="auto"
    )
    summary = pipeline.run_all("hubspot", ctx=ctx, dry_run=True)

    plan_run, planned = latest_plan(ctx, "hubspot")
    assert all(not planned[c].moved and planned[c].rep_crm_id == planned[c].previous_rep_crm_id
               for c in protected)  # fmt: skip
    kept = {k.account_id: k for k in plan_run.summary.kept}
    assert set(protected) <= set(kept)
    one = next(iter(protected))
    assert kept[one].reason == f"kept: open deal {protected[one]}, 250,000, closing 2027-01-15"
    assert summary.diff is not None and {k.account_id for k in summary.diff.kept} == set(kept)
    assert not any(g.account_id in protected for r in summary.diff.reps.values() for g in r.gained)

    # The report and the ops page say so too.
    view = load_plan_view(ctx.engine, org_id="hubspot")
    out = Console(record=True, width=200)
    print_balance(view, out)
    printed = out.export_text()
    assert "open pipeline $k" in printed and kept[one].reason in printed
    page = map_file_html(view)
    assert "Kept with their rep for an open deal" in page and html.escape(kept[one].reason) in page

    # Without the protection the same full redesign moves some of them.
    policy.write_text("[transition]\nprotect_pipeline_over = 1e9\n")
    pipeline.plan("hubspot", ctx=ctx)
    _, unprotected = latest_plan(ctx, "hubspot")
    assert any(unprotected[c].moved for c in protected)


def test_open_pipeline_per_rep_is_shown_before_and_after_in_the_plan_and_the_dry_run(
    hubspot: EmulatedCRM, database_url: str
) -> None:
    ctx = hubspot_context(hubspot, database_url)
    summary = pipeline.run_all("hubspot", ctx=ctx, dry_run=True)
    plan_run, _ = latest_plan(ctx, "hubspot")
    open_total = sum(d[1] or 0 for d in stored_deals(ctx, "hubspot").values() if not d[6] and not d[7])
    before = plan_run.summary.pipeline_before
    after = plan_run.summary.pipeline_after
    assert sum(p.amount for p in before.values()) == pytest.approx(open_total)
    assert sum(p.amount for p in after.values()) <= open_total + 1e-6
    assert summary.diff is not None
    shown = summary.diff.as_dict()["reps"]
    assert {r["rep_id"]: r["open_pipeline_before"] for r in shown} == {
        rep: p.amount for rep, p in before.items() if rep in {r["rep_id"] for r in shown}
    }


def test_move_costs_rise_with_open_pipeline_and_the_reps_recent_visits() -> None:
    accounts = [planner.Account(id=f"a{i}", lat=40.0, lon=-75.0, current_rep="R1") for i in range(4)]
    deal = OpenDeal("d1", "Renewal", 20_000.0, date(2027, 1, 1), "a1", "R1")
    other = OpenDeal("d2", "Pilot", 10_000.0, None, "a3", "R1")
    pipeline_ = OpenPipeline(
        deals={"a1": (deal,), "a3": (other,)},
        recent_visits={("a2", "R1"): 3, ("a3", "R1"): 1, ("a0", "R9"): 5},  # R9 no longer holds a0
    )
    weighed, protected = weigh_accounts(accounts, pipeline_, planner.Policy())
    cost = {a.id: a.move_cost for a in weighed}
    assert cost["a0"] == 1.0, "nobody is working it"
    assert cost["a1"] > cost["a0"] and cost["a2"] > cost["a0"] and cost["a3"] > cost["a0"]
    assert protected == {"a1": deal}, "over the default 10,000 threshold: kept, the smaller deal is not"
    assert [a.keep_rep for a in weighed] == [False, True, False, False]


def test_the_planner_moves_accounts_nobody_is_working_before_worked_ones() -> None:
    reps = [planner.Rep("R0", 40.0, -75.0), planner.Rep("R1", 40.0, -74.0)]
    # R0 holds every account: half must move; the odd ones have live deals and recent visits
    accounts = [
        planner.Account(id=f"a{i:02d}", lat=40.0, lon=-75.0 + i / 40, potential=100_000.0,
                        current_rep="R0", move_cost=4.0 if i % 2 else 1.0)
        for i in range(40)
    ]  # fmt: skip
    plan = planner.rebalance(accounts, reps, planner.Policy(), mode="minimal", seed=1, time_limit=5)
    moved = {m.account_id for m in plan.moves}
    worked = {a.id for a in accounts if a.move_cost > 1}
    assert moved and len(moved & worked) < len(moved - worked)


# --------------------------------------------------------------------------- rep notices


def hubspot_tasks(app: FastAPI) -> list[dict[str, str | None]]:
    portal = app.state.org
    return [portal.properties_of("tasks", t) for t in portal.ids("tasks")]


def test_each_rep_whose_book_changes_gets_one_task_and_a_second_push_writes_none(
    hubspot: EmulatedCRM, database_url: str
) -> None:
    _server, app = hubspot
    ctx = hubspot_context(hubspot, database_url, plan_mode="full")
    summary = pipeline.run_all("hubspot", ctx=ctx)
    assert summary.push is not None and summary.push.report.rejected == 0
    with Session(ctx.engine) as session:
        notices = session.exec(select(OutboxItem).where(OutboxItem.kind == OutboxKind.NOTICE)).all()
    assert notices and all(n.status is OutboxStatus.DONE for n in notices)
    tasks = hubspot_tasks(app)
    owners = [t["hubspot_owner_id"] for t in tasks]
    assert len(tasks) == len(notices) and len(set(owners)) == len(owners), "one task per rep"
    for task in tasks:
        subject = task["hs_task_subject"] or ""
        shape = r"Territory change: (\d+ accounts? gained(, \d+ lost)?|\d+ accounts? lost)"
        assert re.fullmatch(shape, subject), subject
        body = task["hs_task_body"] or ""
        assert "effective " in body and ("Accounts you gain:" in body or "Accounts you hand over:" in body)

    again = pipeline.push("hubspot", ctx=ctx, plan_run_id=summary.plan.plan_run_id)
    assert again.queued == 0 and hubspot_tasks(app) == tasks


def test_a_notice_sent_twice_to_salesforce_is_one_task_owned_by_the_rep(salesforce: EmulatedCRM) -> None:
    from connectors.base import RepNotice

    server, app = salesforce
    org = app.state.org
    rep = org.ids("User")[1]
    sf = SalesforceConnector(
        SalesforceCredentials(username="ops@acme.example", password="pw", security_token=""),
        base_url=server.url,
    )
    notice = RepNotice("tsn-7-" + rep, rep, "Territory change: 2 accounts gained", "- A\n- B",
                       date(2026, 12, 3))  # fmt: skip
    before = len(org.ids("Task"))
    assert sf.push_notices([notice]).done and sf.push_notices([notice]).done
    tasks = [org.get("Task", t) for t in org.ids("Task")]
    ours = [t for t in tasks if t and t.get("Visit_Key__c") == notice.key]
    assert len(org.ids("Task")) == before + 1 and len(ours) == 1
    assert ours[0]["OwnerId"] == rep and ours[0]["Subject"] == notice.subject
    assert str(ours[0]["ActivityDate"]).startswith("2026-12-03") and ours[0]["Status"] == "Not Started"


def test_a_rep_losing_a_whole_book_gets_one_notice_that_fits_and_a_rep_who_left_gets_none() -> None:
    from sync.notices import Move, rep_notices

    reason = "balances workload: " + "x" * 200
    moves = [Move(f"a{i}", f"Acct {i}", "R1", "R2", reason) for i in range(236)]
    moves.append(Move("b1", "Gone", "R3", "R2", "had no rep"))
    names = {"R1": "Ana", "R2": "Ben", "R3": "Cy"}
    dated = {"a5": date(2027, 1, 4)}
    changes = rep_notices(
        "p12", moves, names, active={"R1", "R2"}, effective=date(2026, 12, 2), effective_on=dated,
        label="proposal 12",
    )  # fmt: skip
    by_rep = {c.payload.owner_id: c.payload for c in changes if isinstance(c.payload, NoticePayload)}
    assert set(by_rep) == {"R1", "R2"}, "the rep who left (R3) gets none"
    assert {c.key for c in changes} == {"p12:notice:R1", "p12:notice:R2"}
    assert by_rep["R1"].subject == "Territory change: 236 accounts lost"
    assert by_rep["R2"].subject == "Territory change: 237 accounts gained"
    text = by_rep["R1"].description
    assert text.startswith("Your territory changes with proposal 12.")
    assert len(text) <= 30_000 and "… and 136 more" in text
    assert "- Acct 0 (a0) to Ben: balances workload" in text and "effective 2026-12-02" in text
    assert "- Acct 5 (a5) to Ben: balances workload" in text and "effective 2027-01-04" in text
    assert by_rep["R1"].due == date(2026, 12, 2)


def test_salesforce_reps_whose_books_change_get_one_task_each_and_a_second_push_adds_none(
    salesforce: EmulatedCRM, database_url: str
) -> None:
    _server, app = salesforce
    org = app.state.org
    ctx = salesforce_context(salesforce, database_url)
    summary = pipeline.run_all("salesforce", ctx=ctx)
    assert summary.push is not None and summary.push.report.rejected == 0

    def notices() -> list[dict[str, Any]]:
        return [t for t in org.find("Task") if str(t.get("Visit_Key__c") or "").startswith("tsn-")]

    sent = notices()
    active = {u["Id"] for u in org.find("User") if u.get("IsActive")}
    assert sent and len({t["OwnerId"] for t in sent}) == len(sent) and {t["OwnerId"] for t in sent} <= active
    assert all(
        t["Subject"].startswith("Territory change: ") and "effective " in t["Description"] for t in sent
    )
    again = pipeline.push("salesforce", ctx=ctx, plan_run_id=summary.plan.plan_run_id)
    assert again.queued == 0 and len(notices()) == len(sent)
