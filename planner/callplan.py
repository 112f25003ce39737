"""Call plans: turn each rep's book into dated, routed working days.

Each rep's quarter (or any horizon) is one periodic routing problem solved by
`planner.periodic`: an account's visits are spread evenly (its candidate
patterns are the evenly spaced day sets of its frequency), fixed appointments
are pinned to their date and slot, and every day is a route from the day's
start point back to its end point that fits the working day minus admin time
and the buffer. What cannot be planned is reported per account with the reason.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from planner.callplan_model import (
    Calendar,
    CallPlan,
    CallPlanParams,
    CompletedVisit,
    Coverage,
    DayRoute,
    TierCoverage,
    Unplannable,
    Visit,
)
from planner.model import WEEKDAY_NAMES, Account, Policy, Rep
from planner.periodic import EngineParams, PeriodicProblem, PeriodicSolution, PeriodicStop, solve_periodic
from planner.routing import DayFleet
from planner.travel import HaversineTravel, TravelMatrix

if TYPE_CHECKING:
    from planner.model import TerritoryPlan


@dataclass(frozen=True, slots=True)
class _StopOf:
    """What a periodic stop stands for in the rep's book."""

    account_id: str
    appointment: bool


@dataclass
class _AccountNeed:
    tier: str
    required: int
    completed: int


def build_call_plans(
    plan_or_book: TerritoryPlan | Mapping[str, Sequence[str]],
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    policy: Policy,
    *,
    start: date,
    weeks: int,
    calendar: Calendar | None = None,
    travel: TravelMatrix | None = None,
    completed: Sequence[CompletedVisit] = (),
    seed: int = 0,
    time_limit: float = 10.0,
    params: CallPlanParams | None = None,
) -> dict[str, CallPlan]:
    """One `CallPlan` per rep of the plan or book (rep id → account ids), for `weeks` from `start`.

    `time_limit` is shared by all reps in proportion to their visits; with the
    default `params` the search is bounded by rounds too, so the same seed gives
    the same plans unless the time limit cuts it short.
    """
    if weeks <= 0:
        raise ValueError("weeks must be positive")
    book = _book(plan_or_book)
    reps_by_id = {r.id: r for r in reps}
    unknown = sorted(set(book) - set(reps_by_id))
    if unknown:
        raise ValueError(f"the book names reps that are not given: {unknown}")
    accounts_by_id = {a.id: a for a in accounts}
    calendar = calendar or Calendar()
    travel = travel or HaversineTravel(policy.travel.speed_kmh, policy.travel.circuity)
    params = params or CallPlanParams()
    done: dict[str, list[date]] = defaultdict(list)
    for visit in completed:
        done[visit.account_id].append(visit.on)
    weights = {
        rep_id: sum(policy.tier(accounts_by_id[a].tier).visits_per_year for a in ids if a in accounts_by_id)
        for rep_id, ids in book.items()
    }
    total_weight = sum(weights.values()) or 1.0
    plans: dict[str, CallPlan] = {}
    for rep_id in sorted(book):
        plans[rep_id] = _plan_rep(
            reps_by_id[rep_id],
            book[rep_id],
            accounts_by_id,
            policy,
            start=start,
            weeks=weeks,
            calendar=calendar,
            travel=travel,
            done=done,
            seed=seed,
            time_limit=time_limit * weights[rep_id] / total_weight,
            params=params,
        )
    return plans


def _book(plan_or_book: TerritoryPlan | Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    assignments = getattr(plan_or_book, "assignments", None)
    if assignments is not None:
        book: dict[str, list[str]] = defaultdict(list)
        for account_id, rep_id in assignments.items():
            book[rep_id].append(account_id)
        return {rep: sorted(ids) for rep, ids in book.items()}
    assert isinstance(plan_or_book, Mapping)
    return {rep: sorted(dict.fromkeys(ids)) for rep, ids in plan_or_book.items()}


def working_dates(rep: Rep, start: date, weeks: int, calendar: Calendar) -> list[date]:
    """The rep's working dates in [start, start + weeks)."""
    days = (start + timedelta(days=k) for k in range(7 * weeks))
    return [
        d
        for d in days
        if d.weekday() in rep.working_days and d not in rep.days_off and not calendar.is_off(rep.id, d)
    ]


def required_visits(visits_per_year: float, weeks: int) -> int:
    """Visits a frequency asks for over `weeks` (rounded half up: 24/yr over 13 weeks = 6)."""
    return math.floor(visits_per_year * weeks / 52.0 + 0.5)


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@dataclass(frozen=True)
class _RepHorizon:
    """One rep's working days over the horizon, with each day's fleet and the travel minutes."""

    rep: Rep
    start: date
    end: date
    dates: list[date]
    day_index: dict[date, int]
    fleets: list[DayFleet]
    opens: int
    closes: int
    max_work: int  # plannable minutes a day, after admin and the buffer
    account_loc: dict[str, int]  # located account id → its row in `T`
    T: NDArray[np.int64]  # whole travel minutes between locations (home, day points, accounts)

    @property
    def day_length(self) -> int:
        return self.closes - self.opens


@dataclass
class _Stops:
    """What the book asks of the periodic engine, and what it cannot ask (with reasons)."""

    needs: dict[str, _AccountNeed] = field(default_factory=dict)
    stops: list[PeriodicStop] = field(default_factory=list)
    stop_of: list[_StopOf] = field(default_factory=list)
    unplannable: list[Unplannable] = field(default_factory=list)

    def add(self, stop: PeriodicStop, account_id: str, *, appointment: bool) -> None:
        self.stops.append(stop)
        self.stop_of.append(_StopOf(account_id, appointment=appointment))

    def cannot(self, account_id: str, visits: int, reason: str) -> None:
        self.unplannable.append(Unplannable(account_id, visits, reason))


def _plan_rep(
    rep: Rep,
    account_ids: Sequence[str],
    accounts_by_id: Mapping[str, Account],
    policy: Policy,
    *,
    start: date,
    weeks: int,
    calendar: Calendar,
    travel: TravelMatrix,
    done: Mapping[str, list[date]],
    seed: int,
    time_limit: float,
    params: CallPlanParams,
) -> CallPlan:
    """One rep's call plan: the horizon, the stops its book asks for, the periodic search, the days."""
    book = [accounts_by_id[a] for a in account_ids if a in accounts_by_id]
    horizon = _horizon(rep, book, policy, start=start, weeks=weeks, calendar=calendar, travel=travel)
    wanted = _Stops()
    for a in account_ids:
        if a not in accounts_by_id:
            wanted.cannot(a, 0, "not among the accounts given to the planner")
    for place, acc in enumerate(book):
        _account_stops(acc, place, horizon, policy, weeks, done, params, wanted)

    problem = PeriodicProblem(travel=horizon.T, stops=tuple(wanted.stops), days=tuple(horizon.fleets))
    engine = EngineParams(
        max_rounds=params.max_rounds if params.day_choice == "optimised" else 0,
        ruin_size=params.ruin_size,
        final_iterations=params.final_iterations,
        # A quarter is ~65 one-vehicle days: one PyVRP model of them all is too slow to
        # pay off, so days are routed one at a time and the pattern layer picks days.
        joint_days=False,
        # With ~65 days a full pass of pattern moves costs about a hundred ruins.
        descend_every=5,
    )
    solution = solve_periodic(problem, seed=seed, time_limit=time_limit, params=engine, partial_ok=True)
    _report_unrouted(solution, wanted)
    days = [
        _day_route(horizon.dates[d], d, [s.stop for r in day.routes for s in r], horizon.fleets[d],
                   problem, wanted.stop_of, horizon.T)
        for d, day in enumerate(solution.days)
    ]
    return CallPlan(rep_id=rep.id, start=start, weeks=weeks, days=tuple(days),
                    coverage=_coverage(wanted, days, horizon))


def _horizon(
    rep: Rep, book: Sequence[Account], policy: Policy, *, start: date, weeks: int, calendar: Calendar,
    travel: TravelMatrix,
) -> _RepHorizon:
    """The rep's working dates, a fleet per date, and travel minutes between every location."""
    dates = working_dates(rep, start, weeks, calendar)
    opens, closes = rep.day_start_minute, rep.day_end_minute
    cap = policy.capacity
    max_work = math.floor((closes - opens) * (1.0 - cap.admin_share) * (1.0 - cap.buffer))
    # Locations: 0 = home, then distinct per-day start/end points, then accounts.
    points: list[tuple[float, float]] = [(rep.home_lat, rep.home_lon)]
    point_index: dict[tuple[float, float], int] = {points[0]: 0}

    def location_of(p: tuple[float, float] | None) -> int:
        if p is None:
            return 0
        if p not in point_index:
            point_index[p] = len(points)
            points.append(p)
        return point_index[p]

    fleets = []
    for on in dates:
        dp = calendar.day_points(rep.id, on)
        fleets.append(DayFleet(vehicles=1, start=location_of(dp.start), end=location_of(dp.end),
                               max_work=max_work, opens=opens, closes=closes))
    located = [a for a in book if a.located]
    account_loc = {a.id: len(points) + k for k, a in enumerate(located)}
    all_points = np.array(
        points + [(float(a.lat or 0.0), float(a.lon or 0.0)) for a in located], dtype=np.float64
    ).reshape(-1, 2)
    minutes = np.asarray(travel.durations(all_points, all_points), dtype=np.float64)
    # Whole minutes rounded up: a plan that fits in these minutes fits on the road.
    T: NDArray[np.int64] = np.ceil(minutes - 1e-9).astype(np.int64)
    np.fill_diagonal(T, 0)
    return _RepHorizon(
        rep=rep, start=start, end=start + timedelta(weeks=weeks), dates=dates,
        day_index={d: k for k, d in enumerate(dates)}, fleets=fleets, opens=opens, closes=closes,
        max_work=max_work, account_loc=account_loc, T=T,
    )


def _account_stops(
    acc: Account, place: int, horizon: _RepHorizon, policy: Policy, weeks: int,
    done: Mapping[str, list[date]], params: CallPlanParams, wanted: _Stops,
) -> None:
    """The stops one account needs (its appointments, then its regular visits), or why it gets none.

    `place` is the account's place in the book: the naive round-robin peer offsets its days by it.
    """
    h = horizon
    tier_name = acc.tier if acc.tier in policy.tiers else policy.default_tier
    tier = policy.tier(acc.tier)
    required = required_visits(tier.visits_per_year, weeks)
    done_here = [d for d in done.get(acc.id, []) if h.start <= d < h.end]
    wanted.needs[acc.id] = _AccountNeed(tier_name, required, min(required, len(done_here)))
    remaining = max(0, required - len(done_here))
    if not acc.located:
        if remaining:
            wanted.cannot(acc.id, remaining, "no location to drive to")
        return
    loc = h.account_loc[acc.id]
    service = math.ceil(tier.visit_minutes * acc.effort)
    round_trip = int(h.T[0, loc] + h.T[loc, 0])
    if round_trip + service > h.max_work:
        wanted.cannot(
            acc.id, remaining,
            f"farther than a day's drive: {round_trip} min there and back plus a "
            f"{service} min visit exceeds the {h.max_work} min plannable day",
        )
        return
    anchors = list(done.get(acc.id, []))
    remaining -= _appointment_stops(acc, loc, service, h, anchors, wanted)
    remaining = max(0, remaining)
    if remaining == 0:
        return
    standing = _standing_windows(acc, service, h)
    if isinstance(standing, str):
        wanted.cannot(acc.id, remaining, standing)
        return
    _regular_stop(acc, place, loc, service, remaining, anchors, tier.visits_per_year, standing, h, params,
                  wanted)


@dataclass(frozen=True)
class _Standing:
    """An account's standing windows over the horizon: when in the day, and on which days."""

    window: tuple[int, int] | None  # the same window every day (None: none, or see `day_windows`)
    day_windows: tuple[tuple[int, int] | None, ...] | None  # per working day, when they name weekdays
    days: list[int]  # the working days (indices) a visit may go on
    weekdays: str  # "" when every day; else e.g. "Tue, Thu" for reasons


def _standing_windows(acc: Account, service: int, h: _RepHorizon) -> _Standing | str:
    """The account's standing windows within working hours, or why none is (as a reason)."""
    standing = [w for w in acc.windows if w.on is None]
    fits = [w for w in standing if not (w.end_minute < h.opens or w.start_minute + service > h.closes)]
    every_day = list(range(len(h.dates)))
    if standing and not fits:
        return f"time window {standing[0]} is outside working hours {_hhmm(h.opens)}-{_hhmm(h.closes)}"
    plain = next((w for w in fits if not w.weekdays), None)
    by_day = [w for w in fits if w.weekdays]
    if not by_day:
        window = None if plain is None else (max(plain.start_minute, h.opens), plain.end_minute)
        return _Standing(window, None, every_day, "")
    per_day: list[tuple[int, int] | None] = []
    for on in h.dates:
        w = next((w for w in by_day if on.weekday() in w.weekdays), plain)
        per_day.append(None if w is None else (max(w.start_minute, h.opens), w.end_minute))
    days = [k for k, w in enumerate(per_day) if w is not None]
    names = sorted({d for w in by_day for d in w.weekdays})
    weekdays = "" if plain is not None else ", ".join(WEEKDAY_NAMES[d] for d in names)
    return _Standing(None, tuple(per_day), days, weekdays)


def _regular_stop(
    acc: Account, place: int, loc: int, service: int, remaining: int, anchors: Sequence[date],
    visits_per_year: float, standing: _Standing, h: _RepHorizon, params: CallPlanParams, wanted: _Stops,
) -> None:
    """The stop of the account's evenly spaced visits over the days its windows allow."""
    allowed = [h.dates[k] for k in standing.days]
    if remaining > len(allowed):
        short = remaining - len(allowed)
        if standing.weekdays:
            wanted.cannot(acc.id, short, f"needs {remaining} visits but its time windows allow only "
                                         f"{standing.weekdays}: {len(allowed)} of the rep's working days")
        else:
            wanted.cannot(acc.id, short,
                          f"needs {remaining} visits but the rep has {len(h.dates)} working days")
        remaining = len(allowed)
    if remaining == 0:
        return
    gap_days = params.gap_after_completed * 364.0 / max(visits_per_year, 1e-9)
    patterns = tuple(  # indices into the allowed days → indices into the working days
        tuple(standing.days[d] for d in p) for p in spaced_patterns(allowed, remaining, anchors, gap_days)
    )
    if params.day_choice == "round_robin":
        patterns = (patterns[place % len(patterns)],)
    wanted.add(PeriodicStop(location=loc, patterns=patterns, service=service, window=standing.window,
                            day_windows=standing.day_windows),
               acc.id, appointment=False)


def _appointment_stops(
    acc: Account, loc: int, service: int, h: _RepHorizon, anchors: list[date], wanted: _Stops
) -> int:
    """A stop pinned to each booked appointment in the horizon; returns how many visits they cover."""
    appointments = [w for w in acc.windows if w.on is not None and h.start <= w.on < h.end]
    for w in appointments:
        assert w.on is not None
        if w.on not in h.day_index:
            wanted.cannot(acc.id, 1, f"appointment on {w.on} falls on a day off")
            continue
        if w.end_minute < h.opens or w.start_minute + service > h.closes:
            wanted.cannot(
                acc.id, 1,
                f"appointment {_hhmm(w.start_minute)}-{_hhmm(w.end_minute)} on {w.on} "
                f"is outside working hours {_hhmm(h.opens)}-{_hhmm(h.closes)}",
            )
            continue
        anchors.append(w.on)
        wanted.add(PeriodicStop(location=loc, patterns=((h.day_index[w.on],),), service=service,
                                window=(max(w.start_minute, h.opens), w.end_minute)),
                   acc.id, appointment=True)
    return len(appointments)


def _report_unrouted(solution: PeriodicSolution, wanted: _Stops) -> None:
    """Every visit of a stop the search left off its days, with the reason."""
    routed: dict[int, int] = defaultdict(int)
    for day in solution.days:
        for stops_of_route in day.routes:
            for scheduled in stops_of_route:
                routed[scheduled.stop] += 1
    for i, stop in enumerate(wanted.stops):
        count = len(stop.patterns[0]) - routed[i]
        if count <= 0:
            continue
        reason = (
            "the appointment does not fit that day's route"
            if wanted.stop_of[i].appointment
            else "no room: the days that keep its visits evenly spaced are full"
        )
        wanted.cannot(wanted.stop_of[i].account_id, count, reason)


def _coverage(wanted: _Stops, days: Sequence[DayRoute], horizon: _RepHorizon) -> Coverage:
    """Required, completed and planned visits per tier, and how the working time is spent."""
    planned: dict[str, int] = defaultdict(int)
    for day_route in days:
        for v in day_route.visits:
            planned[v.account_id] += 1
    needs = wanted.needs
    tiers = []
    for tier_name in sorted({n.tier for n in needs.values()}):
        members = [a for a, n in needs.items() if n.tier == tier_name]
        tiers.append(
            TierCoverage(
                tier=tier_name,
                accounts=len(members),
                required=sum(needs[a].required for a in members),
                completed=sum(needs[a].completed for a in members),
                planned=sum(planned[a] for a in members),
            )
        )
    return Coverage(
        tiers=tuple(tiers),
        working_minutes=horizon.day_length * len(horizon.dates),
        visit_minutes=sum(d.visit_minutes for d in days),
        drive_minutes=sum(d.drive_minutes for d in days),
        unplannable=tuple(sorted(wanted.unplannable, key=lambda u: u.account_id)),
    )


def spaced_patterns(
    dates: Sequence[date], visits: int, anchors: Sequence[date], gap_days: float
) -> tuple[tuple[int, ...], ...]:
    """Evenly spaced sets of `visits` day indices over `dates`, one per starting offset.

    Sets that come closer than `gap_days` to an anchor (a visit already done or a
    booked appointment) are left out, unless that would leave none.
    """
    n = len(dates)
    step = n / visits
    candidates: list[tuple[int, ...]] = []
    for offset in range(max(1, math.ceil(step))):
        # Rounding down and to nearest gives two slightly different spacings per offset:
        # more room to pack days without visits bunching up.
        for snap in (math.floor, round):
            days = tuple(sorted({min(n - 1, int(snap(offset + k * step))) for k in range(visits)}))
            if len(days) == visits and days not in candidates:
                candidates.append(days)
    if not candidates:  # every day: the only set left
        candidates = [tuple(range(n))[:visits]]
    spaced = [p for p in candidates if all(abs((dates[d] - a).days) >= gap_days for d in p for a in anchors)]
    return tuple(spaced or candidates)


def _day_route(
    day: date,
    d: int,
    route: Sequence[int],
    fleet: DayFleet,
    problem: PeriodicProblem,
    stop_of: Sequence[_StopOf],
    T: NDArray[np.int64],
) -> DayRoute:
    """Times along the route, leaving at the start of the working day and waiting for windows."""
    clock = fleet.opens
    here = fleet.start
    drive = 0
    visit_minutes = 0
    visits = []
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
        visits.append(
            Visit(
                stop_of[i].account_id,
                arrive=clock,
                depart=clock + stop.service,
                appointment=stop_of[i].appointment,
            )
        )
        clock += stop.service
        visit_minutes += stop.service
        here = stop.location
    leg = int(T[here, fleet.end]) if route else 0
    drive += leg
    back = clock + leg
    day_length = (fleet.closes or back) - fleet.opens
    return DayRoute(
        date=day,
        visits=tuple(visits),
        leave=fleet.opens,
        back=back,
        drive_minutes=drive,
        visit_minutes=visit_minutes,
        slack_minutes=day_length - drive - visit_minutes,
    )
