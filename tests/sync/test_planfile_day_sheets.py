"""`tsync plan-file --call-plans [--csv DIR]`: day sheets a rep can follow, and every visit accounted for."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from sync.cli import app

REPS_CSV = """id,name,home_lat,home_lon,skills,target_share,time_zone,holidays_country,holidays_subdivision
R1,Anna,40.75,-73.99,,,America/New_York,US,NY
R2,Ben,40.70,-74.01,,,America/New_York,US,NY
"""


def _accounts_csv() -> str:
    lines = ["id,name,lat,lon,tier,potential,effort,current_rep,locked,skills,address"]
    for i in range(18):
        lat = 40.68 + (i % 6) * 0.02
        lon = -74.02 + (i // 6) * 0.03
        lines.append(f'A{i},Account {i},{lat:.3f},{lon:.3f},{"ABC"[i % 3]},{1000 + 50 * i},,,,,"{i} Main St"')
    lines.append('EVIL,=HYPERLINK("http://x"),40.72,-73.98,B,500,,,,,"@home"')
    lines.append("LOST,Lost Inc,,,B,900,,,,,")
    return "\n".join(lines) + "\n"


def _run(tmp_path: Path, *extra: str, reps_csv: str = REPS_CSV) -> tuple[int, str, Path]:
    accounts, reps, out = tmp_path / "accounts.csv", tmp_path / "reps.csv", tmp_path / "plan.json"
    accounts.write_text(_accounts_csv(), encoding="utf-8")
    reps.write_text(reps_csv, encoding="utf-8")
    result = CliRunner().invoke(app, [
        "plan-file", "--accounts", str(accounts), "--reps", str(reps), "--out", str(out), "--mode", "full",
        "--seconds", "4", "--call-plans", "--start", "2026-12-21", "--weeks", "3", *extra,
    ])
    return result.exit_code, result.output, out


def test_stops_carry_name_address_legs_and_each_day_its_leave_and_back(tmp_path: Path) -> None:
    code, output, out = _run(tmp_path)
    assert code == 0, output
    plan = json.loads(out.read_text(encoding="utf-8"))
    for days in plan["call_plans"].values():
        for day in days:
            assert day["leave"] <= day["stops"][0]["arrive"] and day["back"] >= day["stops"][-1]["depart"]
            legs = sum(s["drive_minutes"] for s in day["stops"]) + day["drive_home_minutes"]
            assert legs == day["drive_minutes"]
            for k, stop in enumerate(day["stops"], start=1):
                assert stop["order"] == k and stop["name"] and stop["address"] is not None
    named = {s["account_id"]: s for days in plan["call_plans"].values() for d in days for s in d["stops"]}
    assert named["A3"]["name"] == "Account 3" and named["A3"]["address"] == "3 Main St"


def test_holidays_are_skipped_and_every_unplanned_visit_has_a_reason(tmp_path: Path) -> None:
    code, output, out = _run(tmp_path)
    assert code == 0, output
    plan = json.loads(out.read_text(encoding="utf-8"))
    dates = {d["date"] for days in plan["call_plans"].values() for d in days}
    assert "2026-12-25" not in dates and "2027-01-01" not in dates
    notes = plan["call_plan_notes"]
    assert {n["time_zone"] for n in notes.values()} == {"America/New_York"}
    assert all(any(d["date"] == "2026-12-25" for d in n["days_off"]) for n in notes.values())
    visited = {s["account_id"] for days in plan["call_plans"].values() for d in days for s in d["stops"]}
    explained = {e["account_id"] for n in notes.values() for e in (*n["unplaced"], *n["not_required"])}
    assert set(plan["assignments"]) <= visited | explained
    assert any(u["id"] == "LOST" and "no location" in u["reason"] for u in plan["unassigned"])


def test_csv_writes_one_readable_sheet_per_rep_with_formulas_defused(tmp_path: Path) -> None:
    sheets = tmp_path / "sheets"
    code, output, out = _run(tmp_path, "--csv", str(sheets))
    assert code == 0, output
    plan = json.loads(out.read_text(encoding="utf-8"))
    assert sorted(p.name for p in sheets.iterdir()) == sorted(f"{r}.csv" for r in plan["call_plans"])
    rows = [row for p in sheets.iterdir() for row in csv.DictReader(p.open(encoding="utf-8"))]
    stops = sum(len(d["stops"]) for days in plan["call_plans"].values() for d in days)
    assert len(rows) == stops
    for row in rows:
        assert date.fromisoformat(row["date"]).strftime("%a")[:3] == row["weekday"]
        assert row["arrive"] < row["depart"]
    evil = [r for r in rows if r["account_id"] == "EVIL"]
    assert evil and all(r["name"].startswith("'=") and r["address"] == "'@home" for r in evil)


def test_csv_needs_call_plans_and_a_bad_time_zone_is_refused_with_its_cell(tmp_path: Path) -> None:
    accounts, reps = tmp_path / "accounts.csv", tmp_path / "reps.csv"
    accounts.write_text(_accounts_csv(), encoding="utf-8")
    reps.write_text(REPS_CSV, encoding="utf-8")
    result = CliRunner().invoke(app, ["plan-file", "--accounts", str(accounts), "--reps", str(reps),
                                      "--out", str(tmp_path / "p.json"), "--csv", str(tmp_path / "s")])
    assert result.exit_code == 2 and "--call-plans" in result.output
    bad = REPS_CSV.replace("America/New_York,US,NY\nR2", "Mars/Olympus,US,NY\nR2")
    code, output, _ = _run(tmp_path, reps_csv=bad)
    assert code == 2 and "reps.csv, line 2, column 'time_zone'" in output and "Mars/Olympus" in output
