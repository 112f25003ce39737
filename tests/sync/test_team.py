"""The field team in the daemon: who is planned, with which facts, and what the CRM then holds.

Against seeded, staffed orgs (admin, integration user owning 40 imported
accounts, manager, inside sales) served by the emulators over real HTTP, with
the real connectors, a real store and the real `tsync` command line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
from fastapi import FastAPI
from sqlmodel import Session, select

from emulators.hubspot import create_hubspot_app
from emulators.salesforce import create_salesforce_app
from emulators.seed import SeedOrg, generate_org, write_team_file
from emulators.server import RunningServer, serve
from sync import pipeline
from sync.planfile import load_reps
from sync.settings import load_settings
from sync.snapshot import load_snapshot
from sync.store import PlannedAssignment, PlannedVisit, PlanRun, SyncRun, engine_for, transaction
from sync.store.schema import upgrade
from sync.team import NOT_ON_TEAM, MemberSource, load_field_team

SF, HS = "salesforce", "hubspot"
FIELD_FILTER = "Profile.Name = 'Field Sales'"


@pytest.fixture(scope="module")
def staffed() -> SeedOrg:
    return generate_org(300, 8, seed=12, metros=1, staff=True)


@pytest.fixture
def salesforce(staffed: SeedOrg) -> Iterator[tuple[RunningServer, FastAPI]]:
    app = create_salesforce_app(staffed)
    with serve(app) as server:
        yield server, app


def sf_context(server: RunningServer, database_url: str, **team: Any) -> pipeline.Context:
    settings = load_settings(
        database_url=database_url,
        celery_broker_url=None,
        redis_url=None,
        salesforce_username="ops@acme.example",
        salesforce_password="pw",
        salesforce_base_url=server.url,
        plan_seconds=3,
        plan_weeks=1,
        **team,
    )
    upgrade(settings.database_url)
    return pipeline.Context.from_settings(settings)


def add_column(team_file: Path, column: str, value: Callable[[str], str]) -> None:
    """One more column in a team file, its value per row from the row's email."""
    lines = team_file.read_text().splitlines()
    lines[0] += f",{column}"
    lines[1:] = [f"{line},{value(line.split(',')[0])}" for line in lines[1:]]
    team_file.write_text("\n".join(lines) + "\n")


def user_ids(app: FastAPI) -> dict[str, str]:
    """Email -> Salesforce User Id in the emulated org."""
    return {u["Email"]: u["Id"] for u in app.state.org.find("User")}


# --------------------------------------------------------------------------- who is a rep


def test_the_integration_user_is_never_a_rep_and_its_accounts_go_to_members_with_the_reason(
    salesforce: tuple[RunningServer, FastAPI], staffed: SeedOrg, sqlite_url: str
) -> None:
    _server, app = salesforce
    ctx = sf_context(salesforce[0], sqlite_url, salesforce_rep_filter=FIELD_FILTER)
    integration = staffed.integration_user
    assert integration is not None
    imported = {
        a["Id"] for a in app.state.org.find("Account") if a["OwnerId"] == user_ids(app)[integration.email]
    }
    assert len(imported) == 40

    summary = pipeline.run_all(SF, ctx=ctx)

    members = {user_ids(app)[u.email] for u in staffed.field_team}
    names = {user_ids(app)[u.email]: u.name for u in staffed.users}
    with Session(ctx.engine) as session:
        plan_run = session.get(PlanRun, summary.plan.plan_run_id)
        assert plan_run is not None
        assert set(plan_run.summary.reps) == members
        planned = {
            p.account_crm_id: p
            for p in session.exec(
                select(PlannedAssignment).where(PlannedAssignment.plan_run_id == plan_run.id)
            ).all()
        }
    movable = {a for a in imported if not app.state.org.get("Account", a).get("Locked__c")}
    assert movable, "the integration user owns unlocked imported accounts"
    for account_id in movable:
        p = planned[account_id]
        assert p.rep_crm_id in members
        assert p.reason is not None and p.reason.startswith(f"{NOT_ON_TEAM} (Integration User): goes to ")
        assert names[p.rep_crm_id] in p.reason
        assert app.state.org.get("Account", account_id)["OwnerId"] == p.rep_crm_id  # pushed
    assert summary.push is not None and summary.push.held is None
    owners_now = {a["OwnerId"] for a in app.state.org.find("Account")}
    assert user_ids(app)[integration.email] not in owners_now - {
        app.state.org.get("Account", a)["OwnerId"] for a in imported - movable
    }


def test_hubspot_owner_teams_choose_who_is_planned(staffed: SeedOrg, sqlite_url: str, tmp_path: Path) -> None:
    app = create_hubspot_app(staffed, search_per_second=None)
    with serve(app) as server:
        for teams, expected in (
            ("Field Sales", {u.email for u in staffed.field_team}),
            ("Specialists", {u.email for u in staffed.field_team if u.overlay}),
            (
                "Inside Sales, Operations",
                {"chris.okafor.inside@example.com", "lee.nguyen.inside@example.com", "admin@example.com"},
            ),
        ):
            settings = load_settings(
                database_url=f"sqlite:///{tmp_path / (teams[:6] + '.db')}",
                celery_broker_url=None,
                redis_url=None,
                hubspot_access_token="pat-na1-team",
                hubspot_base_url=server.url,
                hubspot_rep_teams=teams,
            )
            upgrade(settings.database_url)
            ctx = pipeline.Context.from_settings(settings)
            pipeline.pull(HS, ctx=ctx, streams=("reps",))
            with transaction(ctx.engine) as session:
                team = load_field_team(HS, ctx.org(HS).kind, settings, ctx.geocoder, session=session)
            assert {m.email for m in team.members} == expected, teams
            assert {m.source for m in team.members} == {MemberSource.CRM_RULE}
            # HubSpot owners carry no location: a rep's home comes from the team file, else is missing.
            assert all(m.home is None and "no home" in m.problems[0] for m in team.members)


def test_team_file_rows_missing_from_the_crm_or_inactive_are_reported_by_email(
    salesforce: tuple[RunningServer, FastAPI], staffed: SeedOrg, sqlite_url: str, tmp_path: Path
) -> None:
    team_file = write_team_file(staffed, tmp_path / "team.csv")
    inactive = next(u for u in staffed.reps if not u.active)
    with team_file.open("a", encoding="utf-8") as out:
        out.write("gone.rep@example.com,10001,,,,,,,,,\n")
        out.write(f"{inactive.email.upper()},,,,,,,,,,\n")
    ctx = sf_context(salesforce[0], sqlite_url, team_file=str(team_file))
    pipeline.pull(SF, ctx=ctx, streams=("reps",))
    with transaction(ctx.engine) as session:
        team = load_field_team(SF, ctx.org(SF).kind, ctx.settings, ctx.geocoder, session=session)
    assert {m.email for m in team.members} == {u.email for u in staffed.field_team}
    missing = {(x.label, x.why) for x in team.missing}
    assert missing == {("gone.rep@example.com", "not in the CRM"), (inactive.email, "inactive in the CRM")}
    problems = {p.crm_id: p.problem for p in team.problems()}
    assert problems["gone.rep@example.com"].endswith("not in the CRM")


# --------------------------------------------------------------------------- each rep's facts


def test_team_file_facts_reach_the_daemons_planner_exactly_as_plan_file_parses_them(
    salesforce: tuple[RunningServer, FastAPI], staffed: SeedOrg, sqlite_url: str, tmp_path: Path
) -> None:
    _server, app = salesforce
    team_file = write_team_file(staffed, tmp_path / "team.csv")
    ctx = sf_context(salesforce[0], sqlite_url, team_file=str(team_file))
    pipeline.pull(SF, ctx=ctx)
    with transaction(ctx.engine) as session:
        team = load_field_team(SF, ctx.org(SF).kind, ctx.settings, ctx.geocoder, session=session)
        snap = load_snapshot(SF, ctx.policy(), ctx.plan_window(), session=session, team=team)
    # The same rows as a plan-file reps.csv (ids and homes added) give the same reps.
    ids = user_ids(app)
    reps_csv = tmp_path / "reps.csv"
    lines = team_file.read_text().splitlines()
    rows = [f"id,name,{lines[0]}"]
    for line in lines[1:]:
        email = line.split(",")[0]
        member = next(m for m in team.members if m.email == email)
        assert member.home is not None
        cells = line.split(",")
        cells[2:4] = [f"{member.home[0]}", f"{member.home[1]}"]
        rows.append(f"{ids[email]},{member.name}," + ",".join(cells))
    reps_csv.write_text("\n".join(rows) + "\n")
    from_file = {r.id: r for r in load_reps(reps_csv)}
    daemon = {r.id: r for r in snap.reps}
    assert set(daemon) == set(from_file)
    zones = {ids[u.email]: u.time_zone for u in staffed.users}
    for rep_id, rep in daemon.items():
        expected = from_file[rep_id]
        for fact in (
            "skills",
            "target_share",
            "overlay",
            "working_days",
            "day_start_minute",
            "day_end_minute",
            "days_off",
            "home_lat",
            "home_lon",
        ):
            assert getattr(rep, fact) == getattr(expected, fact), (rep_id, fact)
        assert rep.time_zone == zones[rep_id]  # User.TimeZoneSidKey, the file giving none
    said = {f for r in team.members for f in r.facts.said()}
    assert {"skills", "target_share", "overlay", "working_days", "days_off", "day_start_minute"} <= said


def test_ramping_share_overlay_short_week_and_days_off_take_effect_in_the_daemons_plan(
    salesforce: tuple[RunningServer, FastAPI], staffed: SeedOrg, sqlite_url: str, tmp_path: Path
) -> None:
    _server, app = salesforce
    team_file = write_team_file(staffed, tmp_path / "t.csv")
    add_column(team_file, "holidays_country", lambda email: "US")
    # auto: the night's rebalance is the plan (approve would keep owners until a person decides)
    ctx = sf_context(salesforce[0], sqlite_url, team_file=str(team_file), territory_changes="auto")
    summary = pipeline.run_all(SF, ctx=ctx, dry_run=True)
    ids = user_ids(app)
    ramping = next(u for u in staffed.field_team if u.target_share)
    overlay = next(u for u in staffed.field_team if u.overlay)
    short = next(u for u in staffed.field_team if u.working_days)
    away = next(u for u in staffed.field_team if u.days_off)
    with Session(ctx.engine) as session:
        plan_run = session.get(PlanRun, summary.plan.plan_run_id)
        assert plan_run is not None
        loads = {r.rep_id: r for r in plan_run.metrics_after.reps}
        visits = session.exec(select(PlannedVisit).where(PlannedVisit.plan_run_id == plan_run.id)).all()
        assigned = session.exec(
            select(PlannedAssignment).where(PlannedAssignment.plan_run_id == plan_run.id)
        ).all()
    base = [loads[ids[u.email]].potential for u in staffed.field_team if not u.overlay and not u.target_share]
    assert loads[ids[ramping.email]].potential < 0.75 * sorted(base)[len(base) // 2]
    # An overlay rep is its own layer: with no account needing its specialism it keeps only its locks.
    overlay_book = [p.account_crm_id for p in assigned if p.rep_crm_id == ids[overlay.email]]
    assert all(app.state.org.get("Account", a).get("Locked__c") for a in overlay_book)
    short_days = {v.visit_date.weekday() for v in visits if v.rep_crm_id == ids[short.email]}
    assert short_days and short_days <= {0, 1, 2, 3}
    zone = ZoneInfo(short.time_zone)
    for v in (v for v in visits if v.rep_crm_id == ids[short.email]):
        assert v.starts_at.astimezone(zone).hour * 60 + v.starts_at.astimezone(zone).minute >= 7 * 60 + 30
    off = {d.first + timedelta(days=k) for d in away.days_off for k in range((d.last - d.first).days + 1)}
    away_days = {v.visit_date for v in visits if v.rep_crm_id == ids[away.email]}
    assert away_days and not away_days & off
    visit_days = {v.visit_date for v in visits}
    public = set(holidays.country_holidays("US", years=range(min(visit_days).year, max(visit_days).year + 1)))
    in_window = {d for d in public if min(visit_days) <= d <= max(visit_days) and d.weekday() < 5}
    assert in_window and not visit_days & in_window, "no visit on a US public holiday"


# --------------------------------------------------------------------------- refusing and holding


def run_tsync(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SALESFORCE_", "HUBSPOT_"))},
        **env,
    }
    full_env.pop("CELERY_BROKER_URL", None)
    full_env.pop("REDIS_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "sync", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_bad_team_file_is_refused_in_one_line_naming_file_line_column_and_value_and_nothing_runs(
    salesforce: tuple[RunningServer, FastAPI], staffed: SeedOrg, tmp_path: Path
) -> None:
    server, app = salesforce
    team_file = write_team_file(staffed, tmp_path / "team.csv")
    lines = team_file.read_text().splitlines()
    cells = lines[3].split(",")
    cells[5] = "half"  # target_share
    lines[3] = ",".join(cells)
    team_file.write_text("\n".join(lines) + "\n")
    database = tmp_path / "store.db"
    env = {
        "DATABASE_URL": f"sqlite:///{database}",
        "SALESFORCE_USERNAME": "ops@acme.example",
        "SALESFORCE_PASSWORD": "pw",
        "SALESFORCE_BASE_URL": server.url,
        "TEAM_FILE": str(team_file),
    }
    assert run_tsync(env, "db", "upgrade").returncode == 0
    calls_before = sum(app.state.faults.stats()["routes"].values())

    done = run_tsync(env, "run", "--once")

    assert done.returncode == 2
    lines_out = done.stderr.strip().splitlines()
    assert len(lines_out) == 1, done.stderr
    assert lines_out[0] == (
        f"error: TEAM_FILE {team_file}: line 4, column 'target_share': 'half' is not a number"
    )
    assert sum(app.state.faults.stats()["routes"].values()) == calls_before  # not even a login
    with Session(engine_for(f"sqlite:///{database}")) as session:
        runs = session.exec(select(SyncRun)).all()
    assert [(r.kind, r.status, r.error_summary) for r in runs] == [("run", "failed", lines_out[0][7:])]


@pytest.mark.parametrize(
    ("column", "value", "said"),
    [
        ("working_days", "Mon;Funday", "'Funday' is not a weekday"),
        ("day_end", "25:00", "day_end must be a time of day as HH:MM, not '25:00'"),
        ("days_off", "2027-01-05..2027-01-01", "'2027-01-05..2027-01-01' ends before it starts"),
        ("target_share", "11", "11 is above the largest allowed value 10"),
        ("overlay", "sometimes", "'sometimes' is not a yes/no value"),
    ],
)
def test_each_kind_of_bad_cell_is_named_with_its_line_and_column(
    tmp_path: Path, column: str, value: str, said: str
) -> None:
    from sync.team_file import TeamFileError, load_team_file

    path = tmp_path / "team.csv"
    path.write_text(
        f"email,home_postal_code,{column}\nana@example.com,10001,\nbo@example.com,10002,{value}\n"
    )
    with pytest.raises(TeamFileError) as refused:
        load_team_file(path)
    assert str(refused.value).startswith(f"TEAM_FILE {path}: line 3, column '{column}': ")
    assert said in str(refused.value)


def test_with_no_team_defined_a_run_plans_and_shows_its_dry_run_but_writes_nothing_and_says_what_to_set(
    hubspot_crm: Callable[..., tuple[RunningServer, FastAPI]], sqlite_url: str
) -> None:
    server, app = hubspot_crm(200, 5, seed=4, metros=1, staff=True)
    settings = load_settings(
        database_url=sqlite_url,
        celery_broker_url=None,
        redis_url=None,
        hubspot_access_token="pat-na1-none",
        hubspot_base_url=server.url,
        plan_seconds=3,
        plan_weeks=1,
    )
    upgrade(settings.database_url)
    ctx = pipeline.Context.from_settings(settings)
    dry = pipeline.run_all(HS, ctx=ctx, dry_run=True)
    assert dry.diff is not None and dry.diff.changes, "the dry run shows what a team would get"
    assert any("TEAM_FILE" in n and "HUBSPOT_REP_TEAMS" in n for n in dry.diff.notes)
    writes_before = _writes(app)

    summary = pipeline.run_all(HS, ctx=ctx)

    assert summary.push is not None and summary.push.queued == 0 and summary.push.report.sent == 0
    assert summary.push.held is not None and "set TEAM_FILE" in summary.push.held
    assert "HUBSPOT_REP_TEAMS" in summary.push.held
    assert _writes(app) == writes_before
    with Session(ctx.engine) as session:
        run = session.get(SyncRun, summary.run_id)
        assert run is not None and run.counts["held"] == summary.push.held


def _writes(app: FastAPI) -> int:
    routes: dict[str, int] = app.state.faults.stats()["routes"]
    return sum(
        n
        for r, n in routes.items()
        if r.split()[0] in {"POST", "PATCH", "PUT", "DELETE"} and not r.endswith(("/search", "/batch/read"))
    )


# --------------------------------------------------------------------------- what the rep sees


def test_events_are_timed_in_each_reps_zone_and_name_the_account_its_address_and_the_day(
    salesforce: tuple[RunningServer, FastAPI], staffed: SeedOrg, sqlite_url: str, tmp_path: Path
) -> None:
    _server, app = salesforce
    team_file = write_team_file(staffed, tmp_path / "team.csv")
    west = staffed.field_team[0]
    add_column(team_file, "time_zone", lambda email: "America/Los_Angeles" if email == west.email else "")
    ctx = sf_context(salesforce[0], sqlite_url, team_file=str(team_file), timezone="UTC")

    summary = pipeline.run_all(SF, ctx=ctx)

    assert summary.plan.visits_to_push > 0
    ids = user_ids(app)
    zones = {ids[u.email]: ZoneInfo(u.time_zone) for u in staffed.users}
    zones[ids[west.email]] = ZoneInfo("America/Los_Angeles")
    accounts = {a["Id"]: a for a in app.state.org.find("Account")}
    events = [e for e in app.state.org.find("Event") if e.get("Visit_Key__c")]
    assert len(events) == summary.plan.visits_to_push
    west_events = [e for e in events if e["OwnerId"] == ids[west.email]]
    assert west_events, "the rep in another zone has visits"
    for event in events:
        local = event["StartDateTime"].astimezone(zones[event["OwnerId"]])
        assert 7 * 60 + 30 <= local.hour * 60 + local.minute <= 17 * 60, (event["OwnerId"], local)
        account = accounts[event["WhatId"]]
        assert event["Subject"] == f"Visit: {account['Name']}"
        if account["BillingPostalCode"]:
            assert (
                f"{account['BillingCity']}, {account['BillingState']} {account['BillingPostalCode']}"
                in (event["Location"])
            )
        description = event["Description"]
        assert description.startswith("Stop ") and f"{local:%H:%M} {account['Name']}" in description
        assert "Last visit: " in description and "Cadence: tier " in description
        assert f"Times in {zones[event['OwnerId']].key}" in description


# --------------------------------------------------------------------------- tsync team


def test_tsync_team_shows_who_is_planned_from_which_source_their_facts_and_what_is_missing(
    staffed: SeedOrg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from sync.cli import app as cli
    from sync.settings import get_settings

    crm = create_hubspot_app(staffed, search_per_second=None)
    crm.state.org.add_owner("odd@example.com", "[/]x[bold]", "<b>Rep</b>", teams=("Field Sales",))
    team_file = write_team_file(staffed, tmp_path / "team.csv")
    with team_file.open("a", encoding="utf-8") as out:
        out.write("odd@example.com,99999,,,,,,,,,\n")
        out.write("left.company@example.com,,,,,,,,,,\n")
    with serve(crm) as server:
        env = {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
            "HUBSPOT_ACCESS_TOKEN": "pat-na1-cli",
            "HUBSPOT_BASE_URL": server.url,
            "TEAM_FILE": str(team_file),
            "HUBSPOT_REP_TEAMS": "Specialists",
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        for key in ("CELERY_BROKER_URL", "REDIS_URL", "SALESFORCE_USERNAME"):
            monkeypatch.delenv(key, raising=False)
        get_settings.cache_clear()
        pipeline.default_context.cache_clear()
        runner = CliRunner()
        try:
            assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
            assert runner.invoke(cli, ["pull", "--org", HS]).exit_code == 0
            shown = runner.invoke(cli, ["team"], env={"COLUMNS": "250"})
            as_json = runner.invoke(cli, ["team", "--json"])
        finally:
            get_settings.cache_clear()
            pipeline.default_context.cache_clear()
    assert shown.exit_code == 0, shown.output
    text = shown.output
    assert f"{len(staffed.field_team) + 1} rep(s) planned" in text
    assert "[/]x[bold] <b>Rep</b>" in text  # CRM text printed as text, not markup
    assert "unknown postal code '99999' in the team file" in text
    assert "left.company@example.com" in text and "not in the CRM" in text
    overlay = next(u for u in staffed.field_team if u.overlay)
    document = json.loads(as_json.output)[HS]
    by_email = {m["email"]: m for m in document["members"]}
    assert by_email[overlay.email]["source"] == "team file + CRM rule"
    assert by_email[overlay.email]["overlay"] == "yes"
    ramping = next(u for u in staffed.field_team if u.target_share)
    assert by_email[ramping.email]["target_share"] == "0.5"
    assert by_email[ramping.email]["home_source"] in ("team file coordinates", "team file postal code")
    assert document["missing"] == [
        {"who": "left.company@example.com", "line": len(staffed.field_team) + 3, "why": "not in the CRM"}
    ]


def test_hubspot_meetings_name_the_company_its_place_and_the_day(
    hubspot_crm: Callable[..., tuple[RunningServer, FastAPI]], sqlite_url: str
) -> None:
    server, app = hubspot_crm(160, 4, seed=6, metros=1, staff=True)
    settings = load_settings(
        database_url=sqlite_url,
        celery_broker_url=None,
        redis_url=None,
        hubspot_access_token="pat-na1-meet",
        hubspot_base_url=server.url,
        hubspot_rep_teams="Field Sales",
        plan_seconds=3,
        plan_weeks=1,
    )
    upgrade(settings.database_url)
    summary = pipeline.run_all(HS, ctx=pipeline.Context.from_settings(settings))
    portal = app.state.org
    meetings = [
        portal.properties_of("meetings", m)
        for m in portal.ids("meetings")
        if portal.properties_of("meetings", m).get("territory_sync_visit_key")
    ]
    assert len(meetings) == summary.plan.visits_to_push > 0
    names = {portal.properties_of("companies", c)["name"] for c in portal.ids("companies")}
    for meeting in meetings:
        title = meeting["hs_meeting_title"]
        assert title.startswith("Visit: ") and title.removeprefix("Visit: ") in names
        assert meeting["hs_meeting_location"], "the company's city, state and zip"
        assert (
            meeting["hs_meeting_body"].startswith("Stop ") and "Cadence: tier" in meeting["hs_meeting_body"]
        )


def test_a_rep_filter_salesforce_refuses_stops_the_pull_naming_the_setting(
    salesforce: tuple[RunningServer, FastAPI], sqlite_url: str
) -> None:
    from connectors.base import CRMError

    bad = "Profile.Nickname = 'Field Sales'"
    ctx = sf_context(salesforce[0], sqlite_url, salesforce_rep_filter=bad)
    with pytest.raises(CRMError) as refused:
        pipeline.pull(SF, ctx=ctx, streams=("reps",))
    said = str(refused.value)
    assert said.startswith(f"the rep filter (SALESFORCE_REP_FILTER) {bad!r} was refused by Salesforce: ")


def test_events_written_before_subjects_named_the_account_are_renamed_once_and_a_persons_subject_stays(
    salesforce: tuple[RunningServer, FastAPI], staffed: SeedOrg, sqlite_url: str
) -> None:
    from sync.store import OutboxItem, OutboxKind
    from sync.store.outbox_payload import VisitPayload

    _server, app = salesforce
    ctx = sf_context(salesforce[0], sqlite_url, salesforce_rep_filter=FIELD_FILTER)
    pipeline.run_all(SF, ctx=ctx)
    events = sorted((e for e in app.state.org.find("Event") if e.get("Visit_Key__c")), key=lambda e: e["Id"])
    assert len(events) > 2
    # As an older release wrote them: "Visit: <account id>", in the CRM and in our outbox.
    with transaction(ctx.engine) as session:
        for row in session.exec(select(OutboxItem).where(OutboxItem.kind == OutboxKind.VISIT)).all():
            assert isinstance(row.payload, VisitPayload)
            row.payload = row.payload.model_copy(update={"subject": f"Visit: {row.payload.account_id}"})
            session.add(row)
    for event in events[1:]:
        app.state.org.update("Event", event["Id"], {"Subject": f"Visit: {event['WhatId']}"})
    app.state.org.update("Event", events[0]["Id"], {"Subject": "Lunch with Dr. Lee"})  # a person's edit
    pipeline.pull(SF, ctx=ctx)

    again = pipeline.plan(SF, ctx=ctx)  # the next night
    renamed = pipeline.push(SF, ctx=ctx, plan_run_id=again.plan_run_id)

    assert renamed.report.done >= len(events) - 1 and renamed.report.rejected == 0
    accounts = {a["Id"]: a["Name"] for a in app.state.org.find("Account")}
    for event in events[1:]:
        assert app.state.org.get("Event", event["Id"])["Subject"] == f"Visit: {accounts[event['WhatId']]}"
    assert app.state.org.get("Event", events[0]["Id"])["Subject"] == "Lunch with Dr. Lee"
    pipeline.pull(SF, ctx=ctx)
    assert pipeline.preview(SF, ctx=ctx, plan_run_id=again.plan_run_id).visit_changes == 0
