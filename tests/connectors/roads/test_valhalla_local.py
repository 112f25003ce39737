"""The embedded Valhalla router over tiles built from the Helsinki extract."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from connectors.roads import IssueKind, LocalValhalla, TravelError, ValhallaHTTP, great_circle_km
from planner.travel import TravelMatrix
from tests.connectors.roads.conftest import helsinki_points

FAR_AWAY = (61.4978, 23.7610)  # Tampere: 160 km north of every road in the tiles


@pytest.fixture(scope="module")
def local(helsinki_tiles: Path) -> LocalValhalla:
    return LocalValhalla(helsinki_tiles)


def test_the_embedded_router_is_a_travel_matrix(local: LocalValhalla) -> None:
    assert isinstance(local, TravelMatrix)


def test_road_minutes_are_longer_than_the_straight_line_and_plausible_for_a_city(
    local: LocalValhalla,
) -> None:
    points = helsinki_points(30, seed=1)
    table = local.table(points, points)
    crow_km = great_circle_km(points, points)
    routed = ~table.flagged & (crow_km > 0.3)
    assert routed.sum() > 300
    ratio = table.km[routed] / crow_km[routed]
    # Roads run longer than the straight line; only snapping a point to its street can shorten a pair.
    assert float(np.mean(ratio >= 1.0)) > 0.9
    assert 1.2 < float(np.median(ratio)) < 3.0
    speed_kmh = table.km[routed] / (table.minutes[routed] / 60.0)
    assert 5.0 < float(np.median(speed_kmh)) < 60.0  # central Helsinki, not a motorway


def test_distances_after_durations_of_the_same_points_route_once(helsinki_tiles: Path) -> None:
    local = LocalValhalla(helsinki_tiles)
    points = helsinki_points(8, seed=2)
    minutes = local.durations(points, points)
    first = local.table(points, points)
    km = local.distances(points, points)
    assert local.table(points, points) is first
    np.testing.assert_array_equal(minutes, first.minutes)
    np.testing.assert_array_equal(km, first.km)


def test_a_point_far_from_every_road_is_flagged_and_costed_by_the_fallback(local: LocalValhalla) -> None:
    points = np.vstack([helsinki_points(5, seed=3), FAR_AWAY])
    table = local.table(points, points)

    found = local.unreachable
    assert found.unsnapped_origins == (5,) and found.unsnapped_destinations == (5,)
    assert table.flagged[5, :5].all() and table.flagged[:5, 5].all()
    assert table.minutes[5, 5] == 0.0 and not table.flagged[5, 5]
    expected_km = (
        great_circle_km(points[5:], points[:5])[0] * local.fallback.circuity * local.fallback.penalty
    )
    np.testing.assert_allclose(table.km[5, :5], expected_km)
    np.testing.assert_allclose(table.minutes[5, :5], expected_km / local.fallback.speed_kmh * 60.0)
    assert np.isfinite(table.minutes).all()
    far = [i for i in local.issues() if (i.lat, i.lon) == FAR_AWAY]
    assert [i.kind for i in far] == [IssueKind.NO_ROAD_NEARBY]


def test_a_street_cars_cannot_leave_is_blamed_on_that_point_not_on_its_destinations(
    local: LocalValhalla,
) -> None:
    points = helsinki_points(40, seed=4)
    table = local.table(points, points)
    no_route = table.no_route
    assert no_route.any(), "the Helsinki extract has one-way and car-free streets"
    origins, destinations = table.blamed()
    others = ~np.eye(40, dtype=bool)
    cut_off = (no_route | ~others).all(axis=1)  # no car leaves these points for anywhere
    assert origins[cut_off].all()
    # Every missing route is laid at one of its ends, and far fewer points are named than touched.
    rows, cols = np.nonzero(no_route)
    assert all(origins[i] or destinations[j] for i, j in zip(rows, cols, strict=True))
    touched = no_route.any(axis=1) | no_route.any(axis=0)
    blamed = origins | destinations
    assert not (blamed & ~touched).any()
    assert blamed.sum() < touched.sum()
    assert local.unreachable.pairs == int(table.flagged.sum())


def test_embedded_minutes_match_valhallas_own_server_for_the_same_stops(
    local: LocalValhalla, valhalla_server: str
) -> None:
    points = helsinki_points(25, seed=5)
    server = ValhallaHTTP(valhalla_server, max_pairs=400)
    try:
        theirs = server.table(points, points)
    finally:
        server.close()
    ours = local.table(points, points)
    np.testing.assert_array_equal(ours.flagged, theirs.flagged)
    np.testing.assert_allclose(ours.minutes, theirs.minutes, atol=1e-9)
    np.testing.assert_allclose(ours.km, theirs.km, atol=1e-9)


def test_minutes_hardly_depend_on_how_a_matrix_is_cut_into_blocks(
    local: LocalValhalla, helsinki_tiles: Path
) -> None:
    points = helsinki_points(60, seed=6)
    whole = local.table(points, points)
    narrow = LocalValhalla(helsinki_tiles, max_pairs=150)  # 60 x 2 blocks: many sources, few targets
    cut = narrow.table(points, points)
    # What a matrix cache relies on: a pair's minutes barely depend on what else was asked with it
    # (CostMatrix is a bounded bidirectional search, not exact: a few pairs differ by seconds).
    np.testing.assert_array_equal(cut.flagged, whole.flagged)
    assert float(np.mean(cut.minutes == whole.minutes)) > 0.99
    assert float(np.abs(cut.minutes - whole.minutes).max()) < 1.0


def test_the_data_version_names_the_tiles(local: LocalValhalla, helsinki_tiles: Path) -> None:
    assert local.key.engine == "valhalla-local"
    assert local.key.profile == "auto"
    assert len(local.key.data_version) == 16
    assert LocalValhalla(helsinki_tiles).data_version == local.data_version


def test_a_directory_without_tiles_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="no Valhalla tiles"):
        LocalValhalla(tmp_path)


def test_an_unknown_costing_is_refused(helsinki_tiles: Path) -> None:
    with pytest.raises(TravelError, match="no costing 'hovercraft'"):
        LocalValhalla(helsinki_tiles, costing="hovercraft")
