"""`tsync plan-file --call-plans`: plan.json also carries each rep's dated, routed days."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from sync.cli import app

REPS_CSV = """id,name,home_lat,home_lon,skills,target_share
R1,Anna,48.14,11.58,,
R2,Ben,48.10,11.50,,
"""


def _accounts_csv() -> str:
    lines = ["id,name,lat,lon,tier,potential,effort,current_rep,locked,skills"]
    for i in range(16):
        lat = 48.08 + (i % 4) * 0.02
        lon = 11.48 + (i // 4) * 0.03
        lines.append(f"A{i},Account {i},{lat:.3f},{lon:.3f},{'ABC'[i % 3]},{1000 + 50 * i},,,,")
    return "\n".join(lines) + "\n"


def test_call_plans_list_each_reps_days_with_timed_stops(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.csv"
    reps = tmp_path / "reps.csv"
    accounts.write_text(_accounts_csv(), encoding="utf-8")
    reps.write_text(REPS_CSV, encoding="utf-8")
    out = tmp_path / "plan.json"
    result = CliRunner().invoke(
        app,
        [
            "plan-file",
            "--accounts",
            str(accounts),
            "--reps",
            str(reps),
            "--out",
            str(out),
            "--mode",
            "full",
            "--seconds",
            "4",
            "--call-plans",
            "--start",
            "2026-03-02",
            "--weeks",
            "4",
        ],
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(out.read_text(encoding="utf-8"))
    call_plans = plan["call_plans"]
    assert set(call_plans) == set(plan["assignments"].values())
    visited: dict[str, int] = {}
    for rep_id, days in call_plans.items():
        dates = [date.fromisoformat(d["date"]) for d in days]
        assert dates == sorted(dates)
        assert all(date(2026, 3, 2) <= d < date(2026, 3, 30) and d.weekday() < 5 for d in dates)
        for day in days:
            assert day["stops"] and day["drive_minutes"] >= 0
            clock = "08:00"
            for stop in day["stops"]:
                assert plan["assignments"][stop["account_id"]] == rep_id
                assert clock <= stop["arrive"] < stop["depart"] <= "17:00"
                clock = stop["depart"]
                visited[stop["account_id"]] = visited.get(stop["account_id"], 0) + 1
    # Over four weeks an A account (24 a year) is seen twice, a B (12 a year) once.
    assert all(visited[f"A{i}"] == 2 for i in range(0, 16, 3))
    assert all(visited[f"A{i}"] == 1 for i in range(1, 16, 3))


def test_call_plans_need_a_start_date(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.csv"
    reps = tmp_path / "reps.csv"
    accounts.write_text(_accounts_csv(), encoding="utf-8")
    reps.write_text(REPS_CSV, encoding="utf-8")
    result = CliRunner().invoke(
        app,
        [
            "plan-file",
            "--accounts",
            str(accounts),
            "--reps",
            str(reps),
            "--out",
            str(tmp_path / "plan.json"),
            "--seconds",
            "2",
            "--call-plans",
        ],
    )
    assert result.exit_code == 2
    assert "--start" in result.output
