"""Cordeau's periodic VRP instances (Cordeau, Gendreau & Laporte 1997): read, solve with our engine, write.

`parse_cordeau` reads an instance from its *text* (the caller reads the file),
`solve_pvrp` maps it onto `planner.periodic.solve_periodic` and back, and
`format_res` writes the solution in the BKS files' format
(`total`, then `day vehicle duration load 0 c1 … 0` per route).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from planner.periodic import EngineParams, PeriodicProblem, PeriodicStop, solve_periodic
from planner.routing import DayFleet

# Euclidean distances become integers for the router: scaled and rounded *up*, so a
# route that meets a duration limit in integers also meets it in exact arithmetic.
# The scale keeps the longest edge near 10^4-10^5: finer costs little precision, but
# much larger distances dwarf PyVRP's capacity penalties (capped at 10^5 a unit).
LONGEST_EDGE = 100_000


def scale_of(instance: PVRPInstance) -> int:
    """A power of ten that brings the instance's longest edge to at most `LONGEST_EDGE`."""
    longest = float(instance.distances().max(initial=0.0))
    if longest <= 0.0:
        return 1000
    return int(10 ** max(0, math.floor(math.log10(LONGEST_EDGE / longest))))


@dataclass(frozen=True, slots=True)
class PVRPCustomer:
    id: int
    x: float
    y: float
    service: float
    demand: int
    frequency: int
    patterns: tuple[tuple[int, ...], ...]  # allowed visit days, 0-based


@dataclass(frozen=True)
class PVRPInstance:
    name: str
    vehicles: int  # per day
    n_days: int
    max_duration: tuple[float, ...]  # per day; 0 = no limit
    capacity: tuple[int, ...]  # per day
    depot: tuple[float, float]
    customers: tuple[PVRPCustomer, ...]

    def distances(self) -> NDArray[np.float64]:
        """Exact Euclidean distances, depot first, then customers in file order."""
        pts = np.array([self.depot, *((c.x, c.y) for c in self.customers)], dtype=np.float64)
        return np.asarray(np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1)))


@dataclass(frozen=True, slots=True)
class PVRPRoute:
    day: int  # 1-based, as in the solution files
    vehicle: int  # 1-based within the day
    customers: tuple[int, ...]  # customer ids in visiting order
    duration: float  # travel + service
    load: int
    distance: float


@dataclass(frozen=True)
class PVRPSolution:
    instance: str
    routes: tuple[PVRPRoute, ...]
    cost: float
    unserved: tuple[int, ...]  # customer ids that could not be scheduled
    seconds: float


def pattern_days(code: int, n_days: int) -> tuple[int, ...]:
    """Days (0-based) of a pattern code: its `n_days`-bit binary form, leftmost bit = day 1."""
    return tuple(d for d in range(n_days) if (code >> (n_days - 1 - d)) & 1)


def parse_cordeau(text: str, name: str = "") -> PVRPInstance:
    """Parse a Cordeau-format PVRP instance (type 1) from its text."""
    lines = [ln.split() for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise ValueError(f"{name or 'instance'}: empty text")
    kind, m, n, t = (int(v) for v in lines[0][:4])
    if kind != 1:
        raise ValueError(f"{name}: problem type {kind} is not the PVRP (type 1)")
    limits = [(float(row[0]), int(float(row[1]))) for row in lines[1 : 1 + t]]
    nodes = lines[1 + t : 1 + t + n + 1]
    if len(nodes) != n + 1:
        raise ValueError(f"{name}: expected {n + 1} node lines, found {len(nodes)}")
    depot = (float(nodes[0][1]), float(nodes[0][2]))
    customers = []
    for row in nodes[1:]:
        cid, x, y, service, demand, freq, n_pat = row[:7]
        codes = [int(c) for c in row[7 : 7 + int(n_pat)]]
        patterns = tuple(dict.fromkeys(pattern_days(c, t) for c in codes))
        customers.append(
            PVRPCustomer(
                id=int(cid),
                x=float(x),
                y=float(y),
                service=float(service),
                demand=int(float(demand)),
                frequency=int(freq),
                patterns=patterns,
            )
        )
    return PVRPInstance(
        name=name,
        vehicles=m,
        n_days=t,
        max_duration=tuple(d for d, _ in limits),
        capacity=tuple(q for _, q in limits),
        depot=depot,
        customers=tuple(customers),
    )


def to_periodic(instance: PVRPInstance) -> PeriodicProblem:
    """The instance as a periodic problem: location 0 is the depot, k+1 is customer k."""
    scale = scale_of(instance)
    travel = np.ceil(instance.distances() * scale - 1e-9).astype(np.int64)
    days = tuple(
        DayFleet(
            vehicles=instance.vehicles,
            start=0,
            end=0,
            capacity=instance.capacity[d],
            max_work=(math.floor(instance.max_duration[d] * scale) if instance.max_duration[d] > 0 else None),
        )
        for d in range(instance.n_days)
    )
    stops = tuple(
        PeriodicStop(
            location=k + 1,
            patterns=c.patterns,
            service=round(c.service * scale),
            demand=c.demand,
        )
        for k, c in enumerate(instance.customers)
    )
    return PeriodicProblem(travel=travel, stops=stops, days=days)


def solve_pvrp(
    instance: PVRPInstance,
    *,
    seed: int = 0,
    time_limit: float = 60.0,
    params: EngineParams | None = None,
) -> PVRPSolution:
    """Solve the instance with the periodic engine; costs are recomputed exactly."""
    problem = to_periodic(instance)
    result = solve_periodic(problem, seed=seed, time_limit=time_limit, params=params)
    exact = instance.distances()
    routes = []
    for d, day in enumerate(result.days):
        for v, route in enumerate(day.routes):
            ids = [instance.customers[s.stop].id for s in route]
            routes.append(_route(instance, exact, d + 1, v + 1, ids))
    return PVRPSolution(
        instance=instance.name,
        routes=tuple(routes),
        cost=sum(r.distance for r in routes),
        unserved=tuple(instance.customers[i].id for i in result.unserved),
        seconds=result.seconds,
    )


def _route(
    instance: PVRPInstance, exact: NDArray[np.float64], day: int, vehicle: int, ids: Sequence[int]
) -> PVRPRoute:
    index = {c.id: k + 1 for k, c in enumerate(instance.customers)}
    path = [0, *(index[i] for i in ids), 0]
    distance = float(sum(exact[a, b] for a, b in itertools.pairwise(path)))
    by_id = {c.id: c for c in instance.customers}
    service = sum(by_id[i].service for i in ids)
    return PVRPRoute(
        day=day,
        vehicle=vehicle,
        customers=tuple(ids),
        duration=distance + service,
        load=sum(by_id[i].demand for i in ids),
        distance=distance,
    )


def format_res(solution: PVRPSolution) -> str:
    """The solution in the BKS files' text format."""
    lines = [f"{solution.cost:.2f}"]
    for r in solution.routes:
        stops = " ".join(str(c) for c in r.customers)
        lines.append(f"{r.day} {r.vehicle} {r.duration:.2f} {r.load} 0 {stops} 0")
    return "\n".join(lines) + "\n"
