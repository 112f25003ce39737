"""A rep's days from the engine's routes: a day shape to follow, then the clock of each day.

`combine_lone_visits` moves a day's only visit, when it is a long round trip,
onto another day that already goes out (where the account's allowed days and
that day's room permit and it adds no driving), so no day is a single far
visit. `day_route` times a route on the rep's clock: leave so as to start the
first visit on time, drive, wait for windows, break for lunch, drive home.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from planner.callplan_horizon import RepHorizon
from planner.callplan_model import DayRoute, Visit
from planner.callplan_stops import StopOf
from planner.periodic import PeriodicProblem


def combine_lone_visits(
    problem: PeriodicProblem, routes: list[list[int]], horizon: RepHorizon, min_round_trip: int
) -> list[list[int]]:
    """Move single far visits onto days that already go out, where allowed, feasible and no dearer."""
    if min_round_trip <= 0:
        return routes
    routes = [list(r) for r in routes]
    days_of: dict[int, set[int]] = {}
    for d, route in enumerate(routes):
        for i in route:
            days_of.setdefault(i, set()).add(d)
    allowed = [set(stop.patterns) for stop in problem.stops]
    for d, route in enumerate(routes):
        if len(route) != 1:
            continue
        i = route[0]
        fleet = horizon.fleets[d]
        loc = problem.stops[i].location
        alone = int(horizon.T[fleet.start, loc] + horizon.T[loc, fleet.end])
        if alone < min_round_trip:
            continue
        best: tuple[int, int, list[int]] | None = None
        for other, there in enumerate(routes):
            if other == d or not there or other in days_of[i]:
                continue
            if tuple(sorted(days_of[i] - {d} | {other})) not in allowed[i]:
                continue
            for p in range(len(there) + 1):
                candidate = [*there[:p], i, *there[p:]]
                extra = _drive(problem, horizon, other, candidate) - _drive(problem, horizon, other, there)
                cheaper = best is None or extra < best[0]
                if extra <= alone and cheaper and _fits(problem, horizon, other, candidate):
                    best = (extra, other, candidate)
        if best is not None:
            _, other, candidate = best
            routes[other], routes[d] = candidate, []
            days_of[i] = days_of[i] - {d} | {other}
    return routes


def _drive(problem: PeriodicProblem, horizon: RepHorizon, d: int, route: Sequence[int]) -> int:
    fleet = horizon.fleets[d]
    here, total = fleet.start, 0
    for i in route:
        total += int(horizon.T[here, problem.stops[i].location])
        here = problem.stops[i].location
    return total + int(horizon.T[here, fleet.end]) if route else 0


def _fits(problem: PeriodicProblem, horizon: RepHorizon, d: int, route: Sequence[int]) -> bool:
    """The day's limits on the routers' clock: windows, working minutes, back by closing."""
    fleet = horizon.fleets[d]
    clock, here, work = fleet.opens, fleet.start, 0
    for i in route:
        stop = problem.stops[i]
        leg = int(horizon.T[here, stop.location])
        clock += leg
        window = stop.window_on(d)
        if window is not None:
            if clock > window[1]:
                return False
            clock = max(clock, window[0])
        clock += stop.service
        work += leg + stop.service
        here = stop.location
    home = int(horizon.T[here, fleet.end])
    closes = fleet.closes if fleet.closes is not None else clock + home
    max_work = fleet.max_work if fleet.max_work is not None else work + home
    return clock + home <= closes and work + home <= max_work


def day_route(
    day: date, d: int, route: Sequence[int], problem: PeriodicProblem, labels: Sequence[StopOf],
    horizon: RepHorizon,
) -> DayRoute:
    """Times along the route on the rep's clock, with each leg's drive and the lunch break."""
    fleet, T, lunch = horizon.fleets[d], horizon.T, horizon.lunch
    clock, here = fleet.opens, fleet.start  # the routers' clock; the rep's is `shift` later after lunch
    shift, lunch_at, leave = 0, None, fleet.opens
    drive = visit_minutes = 0
    visits: list[Visit] = []
    for i in route:
        stop = problem.stops[i]
        leg = int(T[here, stop.location])
        drive += leg
        clock += leg
        window = stop.window_on(d)
        if window is not None:
            if clock > window[1]:
                raise AssertionError(f"{day}: the route misses a window; the engine should not")
            clock = max(clock, window[0])
        if not visits:  # leave so as to start the first visit on time rather than wait at the door
            leave = clock - leg
        if lunch.minutes and lunch_at is None and clock >= lunch.from_minute:
            lunch_at, shift = clock, lunch.minutes
        visits.append(Visit(labels[i].account_id, arrive=clock + shift, depart=clock + shift + stop.service,
                            appointment=labels[i].appointment, drive_minutes=leg))
        clock += stop.service
        visit_minutes += stop.service
        here = stop.location
    home = int(T[here, fleet.end]) if route else 0
    if lunch.minutes and lunch_at is None and route and clock + home > lunch.from_minute:
        lunch_at, shift = max(clock, lunch.from_minute), lunch.minutes  # on the way home
    drive += home
    back = clock + home + shift
    lunch_minutes = lunch.minutes if lunch_at is not None else 0
    return DayRoute(
        date=day,
        visits=tuple(visits),
        leave=leave,
        back=back,
        drive_minutes=drive,
        visit_minutes=visit_minutes,
        slack_minutes=horizon.closes - fleet.opens - drive - visit_minutes - lunch_minutes,
        lunch=lunch_at,
        lunch_minutes=lunch_minutes,
        drive_home_minutes=home,
    )
