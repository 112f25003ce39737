"""Call plans: frequencies, spacing, appointments, working day, home, reasons, completed visits."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest

from planner.callplan import build_call_plans
from planner.callplan_model import (
    Calendar,
    CallPlan,
    CallPlanParams,
    CompletedVisit,
    DayPoints,
)
from planner.model import Account, Policy, Rep, TimeWindow
from planner.travel import HaversineTravel

START = date(2026, 3, 2)  # a Monday
HOME = (52.52, 13.40)
QUICK = CallPlanParams(max_rounds=6, final_iterations=300)
POLICY = Policy()
PLANNABLE = math.floor(540 * (1 - POLICY.capacity.admin_share) * (1 - POLICY.capacity.buffer))


def metro_accounts(n_a: int, n_b: int, n_c: int, seed: int = 0, radius_km: float = 6.0) -> list[Account]:
    rng = np.random.default_rng(seed)
    out = []
    for k, tier in enumerate(["A"] * n_a + ["B"] * n_b + ["C"] * n_c):
        r, theta = radius_km * math.sqrt(rng.uniform()), rng.uniform(0, 2 * math.pi)
        lat = HOME[0] + r * math.sin(theta) / 111.0
        lon = HOME[1] + r * math.cos(theta) / (111.0 * math.cos(math.radians(HOME[0])))
        out.append(Account(id=f"{tier}{k:02d}", lat=lat, lon=lon, tier=tier))
    return out


REP = Rep(id="rep", home_lat=HOME[0], home_lon=HOME[1])


def plan_for(
    accounts: list[Account],
    weeks: int = 13,
    rep: Rep = REP,
    **kwargs: object,
) -> CallPlan:
    plans = build_call_plans(
        {rep.id: [a.id for a in accounts]},
        accounts,
        [rep],
        POLICY,
        start=START,
        weeks=weeks,
        time_limit=kwargs.pop("time_limit", 4.0),  # type: ignore[arg-type]
        params=kwargs.pop("params", QUICK),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )
    return plans[rep.id]


_QUARTER: list[tuple[list[Account], CallPlan]] = []


def _quarter_cache() -> tuple[list[Account], CallPlan]:
    if not _QUARTER:
        accounts = metro_accounts(8, 10, 12)
        _QUARTER.append((accounts, plan_for(accounts)))
    return _QUARTER[0]


@pytest.fixture(scope="module")
def quarter() -> tuple[list[Account], CallPlan]:
    return _quarter_cache()


def test_each_tier_gets_its_frequency_with_visits_evenly_spaced(
    quarter: tuple[list[Account], CallPlan],
) -> None:
    accounts, plan = quarter
    for acc in accounts:
        visits = plan.visits_of(acc.id)
        expected = {"A": 6, "B": 3, "C": 1}[acc.tier]
        assert len(visits) == expected, acc.id
        gaps = [(b - a).days for a, b in itertools.pairwise(visits)]
        # A: every ~15 days (twice a month), B: every ~30; never two days running.
        min_gap = {"A": 10, "B": 21, "C": 0}[acc.tier]
        assert all(g >= min_gap for g in gaps), (acc.id, visits)
    tiers = {t.tier: t for t in plan.coverage.tiers}
    assert (tiers["A"].required, tiers["A"].planned) == (48, 48)
    assert plan.coverage.unplannable == ()


def test_no_day_overruns_the_working_day_or_eats_the_buffer(
    quarter: tuple[list[Account], CallPlan],
) -> None:
    _, plan = quarter
    for day in plan.days:
        assert day.leave >= REP.day_start_minute
        assert day.back <= REP.day_end_minute
        assert day.drive_minutes + day.visit_minutes <= PLANNABLE
        assert day.slack_minutes == 540 - day.drive_minutes - day.visit_minutes


def test_every_day_starts_and_ends_at_home(quarter: tuple[list[Account], CallPlan]) -> None:
    accounts, plan = quarter
    where = {a.id: (a.lat, a.lon) for a in accounts}
    travel = HaversineTravel(POLICY.travel.speed_kmh, POLICY.travel.circuity)
    for day in plan.days:
        if not day.visits:
            continue
        path = [HOME, *(where[v.account_id] for v in day.visits), HOME]
        legs = [
            math.ceil(float(travel.durations([a], [b])[0, 0]) - 1e-9) for a, b in itertools.pairwise(path)
        ]
        assert day.drive_minutes == sum(legs), day.date
        assert day.visits[0].arrive == day.leave + legs[0]


def test_a_calendar_start_point_replaces_home_for_that_day() -> None:
    accounts = metro_accounts(1, 0, 0, seed=3)  # one visit in two weeks: the appointment
    hotel = (52.60, 13.30)
    first_monday = START
    calendar = Calendar(points={REP.id: {first_monday: DayPoints(start=hotel, end=hotel)}})
    pinned = [
        Account(
            id=a.id,
            lat=a.lat,
            lon=a.lon,
            tier="A",
            windows=(TimeWindow(600, 660, on=first_monday),) if k == 0 else (),
        )
        for k, a in enumerate(accounts)
    ]
    plan = plan_for(pinned, weeks=2, calendar=calendar)
    monday = next(d for d in plan.days if d.date == first_monday)
    travel = HaversineTravel(POLICY.travel.speed_kmh, POLICY.travel.circuity)
    acc = pinned[0]
    there = math.ceil(float(travel.durations([hotel], [(acc.lat, acc.lon)])[0, 0]) - 1e-9)
    assert [v.account_id for v in monday.visits] == [acc.id]
    assert monday.drive_minutes == 2 * there


def test_fixed_appointments_are_kept_on_their_date_and_slot() -> None:
    accounts = metro_accounts(3, 6, 6, seed=1)
    slot_day = START + timedelta(days=9)  # a Wednesday
    surgeon = Account(
        id="surgeon",
        lat=accounts[0].lat,
        lon=accounts[0].lon,
        tier="B",
        windows=(TimeWindow(14 * 60, 14 * 60 + 15, on=slot_day),),
    )
    plan = plan_for([*accounts, surgeon], weeks=4)
    day = next(d for d in plan.days if d.date == slot_day)
    visit = next(v for v in day.visits if v.account_id == "surgeon")
    assert visit.appointment
    assert 14 * 60 <= visit.arrive <= 14 * 60 + 15


def test_a_standing_window_is_honoured_on_every_visit() -> None:
    accounts = metro_accounts(0, 4, 4, seed=2)
    early = Account(
        id="early",
        lat=accounts[0].lat,
        lon=accounts[0].lon,
        tier="A",
        windows=(TimeWindow(8 * 60 + 15, 8 * 60 + 30),),
    )
    plan = plan_for([*accounts, early], weeks=4)
    visits = [v for d in plan.days for v in d.visits if v.account_id == "early"]
    assert len(visits) == 2
    assert all(8 * 60 + 15 <= v.arrive <= 8 * 60 + 30 for v in visits)


def test_visits_that_cannot_be_planned_are_reported_with_reasons() -> None:
    accounts = metro_accounts(1, 2, 2, seed=4)
    far = Account(id="far", lat=HOME[0] + 4.0, lon=HOME[1], tier="B")  # ~440 km away
    dawn = Account(
        id="dawn", lat=HOME[0], lon=HOME[1] + 0.01, tier="B", windows=(TimeWindow(6 * 60, 6 * 60 + 30),)
    )
    nowhere = Account(id="nowhere", lat=None, lon=None, tier="B")
    sunday = Account(
        id="sunday",
        lat=HOME[0],
        lon=HOME[1] + 0.02,
        tier="C",
        windows=(TimeWindow(600, 630, on=START + timedelta(days=6)),),
    )
    plan = plan_for([*accounts, far, dawn, nowhere, sunday], weeks=4)
    reasons = {u.account_id: u.reason for u in plan.coverage.unplannable}
    assert "day's drive" in reasons["far"]
    assert "outside working hours" in reasons["dawn"]
    assert "no location" in reasons["nowhere"]
    assert "day off" in reasons["sunday"]
    assert not plan.visits_of("far") and not plan.visits_of("dawn")


def test_an_overfull_book_reports_the_missing_visits_and_keeps_days_within_limits() -> None:
    accounts = metro_accounts(80, 0, 0, seed=5, radius_km=4.0)  # 80 one-hour A visits in 2 weeks
    plan = plan_for(accounts, weeks=2)
    cov = plan.coverage
    assert cov.planned < cov.required
    assert sum(u.visits for u in cov.unplannable) == cov.required - cov.planned
    assert all("no room" in u.reason for u in cov.unplannable)
    assert all(d.drive_minutes + d.visit_minutes <= PLANNABLE for d in plan.days)


def test_completed_visits_reduce_what_is_planned() -> None:
    accounts = metro_accounts(2, 2, 0, seed=6)
    done = [
        CompletedVisit(accounts[0].id, START + timedelta(days=1)),
        CompletedVisit(accounts[0].id, START + timedelta(days=15)),
        CompletedVisit(accounts[2].id, START - timedelta(days=3)),  # before the horizon
    ]
    plan = plan_for(accounts, completed=done)
    assert len(plan.visits_of(accounts[0].id)) == 4
    assert len(plan.visits_of(accounts[1].id)) == 6
    tiers = {t.tier: t for t in plan.coverage.tiers}
    assert tiers["A"].completed == 2 and tiers["A"].planned == 10
    # A visit done just before the start keeps the next one from following right after.
    first_b = plan.visits_of(accounts[2].id)[0]
    assert (first_b - (START - timedelta(days=3))).days >= 14


def test_holidays_and_days_off_get_no_visits() -> None:
    accounts = metro_accounts(3, 3, 3, seed=7)
    holiday = START + timedelta(days=2)
    vacation = frozenset(START + timedelta(days=k) for k in (7, 8, 9))
    rep = Rep(id="rep", home_lat=HOME[0], home_lon=HOME[1], days_off=frozenset({START}))
    calendar = Calendar(holidays=frozenset({holiday}), days_off={"rep": vacation})
    plan = plan_for(accounts, weeks=4, rep=rep, calendar=calendar)
    dates = {d.date for d in plan.days}
    assert holiday not in dates and START not in dates and not dates & vacation
    assert all(d.weekday() < 5 for d in dates)


def test_same_seed_gives_the_same_call_plan() -> None:
    accounts = metro_accounts(3, 5, 6, seed=8)
    first = plan_for(accounts, weeks=4, seed=11)
    again = plan_for(accounts, weeks=4, seed=11)
    assert first.days == again.days


def test_call_plan_params_from_an_empty_toml_are_the_defaults() -> None:
    assert CallPlanParams.from_toml("") == CallPlanParams()
    assert CallPlanParams.from_toml('day_choice = "round_robin"').day_choice == "round_robin"
    with pytest.raises(ValueError, match="unknown"):
        CallPlanParams.from_toml("rounds = 3")


def test_a_weekday_window_puts_every_visit_on_that_weekday_in_its_slot() -> None:
    rep = replace(REP, day_start_minute=7 * 60)
    accounts = metro_accounts(0, 3, 3, seed=3)
    surgeon = replace(accounts[0], id="surgeon", tier="A",
                      windows=(TimeWindow(7 * 60 + 15, 7 * 60 + 30, weekdays=frozenset({1})),))
    plan = plan_for([*accounts[1:], surgeon], weeks=8, rep=rep)
    visits = [(d.date, v) for d in plan.days for v in d.visits if v.account_id == "surgeon"]
    assert len(visits) == 4  # 24 a year over 8 weeks
    assert all(on.weekday() == 1 and 7 * 60 + 15 <= v.arrive <= 7 * 60 + 30 for on, v in visits)


def test_windows_on_two_weekdays_each_keep_their_own_times() -> None:
    rep = replace(REP, day_start_minute=7 * 60)
    accounts = metro_accounts(0, 3, 3, seed=5)
    clinic = replace(accounts[0], id="clinic", tier="A", windows=(
        TimeWindow(7 * 60 + 15, 7 * 60 + 30, weekdays=frozenset({1})),
        TimeWindow(12 * 60, 13 * 60, weekdays=frozenset({3})),
    ))
    plan = plan_for([*accounts[1:], clinic], weeks=8, rep=rep)
    visits = [(d.date, v) for d in plan.days for v in d.visits if v.account_id == "clinic"]
    assert len(visits) == 4
    for on, v in visits:
        assert (on.weekday() == 1 and 7 * 60 + 15 <= v.arrive <= 7 * 60 + 30) or (
            on.weekday() == 3 and 12 * 60 <= v.arrive <= 13 * 60
        ), (on, v)


def test_a_weekday_window_the_rep_never_works_is_reported() -> None:
    rep = replace(REP, working_days=frozenset({0, 2, 4}))
    accounts = metro_accounts(0, 2, 2, seed=6)
    tuesdays = replace(accounts[0], id="tuesdays", tier="B",
                       windows=(TimeWindow(9 * 60, 10 * 60, weekdays=frozenset({1})),))
    plan = plan_for([*accounts[1:], tuesdays], weeks=8, rep=rep)
    assert plan.visits_of("tuesdays") == ()
    reasons = [u.reason for u in plan.coverage.unplannable if u.account_id == "tuesdays"]
    assert reasons and "time windows allow only Tue: 0 of the rep's working days" in reasons[0]


def test_a_time_window_names_a_date_or_weekdays_not_both() -> None:
    with pytest.raises(ValueError, match="not both"):
        TimeWindow(9 * 60, 10 * 60, on=START, weekdays=frozenset({1}))
    assert str(TimeWindow(7 * 60 + 15, 7 * 60 + 30, weekdays=frozenset({1, 3}))) == "Tue,Thu 07:15-07:30"


# --------------------------------------------------------------------------- days a rep can follow

WINTER = date(2026, 12, 14)  # a Monday; the horizon holds Christmas, New Year and MLK Day


def test_public_holidays_of_the_reps_state_get_no_visits_and_are_named() -> None:
    accounts = metro_accounts(3, 3, 3, seed=9)
    rep = replace(REP, holidays_country="US", holidays_subdivision="NY", time_zone="America/New_York")
    plans = build_call_plans({rep.id: [a.id for a in accounts]}, accounts, [rep], POLICY, start=WINTER,
                             weeks=6, time_limit=4.0, params=QUICK)
    plan = plans[rep.id]
    dates = {d.date for d in plan.days if d.visits}
    off = {d.date: d.reason for d in plan.days_off}
    for holiday in (date(2026, 12, 25), date(2027, 1, 1), date(2027, 1, 18)):
        assert holiday not in dates and holiday in off
    assert "Christmas" in off[date(2026, 12, 25)]
    assert plan.time_zone == "America/New_York"


def test_the_policys_holiday_country_applies_to_reps_that_name_none() -> None:
    accounts = metro_accounts(2, 2, 2, seed=10)
    policy = Policy.from_toml('[calendar]\nholidays_country = "DE"\nholidays_subdivision = "BY"\n'
                              'time_zone = "Europe/Berlin"\n')
    plans = build_call_plans({REP.id: [a.id for a in accounts]}, accounts, [REP], policy, start=WINTER,
                             weeks=4, time_limit=4.0, params=QUICK)
    plan = plans[REP.id]
    assert date(2027, 1, 6) in {d.date for d in plan.days_off}  # Epiphany, a Bavarian holiday
    assert date(2027, 1, 6) not in {d.date for d in plan.days}
    assert plan.time_zone == "Europe/Berlin"


def test_an_unknown_holiday_country_is_a_warning_on_the_plan_and_a_policy_error() -> None:
    accounts = metro_accounts(1, 1, 1, seed=11)
    rep = replace(REP, holidays_country="XX")
    plan = build_call_plans({rep.id: [a.id for a in accounts]}, accounts, [rep], POLICY, start=WINTER,
                            weeks=2, time_limit=2.0, params=QUICK)[rep.id]
    assert plan.days and any("XX" in w for w in plan.warnings)
    with pytest.raises(ValueError, match="XX"):
        Policy.from_toml('[calendar]\nholidays_country = "XX"\n')


def test_a_lunch_break_is_planned_between_visits_and_the_day_still_ends_on_time() -> None:
    accounts = metro_accounts(10, 10, 10, seed=12)
    policy = Policy.from_toml('[capacity]\nlunch = 45\nlunch_from = "12:00"\n')
    plan = build_call_plans({REP.id: [a.id for a in accounts]}, accounts, [REP], policy, start=START,
                            weeks=4, time_limit=4.0, params=QUICK)[REP.id]
    long_days = [d for d in plan.days if d.visits and d.back > 12 * 60 + 30]
    assert long_days
    for day in long_days:
        assert day.lunch is not None and day.lunch >= 12 * 60 and day.lunch_minutes == 45
        assert all(v.depart <= day.lunch or v.arrive >= day.lunch + 45 for v in day.visits)
        assert day.back <= REP.day_end_minute


def test_a_lunch_break_keeps_an_afternoon_appointment_on_its_slot() -> None:
    accounts = metro_accounts(6, 6, 0, seed=13)
    slot = TimeWindow(12 * 60 + 30, 12 * 60 + 45, on=START + timedelta(days=1))
    booked = replace(accounts[0], windows=(slot,))
    policy = Policy.from_toml("[capacity]\nlunch = 30\n")
    plan = build_call_plans({REP.id: [a.id for a in [booked, *accounts[1:]]]}, [booked, *accounts[1:]], [REP],
                            policy, start=START, weeks=2, time_limit=4.0, params=QUICK)[REP.id]
    day = next(d for d in plan.days if d.date == START + timedelta(days=1))
    visit = next(v for v in day.visits if v.account_id == booked.id)
    assert 12 * 60 + 30 <= visit.arrive <= 12 * 60 + 45


def test_each_stop_carries_the_drive_of_its_leg_and_the_day_adds_up() -> None:
    _, plan = _quarter_cache()
    for day in plan.days:
        if day.visits:
            assert sum(v.drive_minutes for v in day.visits) + day.drive_home_minutes == day.drive_minutes
            assert day.leave + day.visits[0].drive_minutes <= day.visits[0].arrive


def test_every_account_is_visited_unplannable_or_not_required_with_a_reason() -> None:
    accounts = metro_accounts(2, 3, 8, seed=15)
    done = [CompletedVisit(accounts[0].id, START + timedelta(days=1))]
    plan = plan_for([*accounts, Account(id="nowhere", lat=None, lon=None, tier="B")], weeks=3, completed=done)
    explained = {u.account_id for u in (*plan.coverage.unplannable, *plan.coverage.not_required)}
    for acc in [*accounts, Account(id="nowhere", lat=None, lon=None)]:
        assert plan.visits_of(acc.id) or acc.id in explained, acc.id
    reasons = {u.account_id: u.reason for u in plan.coverage.not_required}
    assert "no visit due in these 3 weeks" in reasons[accounts[-1].id]


def test_each_visit_knows_its_cadence_and_the_visit_before_it() -> None:
    accounts = metro_accounts(2, 2, 0, seed=16)
    earlier = START - timedelta(days=20)
    plan = plan_for(accounts, weeks=8, completed=[CompletedVisit(accounts[0].id, earlier)])
    visits = [(d.date, v) for d in plan.days for v in d.visits if v.account_id == accounts[0].id]
    assert visits[0][1].last_visit == earlier
    for (before, _), (_, visit) in itertools.pairwise(visits):
        assert visit.last_visit == before
    assert all(v.tier == "A" and v.visits_per_year == 24 for _, v in visits)
