"""The PyVRP day router: windows, capacity, working time, optional stops, several days."""

from __future__ import annotations

import itertools

import numpy as np
from numpy.typing import NDArray

from planner.routing import DayFleet, RouteStop, improve_day, route_day, route_days


def grid_travel(n: int, seed: int = 0) -> NDArray[np.int64]:
    """Rounded Euclidean minutes between n random points on a 60 × 60 square; 0 is the depot."""
    pts = np.random.default_rng(seed).uniform(0, 60, size=(n, 2))
    pts[0] = (30, 30)
    diff = pts[:, None, :] - pts[None, :, :]
    return np.ceil(np.hypot(diff[..., 0], diff[..., 1])).astype(np.int64)


def test_every_stop_is_routed_once_and_routes_start_and_end_at_the_depot() -> None:
    travel = grid_travel(25)
    stops = [RouteStop(location=k, service=10, demand=1) for k in range(1, 25)]
    day = route_day(travel, stops, DayFleet(vehicles=3, capacity=10), max_iterations=300)
    visited = sorted(s for route in day.sequences() for s in route)
    assert visited == list(range(24))
    assert day.feasible
    expected = sum(
        int(travel[0, stops[r[0]].location])
        + sum(int(travel[stops[a].location, stops[b].location]) for a, b in itertools.pairwise(r))
        + int(travel[stops[r[-1]].location, 0])
        for r in day.sequences()
    )
    assert day.travel == expected


def test_capacity_is_never_exceeded() -> None:
    travel = grid_travel(21, seed=1)
    stops = [RouteStop(location=k, demand=3) for k in range(1, 21)]
    day = route_day(travel, stops, DayFleet(vehicles=6, capacity=12), max_iterations=300)
    assert day.feasible
    assert all(sum(stops[s].demand for s in route) <= 12 for route in day.sequences())


def test_service_starts_inside_each_time_window() -> None:
    travel = grid_travel(9, seed=2)
    windows = [(60, 90), (300, 330), (120, 200), None, None, (400, 420), None, None]
    stops = [RouteStop(location=k + 1, service=20, window=w) for k, w in enumerate(windows)]
    day = route_day(travel, stops, DayFleet(vehicles=1, opens=0, closes=600), max_iterations=300)
    assert day.feasible
    for route in day.routes:
        for s in route:
            w = stops[s.stop].window
            if w is not None:
                assert w[0] <= s.arrive <= w[1]
            assert s.depart == s.arrive + 20


def test_work_cap_leaves_out_optional_stops_rather_than_overrun() -> None:
    travel = grid_travel(12, seed=3)
    stops = [RouteStop(location=k, service=60, required=False, prize=10_000) for k in range(1, 12)]
    day = route_day(travel, stops, DayFleet(vehicles=1, max_work=300), max_iterations=300)
    assert day.feasible
    assert day.dropped  # eleven one-hour visits cannot fit in five hours
    for route in day.sequences():
        work = day.travel + 60 * len(route)
        assert work <= 300


def test_same_seed_same_routes() -> None:
    travel = grid_travel(30, seed=4)
    stops = [RouteStop(location=k, service=5, demand=1) for k in range(1, 30)]
    fleet = DayFleet(vehicles=4, capacity=9)
    first = route_day(travel, stops, fleet, seed=7, max_iterations=200)
    again = route_day(travel, stops, fleet, seed=7, max_iterations=200)
    assert first.sequences() == again.sequences()


def test_local_search_never_worsens_a_feasible_start() -> None:
    travel = grid_travel(16, seed=5)
    stops = [RouteStop(location=k, demand=1) for k in range(1, 16)]
    fleet = DayFleet(vehicles=2, capacity=8)
    start = [list(range(0, 8)), list(range(8, 15))]
    improved = improve_day(travel, stops, fleet, start)
    before = route_day(travel, stops, fleet, max_iterations=0, warm_start=start)
    assert improved.feasible
    assert improved.travel <= before.travel


def test_route_days_keeps_each_stop_within_its_days() -> None:
    travel = grid_travel(13, seed=6)
    allowed = [(0, 0), (1, 1), (2, 2), (0, 2), (1, 2), (0, 1)] * 2
    stops = [RouteStop(location=k + 1, service=10, days=d) for k, d in enumerate(allowed)]
    fleets = [DayFleet(vehicles=1) for _ in range(3)]
    plan = route_days(travel, stops, fleets, max_iterations=300)
    assert plan.feasible and plan.dropped == ()
    for d, day in enumerate(plan.days):
        for route in day.sequences():
            for s in route:
                first, last = allowed[s]
                assert first <= d <= last
