"""Handoffs: a moving account's joint visit on both reps' plans, and who covers it when."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, timedelta

from planner import Account, CallPlan, CallPlanParams, Handoff, Policy, Rep, TimeWindow, build_call_plans

START = date(2026, 3, 2)  # a Monday
EFFECTIVE = date(2026, 3, 25)  # a Wednesday, three weeks and a bit in
QUICK = CallPlanParams(max_rounds=6, final_iterations=300)
OUT = Rep(id="ana", home_lat=52.52, home_lon=13.40)
IN = Rep(id="ben", home_lat=52.48, home_lon=13.30, day_start_minute=9 * 60)


def book_of(rep: Rep, prefix: str, n: int) -> list[Account]:
    return [
        Account(
            id=f"{prefix}{k}",
            lat=rep.home_lat + 0.02 * math.sin(k),
            lon=rep.home_lon + 0.03 * math.cos(k),
            tier="B",
        )
        for k in range(n)
    ]


MOVING = Account(id="moving", lat=52.50, lon=13.36, tier="A", current_rep="ana")
ACCOUNTS = [*book_of(OUT, "a", 8), *book_of(IN, "b", 8), MOVING]
BOOK = {
    "ana": [a.id for a in ACCOUNTS if a.id.startswith("a")],
    "ben": [a.id for a in ACCOUNTS if a.id.startswith("b")] + ["moving"],
}
HANDOFF = Handoff("moving", outgoing_rep="ana", incoming_rep="ben", effective=EFFECTIVE)


def plans(
    start: date = START, weeks: int = 8, handoffs: tuple[Handoff, ...] = (HANDOFF,)
) -> dict[str, CallPlan]:
    return build_call_plans(
        BOOK,
        ACCOUNTS,
        [OUT, IN],
        Policy(),
        start=start,
        weeks=weeks,
        params=QUICK,
        time_limit=4.0,
        handoffs=handoffs,
    )


def visits_of(plan: CallPlan, account_id: str) -> list[tuple[date, int, str]]:
    return [
        (d.date, v.arrive, v.joint_with) for d in plan.days for v in d.visits if v.account_id == account_id
    ]


def test_a_handoff_puts_one_joint_visit_at_the_same_time_on_both_plans_before_the_date() -> None:
    result = plans()
    joint_out = [v for v in visits_of(result["ana"], "moving") if v[2]]
    joint_in = [v for v in visits_of(result["ben"], "moving") if v[2]]
    assert len(joint_out) == 1 and len(joint_in) == 1
    assert joint_out[0][:2] == joint_in[0][:2]
    assert joint_out[0][2] == "ben" and joint_in[0][2] == "ana"
    on, arrive, _ = joint_out[0]
    assert on == date(2026, 3, 24)  # the last day both work before the date
    assert arrive >= IN.day_start_minute and arrive % 15 == 0


def test_the_outgoing_rep_covers_the_account_until_the_date_and_the_incoming_rep_from_it() -> None:
    result = plans()
    outgoing = visits_of(result["ana"], "moving")
    incoming = [v for v in visits_of(result["ben"], "moving") if not v[2]]
    assert outgoing and all(on < EFFECTIVE for on, _, _ in outgoing)
    assert incoming and all(on >= EFFECTIVE for on, _, _ in incoming)
    assert all(not v[2] for v in visits_of(result["ben"], "b0"))  # other visits are not joint


def test_the_joint_visit_stays_put_while_the_horizon_slides() -> None:
    first = [v for v in visits_of(plans()["ana"], "moving") if v[2]]
    week_later = [v for v in visits_of(plans(START + timedelta(weeks=1))["ana"], "moving") if v[2]]
    assert first == week_later


def test_a_handoff_beyond_the_horizon_waits_and_one_already_in_effect_is_reported() -> None:
    late = Handoff("moving", "ana", "ben", effective=START + timedelta(weeks=20))
    result = plans(weeks=4, handoffs=(late,))
    assert not any(v[2] for v in visits_of(result["ben"], "moving"))
    assert not any("handoff" in w for w in result["ben"].warnings)
    past = Handoff("moving", "ana", "ben", effective=START)
    result = plans(weeks=4, handoffs=(past,))
    assert any("handoff of moving" in w and "before this plan starts" in w for w in result["ben"].warnings)
    assert visits_of(result["ana"], "moving") == []  # in effect: only the incoming rep visits it
    assert visits_of(result["ben"], "moving")


def test_a_booked_appointment_after_the_date_goes_to_the_incoming_rep_only() -> None:
    booked = TimeWindow(10 * 60, 10 * 60 + 30, on=EFFECTIVE + timedelta(days=6))
    accounts = [a if a.id != "moving" else replace(a, windows=(booked,)) for a in ACCOUNTS]
    result = build_call_plans(BOOK, accounts, [OUT, IN], Policy(), start=START, weeks=8, params=QUICK,
                              time_limit=4.0, handoffs=(HANDOFF,))  # fmt: skip
    assert booked.on not in [on for on, _, _ in visits_of(result["ana"], "moving")]
    assert booked.on in [on for on, _, _ in visits_of(result["ben"], "moving")]
