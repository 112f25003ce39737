"""ValhallaHTTP against Valhalla's own `valhalla_service` over the Helsinki tiles, on loopback."""

from __future__ import annotations

import math
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from connectors.roads import LocalValhalla, TravelError, ValhallaHTTP
from connectors.roads.valhalla import matrix_request, parse_matrix
from planner.travel import TravelMatrix
from tests.connectors.roads.conftest import SERVER_MAX_PAIRS, FlakyProxy, helsinki_points


@pytest.fixture
def server(valhalla_server: str) -> Iterator[ValhallaHTTP]:
    client = ValhallaHTTP(valhalla_server, max_pairs=SERVER_MAX_PAIRS, initial_wait=0.01)
    yield client
    client.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_http_client_is_a_travel_matrix(server: ValhallaHTTP) -> None:
    assert isinstance(server, TravelMatrix)


def test_a_matrix_larger_than_the_servers_limit_goes_in_blocks_it_accepts(
    server: ValhallaHTTP, helsinki_tiles: Path
) -> None:
    origins, destinations = helsinki_points(45, seed=10), helsinki_points(30, seed=11)

    table = server.table(origins, destinations)

    # 1,350 pairs under a 400-pair limit: at least 4 requests, and 4 it takes (45 x 8 = 360 pairs each).
    assert server.requests == math.ceil(45 * 30 / SERVER_MAX_PAIRS) == 4
    embedded = LocalValhalla(helsinki_tiles).table(origins, destinations)
    np.testing.assert_allclose(table.minutes, embedded.minutes, atol=1e-9)
    np.testing.assert_array_equal(table.flagged, embedded.flagged)


def test_a_block_over_the_servers_limit_is_refused_with_the_servers_name_and_reason(
    valhalla_server: str,
) -> None:
    greedy = ValhallaHTTP(valhalla_server, max_pairs=10_000)
    points = helsinki_points(25, seed=12)  # 625 pairs in one request
    with pytest.raises(TravelError, match=rf"^Valhalla at {valhalla_server} refused .*Exceeded max"):
        greedy.durations(points, points)


def test_a_point_with_no_road_nearby_is_located_and_flagged_not_fatal(server: ValhallaHTTP) -> None:
    points = np.vstack([helsinki_points(6, seed=13), [[61.4978, 23.7610]]])

    table = server.table(points, points)

    assert server.unreachable.unsnapped_origins == (6,)
    assert table.flagged[6, :6].all() and np.isfinite(table.minutes).all()
    assert not table.flagged[:6, :6][table.no_route[:6, :6] == 0].any()


def test_busy_answers_are_retried(flaky_valhalla: tuple[FlakyProxy, str]) -> None:
    proxy, url = flaky_valhalla
    proxy.fail_next = 2
    client = ValhallaHTTP(url, initial_wait=0.01, data_version="pinned")
    minutes = client.durations(helsinki_points(3, seed=14), helsinki_points(2, seed=15))
    assert minutes.shape == (3, 2)
    assert proxy.failed == ["/sources_to_targets", "/sources_to_targets"]
    assert client.requests == 3


def test_a_server_that_stays_busy_fails_with_one_line_naming_it(
    flaky_valhalla: tuple[FlakyProxy, str],
) -> None:
    proxy, url = flaky_valhalla
    proxy.fail_next = 10
    client = ValhallaHTTP(url, initial_wait=0.01, attempts=3, data_version="pinned")
    with pytest.raises(TravelError, match=rf"^Valhalla at {url} still answered 503 after 3 attempts$"):
        client.durations(helsinki_points(2, seed=16), helsinki_points(2, seed=17))


def test_credentials_in_the_url_stay_out_of_errors_and_reprs() -> None:
    port = _closed_port()
    client = ValhallaHTTP(
        f"http://router:s3cret@127.0.0.1:{port}/valhalla?api_key=k3y", attempts=2, initial_wait=0.01
    )
    with pytest.raises(TravelError) as refused:
        client.durations(helsinki_points(2, seed=18), helsinki_points(2, seed=19))
    message = str(refused.value)
    server = f"Valhalla at http://127.0.0.1:{port}/valhalla"
    assert message == f"{server} could not be reached after 2 attempts (ConnectError)"
    for text in (message, repr(client)):
        assert "s3cret" not in text and "k3y" not in text and "router" not in text


def test_the_data_version_is_the_servers_version_and_tileset_time(server: ValhallaHTTP) -> None:
    status = httpx.get(f"{server.base_url}/status").json()
    assert server.data_version == f"{status['version']}@{status['tileset_last_modified']}"
    assert server.key.engine == "valhalla"


def test_older_servers_verbose_answers_read_the_same_as_concise_ones(valhalla_server: str) -> None:
    origins, destinations = helsinki_points(4, seed=20), helsinki_points(3, seed=21)
    request = matrix_request(origins, destinations, "auto", 2_000.0)
    concise = httpx.post(f"{valhalla_server}/sources_to_targets", json=request).json()
    verbose = httpx.post(f"{valhalla_server}/sources_to_targets", json={**request, "verbose": True}).json()
    assert isinstance(verbose["sources_to_targets"], list)

    minutes, km = parse_matrix(verbose, 4, 3)
    want_minutes, want_km = parse_matrix(concise, 4, 3)
    np.testing.assert_array_equal(np.isnan(minutes), np.isnan(want_minutes))
    np.testing.assert_allclose(minutes, want_minutes, equal_nan=True)
    np.testing.assert_allclose(km, want_km, equal_nan=True)
