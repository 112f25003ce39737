"""`tsync proposals`, `tsync approve` and `tsync reject` as an ops lead uses them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sync.cli import app

from .test_cli import invoke, tsync  # noqa: F401  (the fixture: the HubSpot emulator and a SQLite store)

HOSTILE_BY = "[bold]ana@example.com[/]"


@pytest.fixture(autouse=True)
def moves_take_effect_at_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Approvals here apply at once; transition dates are test_transitions.py's."""
    policy = tmp_path / "policy.toml"
    policy.write_text("[transition]\ndays = 0\n")
    monkeypatch.setenv("POLICY_FILE", str(policy))


def test_an_ops_lead_lists_a_proposal_approves_it_and_reads_the_audit_line(tsync: CliRunner) -> None:  # noqa: F811
    invoke(tsync, "run", "--once")
    dry = " ".join(invoke(tsync, "push", "--dry-run").split())
    listed = json.loads(invoke(tsync, "proposals", "--json"))
    assert f"Proposal {listed[0]['id']} waits for a decision" in dry, "a dry run says what it leaves out"
    assert len(listed) == 1 and listed[0]["status"] == "pending" and listed[0]["moves"]
    pid = listed[0]["id"]
    table = invoke(tsync, "proposals")
    assert "Territory proposals" in table and "pending" in table
    detail = invoke(tsync, "proposals", str(pid))
    assert f"proposal {pid}" in detail and "→" in detail and "proposed because" in detail

    approved = " ".join(invoke(tsync, "approve", str(pid), "--by", HOSTILE_BY).split())
    moves = len(listed[0]["moves"])
    told = {m["from_rep"] for m in listed[0]["moves"]} | {m["to_rep"] for m in listed[0]["moves"]}
    written = re.search(r"queued, (\d+) CRM write\(s\) made", approved)
    assert f"approved by {HOSTILE_BY}: {moves} move(s) queued" in approved and written, approved
    assert moves < int(written.group(1)) <= moves + len(told)  # the owners, and a Task per rep told

    detail = " ".join(invoke(tsync, "proposals", str(pid)).split())
    assert f"owner changed by proposal {pid}, approved by {HOSTILE_BY} on " in detail
    again = tsync.invoke(app, ["approve", str(pid), "--by", "bo@example.com"])
    assert again.exit_code == 2 and "only a pending one can be decided" in again.output


def test_a_rejected_proposal_records_who_and_why_and_writes_nothing(tsync: CliRunner) -> None:  # noqa: F811
    invoke(tsync, "run", "--once")
    pid = json.loads(invoke(tsync, "proposals", "--json"))[0]["id"]
    out = invoke(tsync, "reject", str(pid), "--by", "ana@example.com", "--reason", "after the Q1 kick-off")
    assert f"proposal {pid} rejected by ana@example.com" in out
    shown = json.loads(invoke(tsync, "proposals", str(pid), "--json"))[0]
    assert (shown["status"], shown["decided_by"], shown["decision_reason"], shown["applied"]) == (
        "rejected",
        "ana@example.com",
        "after the Q1 kick-off",
        0,
    )
    missing = tsync.invoke(app, ["reject", "999", "--by", "ana@example.com", "--reason", "x"])
    assert missing.exit_code == 2 and "no proposal 999" in missing.output


def test_help_lists_the_proposal_commands() -> None:
    output = CliRunner().invoke(app, ["--help"]).output
    for command in ("proposals", "approve", "reject"):
        assert f" {command} " in output, command
