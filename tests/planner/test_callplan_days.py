"""A rep's day shape: a day whose only visit is a long round trip is combined with a day that goes out."""

from __future__ import annotations

from datetime import date

from planner.callplan_days import combine_lone_visits
from planner.callplan_horizon import RepHorizon, horizon
from planner.callplan_model import Calendar
from planner.model import Account, Policy, Rep
from planner.periodic import PeriodicProblem, PeriodicStop
from planner.travel import HaversineTravel

REP = Rep(id="rep", home_lat=52.52, home_lon=13.40)
START = date(2026, 3, 2)


def _book() -> tuple[list[Account], PeriodicProblem, RepHorizon]:
    accounts = [
        Account("near1", 52.53, 13.41, tier="C"),
        Account("near2", 52.51, 13.42, tier="C"),
        Account("far", 52.80, 13.40, tier="C"),  # ~40 km north
        Account("toward", 52.70, 13.40, tier="C"),  # on the way to it
    ]
    policy = Policy()
    days = horizon(REP, accounts, policy, start=START, weeks=1, calendar=Calendar(),
                   travel=HaversineTravel(policy.travel.speed_kmh, policy.travel.circuity))
    n_days = len(days.dates)
    stops = tuple(
        PeriodicStop(location=days.account_loc[a.id], patterns=tuple((d,) for d in range(n_days)), service=30)
        for a in accounts
    )
    return accounts, PeriodicProblem(travel=days.T, stops=stops, days=tuple(days.fleets)), days


def test_a_lone_far_visit_joins_a_day_already_driving_that_way() -> None:
    _, problem, days = _book()
    routes = [[0, 1], [2], [3], [], []]  # Tuesday: the far account alone; Wednesday: on the way
    combined = combine_lone_visits(problem, routes, days, min_round_trip=60)
    assert combined[1] == [] and sorted(combined[2]) == [2, 3]
    assert combined[0] == [0, 1]


def test_a_lone_visit_stays_where_no_day_may_take_it() -> None:
    _, problem, days = _book()
    fixed = tuple(
        PeriodicStop(s.location, ((1,),) if k == 2 else s.patterns, s.service)
        for k, s in enumerate(problem.stops)
    )
    pinned = PeriodicProblem(travel=problem.travel, stops=fixed, days=problem.days)
    routes = [[0, 1, 3], [2], [], [], []]  # the far account may only go on Tuesday
    assert combine_lone_visits(pinned, routes, days, min_round_trip=60) == routes


def test_a_lone_visit_near_home_is_left_alone() -> None:
    _, problem, days = _book()
    routes = [[0], [2, 3], [1], [], []]
    assert combine_lone_visits(problem, routes, days, min_round_trip=60) == routes
