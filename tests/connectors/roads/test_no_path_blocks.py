"""A block in which no pair has a route is flagged like any unroutable pair, not refused.

Valhalla refuses a whole matrix request when none of its pairs has a path (error
442); a cache that asks only for a new point's pairs meets that whenever the new
point is on a street no car can reach.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from connectors.roads import LocalValhalla, OSRMTravel, ValhallaHTTP
from tests.connectors.roads.conftest import SERVER_MAX_PAIRS, SERVER_MAX_TABLE, helsinki_points

NOTHING_DRIVES_TO = 8  # of helsinki_points(40, seed=60)


def test_a_table_to_a_point_no_car_can_reach_is_all_flagged_on_the_embedded_router(
    helsinki_tiles: Path,
) -> None:
    points = helsinki_points(40, seed=60)
    others, stuck = points[:3], points[NOTHING_DRIVES_TO : NOTHING_DRIVES_TO + 1]

    table = LocalValhalla(helsinki_tiles).table(others, stuck)

    assert table.flagged.all() and np.isfinite(table.minutes).all()
    assert not table.unsnapped_destinations.any()  # on the road network: no route, not no road


def test_valhallas_server_answers_the_same_block_as_flagged_too(valhalla_server: str) -> None:
    points = helsinki_points(40, seed=60)
    server = ValhallaHTTP(valhalla_server, max_pairs=SERVER_MAX_PAIRS)
    try:
        table = server.table(points[:3], points[NOTHING_DRIVES_TO : NOTHING_DRIVES_TO + 1])
    finally:
        server.close()

    assert table.flagged.all() and server.unreachable.destinations == (0,)


def test_osrm_answers_a_point_to_itself(osrm_server: str) -> None:
    osrm = OSRMTravel(osrm_server, max_table_size=SERVER_MAX_TABLE)
    try:
        table = osrm.table(helsinki_points(1, seed=1), helsinki_points(1, seed=1))
    finally:
        osrm.close()

    assert table.minutes.tolist() == [[0.0]] and not table.flagged.any()
