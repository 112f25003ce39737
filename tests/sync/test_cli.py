"""`tsync` as an ops person uses it, against the HubSpot emulator and a SQLite store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from connectors.base import CRMKind
from emulators.hubspot import create_hubspot_app
from emulators.seed import generate_org
from emulators.server import serve
from sync import pipeline
from sync.cli import app
from sync.settings import get_settings
from sync.store import CrmOrg, engine_for


@pytest.fixture
def tsync(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[CliRunner]:
    crm = create_hubspot_app(generate_org(200, 5, seed=8, metros=1), search_per_second=None)
    with serve(crm) as server:
        for key, value in {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
            "HUBSPOT_ACCESS_TOKEN": "pat-na1-cli",
            "HUBSPOT_BASE_URL": server.url,
            "PLAN_SECONDS": "3",
            "PLAN_WEEKS": "1",
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


def test_help_lists_every_command_with_one_line_each() -> None:
    output = CliRunner().invoke(app, ["--help"]).output
    for command in (
        "demo",
        "pull",
        "plan",
        "push",
        "run",
        "runs",
        "report",
        "map",
        "outbox",
        "resync",
        "worker",
        "beat",
        "web",
        "emulator",
        "plan-file",
        "db",
    ):
        assert f" {command} " in output, command


def test_pull_json_reports_counts_per_crm(tsync: CliRunner) -> None:
    counts = json.loads(invoke(tsync, "pull", "--json"))
    assert set(counts) == {"hubspot"}
    assert counts["hubspot"]["accounts"] == 200 and counts["hubspot"]["reps"] == 5
    assert counts["hubspot"]["api_calls"] > 0 and counts["hubspot"]["deleted"] == 0
    assert counts["hubspot"]["opportunities"] > 0


def test_a_dry_run_shows_the_diff_per_rep_then_a_real_run_writes_it(tsync: CliRunner, tmp_path: Path) -> None:
    diff = json.loads(invoke(tsync, "run", "--once", "--dry-run", "--json"))["hubspot"]
    assert diff["assignment_changes"] > 0
    assert any(rep["gained"] and rep["workload_hours_after"] for rep in diff["reps"])
    table = invoke(tsync, "push", "--dry-run")
    assert "would change" in table and "account changes" in table

    done = json.loads(invoke(tsync, "run", "--once", "--json"))["hubspot"]
    assert done["done"] > 0 and done["rejected"] == 0

    history = invoke(tsync, "runs")
    assert "succeeded" in history and "push" in history
    report = json.loads(invoke(tsync, "report", "--json"))
    assert report["reps"] and {d["dimension"] for d in report["dimensions"]} >= {"potential", "workload"}
    out = tmp_path / "map.html"
    invoke(tsync, "map", "--out", str(out))
    assert "territory-" in out.read_text()
    assert "parked" in invoke(tsync, "outbox", "list")


def test_commands_that_need_a_crm_say_which_settings_are_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    for key in ("HUBSPOT_ACCESS_TOKEN", "SALESFORCE_USERNAME", "SALESFORCE_CONSUMER_KEY"):
        monkeypatch.delenv(key, raising=False)
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["run", "--once"])
    get_settings.cache_clear()
    assert result.exit_code == 2
    assert "no CRM is configured" in result.output


def test_an_org_is_known_by_the_id_ops_give_it_and_its_kind_by_its_credentials(
    tsync: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUBSPOT_ORG_KEY", "acme-portal")
    get_settings.cache_clear()
    pipeline.default_context.cache_clear()
    counts = json.loads(invoke(tsync, "pull", "--org", "acme-portal", "--json"))
    assert set(counts) == {"acme-portal"} and counts["acme-portal"]["accounts"] == 200
    with Session(engine_for(get_settings().database_url)) as session:
        org = session.get(CrmOrg, "acme-portal")
    assert org is not None and org.kind is CRMKind.HUBSPOT
    refused = tsync.invoke(app, ["pull", "--org", "hubspot"])
    assert refused.exit_code == 2 and "configured: acme-portal" in refused.output
