"""The road geometry of a drive through stops, from the embedded router and Valhalla's own server."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.roads import car_reachable
from connectors.roads import LocalValhalla, OSRMTravel, ValhallaHTTP, great_circle_km
from tests.connectors.roads.conftest import SERVER_MAX_TABLE, helsinki_points


def along(shape: tuple[tuple[float, float], ...]) -> float:
    """Km along a polyline."""
    arr = np.array(shape)
    return float(sum(great_circle_km(arr[i : i + 1], arr[i + 1 : i + 2])[0, 0] for i in range(len(arr) - 1)))


@pytest.fixture(scope="module")
def stops(helsinki_tiles: Path) -> np.ndarray:
    points = helsinki_points(30, seed=60)
    return points[np.flatnonzero(car_reachable(LocalValhalla(helsinki_tiles).table(points, points)))][:5]


def test_a_route_through_stops_follows_the_roads_the_matrix_drives(
    helsinki_tiles: Path, stops: np.ndarray
) -> None:
    local = LocalValhalla(helsinki_tiles)
    shape = local.route_shape(stops)
    table = local.table(stops, stops)

    assert shape is not None and len(shape) > 10 * len(stops)
    assert great_circle_km(np.array([shape[0]]), stops[:1])[0, 0] < 0.2
    assert great_circle_km(np.array([shape[-1]]), stops[-1:])[0, 0] < 0.2
    driven = sum(table.km[i, i + 1] for i in range(len(stops) - 1))
    assert along(shape) == pytest.approx(driven, rel=0.03)


def test_the_server_draws_the_same_route_as_the_embedded_router(
    helsinki_tiles: Path, valhalla_server: str, stops: np.ndarray
) -> None:
    server = ValhallaHTTP(valhalla_server)
    try:
        assert server.route_shape(stops) == LocalValhalla(helsinki_tiles).route_shape(stops)
    finally:
        server.close()


def test_a_drive_no_road_connects_has_no_shape(helsinki_tiles: Path) -> None:
    points = helsinki_points(40, seed=60)
    nothing_drives_to = points[8]  # see tests/sync/helsinki_book.py
    assert LocalValhalla(helsinki_tiles).route_shape(np.array([points[0], nothing_drives_to])) is None


def test_osrm_draws_a_route_along_its_roads_and_none_where_no_road_connects(osrm_server: str) -> None:
    osrm = OSRMTravel(osrm_server, max_table_size=SERVER_MAX_TABLE)
    points = helsinki_points(30, seed=60)
    try:
        # OSRM's car profile shuts other streets than Valhalla's: stops that OSRM can drive between.
        stops = points[np.flatnonzero(car_reachable(osrm.table(points, points)))][:5]
        shape = osrm.route_shape(stops)
        table = osrm.table(stops, stops)
        far = osrm.route_shape(np.array([stops[0], [61.4978, 23.7610]]))  # Tampere: off these roads
    finally:
        osrm.close()

    assert shape is not None and len(shape) > 10 * len(stops)
    driven = sum(table.km[i, i + 1] for i in range(len(stops) - 1))
    assert along(shape) == pytest.approx(driven, rel=0.03)
    assert far is None
