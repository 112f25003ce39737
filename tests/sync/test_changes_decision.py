"""The nightly owner decision on a small book, with the real planner: the trigger, the budget left,
the cooldown, a book already settled, and auto mode's territories."""

from __future__ import annotations

import dataclasses

import planner
from sync.changes import ChangeHistory, ChangeMode, NightPlan, plan_night, rebalancer, trigger_check
from sync.snapshot import Snapshot

REPS = (planner.Rep("east", 40.0, -74.0, name="Ana East"), planner.Rep("west", 40.0, -74.6, name="Bo West"))


def _book(east_share: float) -> Snapshot:
    """40 accounts between the two homes, the first `east_share` of them with Ana East, the rest with Bo."""
    accounts = tuple(
        planner.Account(
            f"a{i:02d}", 40.0 + (i % 5) * 0.02, -74.0 - (i / 40) * 0.6, potential=100.0,
            current_rep="east" if i < east_share * 40 else "west",
        )
        for i in range(40)
    )  # fmt: skip
    return Snapshot(
        accounts=accounts,
        reps=REPS,
        completed=(),
        current_owner={a.id: a.current_rep for a in accounts},
        current_territory={},
        rep_names={r.id: r.name for r in REPS},
        human_edits=(),
        issues=(),
        fingerprint="",
    )


def _night(
    snap: Snapshot, history: ChangeHistory | None = None, changes: ChangeMode = ChangeMode.APPROVE
) -> NightPlan:
    rebalance = rebalancer(snap.reps, planner.HaversineTravel(), seed=0, seconds=5)
    return plan_night(
        snap,
        planner.Policy(),
        history or ChangeHistory(),
        rebalance,
        mode="minimal",
        changes=changes,
        pending=None,
    )


def test_a_balanced_book_is_within_the_trigger_and_keeps_every_owner() -> None:
    night = _night(_book(0.5))
    assert night.rebalance is None and night.territories.moves == ()
    assert night.decision.why_no_proposal == "balance is within the trigger: owners stay"


def test_a_lopsided_book_gets_a_proposal_within_the_budget_and_never_moves_a_cooling_account() -> None:
    snap = _book(0.9)
    check = trigger_check(_night(snap).stable.after, planner.Policy().trigger, snap.rep_names)
    assert check.crossed and any("Ana East" in r for r in check.reasons)
    cooling = frozenset({"a20", "a21", "a22"})
    night = _night(snap, ChangeHistory(moved_in_window=2, cooling=cooling))
    moves = night.proposed_moves
    assert 0 < len(moves) <= 8 - 2, "20 % of 40 accounts per window, 2 already used"
    assert night.decision.budget_left == 6 and not {m.account_id for m in moves} & cooling
    assert night.territories is night.stable, "approve mode: tonight's call plans keep today's owners"
    auto = _night(snap, ChangeHistory(moved_in_window=2, cooling=cooling), changes=ChangeMode.AUTO)
    assert {m.account_id for m in auto.proposed_moves} <= set(auto.territories.assignments)
    assert all(auto.territories.assignments[m.account_id] == m.to_rep for m in auto.proposed_moves)


def test_no_budget_left_or_a_settled_book_proposes_nothing() -> None:
    snap = _book(0.9)
    spent = _night(snap, ChangeHistory(moved_in_window=8))
    assert spent.rebalance is None and spent.decision.why_no_proposal == "the rolling move budget is used up"
    first = _night(snap)
    settled = ChangeHistory(settled_books=frozenset({first.decision.fingerprint}))
    again = _night(snap, settled)
    assert again.rebalance is None
    assert again.decision.why_no_proposal == "nothing changed in the CRM since the last proposal was decided"


def test_a_forced_move_out_of_a_reps_reach_says_so() -> None:
    snap = _book(0.5)
    # 102 km from Ana (a day trip), 153 km from Bo (not)
    far = planner.Account("far", 40.0, -72.8, potential=100.0, current_rep="west")
    snap = dataclasses.replace(snap, accounts=(*snap.accounts, far))
    night = _night(snap)
    (forced,) = night.stable.moves
    assert (forced.account_id, forced.to_rep) == ("far", "east")
    assert forced.reason.startswith("beyond a day's drive of Bo West's home; ")
