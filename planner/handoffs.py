"""Handoffs: an account changing reps on a date gets one joint visit of both reps before it.

Until the effective date the outgoing rep covers the account, from it the
incoming one; the joint visit is an appointment both reps share: the same
date and start time on both plans. It goes on the last working day of both
reps before the date (so it stays put night after night while the horizon
slides), at the first time of day both can be there, inside the account's
standing window when it has one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from planner.callplan_model import Calendar
from planner.model import Account, Policy, Rep, TimeWindow
from planner.travel import TravelMatrix
from planner.workdays import work_days

SLOT_GRID = 15  # joint visits start on the quarter hour, like meetings people book


@dataclass(frozen=True, slots=True)
class Handoff:
    """The account moves from `outgoing_rep` to `incoming_rep` on `effective` (a transition date)."""

    account_id: str
    outgoing_rep: str
    incoming_rep: str
    effective: date


@dataclass(frozen=True, slots=True)
class HandoffSlot:
    """When the joint visit of a handoff is: the same date and start time on both reps' plans."""

    handoff: Handoff
    on: date
    start_minute: int

    @property
    def window(self) -> TimeWindow:
        return TimeWindow(self.start_minute, self.start_minute, on=self.on)


@dataclass(frozen=True)
class HandoffSlots:
    slots: tuple[HandoffSlot, ...]
    skipped: tuple[tuple[Handoff, str], ...]  # handoffs that get no joint visit in this horizon, and why

    def of_rep(self, rep_id: str) -> list[HandoffSlot]:
        return [s for s in self.slots if rep_id in (s.handoff.outgoing_rep, s.handoff.incoming_rep)]

    def warnings_of(self, rep_id: str) -> tuple[str, ...]:
        return tuple(
            f"handoff of {h.account_id} ({h.outgoing_rep} → {h.incoming_rep} on {h.effective}): {why}"
            for h, why in self.skipped
            if rep_id in (h.outgoing_rep, h.incoming_rep)
        )


@dataclass(frozen=True, slots=True)
class Span:
    """The dates a rep covers an account in a plan: [first, until); None is open."""

    first: date | None = None
    until: date | None = None

    def holds(self, day: date) -> bool:
        return (self.first is None or day >= self.first) and (self.until is None or day < self.until)


def handoff_slots(
    handoffs: Sequence[Handoff],
    accounts_by_id: Mapping[str, Account],
    reps_by_id: Mapping[str, Rep],
    policy: Policy,
    *,
    start: date,
    weeks: int,
    calendar: Calendar,
    travel: TravelMatrix,
) -> HandoffSlots:
    """The joint visit of each handoff, or the reason it gets none in [start, start + weeks)."""
    slots: list[HandoffSlot] = []
    skipped: list[tuple[Handoff, str]] = []
    for h in handoffs:
        found = _slot(h, accounts_by_id, reps_by_id, policy, start, weeks, calendar, travel)
        if isinstance(found, HandoffSlot):
            slots.append(found)
        elif found:
            skipped.append((h, found))
    return HandoffSlots(tuple(slots), tuple(skipped))


def _slot(
    h: Handoff,
    accounts_by_id: Mapping[str, Account],
    reps_by_id: Mapping[str, Rep],
    policy: Policy,
    start: date,
    weeks: int,
    calendar: Calendar,
    travel: TravelMatrix,
) -> HandoffSlot | str:
    """The slot, a reason there is none, or "" when the date is beyond the horizon (a later plan's)."""
    acc = accounts_by_id.get(h.account_id)
    reps = [reps_by_id.get(h.outgoing_rep), reps_by_id.get(h.incoming_rep)]
    if acc is None or None in reps:
        return "the account or a rep is not among the planner's inputs"
    pair = [r for r in reps if r is not None]
    if h.effective <= start:
        return f"it takes effect on {h.effective}, before this plan starts: no day left for a joint visit"
    if h.effective > start + timedelta(weeks=weeks):
        return ""
    common = set(work_days(pair[0], policy, calendar, start, weeks).dates)
    common &= set(work_days(pair[1], policy, calendar, start, weeks).dates)
    days = sorted(d for d in common if d < h.effective)
    if not days:
        return f"the reps share no working day before {h.effective}"
    if not acc.located:
        return "the account has no location to meet at"
    on = days[-1]
    start_minute = _start_minute(acc, pair, policy, travel, on)
    if start_minute is None:
        return f"no time on {on} when both reps can be there within their working hours"
    return HandoffSlot(h, on, start_minute)


def _start_minute(
    acc: Account, reps: Sequence[Rep], policy: Policy, travel: TravelMatrix, on: date
) -> int | None:
    """The first quarter hour both reps can reach the account from home, within its standing window."""
    assert acc.lat is not None and acc.lon is not None
    homes = np.array([[r.home_lat, r.home_lon] for r in reps] + [[acc.lat, acc.lon]], dtype=np.float64)
    minutes = np.asarray(travel.durations(homes, homes), dtype=np.float64)
    arrive = max(r.day_start_minute + math.ceil(minutes[k, len(reps)]) for k, r in enumerate(reps))
    earliest = -(-arrive // SLOT_GRID) * SLOT_GRID
    service = math.ceil(policy.tier(acc.tier).visit_minutes * acc.effort)
    closes = min(r.day_end_minute for r in reps)
    standing = [w for w in acc.windows if w.on is None and (not w.weekdays or on.weekday() in w.weekdays)]
    if not standing:
        return earliest if earliest + service <= closes else None
    for w in sorted(standing, key=lambda w: w.start_minute):
        t = max(w.start_minute, arrive)
        if t <= w.end_minute and t + service <= closes:
            return t
    return None
