"""What a rep's book asks of the periodic engine: one stop per account's regular visits, one per
booked appointment, and for everything else the reason.

A visit a plan cannot place is `unplannable` (no location, beyond a day's
drive, outside working hours, no room); a visit the policy's frequency would
ask for that the plan does not is `not_required` (none due in the horizon,
already done, cut by the coverage plan).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from planner.callplan_horizon import RepHorizon
from planner.callplan_model import CallPlanParams, Unplannable
from planner.handoffs import Span
from planner.model import WEEKDAY_NAMES, Account, Policy, hhmm
from planner.periodic import PeriodicSolution, PeriodicStop


@dataclass(frozen=True, slots=True)
class StopOf:
    """What a periodic stop stands for in the rep's book."""

    account_id: str
    appointment: bool


@dataclass
class AccountNeed:
    tier: str
    required: int
    completed: int


@dataclass
class Stops:
    """What the book asks of the periodic engine, and what it cannot ask (with reasons)."""

    needs: dict[str, AccountNeed] = field(default_factory=dict)
    stops: list[PeriodicStop] = field(default_factory=list)
    stop_of: list[StopOf] = field(default_factory=list)
    unplannable: list[Unplannable] = field(default_factory=list)
    not_required: list[Unplannable] = field(default_factory=list)

    def add(self, stop: PeriodicStop, account_id: str, *, appointment: bool) -> None:
        self.stops.append(stop)
        self.stop_of.append(StopOf(account_id, appointment=appointment))

    def cannot(self, account_id: str, visits: int, reason: str) -> None:
        self.unplannable.append(Unplannable(account_id, visits, reason))

    def spare(self, account_id: str, visits: int, reason: str) -> None:
        """Visits the policy's frequency would ask for that this plan does not, and why."""
        self.not_required.append(Unplannable(account_id, visits, reason))


def required_visits(visits_per_year: float, weeks: float) -> int:
    """Visits a frequency asks for over `weeks` (rounded half up: 24/yr over 13 weeks = 6)."""
    return math.floor(visits_per_year * weeks / 52.0 + 0.5)


def account_stops(
    acc: Account, place: int, horizon: RepHorizon, policy: Policy, weeks: int,
    done: Mapping[str, list[date]], params: CallPlanParams, wanted: Stops,
    fitted: Mapping[str, float], span: Span | None = None,
) -> None:
    """The stops one account needs (its appointments, then its regular visits), or why it gets none.

    `place` is the account's place in the book: the naive round-robin peer offsets its days by it.
    `fitted` holds the visits a year of the accounts a coverage plan cuts (0: digital touch).
    `span` limits the rep's regular visits to part of the horizon (an account changing hands).
    """
    h = horizon
    tier_name = acc.tier if acc.tier in policy.tiers else policy.default_tier
    tier = policy.tier(acc.tier)
    frequency = fitted.get(acc.id, tier.visits_per_year)
    span = span or Span()
    covered = sum(1 for d in h.dates if span.holds(d))
    weeks_here: float = weeks if covered == len(h.dates) else weeks * covered / max(1, len(h.dates))
    required = required_visits(frequency, weeks_here)
    done_here = sorted(d for d in done.get(acc.id, []) if h.start <= d < h.end)
    wanted.needs[acc.id] = AccountNeed(tier_name, required, min(required, len(done_here)))
    remaining = max(0, required - len(done_here))
    _note_what_is_not_required(acc.id, tier_name, tier.visits_per_year, frequency, weeks_here, done_here,
                               wanted)
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
    remaining -= _appointment_stops(acc, loc, service, h, anchors, wanted, span)
    remaining = max(0, remaining)
    if remaining == 0:
        return
    standing = _standing_windows(acc, service, h)
    if isinstance(standing, str):
        wanted.cannot(acc.id, remaining, standing)
        return
    standing = replace(standing, days=[k for k in standing.days if span.holds(h.dates[k])])
    _regular_stop(acc, place, loc, service, remaining, anchors, tier.visits_per_year, standing, h, params,
                  wanted)


@dataclass(frozen=True)
class _Standing:
    """An account's standing windows over the horizon: when in the day, and on which days."""

    window: tuple[int, int] | None  # the same window every day (None: none, or see `day_windows`)
    day_windows: tuple[tuple[int, int] | None, ...] | None  # per working day, when they name weekdays
    days: list[int]  # the working days (indices) a visit may go on
    weekdays: str  # "" when every day; else e.g. "Tue, Thu" for reasons


def _note_what_is_not_required(
    account_id: str, tier: str, policy_frequency: float, frequency: float, weeks: float,
    done_here: Sequence[date], wanted: Stops,
) -> None:
    """Why an account gets fewer visits than its tier's frequency, or none, in this horizon."""
    policy_required = required_visits(policy_frequency, weeks)
    required = required_visits(frequency, weeks)
    if frequency == 0 and policy_frequency > 0:
        wanted.spare(account_id, policy_required,
                     f"digital touch: the coverage plan gives tier {tier} accounts like it no visits "
                     f"(policy: {policy_frequency:g} a year)")
    elif required < policy_required:
        wanted.spare(account_id, policy_required - required,
                     f"the coverage plan visits it {frequency:g} times a year instead of tier {tier}'s "
                     f"{policy_frequency:g}")
    if required == 0 and frequency > 0:
        wanted.spare(account_id, 0, f"no visit due in these {weeks:g} weeks: tier {tier} is visited "
                                    f"{frequency:g} times a year")
    elif required and len(done_here) >= required:
        wanted.spare(account_id, 0, f"its {required} visit(s) due in the horizon are done "
                                    f"(last on {done_here[-1].isoformat()})")


def _standing_windows(acc: Account, service: int, h: RepHorizon) -> _Standing | str:
    """The account's standing windows within working hours, or why none is (as a reason)."""
    standing = [w for w in acc.windows if w.on is None]
    fits = [w for w in standing if not (w.end_minute < h.opens or w.start_minute + service > h.closes)]
    every_day = list(range(len(h.dates)))
    if standing and not fits:
        return f"time window {standing[0]} is outside working hours {hhmm(h.opens)}-{hhmm(h.closes)}"
    plain = next((w for w in fits if not w.weekdays), None)
    by_day = [w for w in fits if w.weekdays]
    if not by_day:
        window = None if plain is None else h.solver_window(plain.start_minute, plain.end_minute)
        return _Standing(window, None, every_day, "")
    per_day: list[tuple[int, int] | None] = []
    for on in h.dates:
        w = next((w for w in by_day if on.weekday() in w.weekdays), plain)
        per_day.append(None if w is None else h.solver_window(w.start_minute, w.end_minute))
    days = [k for k, w in enumerate(per_day) if w is not None]
    names = sorted({d for w in by_day for d in w.weekdays})
    weekdays = "" if plain is not None else ", ".join(WEEKDAY_NAMES[d] for d in names)
    return _Standing(None, tuple(per_day), days, weekdays)


def _regular_stop(
    acc: Account, place: int, loc: int, service: int, remaining: int, anchors: Sequence[date],
    visits_per_year: float, standing: _Standing, h: RepHorizon, params: CallPlanParams, wanted: Stops,
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
    acc: Account, loc: int, service: int, h: RepHorizon, anchors: list[date], wanted: Stops, span: Span
) -> int:
    """A stop pinned to each booked appointment in the horizon; returns how many visits in `span`
    they cover (a joint handoff visit before the incoming rep's span is not one of its visits)."""
    appointments = [w for w in acc.windows if w.on is not None and h.start <= w.on < h.end]
    for w in appointments:
        assert w.on is not None
        if w.on not in h.day_index:
            wanted.cannot(acc.id, 1, f"appointment on {w.on} falls on a day off")
            continue
        if w.end_minute < h.opens or w.start_minute + service > h.closes:
            wanted.cannot(
                acc.id, 1,
                f"appointment {hhmm(w.start_minute)}-{hhmm(w.end_minute)} on {w.on} "
                f"is outside working hours {hhmm(h.opens)}-{hhmm(h.closes)}",
            )
            continue
        anchors.append(w.on)
        wanted.add(PeriodicStop(location=loc, patterns=((h.day_index[w.on],),), service=service,
                                window=h.solver_window(w.start_minute, w.end_minute)),
                   acc.id, appointment=True)
    return sum(1 for w in appointments if w.on is not None and span.holds(w.on))


def report_unrouted(solution: PeriodicSolution, wanted: Stops) -> None:
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
