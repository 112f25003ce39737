"""The nights benchmark, short: a few nights on a small drifting org through the daemon's own run."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from bench.nights import NightsConfig, night_line, rows_from_log, run_nights, summary, table, write_png


def test_a_short_run_of_nights_reports_owner_changes_budget_and_balance_per_night(tmp_path: Path) -> None:
    rows = run_nights(NightsConfig(nights=4, accounts=200, reps=5, plan_seconds=1.0))
    assert [n.number for n in rows] == [1, 2, 3, 4]
    assert rows[0].drift == "(first run)"
    assert "left" in rows[1].drift and "joined" in rows[2].drift
    assert rows[1].owner_changes > 0  # the leaver's accounts go to the reps still here
    assert all(n.accounts >= 200 and 0.0 <= n.moved_share_window <= 1.0 for n in rows)
    assert all(n.potential_cv is not None and n.budget == 0.20 for n in rows)
    console = Console(record=True, width=140)
    console.print(table(rows, "short"))
    console.print(summary(rows, "main"))
    text = console.export_text()
    assert "owner changes" in text and "night 1 changed" in text
    png = write_png({"main": rows}, tmp_path / "nights.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    log = tmp_path / "nights.log"
    log.write_text("\n".join(night_line(n) for n in rows))
    again = rows_from_log(log)
    assert [(n.number, n.owner_changes, n.potential_cv) for n in again] == [
        (n.number, n.owner_changes, None if n.potential_cv is None else round(n.potential_cv, 3))
        for n in rows
    ]
