"""`tsync plan-file --call-plans` on the embedded Valhalla router over tiles built from Helsinki's extract.

The routes' drive minutes are checked against Valhalla's own matrix for the same
stops; accounts no rep can reach by road are reported, not planned on a straight line.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from typer.testing import CliRunner

from connectors.roads import LocalValhalla
from sync.cli import app
from sync.settings import get_settings
from tests.connectors.roads import conftest as roads
from tests.sync.helsinki_book import TAMPERE, helsinki_book

helsinki_tiles = roads.helsinki_tiles  # the tiles, built once per session


@pytest.fixture
def book(tmp_path: Path, helsinki_tiles: Path) -> tuple[Path, Path, NDArray[np.float64]]:
    """accounts.csv and reps.csv: two reps and 20 shops cars can reach, 2 they cannot, one in Tampere."""
    helsinki = helsinki_book(helsinki_tiles)
    accounts = tmp_path / "accounts.csv"
    rows = [(f"shop-{k:02d}", lat, lon, "ABC"[k % 3]) for k, (lat, lon) in enumerate(helsinki.shops)]
    rows += [("no-car-in", *helsinki.no_car_in, "B"), ("no-car-out", *helsinki.no_car_out, "B")]
    rows += [("tampere", *TAMPERE, "A")]
    with accounts.open("w", newline="") as f:
        csv.writer(f).writerows([("id", "lat", "lon", "tier", "potential"), *[(*r, 1000) for r in rows]])
    reps = tmp_path / "reps.csv"
    homes = [(f"rep-{k}", *h) for k, h in enumerate(helsinki.homes)]
    with reps.open("w", newline="") as f:
        csv.writer(f).writerows([("id", "home_lat", "home_lon"), *homes])
    return accounts, reps, np.vstack([helsinki.homes, helsinki.shops])


def plan_on_roads(
    monkeypatch: pytest.MonkeyPatch, tiles: Path, accounts: Path, reps: Path, out: Path, *extra: str
) -> dict[str, Any]:
    monkeypatch.setenv("ROUTING_ENGINE", "valhalla-local")
    monkeypatch.setenv("VALHALLA_TILES", str(tiles))
    get_settings.cache_clear()
    args = ["plan-file", "--accounts", str(accounts), "--reps", str(reps), "--out", str(out),
            "--call-plans", "--start", "2026-12-07", "--weeks", "6", "--seconds", "4", *extra]  # fmt: skip
    result = CliRunner().invoke(app, args)
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(out.read_text())
    return document


def test_plan_file_on_valhalla_local_drives_the_minutes_valhallas_own_matrix_gives_for_the_stops(
    book: tuple[Path, Path, NDArray[np.float64]],
    helsinki_tiles: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    accounts, reps, points = book
    document = plan_on_roads(monkeypatch, helsinki_tiles, accounts, reps, tmp_path / "plan.json")
    where = {f"rep-{k}": tuple(points[k]) for k in range(2)}
    where.update({f"shop-{k:02d}": tuple(p) for k, p in enumerate(points[2:])})
    index = {spot: k for k, spot in enumerate(where.values())}
    own = LocalValhalla(helsinki_tiles).table(points, points)  # Valhalla's matrix, asked afresh

    def minutes(a: tuple[float, float], b: tuple[float, float]) -> int:
        return math.ceil(own.minutes[index[a], index[b]] - 1e-9)

    legs = 0
    for rep_id, days in document["call_plans"].items():
        for day in days:
            here = where[rep_id]
            for stop in day["stops"]:
                assert stop["drive_minutes"] == minutes(here, where[stop["account_id"]]), (
                    rep_id,
                    day["date"],
                )
                here, legs = where[stop["account_id"]], legs + 1
            assert day["drive_home_minutes"] == minutes(here, where[rep_id])
            assert (
                day["drive_minutes"]
                == sum(s["drive_minutes"] for s in day["stops"]) + day["drive_home_minutes"]
            )
    assert legs >= 15
    assert document["roads"]["engine"] == "valhalla-local"
    assert document["roads"]["fallback_legs"] == {}


def test_accounts_no_rep_can_reach_by_road_are_reported_and_never_planned(
    book: tuple[Path, Path, NDArray[np.float64]],
    helsinki_tiles: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    accounts, reps, _ = book
    document = plan_on_roads(monkeypatch, helsinki_tiles, accounts, reps, tmp_path / "plan.json")

    unassigned = {u["id"]: u["reason"] for u in document["unassigned"]}
    assert "no drivable road within 2 km" in unassigned["tampere"]
    for account_id in ("no-car-in", "no-car-out"):
        assert "no route joins it to any rep's home" in unassigned[account_id]
    assert {u["account_id"] for u in document["roads"]["unreachable"]} == {
        "tampere",
        "no-car-in",
        "no-car-out",
    }
    planned = {s["account_id"] for days in document["call_plans"].values() for d in days for s in d["stops"]}
    assert planned.isdisjoint({"tampere", "no-car-in", "no-car-out"})
    assert not {"tampere", "no-car-in", "no-car-out"} & set(document["assignments"])


def test_plan_file_says_in_one_line_when_the_engine_has_no_tiles(
    book: tuple[Path, Path, NDArray[np.float64]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts, reps, _ = book
    monkeypatch.delenv("VALHALLA_TILES", raising=False)
    get_settings.cache_clear()
    args = ["plan-file", "--accounts", str(accounts), "--reps", str(reps), "--out", str(tmp_path / "p.json"),
            "--routing-engine", "valhalla-local"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    get_settings.cache_clear()

    assert result.exit_code == 2
    assert "VALHALLA_TILES" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "p.json").exists()
