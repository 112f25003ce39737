"""Call plans made on the embedded router, driven on Valhalla's own server: the minutes agree.

The book is `bench/roads.py`'s, laid on points of the Helsinki extract that cars can
reach and leave; the plans come from `planner.rebalance` + `planner.build_call_plans`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.roads import RoadLookup, book_points, car_reachable, drive_on_roads, field_book, plan
from connectors.roads import LocalValhalla, ValhallaHTTP
from planner import HaversineTravel
from tests.connectors.roads.conftest import SERVER_MAX_PAIRS, helsinki_points


@pytest.fixture(scope="module")
def local(helsinki_tiles: Path) -> LocalValhalla:
    return LocalValhalla(helsinki_tiles)


def test_plans_on_the_embedded_router_drive_the_minutes_valhallas_server_gives_for_their_stops(
    local: LocalValhalla, valhalla_server: str
) -> None:
    candidates = helsinki_points(60, seed=60)
    book = field_book(candidates, car_reachable(local.table(candidates, candidates)), 30, 1, 1, seed=0)
    plans = plan(book, local, seconds=3.0, seed=0)
    server = ValhallaHTTP(valhalla_server, max_pairs=SERVER_MAX_PAIRS)
    try:
        on_server = RoadLookup(book_points(book), server.table(book_points(book), book_points(book)))
    finally:
        server.close()

    driven = drive_on_roads(plans, book, on_server)

    assert driven.visits > 0
    assert (
        driven.drive == driven.believed_drive == sum(d.drive_minutes for p in plans.values() for d in p.days)
    )
    assert driven.late == 0 and driven.days_over == 0


def test_a_plan_made_on_straight_lines_drives_longer_on_the_roads_than_it_believed(
    local: LocalValhalla,
) -> None:
    candidates = helsinki_points(60, seed=61)
    book = field_book(candidates, car_reachable(local.table(candidates, candidates)), 30, 1, 1, seed=1)
    roads = RoadLookup(book_points(book), local.table(book_points(book), book_points(book)))
    straight = HaversineTravel(book.policy.travel.speed_kmh, book.policy.travel.circuity)

    on_lines = drive_on_roads(plan(book, straight, seconds=3.0, seed=1), book, roads)
    on_roads = drive_on_roads(plan(book, local, seconds=3.0, seed=1), book, roads)

    assert on_lines.visits == on_roads.visits > 0
    assert on_lines.drive > on_lines.believed_drive
    assert on_roads.drive == on_roads.believed_drive
    assert on_roads.drive < on_lines.drive
