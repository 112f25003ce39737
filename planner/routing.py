"""Route one day's fleet with PyVRP: the only module that imports pyvrp.

`route_day` takes an integer travel matrix, the stops of the day and the fleet
that serves them, and returns the routes in visiting order with arrival times.
Everything above it (call plans, the periodic engine, the benchmarks) speaks
plain tuples of stop indices, so the solver can be swapped here alone.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pyvrp import (
    Client,
    CostEvaluator,
    Depot,
    Location,
    ProblemData,
    RandomNumberGenerator,
    Solution,
    SolveParams,
    VehicleType,
    solve,
)
from pyvrp.IteratedLocalSearch import IteratedLocalSearchParams
from pyvrp.search import OPERATORS, LocalSearch, compute_neighbours
from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria, StoppingCriterion

# PyVRP's "unbounded" is a large int; staying well below it keeps sums from overflowing.
UNBOUNDED = 2**40


@dataclass(frozen=True, slots=True)
class RouteStop:
    """One visit to make today.

    `location` indexes the travel matrix. `window` bounds the *start* of service;
    arriving early means waiting. An optional stop (`required=False`) may be left
    out at the cost of its `prize`.
    """

    location: int
    service: int = 0
    demand: int = 0
    window: tuple[int, int] | None = None
    required: bool = True
    prize: int = 0


@dataclass(frozen=True, slots=True)
class DayFleet:
    """The vehicles of one day: all leave `start` and return to `end`.

    `max_work` caps travel + service per route (waiting is not work: a rep who
    waits for a 14:00 appointment can do admin). `opens`/`closes` bound the
    departure and the return.
    """

    vehicles: int = 1
    start: int = 0
    end: int = 0
    capacity: int | None = None
    max_work: int | None = None
    opens: int = 0
    closes: int | None = None


@dataclass(frozen=True, slots=True)
class ScheduledStop:
    stop: int  # index into the stops handed to `route_day`
    arrive: int  # start of service (after any wait)
    depart: int


@dataclass(frozen=True, slots=True)
class DayRoutes:
    """The routes of one day. `dropped` lists optional stops left out."""

    routes: tuple[tuple[ScheduledStop, ...], ...]
    dropped: tuple[int, ...]
    travel: int  # total travel over all routes, in matrix units
    feasible: bool

    def sequences(self) -> tuple[tuple[int, ...], ...]:
        return tuple(tuple(s.stop for s in route) for route in self.routes)


def route_day(
    travel: NDArray[np.int64],
    stops: Sequence[RouteStop],
    fleet: DayFleet,
    *,
    seed: int = 0,
    max_iterations: int | None = 2_000,
    time_limit: float = 10.0,
    warm_start: Sequence[Sequence[int]] | None = None,
) -> DayRoutes:
    """Route the day's stops with PyVRP's iterated local search.

    Stops after `max_iterations` (deterministic for a given seed) or
    `time_limit` seconds, whichever comes first; pass `max_iterations=None` to
    use the whole time. `warm_start` is a list of routes of stop indices.
    """
    if not stops:
        return DayRoutes(routes=(), dropped=(), travel=0, feasible=True)
    data = _problem_data(np.asarray(travel, dtype=np.int64), stops, fleet)
    criteria: list[StoppingCriterion] = [MaxRuntime(max(time_limit, 0.0))]
    if max_iterations is not None:
        criteria.append(MaxIterations(max_iterations))
    initial = None
    if warm_start:
        initial = Solution(data, [list(r) for r in warm_start if r])
    params = SolveParams(ils=IteratedLocalSearchParams(num_iters_no_improvement=20_000))
    result = solve(
        data,
        MultipleCriteria(criteria),
        seed=seed,
        collect_stats=False,
        display=False,
        params=params,
        initial_solution=initial,
    )
    return _day_routes(result.best, travel, stops, fleet)


def improve_day(
    travel: NDArray[np.int64],
    stops: Sequence[RouteStop],
    fleet: DayFleet,
    routes: Sequence[Sequence[int]],
    *,
    seed: int = 0,
) -> DayRoutes:
    """Descend from `routes` to a local optimum with PyVRP's local search (milliseconds).

    Cheaper than `route_day` and never worse than its input when that is feasible:
    the call planner and the periodic engine use it after every pattern change.
    """
    if not stops:
        return DayRoutes(routes=(), dropped=(), travel=0, feasible=True)
    data = _problem_data(np.asarray(travel, dtype=np.int64), stops, fleet)
    start = Solution(data, [list(r) for r in routes if r])
    rng = RandomNumberGenerator(seed=seed)
    search = LocalSearch(data, rng, compute_neighbours(data))
    for op in OPERATORS:
        if op.supports(data):
            search.add_operator(op(data))
    # Penalties far above any travel saving keep a feasible start feasible.
    n_loads = 1 if fleet.capacity is not None else 0
    strict = CostEvaluator([_STRICT] * n_loads, _STRICT, _STRICT)
    improved = search(start, strict, exhaustive=True)
    best = improved if strict.penalised_cost(improved) <= strict.penalised_cost(start) else start
    return _day_routes(best, travel, stops, fleet)


_STRICT = 1_000.0


def _problem_data(travel: NDArray[np.int64], stops: Sequence[RouteStop], fleet: DayFleet) -> ProblemData:
    # Local location list: the fleet's start (and end, if different) first, then one per stop.
    depot_locs = [fleet.start] if fleet.end == fleet.start else [fleet.start, fleet.end]
    matrix_index = depot_locs + [s.location for s in stops]
    sub = travel[np.ix_(matrix_index, matrix_index)]
    closes = fleet.closes if fleet.closes is not None else UNBOUNDED
    n_dep = len(depot_locs)
    service = np.array([0] * n_dep + [s.service for s in stops], dtype=np.int64)
    # "Distance" is travel plus the service at the arrival end, so a cap on it caps work
    # (travel + service) without counting waits; only the cap and prizes see the constant.
    distance = sub + service[None, :] if fleet.max_work is not None else sub.copy()
    np.fill_diagonal(distance, 0)
    duration = sub.copy()
    np.fill_diagonal(duration, 0)
    locations = [Location(0, 0) for _ in matrix_index]
    depots = [Depot(location=i, tw_early=fleet.opens, tw_late=closes) for i in range(n_dep)]
    clients = []
    for k, s in enumerate(stops):
        early, late = s.window if s.window is not None else (fleet.opens, closes)
        clients.append(
            Client(
                location=n_dep + k,
                delivery=[s.demand] if fleet.capacity is not None else [],
                service_duration=s.service,
                tw_early=early,
                tw_late=late,
                prize=s.prize,
                required=s.required,
            )
        )
    vehicle = VehicleType(
        num_available=max(fleet.vehicles, 1),
        capacity=[fleet.capacity] if fleet.capacity is not None else [],
        start_depot=0,
        end_depot=n_dep - 1,
        tw_early=fleet.opens,
        tw_late=closes,
        max_distance=fleet.max_work if fleet.max_work is not None else UNBOUNDED,
    )
    # PyVRP's stubs type matrices loosely; these are int64 arrays as it expects.
    distances: list[Any] = [distance]
    durations: list[Any] = [duration]
    return ProblemData(locations, clients, depots, [vehicle], distances, durations)


def _day_routes(
    best: Solution, travel: NDArray[np.int64], stops: Sequence[RouteStop], fleet: DayFleet
) -> DayRoutes:
    routes: list[tuple[ScheduledStop, ...]] = []
    visited: set[int] = set()
    for route in best.routes():
        scheduled = []
        for activity in route:
            if not activity.is_client():
                continue
            k = activity.idx
            visited.add(k)
            scheduled.append(ScheduledStop(k, activity.start_time, activity.end_time))
        if scheduled:
            routes.append(tuple(scheduled))
    dropped = tuple(k for k in range(len(stops)) if k not in visited)
    total = 0
    for route_ in routes:
        locs = [stops[s.stop].location for s in route_]
        total += route_travel(travel, locs, fleet.start, fleet.end)
    return DayRoutes(
        routes=tuple(routes),
        dropped=dropped,
        travel=total,
        feasible=best.is_feasible() and all(stops[k].required is False for k in dropped),
    )


def route_travel(
    travel: NDArray[np.int64], locations: Sequence[int], start: int | None, end: int | None
) -> int:
    """Travel along `locations`, from `start` and back to `end` when given."""
    path = ([start] if start is not None else []) + list(locations)
    path += [end] if end is not None else []
    return int(sum(int(travel[a, b]) for a, b in itertools.pairwise(path)))
