"""OSRMTravel against OSRM's own `osrm-routed` (MLD) over the Helsinki extract, on loopback.

The server is started with `--max-table-size 20` (it refuses more than 20² pairs),
so blocking is exercised against the server's own refusal; it snaps points however far away, so the client's
snap distance is what keeps a point 160 km off the map from being routed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest

from connectors.roads import OSRMTravel, TravelError, great_circle_km
from planner.travel import TravelMatrix
from tests.connectors.roads.conftest import OSRM_DATA_VERSION, SERVER_MAX_TABLE, FlakyProxy, helsinki_points

FAR_AWAY = (61.4978, 23.7610)  # Tampere


@pytest.fixture
def osrm(osrm_server: str) -> Iterator[OSRMTravel]:
    client = OSRMTravel(osrm_server, max_table_size=SERVER_MAX_TABLE, initial_wait=0.01)
    yield client
    client.close()


def test_osrm_travel_is_a_travel_matrix(osrm: OSRMTravel) -> None:
    assert isinstance(osrm, TravelMatrix)


def test_durations_and_distances_are_minutes_and_kilometres_by_road(osrm: OSRMTravel) -> None:
    origins, destinations = helsinki_points(6, seed=30), helsinki_points(5, seed=31)

    minutes = osrm.durations(origins, destinations)
    km = osrm.distances(origins, destinations)

    assert minutes.shape == km.shape == (6, 5)
    crow = great_circle_km(origins, destinations)
    routed = ~osrm.table(origins, destinations).flagged & (crow > 0.3)
    assert routed.any()
    assert float(np.median(km[routed] / crow[routed])) > 1.1  # streets, not straight lines
    speed_kmh = km[routed] / (minutes[routed] / 60.0)
    assert 5.0 < float(np.median(speed_kmh)) < 60.0


def test_asking_for_distances_after_durations_costs_no_second_request(osrm: OSRMTravel) -> None:
    points = helsinki_points(5, seed=32)
    osrm.durations(points, points)
    osrm.distances(points, points)
    assert osrm.requests == 1


def test_a_large_matrix_is_fetched_in_blocks_the_server_accepts(osrm: OSRMTravel, osrm_server: str) -> None:
    origins, destinations = helsinki_points(40, seed=33), helsinki_points(25, seed=34)

    table = osrm.table(origins, destinations)

    # 1,000 pairs under 400 a request (20 x 20) and 40 coordinates a request: 3 requests (40 x 10).
    assert osrm.requests == 3
    whole = OSRMTravel(osrm_server, max_table_size=SERVER_MAX_TABLE)
    for i in (0, 17, 39):  # one origin at a time: the same minutes from differently cut blocks
        row = whole.table(origins[i : i + 1], destinations)
        np.testing.assert_allclose(row.minutes[0], table.minutes[i], atol=1e-9)


def test_identical_origins_and_destinations_are_sent_once(osrm: OSRMTravel) -> None:
    points = helsinki_points(2 * SERVER_MAX_TABLE, seed=35)  # 1,600 pairs: 4 blocks of 20 x 20
    table = osrm.table(points, points)
    assert osrm.requests == 4
    assert (np.diag(table.minutes) == 0).all()


def test_a_point_far_off_the_map_is_flagged_though_osrm_snaps_it(osrm: OSRMTravel) -> None:
    points = np.vstack([helsinki_points(4, seed=36), FAR_AWAY])

    table = osrm.table(points, points)

    assert osrm.unreachable.unsnapped_origins == (4,)
    assert osrm.unreachable.unsnapped_destinations == (4,)
    assert table.flagged[4, :4].all() and table.flagged[:4, 4].all()
    fallback_km = great_circle_km(points[4:], points[:4])[0] * osrm.fallback.circuity * osrm.fallback.penalty
    np.testing.assert_allclose(table.km[4, :4], fallback_km)


def test_busy_answers_are_retried(flaky_osrm: tuple[FlakyProxy, str]) -> None:
    proxy, url = flaky_osrm
    proxy.fail_next = 2
    client = OSRMTravel(url, initial_wait=0.01)
    minutes = client.durations(helsinki_points(2, seed=37), helsinki_points(2, seed=38))
    assert np.isfinite(minutes).all()
    assert client.requests == 3 and len(proxy.failed) == 2


def test_a_refused_request_names_the_server_and_osrms_code(osrm_server: str) -> None:
    greedy = OSRMTravel(osrm_server, max_table_size=40)  # more than the server's table size
    with pytest.raises(TravelError, match=rf"^OSRM at {osrm_server} refused the table request: TooBig"):
        greedy.durations(helsinki_points(30, seed=39), helsinki_points(30, seed=40))


def test_the_data_version_is_the_one_osrm_extract_was_given(osrm: OSRMTravel) -> None:
    osrm.durations(helsinki_points(2, seed=41), helsinki_points(2, seed=42))
    assert osrm.data_version == OSRM_DATA_VERSION
    assert osrm.key.engine == "osrm" and osrm.key.profile == "driving"


def test_points_must_be_lat_lon_pairs(osrm: OSRMTravel) -> None:
    with pytest.raises(ValueError, match="shape"):
        osrm.durations(np.zeros((3, 3)), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="lat"):
        osrm.durations(np.array([[24.94, 160.17]]), np.array([[95.0, 24.9]]))


def test_a_long_column_goes_in_as_few_requests_as_the_url_allows(osrm: OSRMTravel) -> None:
    n, m = 100, 3  # 300 pairs fit the table size; 103 coordinates do not fit one URL of 40
    osrm.durations(helsinki_points(n, seed=43), helsinki_points(m, seed=44))
    assert osrm.requests == math.ceil(n / (2 * SERVER_MAX_TABLE - m))
