"""`tsync plan-file`: spreadsheet exports in, plan.json out, errors that point at the cell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner import Policy
from sync.cli import app
from sync.planfile import PlanFileError, load_accounts, load_policy, load_reps

REPS_CSV = """id,name,home_lat,home_lon,skills,target_share
R1,Anna,48.10,11.50,,
R2,Ben,48.40,11.00,hospital,1
R3,Cleo,47.90,11.90,,0.5
"""


def _accounts_csv(rows: int = 30) -> str:
    lines = ["id,name,lat,lon,tier,potential,effort,current_rep,locked,skills"]
    for i in range(rows):
        lat = 47.9 + (i % 6) * 0.1
        lon = 11.0 + (i % 5) * 0.2
        tier = "ABC"[i % 3]
        skills = "hospital" if i % 10 == 0 else ""
        locked = "yes" if i == 1 else ""
        lines.append(f"A{i},Account {i},{lat:.3f},{lon:.3f},{tier},{1000 + 37 * i},,R1,{locked},{skills}")
    lines.append("NOLOC,No location,,,B,500,1,R2,,")
    return "\n".join(lines) + "\n"


@pytest.fixture
def book(tmp_path: Path) -> tuple[Path, Path]:
    accounts = tmp_path / "accounts.csv"
    reps = tmp_path / "reps.csv"
    accounts.write_text(_accounts_csv(), encoding="utf-8")
    reps.write_text(REPS_CSV, encoding="utf-8")
    return accounts, reps


def test_plan_file_writes_assignments_unassigned_moves_and_metrics(
    book: tuple[Path, Path], tmp_path: Path
) -> None:
    accounts, reps = book
    out = tmp_path / "out" / "plan.json"
    result = CliRunner().invoke(
        app,
        [
            "plan-file",
            "--accounts",
            str(accounts),
            "--reps",
            str(reps),
            "--mode",
            "full",
            "--seconds",
            "5",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(out.read_text(encoding="utf-8"))
    assert set(plan) == {"assignments", "unassigned", "moves", "metrics"}
    assert len(plan["assignments"]) == 30
    assert plan["unassigned"] == [{"id": "NOLOC", "reason": plan["unassigned"][0]["reason"]}]
    assert "no location" in plan["unassigned"][0]["reason"]
    assert plan["assignments"]["A1"] == "R1"  # locked
    assert all(plan["assignments"][f"A{i}"] == "R2" for i in (0, 10, 20))  # need a hospital rep
    assert plan["moves"] and all(set(m) == {"account_id", "from", "to", "reason"} for m in plan["moves"])
    after = plan["metrics"]["after"]
    assert {"potential", "workload", "accounts", "travel", "reps"} <= set(after)
    assert after["potential"]["cv"] < plan["metrics"]["before"]["potential"]["cv"]
    assert "30 accounts assigned" in result.output


def test_a_rep_no_account_is_within_a_days_drive_of_is_listed_out_of_band_with_why(
    book: tuple[Path, Path], tmp_path: Path
) -> None:
    accounts, reps = book
    reps.write_text(REPS_CSV + "R4,Dana,53.55,10.00,,\n", encoding="utf-8")  # Hamburg: 600 km away
    out = tmp_path / "plan.json"
    args = ["plan-file", "--accounts", str(accounts), "--reps", str(reps), "--mode", "full",
            "--seconds", "5", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    bands = json.loads(out.read_text(encoding="utf-8"))["metrics"]["out_of_band"]
    (dana,) = [b for b in bands if b["rep_id"] == "R4"]
    assert (dana["potential_vs_target"], dana["utilisation"]) == (0.0, 0.0)
    assert "the 0 accounts within a day's drive of Dana's home" in dana["reason"]
    assert "out of band" in result.output


def test_empty_cells_take_the_defaults(book: tuple[Path, Path]) -> None:
    accounts_csv, reps_csv = book
    accounts = load_accounts(accounts_csv, Policy())
    reps = load_reps(reps_csv)
    assert accounts[0].effort == 1.0 and not accounts[0].locked and accounts[1].locked
    assert accounts[0].skills == frozenset({"hospital"})
    assert accounts[-1].lat is None and accounts[-1].lon is None
    assert reps[0].target_share == 1.0 and reps[2].target_share == 0.5
    assert reps[1].skills == frozenset({"hospital"})


@pytest.mark.parametrize(
    ("row", "column", "words"),
    [
        ("X1,Bad,forty-eight,11.0,A,100,1,R1,,", "lat", "'forty-eight' is not a number"),
        ("X1,Bad,48.0,11.0,A,100,lots,R1,,", "effort", "'lots' is not a number"),
        ("X1,Bad,48.0,11.0,A,100,1,R1,maybe,", "locked", "yes/no"),
        ("X1,Bad,48.0,,A,100,1,R1,,", "lon", "both lat and lon"),
        ("A0,Dupe,48.0,11.0,A,100,1,R1,,", "id", "already used on line 2"),
        (",No id,48.0,11.0,A,100,1,R1,,", "id", "needs an id"),
    ],
)
def test_a_malformed_cell_names_file_line_and_column(
    tmp_path: Path, row: str, column: str, words: str
) -> None:
    path = tmp_path / "accounts.csv"
    good = "A0,Fine,48.0,11.0,A,100,1,R1,,"
    path.write_text(
        f"id,name,lat,lon,tier,potential,effort,current_rep,locked,skills\n{good}\n\n{row}\n",
        encoding="utf-8",
    )
    with pytest.raises(PlanFileError) as info:
        load_accounts(path, Policy())
    message = str(info.value)
    assert message.startswith(f"accounts.csv, line 4, column {column!r}: ")
    assert words in message


def test_a_missing_column_or_rep_home_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "reps.csv"
    path.write_text("id,name,home_lat\nR1,Anna,48.1\n", encoding="utf-8")
    with pytest.raises(PlanFileError, match=r"reps\.csv, line 1: missing required column\(s\): home_lon"):
        load_reps(path)
    path.write_text("id,name,home_lat,home_lon\nR1,Anna,48.1,\n", encoding="utf-8")
    with pytest.raises(PlanFileError, match=r"reps\.csv, line 2, column 'home_lon': .*must not be empty"):
        load_reps(path)


def test_a_bad_policy_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text("[disruption]\nmax_move_shar = 0.1\n", encoding="utf-8")
    with pytest.raises(PlanFileError, match=r"policy\.toml: unknown keys"):
        load_policy(path)
    assert load_policy(None) == Policy()


def test_the_command_exits_2_with_the_cell_in_the_message(book: tuple[Path, Path], tmp_path: Path) -> None:
    accounts, reps = book
    text = accounts.read_text(encoding="utf-8").replace("A3,Account 3,48.200", "A3,Account 3,4x")
    accounts.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(
        app,
        ["plan-file", "--accounts", str(accounts), "--reps", str(reps), "--out", str(tmp_path / "plan.json")],
    )
    assert result.exit_code == 2
    assert "accounts.csv, line 5, column 'lat'" in result.output
    assert not (tmp_path / "plan.json").exists()
