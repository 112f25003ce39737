"""The engine-neutral parts: blocks under a server's limit, the fallback, blame, the factory."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.roads import (
    Fallback,
    GreatCircleTravel,
    LocalValhalla,
    OSRMTravel,
    RoadTable,
    RoutingConfig,
    RoutingEngine,
    ValhallaHTTP,
    great_circle_km,
    open_travel,
)
from connectors.roads.matrix import BlockLimit
from planner.travel import HaversineTravel
from tests.connectors.roads.conftest import helsinki_points


@given(
    n=st.integers(1, 400),
    m=st.integers(1, 400),
    pairs=st.one_of(st.none(), st.integers(1, 5_000)),
    locations=st.one_of(st.none(), st.integers(2, 300)),
)
def test_a_block_fits_every_limit_and_no_shape_needs_fewer_requests(
    n: int, m: int, pairs: int | None, locations: int | None
) -> None:
    limit = BlockLimit(max_locations=locations, max_pairs=pairs)
    rows, cols = limit.shape(n, m)
    assert 1 <= rows <= n and 1 <= cols <= m
    if pairs is not None:
        assert rows * cols <= pairs
    if locations is not None:
        assert rows + cols <= locations
    requests = math.ceil(n / rows) * math.ceil(m / cols)
    if pairs is not None:
        assert requests >= math.ceil(n * m / pairs)
    if pairs is None and locations is None:
        assert requests == 1


def test_identical_points_that_fit_are_one_block_even_when_twice_would_not() -> None:
    limit = BlockLimit(max_locations=100)
    assert limit.shape(100, 100, same_points=True) == (100, 100)
    assert limit.shape(100, 100) != (100, 100)


def test_the_fallback_is_the_straight_line_model_made_dearer() -> None:
    a, b = np.array([[60.17, 24.94]]), np.array([[60.18, 24.96]])
    rule = Fallback(speed_kmh=40.0, circuity=1.25, penalty=2.0)
    km = rule.km(a, b)
    np.testing.assert_allclose(km, great_circle_km(a, b) * 2.5)
    np.testing.assert_allclose(rule.minutes(km), km / 40.0 * 60.0)
    with pytest.raises(ValueError):
        Fallback(penalty=0.5)


def test_a_missing_route_is_blamed_on_the_end_that_misses_more() -> None:
    # Point 0 reaches nowhere; 1 -> 2 is missing too, and 2 is missed by two origins, 1 misses one.
    flagged = np.array([[False, True, True, True], [False, False, True, False], [False] * 4, [False] * 4])
    none = np.zeros(4, dtype=bool)
    table = RoadTable(np.zeros((4, 4)), np.zeros((4, 4)), flagged, none, none)
    origins, destinations = table.blamed()
    assert origins.tolist() == [True, False, False, False]
    assert destinations.tolist() == [False, False, True, False]
    found = table.unreachable
    assert (found.pairs, found.origins, found.destinations) == (4, (0,), (2,))


def test_an_unsnapped_point_is_not_blamed_on_the_points_it_would_reach() -> None:
    flagged = np.array([[False, True], [True, False]])
    table = RoadTable(
        np.zeros((2, 2)), np.zeros((2, 2)), flagged, np.array([False, True]), np.array([False, True])
    )
    found = table.unreachable
    assert found.origins == () and found.destinations == ()
    assert found.unsnapped_origins == (1,) and found.unsnapped_destinations == (1,)


def test_great_circle_travel_is_the_planners_haversine_model() -> None:
    points = helsinki_points(12, seed=50)
    ours, planners = GreatCircleTravel(45.0, 1.4), HaversineTravel(45.0, 1.4)
    np.testing.assert_allclose(ours.durations(points, points), planners.durations(points, points))
    np.testing.assert_allclose(ours.distances(points, points), planners.distances(points, points))
    assert not ours.unreachable and ours.data_version == "45kmh-x1.4"


def test_points_outside_latitude_and_longitude_are_refused() -> None:
    with pytest.raises(ValueError, match="lat"):
        GreatCircleTravel().durations([[24.9, 160.2]], [[91.0, 24.9]])
    with pytest.raises(ValueError, match="finite"):
        GreatCircleTravel().durations([[np.nan, 24.9]], [[60.1, 24.9]])


def test_the_factory_opens_each_engine_by_name(helsinki_tiles: Path) -> None:
    assert isinstance(open_travel(RoutingConfig()), GreatCircleTravel)
    local = open_travel(RoutingConfig(engine=RoutingEngine("valhalla-local"), tiles=helsinki_tiles))
    assert isinstance(local, LocalValhalla) and local.profile == "auto"
    http = open_travel(
        RoutingConfig(engine=RoutingEngine("valhalla"), url="http://127.0.0.1:1", profile="truck")
    )
    assert isinstance(http, ValhallaHTTP) and http.profile == "truck"
    osrm = open_travel(RoutingConfig(engine=RoutingEngine("osrm"), url="http://127.0.0.1:1", max_block=50))
    assert isinstance(osrm, OSRMTravel) and osrm.limit.max_pairs == 2_500
    assert osrm.fallback == Fallback(50.0, 1.3, 2.0)


def test_the_factory_says_which_setting_an_engine_lacks() -> None:
    with pytest.raises(ValueError, match="VALHALLA_TILES"):
        open_travel(RoutingConfig(engine=RoutingEngine.VALHALLA_LOCAL))
    with pytest.raises(ValueError, match="ROUTING_URL"):
        open_travel(RoutingConfig(engine=RoutingEngine.OSRM))
    with pytest.raises(ValueError):
        RoutingEngine("google")
