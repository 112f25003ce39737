"""Scenarios: `tsync propose` plans "what if" from the stored snapshot; the CRM never sees it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from emulators.hubspot import create_hubspot_app
from emulators.seed import generate_org
from emulators.server import serve
from sync import pipeline
from sync.cli import app
from sync.settings import get_settings
from sync.store import AccountRow, Proposal, ProposalOrigin, ProposalStatus, RepRow, engine_for


@pytest.fixture
def crm_app() -> FastAPI:
    return create_hubspot_app(generate_org(160, 5, seed=8, metros=1), search_per_second=None)


@pytest.fixture
def tsync(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, crm_app: FastAPI) -> Iterator[CliRunner]:
    with serve(crm_app) as server:
        for key, value in {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'scenarios.db'}",
            "HUBSPOT_ACCESS_TOKEN": "pat-na1-cli",
            "HUBSPOT_BASE_URL": server.url,
            "PLAN_SECONDS": "2",
            "PLAN_WEEKS": "1",
            "PLAN_HORIZON_WEEKS": "2",
            "TERRITORY_CHANGES": "auto",  # even so, a scenario is never approved by itself
        }.items():
            monkeypatch.setenv(key, value)
        for key in ("CELERY_BROKER_URL", "REDIS_URL", "SALESFORCE_USERNAME"):
            monkeypatch.delenv(key, raising=False)
        get_settings.cache_clear()
        pipeline.default_context.cache_clear()
        runner = CliRunner()
        assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
        yield runner
    get_settings.cache_clear()
    pipeline.default_context.cache_clear()


def invoke(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def crm_calls(crm_app: FastAPI) -> int:
    routes: dict[str, int] = crm_app.state.faults.stats()["routes"]
    return sum(routes.values())


def reps() -> list[RepRow]:
    with Session(engine_for(get_settings().database_url)) as session:
        return list(session.exec(select(RepRow).where(col(RepRow.email).is_not(None))).all())


def a_postal_code() -> str:
    """Where the new rep lives: a postal code the org's accounts have."""
    with Session(engine_for(get_settings().database_url)) as session:
        known = select(AccountRow.postal_code).where(col(AccountRow.postal_code).is_not(None))
        code = session.exec(known).first()
    assert code
    return code


def scenarios() -> list[Proposal]:
    with Session(engine_for(get_settings().database_url)) as session:
        return list(session.exec(select(Proposal).where(Proposal.origin == ProposalOrigin.SCENARIO)).all())


def test_propose_add_rep_gives_a_scenario_that_the_crm_never_sees(tsync: CliRunner, crm_app: FastAPI) -> None:
    invoke(tsync, "pull")
    calls = crm_calls(crm_app)
    postal = a_postal_code()
    out = invoke(tsync, "propose", "--add-rep", f"new.hire@example.com,{postal}", "--mode", "full")
    assert "proposal" in out and "new.hire@example.com" in out
    assert crm_calls(crm_app) == calls  # nothing read from the CRM, nothing written
    (scenario,) = scenarios()
    assert scenario.status is ProposalStatus.PENDING
    assert "scenario:new.hire@example.com" in {r.rep_id for r in scenario.metrics_after.reps}
    assert any(m.to_rep == "scenario:new.hire@example.com" for m in scenario.diff.moves)

    invoke(tsync, "run", "--once")  # a night in auto mode approves its own proposal, not the scenario
    (scenario,) = scenarios()
    assert scenario.status is ProposalStatus.PENDING and scenario.decided_by is None
    owners = {
        crm_app.state.org.properties_of("companies", c).get("hubspot_owner_id")
        for c in crm_app.state.org.ids("companies")
    }
    assert not any(str(o).startswith("scenario:") for o in owners)


def test_compare_prints_both_proposals_side_by_side(tsync: CliRunner) -> None:
    invoke(tsync, "pull")
    team = reps()
    invoke(tsync, "propose", "--add-rep", f"new.hire@example.com,{a_postal_code()}")
    leaving = next(r.email for r in team if r.email)
    invoke(tsync, "propose", "--remove-rep", str(leaving))
    first, second = sorted(p.id for p in scenarios() if p.id is not None)

    table = invoke(tsync, "proposals", "--compare", str(first), str(second))
    for row in ("potential CV", "travel km/yr", "utilisation", "moves", "hires needed"):
        assert row in table
    assert "new.hire@example.com" in table and f"remove {leaving}" in table
    pair = json.loads(invoke(tsync, "proposals", "--compare", str(first), str(second), "--json"))
    assert [p["proposal_id"] for p in pair] == [first, second]
    assert pair[0]["reps"] == pair[1]["reps"] + 2  # one more rep, and one fewer

    failed = tsync.invoke(app, ["propose", "--remove-rep", "nobody@example.com"])
    assert failed.exit_code != 0 and "no rep with email" in failed.output
