"""Call plans: turn each rep's book into dated, routed working days.

Each rep's quarter (or any horizon) is one periodic routing problem solved by
`planner.periodic`: an account's visits are spread evenly (its candidate
patterns are the evenly spaced day sets of its frequency), fixed appointments
are pinned to their date and slot, and every day is a route from the day's
start point back to its end point that fits the working day minus admin time,
the buffer and lunch. Holidays and days off get no visits. What cannot be
planned is reported per account with the reason; what the policy would ask
for but the plan does not (none due, already done, cut by a coverage plan) too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING

from planner.callplan_days import combine_lone_visits, day_route
from planner.callplan_horizon import RepHorizon, horizon
from planner.callplan_model import (
    Calendar,
    CallPlan,
    CallPlanParams,
    CompletedVisit,
    Coverage,
    DayRoute,
    TierCoverage,
)
from planner.callplan_stops import Stops, account_stops, report_unrouted
from planner.handoffs import Handoff, HandoffSlots, Span, handoff_slots
from planner.model import Account, CoveragePlan, Policy, Rep, TimeWindow
from planner.periodic import EngineParams, PeriodicProblem, solve_periodic
from planner.travel import HaversineTravel, TravelMatrix

if TYPE_CHECKING:
    from planner.model import TerritoryPlan


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
    coverage: CoveragePlan | None = None,
    handoffs: Sequence[Handoff] = (),
) -> dict[str, CallPlan]:
    """One `CallPlan` per rep of the plan or book (rep id → account ids), for `weeks` from `start`.

    `time_limit` is shared by all reps in proportion to their visits; with the
    default `params` the search is bounded by rounds too, so the same seed gives
    the same plans unless the time limit cuts it short. `coverage` is a coverage
    plan to schedule (its cut frequencies); by default a territory plan's own,
    when `policy.coverage` is "fit". Each of `handoffs` puts its account on both reps' plans:
    the outgoing rep's until its effective date, the incoming rep's from it, with one joint
    visit (`Visit.joint_with`) at the same time on both before it.
    """
    if weeks <= 0:
        raise ValueError("weeks must be positive")
    book = _book(plan_or_book)
    reps_by_id = {r.id: r for r in reps}
    unknown = sorted(set(book) - set(reps_by_id))
    if unknown:
        raise ValueError(f"the book names reps that are not given: {unknown}")
    if coverage is None and policy.coverage == "fit":
        coverage = getattr(plan_or_book, "coverage_plan", None)
    fitted = coverage.visits_per_year if coverage is not None else {}
    accounts_by_id = {a.id: a for a in accounts}
    calendar = calendar or Calendar()
    travel = travel or HaversineTravel(policy.travel.speed_kmh, policy.travel.circuity)
    slots = handoff_slots(handoffs, accounts_by_id, reps_by_id, policy, start=start, weeks=weeks,
                          calendar=calendar, travel=travel)
    book = _with_handoffs(book, handoffs)
    params = params or CallPlanParams()
    done: dict[str, list[date]] = defaultdict(list)
    for visit in completed:
        done[visit.account_id].append(visit.on)
    weights = {
        rep_id: sum(policy.tier(accounts_by_id[a].tier).visits_per_year for a in ids if a in accounts_by_id)
        for rep_id, ids in book.items()
    }
    total_weight = sum(weights.values()) or 1.0
    return {
        rep_id: _plan_rep(
            reps_by_id[rep_id], book[rep_id], accounts_by_id, policy, start=start, weeks=weeks,
            calendar=calendar, travel=travel, done=done, seed=seed,
            time_limit=time_limit * weights[rep_id] / total_weight, params=params, fitted=fitted,
            handoffs=_RepHandoffs.of(rep_id, handoffs, slots),
        )
        for rep_id in sorted(book)
    }


def _with_handoffs(book: dict[str, list[str]], handoffs: Sequence[Handoff]) -> dict[str, list[str]]:
    """The book with each handed-off account in both reps' books (and in no other)."""
    moving = {h.account_id: {h.outgoing_rep, h.incoming_rep} for h in handoffs}
    out = {rep: [a for a in ids if a not in moving or rep in moving[a]] for rep, ids in book.items()}
    for h in handoffs:
        for rep in (h.outgoing_rep, h.incoming_rep):
            if h.account_id not in out.setdefault(rep, []):
                out[rep] = sorted([*out[rep], h.account_id])
    return out


@dataclass(frozen=True)
class _RepHandoffs:
    """One rep's part in the handoffs: when it covers each account, and its joint visits."""

    spans: Mapping[str, Span]
    joint: Mapping[str, tuple[TimeWindow, str]]  # account → the joint visit's slot, the other rep
    warnings: tuple[str, ...]

    @classmethod
    def of(cls, rep_id: str, handoffs: Sequence[Handoff], slots: HandoffSlots) -> _RepHandoffs:
        spans = {
            h.account_id: Span(until=h.effective) if h.outgoing_rep == rep_id else Span(first=h.effective)
            for h in handoffs if rep_id in (h.outgoing_rep, h.incoming_rep)
        }
        joint = {
            s.handoff.account_id: (
                s.window,
                s.handoff.incoming_rep if s.handoff.outgoing_rep == rep_id else s.handoff.outgoing_rep,
            )
            for s in slots.of_rep(rep_id)
        }
        return cls(spans, joint, slots.warnings_of(rep_id))

    def account(self, acc: Account) -> Account:
        """The account as this rep's plan sees it: its appointments in the rep's span, the joint visit."""
        span = self.spans.get(acc.id)
        if span is None:
            return acc
        windows = tuple(w for w in acc.windows if w.on is None or span.holds(w.on))
        joint = (self.joint[acc.id][0],) if acc.id in self.joint else ()
        return replace(acc, windows=windows + joint)

    def mark(self, days: list[DayRoute]) -> list[DayRoute]:
        """Each joint visit names the other rep."""
        out = []
        for day in days:
            visits = tuple(
                replace(v, joint_with=self.joint[v.account_id][1])
                if v.appointment and v.account_id in self.joint and self.joint[v.account_id][0].on == day.date
                and v.arrive == self.joint[v.account_id][0].start_minute
                else v
                for v in day.visits
            )
            out.append(replace(day, visits=visits))
        return out


def _book(plan_or_book: TerritoryPlan | Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    assignments = getattr(plan_or_book, "assignments", None)
    if assignments is not None:
        book: dict[str, list[str]] = defaultdict(list)
        for account_id, rep_id in assignments.items():
            book[rep_id].append(account_id)
        return {rep: sorted(ids) for rep, ids in book.items()}
    assert isinstance(plan_or_book, Mapping)
    return {rep: sorted(dict.fromkeys(ids)) for rep, ids in plan_or_book.items()}


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
    fitted: Mapping[str, float],
    handoffs: _RepHandoffs,
) -> CallPlan:
    """One rep's call plan: the horizon, the stops its book asks for, the periodic search, the days."""
    book = [handoffs.account(accounts_by_id[a]) for a in account_ids if a in accounts_by_id]
    days_of_rep = horizon(rep, book, policy, start=start, weeks=weeks, calendar=calendar, travel=travel)
    wanted = Stops()
    for a in account_ids:
        if a not in accounts_by_id:
            wanted.cannot(a, 0, "not among the accounts given to the planner")
    for place, acc in enumerate(book):
        account_stops(acc, place, days_of_rep, policy, weeks, done, params, wanted, fitted,
                      span=handoffs.spans.get(acc.id))

    problem = PeriodicProblem(travel=days_of_rep.T, stops=tuple(wanted.stops), days=tuple(days_of_rep.fleets))
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
    report_unrouted(solution, wanted)
    routes = [[s.stop for r in day.routes for s in r] for day in solution.days]
    if params.day_choice == "optimised":
        routes = combine_lone_visits(problem, routes, days_of_rep, params.lone_visit_minutes)
    days = handoffs.mark(_with_cadence(
        [day_route(days_of_rep.dates[d], d, route, problem, wanted.stop_of, days_of_rep)
         for d, route in enumerate(routes)],
        book, policy, done, fitted,
    ))
    return CallPlan(
        rep_id=rep.id, start=start, weeks=weeks, days=tuple(days),
        coverage=_coverage(wanted, days, days_of_rep), time_zone=rep.time_zone or policy.calendar.time_zone,
        days_off=days_of_rep.days_off,
        warnings=days_of_rep.warnings + handoffs.warnings,
    )


def _with_cadence(
    days: list[DayRoute], book: Sequence[Account], policy: Policy, done: Mapping[str, list[date]],
    fitted: Mapping[str, float],
) -> list[DayRoute]:
    """Each visit with its account's tier, cadence and the visit before it (done or planned)."""
    seen: dict[str, list[date]] = {a: sorted(dates) for a, dates in done.items()}
    by_id = {a.id: a for a in book}
    out = []
    for day in days:
        visits = []
        for v in day.visits:
            acc = by_id[v.account_id]
            tier = acc.tier if acc.tier in policy.tiers else policy.default_tier
            before = [d for d in seen.get(v.account_id, []) if d < day.date]
            cadence = fitted.get(acc.id, policy.tier(tier).visits_per_year)
            last = max(before, default=None)
            visits.append(replace(v, tier=tier, visits_per_year=cadence, last_visit=last))
            seen.setdefault(v.account_id, []).append(day.date)
        out.append(replace(day, visits=tuple(visits)))
    return out


def _coverage(wanted: Stops, days: Sequence[DayRoute], horizon: RepHorizon) -> Coverage:
    """Required, completed and planned visits per tier, and how the working time is spent."""
    planned: dict[str, int] = defaultdict(int)
    for day_route_ in days:
        for v in day_route_.visits:
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
        not_required=tuple(sorted(wanted.not_required, key=lambda u: u.account_id)),
    )
