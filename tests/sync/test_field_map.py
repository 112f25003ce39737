"""The org's own fields: a field map (FIELD_MAP) read by nightly runs against emulated Salesforce orgs.

Each test runs the real connector (simple-salesforce) built from settings, as
the daemon builds it, over real HTTP against an emulated org, on a real store.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from sqlmodel import Session, select
from typer.testing import CliRunner

from connectors.base import FieldMapError, as_utc
from emulators.hubspot import create_hubspot_app
from emulators.salesforce import create_salesforce_app
from emulators.seed import generate_org
from emulators.server import RunningServer, serve
from sync import pipeline
from sync.cli import app as cli_app
from sync.field_map import FieldMapFileError, load_field_map
from sync.settings import Settings, load_settings
from sync.store import AccountRow, PlannedAssignment, PlannedVisit, RecordIssue, RepRow, SyncRun
from sync.store.schema import upgrade
from tests.sync.conftest import FIELD_TEAM

ORG = "salesforce"
EXAMPLE_MAP = Path(__file__).resolve().parents[2] / "docs" / "field-map.example.toml"  # as documented

Start = Callable[..., tuple[RunningServer, FastAPI]]


@pytest.fixture
def salesforce_org() -> Iterator[Start]:
    """Start seeded Salesforce orgs on loopback: `schema` and `field_access` as the emulator takes them."""
    with ExitStack() as running:

        def start(accounts: int = 90, reps: int = 4, **options: Any) -> tuple[RunningServer, FastAPI]:
            app = create_salesforce_app(generate_org(accounts, reps, seed=7, metros=1), **options)
            return running.enter_context(serve(app)), app

        yield start


def nightly_context(server: RunningServer, database_url: str, field_map: Path | None) -> pipeline.Context:
    """The daemon's context from settings alone: the connector is built as `tsync run` builds it."""
    settings = load_settings(
        **FIELD_TEAM,
        database_url=database_url,
        celery_broker_url=None,
        redis_url=None,
        salesforce_username="ops@acme.example",
        salesforce_password="pw",
        salesforce_base_url=server.url,
        field_map=str(field_map) if field_map else None,
        plan_seconds=3,
        plan_weeks=2,
    )
    upgrade(settings.database_url)
    return pipeline.Context.from_settings(settings)


def map_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "field-map.toml"
    path.write_text(text, encoding="utf-8")
    return path


def accounts_of(app: FastAPI) -> list[dict[str, Any]]:
    return [dict(app.state.org.get("Account", i)) for i in app.state.org.ids("Account")]


def issues_by_account(ctx: pipeline.Context) -> dict[str, str]:
    with Session(ctx.engine) as session:
        issues = session.exec(select(RecordIssue)).all()
    found: dict[str, str] = {}
    for issue in issues:
        found[issue.crm_id] = f"{found.get(issue.crm_id, '')} {issue.problem}".strip()
    return found


def test_an_org_with_no_custom_fields_is_planned_nightly_from_rating_and_annual_revenue(
    salesforce_org: Start, tmp_path: Path, sqlite_url: str
) -> None:
    server, app = salesforce_org(schema="standard")
    lukewarm, absurd, *_ = app.state.org.ids("Account")
    app.state.org.update("Account", lukewarm, {"Rating": "Lukewarm"})
    app.state.org.update("Account", absurd, {"AnnualRevenue": 1e308})
    ctx = nightly_context(server, sqlite_url, EXAMPLE_MAP)

    summary = pipeline.run_all(ORG, ctx=ctx, trigger="nightly")

    assert summary.push is not None and summary.push.report.done > 0
    crm = {a["Id"]: a for a in accounts_of(app)}
    with Session(ctx.engine) as session:
        stored = {a.crm_id: a for a in session.exec(select(AccountRow)).all()}
        planned = session.exec(
            select(PlannedAssignment).where(PlannedAssignment.plan_run_id == summary.plan.plan_run_id)
        ).all()
        runs = {r.kind: r.status for r in session.exec(select(SyncRun)).all()}
    assert runs["pull"] == runs["plan"] == "succeeded"
    rating = {"Hot": "A", "Warm": "B", "Cold": "C"}
    for crm_id, row in stored.items():
        if crm_id not in (lukewarm, absurd):
            assert row.tier == rating.get(crm[crm_id]["Rating"])
            revenue = crm[crm_id]["AnnualRevenue"]
            assert row.potential == (revenue if revenue is not None and revenue >= 0 else None)
    assert stored[lukewarm].tier is None and stored[absurd].potential is None
    issues = issues_by_account(ctx)
    assert "'Lukewarm' is not in the field map's tier values" in issues[lukewarm]
    assert "potential 1e+308 is above the largest allowed 1e+12: planned as 0" in issues[absurd]
    moved_to_rep = [p for p in planned if p.rep_crm_id is not None]
    assert moved_to_rep, "the standard org's accounts are planned and assigned"
    for p in moved_to_rep:
        assert crm[p.account_crm_id]["OwnerId"] == p.rep_crm_id  # owners written back; no territory field


@pytest.mark.parametrize(
    ("options", "field_map", "said"),
    [
        ({"schema": "standard"}, "", "Salesforce Account field 'Tier__c' (FIELD_MAP salesforce.tier) "
         "does not exist or the API user cannot see it"),
        ({"field_access": {"Account.Potential__c": "hidden"}}, "", "'Potential__c' (FIELD_MAP "
         "salesforce.potential) does not exist or the API user cannot see it"),
        ({"field_access": {"Account.Territory__c": "read"}}, "", "'Territory__c' (FIELD_MAP "
         "salesforce.territory) cannot be edited by the API user"),
        ({}, '[salesforce]\ntier = "Tier__c"\npotential = "Rating"\n', "'Rating' (FIELD_MAP "
         "salesforce.potential) is of type picklist; potential needs number"),
    ],
    ids=["missing", "hidden", "read-only territory", "wrong type"],
)
def test_a_field_the_org_cannot_serve_stops_the_run_with_one_line_naming_it(
    salesforce_org: Start, tmp_path: Path, sqlite_url: str, options: dict[str, Any], field_map: str,
    said: str,
) -> None:
    server, app = salesforce_org(accounts=30, reps=2, **options)
    owners_before = {a["Id"]: a["OwnerId"] for a in accounts_of(app)}
    ctx = nightly_context(server, sqlite_url, map_file(tmp_path, field_map) if field_map else None)

    with pytest.raises(FieldMapError) as stopped:
        pipeline.run_all(ORG, ctx=ctx, trigger="nightly")

    line = str(stopped.value)
    assert said in line and "\n" not in line
    with Session(ctx.engine) as session:
        runs = session.exec(select(SyncRun)).all()
        pulled = session.exec(select(AccountRow)).all()
    assert {r.status for r in runs} == {"failed"} and any(said in (r.error_summary or "") for r in runs)
    assert pulled == []
    assert {a["Id"]: a["OwnerId"] for a in accounts_of(app)} == owners_before


def test_standing_windows_and_required_skills_reach_the_plan_and_unreadable_windows_are_reported(
    salesforce_org: Start, tmp_path: Path, sqlite_url: str
) -> None:
    server, app = salesforce_org(accounts=60, reps=3)
    surgeon, unreadable, welder, *_ = app.state.org.ids("Account")
    app.state.org.update("Account", surgeon, {"Visit_Windows__c": "Tue 07:15-07:30; Thu 12:00-13:00",
                                              "Tier__c": "A", "Locked__c": False, "Required_Skills__c": None})
    app.state.org.update("Account", unreadable, {"Visit_Windows__c": "mornings, ask Linda"})
    app.state.org.update("Account", welder, {"Required_Skills__c": "Underwater welding;Spanish",
                                             "Locked__c": False})
    field_map = map_file(tmp_path, '[salesforce]\ntier = "Tier__c"\npotential = "Potential__c"\n'
                         'effort = "Effort__c"\nlocked = "Locked__c"\nterritory = "Territory__c"\n'
                         'visit_windows = "Visit_Windows__c"\nskills = "Required_Skills__c"\n')
    ctx = nightly_context(server, sqlite_url, field_map)

    summary = pipeline.run_all(ORG, ctx=ctx, trigger="nightly")

    with Session(ctx.engine) as session:
        visits = session.exec(
            select(PlannedVisit).where(
                PlannedVisit.plan_run_id == summary.plan.plan_run_id, PlannedVisit.account_crm_id == surgeon
            )
        ).all()
        zones = {r.crm_id: ZoneInfo(r.time_zone or "UTC") for r in session.exec(select(RepRow)).all()}
    assert visits, "a tier A account is visited within the horizon"
    local = [as_utc(v.starts_at).astimezone(zones[v.rep_crm_id]) for v in visits]  # windows are local
    assert all(in_its_windows(t) for t in local), [str(t) for t in local]
    events = [e for e in (dict(app.state.org.get("Event", i)) for i in app.state.org.ids("Event"))
              if e.get("WhatId") == surgeon and e.get("Visit_Key__c")]
    assert all(in_its_windows(e["StartDateTime"].astimezone(zones[e["OwnerId"]])) for e in events)
    assert "visit windows not understood" in issues_by_account(ctx)[unreadable]
    with Session(ctx.engine) as session:
        welding = session.get(PlannedAssignment, (summary.plan.plan_run_id, welder))
    assert welding is not None and welding.rep_crm_id is None
    assert "not assigned: needs skills (Spanish, Underwater welding) that no rep has" in issues_by_account(
        ctx)[welder]


def in_its_windows(moment: datetime) -> bool:
    """Tuesday 07:15-07:30 or Thursday 12:00-13:00, in the visiting rep's own zone."""
    clock = moment.strftime("%H:%M")
    return (moment.weekday() == 1 and "07:15" <= clock <= "07:30") or (
        moment.weekday() == 3 and "12:00" <= clock <= "13:00"
    )


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('[salesforce]\ntierr = "Rating"\n', "field map field-map.toml: salesforce.tierr: unknown key"),
        ('[salesforce\n', "field map field-map.toml: not TOML"),
        ('[sales]\ntier = "Rating"\n', "field map field-map.toml: sales: unknown key"),
    ],
)
def test_a_field_map_file_with_an_unknown_key_or_bad_toml_is_refused_in_one_line(
    tmp_path: Path, text: str, said: str
) -> None:
    with pytest.raises(FieldMapFileError) as refused:
        load_field_map(map_file(tmp_path, text))
    assert str(refused.value).startswith(said) and "\n" not in str(refused.value)


def test_a_hubspot_portal_with_no_custom_properties_is_planned_nightly_by_the_example_map(
    sqlite_url: str,
) -> None:
    app = create_hubspot_app(generate_org(60, 3, seed=7, metros=1), schema="standard", search_per_second=None)
    with serve(app) as server:
        settings = load_settings(
        **FIELD_TEAM,
            database_url=sqlite_url, celery_broker_url=None, redis_url=None, field_map=str(EXAMPLE_MAP),
            hubspot_access_token="pat-na1-test", hubspot_base_url=server.url, plan_seconds=3, plan_weeks=1,
        )
        upgrade(settings.database_url)
        ctx = pipeline.Context.from_settings(settings)
        summary = pipeline.run_all("hubspot", ctx=ctx, trigger="nightly")
    assert summary.push is not None and summary.push.report.rejected == 0
    profile = {"tier_1": "A", "tier_2": "B", "tier_3": "C"}
    with Session(ctx.engine) as session:
        stored = session.exec(select(AccountRow)).all()
    assert stored and all(
        a.tier == profile.get(str(app.state.org.properties_of("companies", a.crm_id).get(
            "hs_ideal_customer_profile")))
        for a in stored
    )
    assert any(a.potential for a in stored)
    written = [app.state.org.properties_of("companies", a.crm_id).get("territory") for a in stored]
    assert any(written), "the territory property was created and written back"


@pytest.mark.parametrize(
    ("options", "field_map", "said"),
    [
        ({"schema": "standard"}, "", "HubSpot company field 'tier' (FIELD_MAP hubspot.tier) does not exist"),
        ({}, '[hubspot]\ntier = "tier"\nskills = "required_skills"\npotential = "industry"\n',
         "'industry' (FIELD_MAP hubspot.potential) is of type enumeration (select); potential needs number"),
        ({"read_only_properties": ("companies.domain",)}, '[hubspot]\ntier = "tier"\nterritory = "domain"\n',
         "'domain' (FIELD_MAP hubspot.territory) cannot be edited by the API user"),
    ],
    ids=["missing", "wrong type", "read-only territory"],
)
def test_a_hubspot_property_the_portal_cannot_serve_stops_the_run_with_one_line(
    tmp_path: Path, sqlite_url: str, options: dict[str, Any], field_map: str, said: str
) -> None:
    app = create_hubspot_app(generate_org(30, 2, seed=7, metros=1), search_per_second=None, **options)
    with serve(app) as server:
        settings = load_settings(
        **FIELD_TEAM,
            database_url=sqlite_url, celery_broker_url=None, redis_url=None,
            hubspot_access_token="pat-na1-test", hubspot_base_url=server.url, plan_seconds=3,
            field_map=str(map_file(tmp_path, field_map)) if field_map else None,
        )
        upgrade(settings.database_url)
        with pytest.raises(FieldMapError) as stopped:
            pipeline.run_all("hubspot", ctx=pipeline.Context.from_settings(settings))
    assert said in str(stopped.value) and "\n" not in str(stopped.value)


def test_absurd_numbers_in_the_crm_are_reported_by_id_and_neither_the_run_nor_the_report_breaks(
    salesforce_org: Start, make_settings: Callable[..., Settings], sqlite_url: str
) -> None:
    server, app = salesforce_org(accounts=60, reps=3)
    effort, huge1, huge2, negative, *_ = app.state.org.ids("Account")
    app.state.org.update("Account", effort, {"Effort__c": 1e308})
    app.state.org.update("Account", huge1, {"Potential__c": 1e308})
    app.state.org.update("Account", huge2, {"Potential__c": 1e308})
    app.state.org.update("Account", negative, {"Potential__c": -5, "Effort__c": -5})
    make_settings(database_url=sqlite_url, salesforce_username="ops@acme.example", salesforce_password="pw",
                  salesforce_base_url=server.url, plan_seconds="3", plan_weeks="1")
    ctx = pipeline.default_context()

    summary = pipeline.run_all(ORG, ctx=ctx, trigger="nightly")

    assert summary.push is not None
    issues = issues_by_account(ctx)
    assert "effort 1e+308 is above the largest allowed 50: planned as 1" in issues[effort]
    assert "potential 1e+308 is above the largest allowed 1e+12: planned as 0" in issues[huge1]
    assert "potential 1e+308" in issues[huge2]
    assert "potential -5 is not at least 0: planned as 0" in issues[negative]
    assert "effort -5 is not above 0: planned as 1" in issues[negative]
    report = CliRunner().invoke(cli_app, ["report", "--org", ORG, "--json"])
    assert report.exit_code == 0, report.output
    metrics = json.loads(report.output, parse_constant=lambda name: pytest.fail(f"the report holds {name}"))
    assert metrics


def test_tsync_run_against_an_org_without_the_mapped_fields_says_so_in_one_line(
    salesforce_org: Start, sqlite_url: str, tmp_path: Path
) -> None:
    server, _app = salesforce_org(accounts=20, reps=2, schema="standard")
    upgrade(sqlite_url)
    env = {
        "PATH": os.environ["PATH"], "HOME": str(tmp_path), "DATABASE_URL": sqlite_url,
        "SALESFORCE_USERNAME": "ops@acme.example", "SALESFORCE_PASSWORD": "pw",
        "SALESFORCE_BASE_URL": server.url, "COLUMNS": "300",
    }
    done = subprocess.run(
        [str(Path(sys.executable).parent / "tsync"), "run", "--once", "--org", ORG],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "'Tier__c' (FIELD_MAP salesforce.tier) does not exist" in lines[0], lines
