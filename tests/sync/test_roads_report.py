"""What the roads could not do, as the run report says it: per account, by id, on the real embedded router."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from connectors.base import Stream
from connectors.roads import LocalValhalla
from planner import Account, CallPlan, Coverage, DayRoute, Rep, Visit
from sync.roads import RoadCheck
from sync.travel_cache import CachedTravel
from tests.connectors.roads import conftest as roads
from tests.sync.helsinki_book import helsinki_book

helsinki_tiles = roads.helsinki_tiles  # the tiles, built once per session

DAY = date(2026, 12, 8)


def test_a_planned_drive_with_no_road_route_is_reported_on_the_accounts_at_both_ends(
    helsinki_tiles: Path,
) -> None:
    book = helsinki_book(helsinki_tiles)
    rep = Rep("rep-0", float(book.homes[0, 0]), float(book.homes[0, 1]))
    shop = Account("shop-a", float(book.shops[0, 0]), float(book.shops[0, 1]))
    stuck = Account("no-car-in", *book.no_car_in)
    # A day a straight-line plan could make: to the shop, then to a street no car can drive to.
    visits = (Visit("shop-a", 9 * 60, 9 * 60 + 30), Visit("no-car-in", 10 * 60, 10 * 60 + 30))
    day = DayRoute(
        DAY, visits, leave=8 * 60, back=11 * 60, drive_minutes=40, visit_minutes=60, slack_minutes=0
    )
    plan = CallPlan("rep-0", DAY, 1, (day,), Coverage((), 0, 60, 40, ()))
    check = RoadCheck(CachedTravel(LocalValhalla(helsinki_tiles), None))

    check.after_planning({"rep-0": plan}, [shop, stuck], [rep])

    problems = {p.crm_id: p for p in check.problems()}
    assert set(problems) == {"shop-a", "no-car-in"}
    assert all(p.stream == Stream.ACCOUNTS for p in problems.values())
    assert "1 planned drive(s) have no road route" in problems["shop-a"].problem
    assert "shop-a → no-car-in on 2026-12-08" in problems["no-car-in"].problem
    assert check.summary().fallback_legs == 1
