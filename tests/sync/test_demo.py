"""`tsync demo` end to end, at a small size: emulators, SQLite, in-process tasks, and its outputs."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from sync.demo import DemoSize, run_demo


def test_the_demo_runs_both_crms_end_to_end_and_writes_its_map_and_chart(tmp_path: Path) -> None:
    console = Console(record=True, width=160)
    size = DemoSize(
        salesforce_accounts=400,
        salesforce_reps=6,
        hubspot_accounts=150,
        hubspot_reps=3,
        plan_seconds=3,
        weeks=1,
    )
    result = run_demo(tmp_path / "demo-out", size=size, console=console)

    for org in ("salesforce", "hubspot"):
        run = result.runs[org]
        assert run.push is not None and run.push.report.done > 0
        assert run.pull.counts["accounts"] > 0
    assert result.written["salesforce"]["accounts with a territory"] > 0
    plans = {org: run.plan for org, run in result.runs.items()}
    assert result.written["salesforce"]["planned visit events"] == plans["salesforce"].visits_to_push
    assert result.written["hubspot"]["planned visit meetings"] == plans["hubspot"].visits_to_push
    page = result.outputs["map"].read_text()
    assert 'id="plan-data"' in page and "L.map(" in page and "cdn.jsdelivr" not in page
    assert result.outputs["chart"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = console.export_text()
    assert "What reps will see in their CRM" in text and "Balance" in text
    assert "TERRITORY_CHANGES=auto" in text, "the demo says it approves its own proposals"
