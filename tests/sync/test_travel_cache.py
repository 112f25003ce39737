"""The store's cache of road pairs, in front of the real embedded Valhalla router over Helsinki's tiles.

The engine is the real `LocalValhalla`; a subclass only counts what it is asked
(our own code at the edge), so the tests can say what a second run routed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import ArrayLike
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from connectors.roads import Fallback, LocalValhalla, OSRMTravel, RoadTable
from sync.store import TravelPair
from sync.travel_cache import CachedTravel
from tests.connectors.roads import conftest as roads
from tests.connectors.roads.conftest import SERVER_MAX_TABLE, helsinki_points

helsinki_tiles = roads.helsinki_tiles  # the tiles built once per session
osrm_server = roads.osrm_server  # OSRM's own server over the same extract

TAMPERE = (61.4978, 23.7610)  # 150 km from the extract: no road of the tiles near it


class CountingValhalla(LocalValhalla):
    """The embedded router, noting every table it is asked for."""

    def __init__(self, tiles: Path, **kwargs: object) -> None:
        super().__init__(tiles, **kwargs)  # type: ignore[arg-type]
        self.asked: list[tuple[int, int]] = []

    def table(self, origins: ArrayLike, destinations: ArrayLike) -> RoadTable:
        o, d = np.asarray(origins), np.asarray(destinations)
        self.asked.append((len(o), len(d)))
        return super().table(o, d)


def stored_pairs(store: Engine) -> int:
    with Session(store) as session:
        return int(session.exec(select(func.count()).select_from(TravelPair)).one())


def test_a_second_run_asks_the_engine_only_for_the_points_that_are_new(
    store: Engine,
    helsinki_tiles: Path,
) -> None:
    points = np.round(helsinki_points(12, seed=5), 5)
    first_engine = CountingValhalla(helsinki_tiles)
    first = CachedTravel(first_engine, store).table(points[:10], points[:10])
    assert first_engine.asked == [(10, 10)]
    assert stored_pairs(store) == 100

    tonight = CountingValhalla(helsinki_tiles)  # another process, the next night: only the store remembers
    travel = CachedTravel(tonight, store)
    again = travel.table(points, points)

    assert sum(rows * cols for rows, cols in tonight.asked) == 12 * 12 - 100  # the two new points' pairs
    assert travel.counts.pairs_from_store == 100 and travel.counts.pairs_routed == 44
    np.testing.assert_array_equal(again.minutes[:10, :10], first.minutes)
    np.testing.assert_array_equal(again.flagged[:10, :10], first.flagged)
    direct = LocalValhalla(helsinki_tiles).table(points, points)
    np.testing.assert_array_equal(again.flagged, direct.flagged)
    np.testing.assert_allclose(again.minutes, direct.minutes, atol=0.5)
    assert stored_pairs(store) == 144


def test_rebuilt_tiles_route_everything_again_and_forget_the_old_pairs(
    store: Engine,
    helsinki_tiles: Path,
    tmp_path: Path,
) -> None:
    tiles = tmp_path / "tiles"
    shutil.copytree(helsinki_tiles, tiles)
    points = helsinki_points(6, seed=7)
    CachedTravel(CountingValhalla(tiles), store).table(points, points)
    a_tile = next(tiles.rglob("*.gph"))
    os.utime(a_tile, ns=(a_tile.stat().st_atime_ns, a_tile.stat().st_mtime_ns + 1_000_000_000))

    rebuilt = CountingValhalla(tiles)
    CachedTravel(rebuilt, store).table(points, points)

    assert rebuilt.asked == [(6, 6)]
    with Session(store) as session:
        versions = set(session.exec(select(TravelPair.data_version)).all())
    assert versions == {rebuilt.data_version}
    assert stored_pairs(store) == 36


def test_a_point_off_every_road_is_flagged_from_the_store_with_the_fallback_of_tonight(
    store: Engine,
    helsinki_tiles: Path,
) -> None:
    points = np.vstack([np.round(helsinki_points(3, seed=9), 5), [TAMPERE]])
    CachedTravel(CountingValhalla(helsinki_tiles), store).table(points, points)

    dearer = CountingValhalla(helsinki_tiles, fallback=Fallback(penalty=3.0))
    travel = CachedTravel(dearer, store)
    table = travel.table(points, points)

    assert dearer.asked == []
    assert table.unsnapped_origins.tolist() == [False, False, False, True]
    assert table.flagged[3, :3].all() and table.flagged[:3, 3].all() and not table.flagged[3, 3]
    straight = Fallback(penalty=3.0)
    expected = straight.minutes(straight.km(points[:1], points[3:]))[0, 0]
    assert table.minutes[0, 3] == pytest.approx(expected)
    assert [(i.lat, i.lon) for i in travel.issues() if i.kind == "no_road_nearby"] == [TAMPERE]


def test_without_a_store_a_run_still_routes_each_pair_once(helsinki_tiles: Path) -> None:
    engine = CountingValhalla(helsinki_tiles)
    travel = CachedTravel(engine, None)
    points = helsinki_points(5, seed=3)
    travel.durations(points[:1], points)
    travel.durations(points, points)

    assert engine.asked == [(1, 5), (4, 5)]


def test_an_osrm_server_with_a_data_version_is_cached_from_the_first_table_of_the_next_run(
    store: Engine, osrm_server: str
) -> None:
    points = helsinki_points(8, seed=11)
    CachedTravel(OSRMTravel(osrm_server, max_table_size=SERVER_MAX_TABLE), store).table(points, points)

    osrm = OSRMTravel(osrm_server, max_table_size=SERVER_MAX_TABLE)
    travel = CachedTravel(osrm, store)  # the next run: its server's version unknown until it answers
    travel.table(points, points)

    assert osrm.requests == 1  # one pair, to learn the data version; the rest from the store
    assert travel.key.data_version == roads.OSRM_DATA_VERSION
    assert travel.counts.pairs_from_store == 64 and travel.counts.pairs_routed == 0
