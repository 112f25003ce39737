"""Route days of fleets with PyVRP: the only module that imports pyvrp.

`route_day` takes an integer travel matrix, the stops of the day and the fleet
that serves them, and returns the routes in visiting order with arrival times;
`route_days` does the same for several days in one model, choosing the day of
every stop that may go on more than one.
Everything above it (call plans, the periodic engine, the benchmarks) speaks
plain tuples of stop indices, so the solver can be swapped here alone.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
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
    Route,
    Solution,
    SolveParams,
    VehicleType,
    solve,
)
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
    days: tuple[int, int] | None = None  # (first, last) day index for `route_days`; None: any


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


@dataclass(frozen=True, slots=True)
class PlanRoutes:
    """Routes of several days (`route_days`); `dropped` lists optional stops left out."""

    days: tuple[DayRoutes, ...]
    dropped: tuple[int, ...]
    feasible: bool

    @property
    def travel(self) -> int:
        return sum(d.travel for d in self.days)


def route_day(
    travel: NDArray[np.int64],
    stops: Sequence[RouteStop],
    fleet: DayFleet,
    *,
    seed: int = 0,
    max_iterations: int | None = 2_000,
    time_limit: float = 10.0,
    warm_start: Sequence[Sequence[int]] | None = None,
    coordinates: NDArray[np.float64] | None = None,
) -> DayRoutes:
    """Route one day's stops with PyVRP's iterated local search.

    Stops after `max_iterations` (deterministic for a given seed) or
    `time_limit` seconds, whichever comes first; pass `max_iterations=None` to
    use the whole time. `warm_start` is a list of routes of stop indices;
    `coordinates` (x, y per matrix location) only help PyVRP break ties.
    """
    one_day = [replace(s, days=None) for s in stops]
    plan = route_days(
        travel,
        one_day,
        [fleet],
        seed=seed,
        max_iterations=max_iterations,
        time_limit=time_limit,
        warm_start=[warm_start] if warm_start else None,
    )
    return replace(plan.days[0], dropped=plan.dropped, feasible=plan.feasible)


def route_days(
    travel: NDArray[np.int64],
    stops: Sequence[RouteStop],
    fleets: Sequence[DayFleet],
    *,
    seed: int = 0,
    max_iterations: int | None = 2_000,
    time_limit: float = 10.0,
    warm_start: Sequence[Sequence[Sequence[int]]] | None = None,
    coordinates: NDArray[np.float64] | None = None,
) -> PlanRoutes:
    """Route several days at once: each stop is visited once, on a day within its `days`.

    One PyVRP model holds every day: day d's vehicles work in the time slice
    [d*H, (d+1)*H) and a stop's window admits only the slices of its days, so
    PyVRP's own moves between routes also move stops between days. `warm_start`
    gives, per day, routes of stop indices.
    """
    if not stops:
        empty = DayRoutes(routes=(), dropped=(), travel=0, feasible=True)
        return PlanRoutes(days=tuple(empty for _ in fleets), dropped=(), feasible=True)
    model = _MultiDay(np.asarray(travel, dtype=np.int64), stops, fleets, coordinates)
    criteria: list[StoppingCriterion] = [MaxRuntime(max(time_limit, 0.0))]
    if max_iterations is not None:
        criteria.append(MaxIterations(max_iterations))
    initial = model.solution(warm_start) if warm_start else None
    # PyVRP's own defaults: bench/vrptw.py checks that this wrapper loses nothing to them.
    params = SolveParams()
    result = solve(
        model.data,
        MultipleCriteria(criteria),
        seed=seed,
        collect_stats=False,
        display=False,
        params=params,
        initial_solution=initial,
    )
    return model.read(result.best)


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
    model = _MultiDay(np.asarray(travel, dtype=np.int64), [replace(s, days=None) for s in stops], [fleet])
    data = model.data
    start = model.solution([routes])
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
    plan = model.read(best)
    return replace(plan.days[0], dropped=plan.dropped, feasible=plan.feasible)


_STRICT = 1_000.0


class _MultiDay:
    """The PyVRP model of several days: one vehicle type per day, days as time slices."""

    def __init__(
        self,
        travel: NDArray[np.int64],
        stops: Sequence[RouteStop],
        fleets: Sequence[DayFleet],
        coordinates: NDArray[np.float64] | None = None,
    ) -> None:
        self.travel = travel
        self.stops = stops
        self.fleets = fleets
        n_days = len(fleets)
        depot_locs = list(dict.fromkeys(loc for f in fleets for loc in (f.start, f.end)))
        depot_index = {loc: k for k, loc in enumerate(depot_locs)}
        matrix_index = depot_locs + [s.location for s in stops]
        sub = travel[np.ix_(matrix_index, matrix_index)]
        n_dep = len(depot_locs)
        # A day's slice must outlast any route of it, even a badly penalised one.
        bound = int(sum(s.service for s in stops)) + (len(stops) + 1) * int(sub.max(initial=0))
        latest = max((f.closes or 0) for f in fleets)
        earliest = max(f.opens for f in fleets)
        self.H = max(latest, earliest + bound) + 1
        H = self.H
        service = np.array([0] * n_dep + [s.service for s in stops], dtype=np.int64)
        # "Distance" is travel plus the service at the arrival end, so a cap on it caps work
        # (travel + service) without counting waits; only the cap and prizes see the constant.
        capped = any(f.max_work is not None for f in fleets)
        distance = sub + service[None, :] if capped else sub.copy()
        np.fill_diagonal(distance, 0)
        duration = sub.copy()
        np.fill_diagonal(duration, 0)
        with_capacity = any(f.capacity is not None for f in fleets)
        # Coordinates only guide PyVRP's geometric tie-breaks; the matrix is the truth.
        if coordinates is None:
            locations = [Location(0, 0) for _ in matrix_index]
        else:
            locations = [Location(float(coordinates[k, 0]), float(coordinates[k, 1])) for k in matrix_index]
        depots = [Depot(location=k, tw_early=0, tw_late=n_days * H) for k in range(n_dep)]
        clients = []
        for k, s in enumerate(stops):
            first, last = s.days if s.days is not None else (0, n_days - 1)
            if s.window is not None:
                if first != last:
                    raise ValueError(f"stop {k} has a time window but may go on several days")
                early, late = first * H + s.window[0], first * H + s.window[1]
            else:
                early, late = first * H, last * H + H - 1
            clients.append(
                Client(
                    location=n_dep + k,
                    delivery=[s.demand] if with_capacity else [],
                    service_duration=s.service,
                    tw_early=early,
                    tw_late=late,
                    prize=s.prize,
                    required=s.required,
                )
            )
        vehicles = []
        for d, f in enumerate(fleets):
            vehicles.append(
                VehicleType(
                    num_available=max(f.vehicles, 1),
                    capacity=([f.capacity if f.capacity is not None else UNBOUNDED] if with_capacity else []),
                    start_depot=depot_index[f.start],
                    end_depot=depot_index[f.end],
                    tw_early=d * H + f.opens,
                    tw_late=d * H + (f.closes if f.closes is not None else H - 1),
                    max_distance=f.max_work if f.max_work is not None else UNBOUNDED,
                )
            )
        # PyVRP's stubs type matrices loosely; these are int64 arrays as it expects.
        distances: list[Any] = [distance]
        durations: list[Any] = [duration]
        self.data = ProblemData(locations, clients, depots, vehicles, distances, durations)

    def solution(self, routes_per_day: Sequence[Sequence[Sequence[int]]]) -> Solution:
        routes = [
            Route(self.data, list(route), d) for d, day in enumerate(routes_per_day) for route in day if route
        ]
        return Solution(self.data, routes)

    def read(self, best: Solution) -> PlanRoutes:
        per_day: list[list[tuple[ScheduledStop, ...]]] = [[] for _ in self.fleets]
        visited: set[int] = set()
        for route in best.routes():
            d = route.vehicle_type()
            offset = d * self.H
            scheduled = []
            for activity in route:
                if not activity.is_client():
                    continue
                k = activity.idx
                visited.add(k)
                scheduled.append(ScheduledStop(k, activity.start_time - offset, activity.end_time - offset))
            if scheduled:
                per_day[d].append(tuple(scheduled))
        days = []
        for d, routes in enumerate(per_day):
            fleet = self.fleets[d]
            total = sum(
                route_travel(self.travel, [self.stops[s.stop].location for s in r], fleet.start, fleet.end)
                for r in routes
            )
            days.append(DayRoutes(routes=tuple(routes), dropped=(), travel=total, feasible=True))
        dropped = tuple(k for k in range(len(self.stops)) if k not in visited)
        feasible = best.is_feasible() and all(not self.stops[k].required for k in dropped)
        return PlanRoutes(days=tuple(days), dropped=dropped, feasible=feasible)


def route_travel(
    travel: NDArray[np.int64], locations: Sequence[int], start: int | None, end: int | None
) -> int:
    """Travel along `locations`, from `start` and back to `end` when given."""
    path = ([start] if start is not None else []) + list(locations)
    path += [end] if end is not None else []
    return int(sum(int(travel[a, b]) for a, b in itertools.pairwise(path)))
