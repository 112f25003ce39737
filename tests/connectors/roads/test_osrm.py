"""OSRMTravel against a small loopback server that answers like OSRM's /table service."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from connectors.osrm import OSRMTravel, TravelError
from emulators.server import serve
from planner.travel import TravelMatrix, great_circle_km

SPEED_KMH = 60.0
CIRCUITY = 1.25


@dataclass
class FakeOSRM:
    """Answers /table/v1/driving like osrm-routed: great-circle x circuity at 60 km/h."""

    max_table_size: int = 100
    fail_first: int = 0  # answer this many calls with 503 first
    unreachable_lat_above: float = 90.0  # points north of this cannot be routed to or from
    calls: list[int] = field(default_factory=list)  # coordinates per call

    def app(self) -> Starlette:
        async def table(request: Request) -> JSONResponse:
            if self.fail_first > 0:
                self.fail_first -= 1
                return JSONResponse({"message": "busy"}, status_code=503)
            raw = request.path_params["coordinates"]
            try:
                points = [tuple(map(float, p.split(","))) for p in raw.split(";")]
            except ValueError:
                return JSONResponse(
                    {"code": "InvalidUrl", "message": f"URL string malformed close to {raw[:20]}"},
                    status_code=400,
                )
            self.calls.append(len(points))
            if len(points) > self.max_table_size:
                return JSONResponse(
                    {"code": "TooBig", "message": "Too many table coordinates"}, status_code=400
                )
            if any(not (-90 <= lat <= 90 and -180 <= lon <= 180) for lon, lat in points):
                return JSONResponse(
                    {"code": "InvalidValue", "message": "Invalid coordinate value."},
                    status_code=400,
                )

            def indices(name: str) -> list[int]:
                value = request.query_params.get(name)
                return list(range(len(points))) if not value else [int(i) for i in value.split(";")]

            sources, destinations = indices("sources"), indices("destinations")
            latlon = np.array([(lat, lon) for lon, lat in points])
            km = great_circle_km(latlon[sources], latlon[destinations]) * CIRCUITY
            blocked = latlon[:, 0] > self.unreachable_lat_above
            durations: list[list[float | None]] = []
            distances: list[list[float | None]] = []
            for a, s in enumerate(sources):
                drow: list[float | None] = []
                mrow: list[float | None] = []
                for b, d in enumerate(destinations):
                    if (blocked[s] or blocked[d]) and s != d:
                        drow.append(None)
                        mrow.append(None)
                    else:
                        drow.append(round(km[a, b] / SPEED_KMH * 3600.0, 1))
                        mrow.append(round(km[a, b] * 1000.0, 1))
                durations.append(drow)
                distances.append(mrow)
            return JSONResponse(
                {
                    "code": "Ok",
                    "durations": durations,
                    "distances": distances,
                    "sources": [{"location": list(points[i]), "name": ""} for i in sources],
                    "destinations": [{"location": list(points[i]), "name": ""} for i in destinations],
                }
            )

        return Starlette(routes=[Route("/table/v1/driving/{coordinates:path}", table)])


@pytest.fixture
def fake() -> FakeOSRM:
    return FakeOSRM()


@pytest.fixture
def travel(fake: FakeOSRM) -> Iterator[OSRMTravel]:
    with serve(fake.app()) as running:
        client = OSRMTravel(running.url, initial_wait=0.01)
        yield client
        client.close()


def metro_points(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(41.6, 42.1, n), rng.uniform(-88.0, -87.5, n)])


def test_osrm_travel_is_a_travel_matrix(travel: OSRMTravel) -> None:
    assert isinstance(travel, TravelMatrix)


def test_durations_and_distances_are_minutes_and_kilometres(travel: OSRMTravel) -> None:
    origins, destinations = metro_points(4, 1), metro_points(3, 2)
    km = great_circle_km(origins, destinations) * CIRCUITY

    minutes = travel.durations(origins, destinations)
    distances = travel.distances(origins, destinations)

    assert minutes.shape == (4, 3)
    np.testing.assert_allclose(distances, km, atol=1e-3)
    np.testing.assert_allclose(minutes, km / SPEED_KMH * 60.0, atol=0.01)


def test_asking_for_distances_after_durations_costs_no_second_request(
    travel: OSRMTravel, fake: FakeOSRM
) -> None:
    points = metro_points(5, 3)
    travel.durations(points, points)
    travel.distances(points, points)
    assert len(fake.calls) == 1


def test_a_large_matrix_is_fetched_in_blocks_the_server_accepts(travel: OSRMTravel, fake: FakeOSRM) -> None:
    origins, destinations = metro_points(130, 4), metro_points(70, 5)

    minutes = travel.durations(origins, destinations)

    expected = great_circle_km(origins, destinations) * CIRCUITY / SPEED_KMH * 60.0
    np.testing.assert_allclose(minutes, expected, atol=0.01)
    assert max(fake.calls) <= fake.max_table_size
    assert len(fake.calls) == math.ceil(130 / 50) * math.ceil(70 / 50)


def test_few_destinations_leave_room_for_more_origins_per_request(travel: OSRMTravel, fake: FakeOSRM) -> None:
    travel.durations(metro_points(180, 6), metro_points(10, 7))
    assert len(fake.calls) == 2  # 90 origins + 10 destinations per request


def test_unroutable_pairs_come_back_as_infinite(fake: FakeOSRM) -> None:
    fake.unreachable_lat_above = 60.0
    island = np.array([[64.1, -21.9]])
    with serve(fake.app()) as running:
        travel = OSRMTravel(running.url)
        minutes = travel.durations(np.vstack([metro_points(2, 8), island]), metro_points(2, 9))
    assert np.isinf(minutes[2]).all()
    assert np.isfinite(minutes[:2]).all()


def test_busy_answers_are_retried(fake: FakeOSRM) -> None:
    fake.fail_first = 2
    with serve(fake.app()) as running:
        travel = OSRMTravel(running.url, initial_wait=0.01)
        minutes = travel.durations(metro_points(2, 10), metro_points(2, 11))
    assert np.isfinite(minutes).all()
    assert travel.requests == 3


def test_a_refused_request_names_osrms_code(travel: OSRMTravel) -> None:
    travel.max_locations = 1_000  # more than the server's table size
    with pytest.raises(TravelError, match="TooBig"):
        travel.durations(metro_points(120, 12), metro_points(1, 13))


def test_points_must_be_lat_lon_pairs(travel: OSRMTravel) -> None:
    with pytest.raises(ValueError, match="shape"):
        travel.durations(np.zeros((3, 3)), np.zeros((1, 2)))
