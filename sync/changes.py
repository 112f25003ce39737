"""The nightly territory decision: forced changes applied, rebalancing only when it is due.

Two kinds of owner change take two paths. *Forced* changes (no owner, an owner
who left or is not on the team, an account its owner cannot reach or lacks the
skill for) are what the planner does when every other account keeps its rep:
the night applies them. *Rebalancing* moves are made by choice, so they are
planned only when balance has drifted past the policy's `[trigger]`, within
what is left of the rolling move budget, never for an account still in its
cooldown, and they become a proposal for a person to approve.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from sqlalchemy import or_
from sqlmodel import Session, col, select

import planner
from sync import proposals
from sync.diff import PlanDiff
from sync.outbox import Change
from sync.snapshot import Snapshot, last_pushed_assignments
from sync.store import PlanRun, Proposal, RepRow
from sync.store.outbox_payload import AssignmentPayload
from sync.store.plan_summary import BalanceMetrics
from sync.store.proposal_doc import NightDecision, ProposedMove

Mode = Literal["minimal", "full"]
# planner.rebalance for this snapshot: (accounts, policy, mode) -> plan
Rebalance = Callable[[Sequence[planner.Account], planner.Policy, Mode], planner.TerritoryPlan]


def rebalancer(
    reps: Sequence[planner.Rep], travel: planner.TravelMatrix, *, seed: int, seconds: float
) -> Rebalance:
    """planner.rebalance over these reps and travel times, for the accounts and policy of each call."""

    def rebalance(
        accounts: Sequence[planner.Account], policy: planner.Policy, mode: Mode
    ) -> planner.TerritoryPlan:
        return planner.rebalance(
            accounts, reps, policy, mode=mode, seed=seed, time_limit=seconds, travel=travel
        )

    return rebalance


AUTO_APPROVER = "auto (TERRITORY_CHANGES=auto)"


class ChangeMode(StrEnum):
    APPROVE = "approve"  # rebalancing moves wait for a person (`tsync approve`, the plan page)
    AUTO = "auto"  # every proposal is approved as soon as it is made


@dataclass(frozen=True)
class ChangeHistory:
    """What was already decided: the budget moves by choice used, the accounts still cooling down,
    the owners we set ourselves lately, and the book the last decided proposal left."""

    moved_in_window: int = 0
    cooling: frozenset[str] = frozenset()
    written: Mapping[str, str] = field(default_factory=dict)  # account -> owner we wrote within the cooldown
    given: frozenset[str] = frozenset()  # ... of those, the ones whose owner we changed
    guessed_homes: frozenset[str] = frozenset()  # reps with no home in the CRM (placed at their book)
    settled_books: frozenset[str] = frozenset()  # book fingerprints no proposal is needed for again

    @classmethod
    def load(cls, org_id: str, policy: planner.Policy, now: datetime, *, session: Session) -> ChangeHistory:
        d = policy.disruption
        window = proposals.moved_by_choice_since(org_id, now - timedelta(days=d.window_days), session=session)
        since = now - timedelta(days=d.cooldown_days)
        cooling = proposals.moved_by_choice_since(org_id, since, session=session)
        pushed = last_pushed_assignments(org_id, session=session)
        recent = {a: p.payload for a, p in pushed.items() if p.at >= since and p.payload.owner_id}
        written = {a: p.owner_id for a, p in recent.items() if p.owner_id}
        given = frozenset(a for a, p in recent.items() if p.owner_id != p.previous_owner_id)
        last = proposals.latest_decided(org_id, session=session)
        settled = {last.inputs_fingerprint, last.diff.book_after} - {""} if last is not None else set()
        homeless = session.exec(
            select(RepRow.crm_id).where(
                RepRow.org_id == org_id, or_(col(RepRow.home_lat).is_(None), col(RepRow.home_lon).is_(None))
            )
        ).all()
        return cls(len(window), frozenset(cooling), written, given, frozenset(homeless), frozenset(settled))


@dataclass(frozen=True)
class TriggerCheck:
    """Whether balance has drifted far enough to rebalance, and where."""

    excess: float  # how far past the trigger, summed over reps and the CV (0: within it)
    reasons: tuple[str, ...]

    @property
    def crossed(self) -> bool:
        return self.excess > 1e-9


def trigger_check(
    report: planner.BalanceReport, trigger: planner.TriggerPolicy, names: Mapping[str, str]
) -> TriggerCheck:
    excess, reasons = 0.0, []
    band = trigger.share_band
    for load in report.reps:
        for what, ratio in (("potential", load.potential_vs_target), ("workload", load.workload_vs_target)):
            over = abs(ratio - 1.0) - band
            if math.isfinite(ratio) and over > 1e-9:
                excess += over
                who = names.get(load.rep_id) or load.rep_id
                reasons.append(
                    f"{who} at {ratio * 100:.0f} % of a fair share of {what} (trigger ±{band * 100:.0f} %)"
                )
    cv = report.potential.cv
    if math.isfinite(cv) and cv - trigger.potential_cv > 1e-9:
        excess += cv - trigger.potential_cv
        reasons.append(f"potential CV {cv:.2f} over the trigger's {trigger.potential_cv:.2f}")
    return TriggerCheck(excess, tuple(reasons))


@dataclass(frozen=True)
class NightPlan:
    """The territories tonight's call plans use, the forced moves, and the rebalance proposed (if any)."""

    territories: planner.TerritoryPlan
    stable: planner.TerritoryPlan  # every account kept unless it must move
    rebalance: planner.TerritoryPlan | None  # the proposal's plan, relative to `stable`
    decision: NightDecision

    @property
    def proposed_moves(self) -> tuple[planner.Move, ...]:
        return self.rebalance.moves if self.rebalance is not None else ()


def book_fingerprint(
    accounts: Sequence[planner.Account], reps: Sequence[planner.Rep], policy: planner.Policy
) -> str:
    """What a rebalance depends on: accounts, their owners and the reps (not the day's visits)."""
    digest = hashlib.sha256()
    rows = [
        (a.id, a.lat, a.lon, a.tier, a.potential, a.effort, sorted(a.skills), a.current_rep) for a in accounts
    ]
    # a rep by who it is, not where: a home guessed from the book moves with the book
    team = [(r.id, r.target_share, sorted(r.skills), r.overlay) for r in reps]
    digest.update(json.dumps([rows, team], default=str).encode())
    digest.update(repr(policy).encode())
    return digest.hexdigest()


def plan_night(
    snap: Snapshot,
    policy: planner.Policy,
    history: ChangeHistory,
    rebalance: Rebalance,
    *,
    mode: Mode,
    changes: ChangeMode | str,
    pending: Proposal | None,
) -> NightPlan:
    """Forced changes always; a rebalance only if the trigger is crossed and the budget allows it."""
    stable = _say_why_forced(rebalance(_kept(snap, history, stable=True), policy, "minimal"), snap)
    check = trigger_check(stable.after, policy.trigger, snap.rep_names)
    plannable = len(stable.assignments)
    budget = max(0, math.floor(policy.disruption.max_move_share * plannable) - history.moved_in_window)
    decision = NightDecision(
        forced=len(stable.moves),
        trigger=check.reasons,
        budget_left=budget if mode == "minimal" else None,
        cooling=len(history.cooling),
    )
    if not check.crossed:
        return _stable(stable, decision, "balance is within the trigger: owners stay")
    if mode == "minimal" and budget == 0:
        return _stable(stable, decision, "the rolling move budget is used up")
    base = _after_forced(snap, history, stable)
    fingerprint = book_fingerprint(base, snap.reps, policy)
    if pending is not None and pending.inputs_fingerprint == fingerprint:
        decision = decision.model_copy(update={"kept_pending": pending.id})
        return _stable(stable, decision, f"proposal {pending.id} is still pending for the same book")
    if fingerprint in history.settled_books:
        return _stable(stable, decision, "nothing changed in the CRM since the last proposal was decided")
    rebalanced = _within_budget(rebalance, base, policy, mode, budget)
    after = trigger_check(rebalanced.after, policy.trigger, snap.rep_names)
    if not rebalanced.moves or after.excess > 0.9 * check.excess:
        return _stable(stable, decision, "no rebalance within the budget improves balance enough")
    after_fp = book_fingerprint(_owned_as(base, rebalanced), snap.reps, policy)
    decision = decision.model_copy(
        update={"proposed": len(rebalanced.moves), "fingerprint": fingerprint, "book_after": after_fp}
    )
    chosen = _merged(stable, rebalanced) if changes == ChangeMode.AUTO else stable
    return NightPlan(chosen, stable, rebalanced, decision)


def _say_why_forced(stable: planner.TerritoryPlan, snap: Snapshot) -> planner.TerritoryPlan:
    """A forced move away from a rep still on the team who has its skills is a move out of reach:
    say so first (the planner's reason then says why it goes where it goes)."""
    reps = {r.id: r for r in snap.reps}
    accounts = {a.id: a for a in snap.accounts}
    moves = []
    for m in stable.moves:
        rep, account = reps.get(m.from_rep or ""), accounts.get(m.account_id)
        if rep is not None and account is not None and account.skills <= rep.skills:
            m = dataclasses.replace(
                m, reason=f"beyond a day's drive of {rep.name or rep.id}'s home; {m.reason}"
            )
        moves.append(m)
    return dataclasses.replace(stable, moves=tuple(moves))


def _after_forced(
    snap: Snapshot, history: ChangeHistory, stable: planner.TerritoryPlan
) -> list[planner.Account]:
    """The book once tonight's forced changes are made: what a rebalance starts from. A forced
    account keeps its new rep, and an account moved by choice lately keeps its rep (the cooldown)."""
    forced = {m.account_id for m in stable.moves}
    return [
        # an account the snapshot keeps already (an open deal) stays kept
        dataclasses.replace(a, keep_rep=a.keep_rep or a.id in forced or a.id in history.cooling)
        for a in _owned_as(_kept(snap, history, stable=False), stable)
    ]


def _owned_as(accounts: Sequence[planner.Account], plan: planner.TerritoryPlan) -> list[planner.Account]:
    return [dataclasses.replace(a, current_rep=plan.assignments.get(a.id, a.current_rep)) for a in accounts]


def _kept(snap: Snapshot, history: ChangeHistory, *, stable: bool) -> list[planner.Account]:
    """Accounts as tonight's runs see them. For the stable run, every account is kept by its rep
    unless it must move; an owner we wrote lately whose home the CRM does not give is not undone by
    the reach rule (a home guessed from the book moves with the book: no flip-flop between nights),
    only by leaving or lacking a skill. For the rebalance, accounts we gave an owner lately stay."""
    reps = {r.id: r for r in snap.reps}
    kept = []
    for a in snap.accounts:
        rep = reps.get(a.current_rep or "")
        ours = rep is not None and history.written.get(a.id) == rep.id and a.skills <= rep.skills
        if stable:
            guessed = ours and a.current_rep in history.guessed_homes
            kept.append(dataclasses.replace(a, keep_rep=True, locked=a.locked or guessed))
        else:
            kept.append(dataclasses.replace(a, locked=a.locked or (ours and a.id in history.given)))
    return kept


def _stable(stable: planner.TerritoryPlan, decision: NightDecision, why: str) -> NightPlan:
    return NightPlan(stable, stable, None, decision.model_copy(update={"why_no_proposal": why}))


def _within_budget(
    rebalance: Rebalance, base: list[planner.Account], policy: planner.Policy, mode: Mode, budget: int
) -> planner.TerritoryPlan:
    """The rebalance with what is left of the rolling budget; the planner does not count moves of
    accounts it thinks their rep cannot reach, so a plan over budget is re-planned with less."""
    limit = budget
    for _ in range(3):
        share = min(1.0, (limit + 0.5) / max(len(base), 1))
        plan = rebalance(base, _with_move_share(policy, share), mode)
        over = len(plan.moves) - budget
        if mode != "minimal" or over <= 0:
            return plan
        if limit == 0:
            break
        limit = max(0, limit - over)
    return dataclasses.replace(plan, moves=())  # no plan within the budget: nothing is proposed


def _with_move_share(policy: planner.Policy, share: float) -> planner.Policy:
    return dataclasses.replace(
        policy, disruption=dataclasses.replace(policy.disruption, max_move_share=share)
    )


def _merged(stable: planner.TerritoryPlan, rebalanced: planner.TerritoryPlan) -> planner.TerritoryPlan:
    """The rebalanced plan, seen from tonight's book: forced moves and rebalancing moves together."""
    moves = {m.account_id: m for m in stable.moves}
    for m in rebalanced.moves:
        first = moves.get(m.account_id)
        moves[m.account_id] = dataclasses.replace(m, from_rep=first.from_rep) if first else m
    had_rep = max(1, len(stable.assignments) - sum(1 for m in stable.moves if m.from_rep is None))
    moved = [m for m in moves.values() if m.from_rep is not None]
    return dataclasses.replace(
        rebalanced,
        moves=tuple(sorted(moves.values(), key=lambda m: m.account_id)),
        before=stable.before,
        moved_share=len(moved) / had_rep,
    )


def proposed_moves(night: NightPlan, snap: Snapshot) -> list[ProposedMove]:
    """The proposal's moves, with account names and potentials for the people deciding."""
    by_id = {a.id: a for a in snap.accounts}
    return [
        ProposedMove(
            account_id=m.account_id,
            account_name=by_id[m.account_id].name if m.account_id in by_id else "",
            from_rep=m.from_rep,
            to_rep=m.to_rep,
            reason=m.reason,
            potential=by_id[m.account_id].potential if m.account_id in by_id else 0.0,
        )
        for m in night.proposed_moves
    ]


def record_night(
    org_id: str, plan_run: PlanRun, night: NightPlan, snap: Snapshot, *, session: Session
) -> Proposal | None:
    """Store tonight's proposal (superseding what was pending) and the night's decision on the plan run."""
    proposal = None
    if night.rebalance is not None:
        proposal = proposals.record_proposal(
            org_id,
            plan_run.id,
            proposed_moves(night, snap),
            before=BalanceMetrics.model_validate(night.stable.after),
            after=BalanceMetrics.model_validate(night.rebalance.after),
            fingerprint=night.decision.fingerprint,
            book_after=night.decision.book_after,
            session=session,
        )
    elif night.decision.kept_pending is None:
        proposals.supersede_pending(org_id, session=session)
    decision = night.decision.model_copy(update={"proposal_id": proposal.id if proposal else None})
    plan_run.summary = plan_run.summary.model_copy(update={"night": decision})
    session.add(plan_run)
    return proposal


def approve_waiting(
    org_id: str,
    plan_run: PlanRun,
    changes: ChangeMode | str,
    *,
    now: datetime | None = None,
    transition_days: int = 0,
    session: Session,
) -> int:
    """Auto mode: approve the plan run's pending proposal as it is pushed (a dry run never is).
    Returns the outbox rows it queued (none while its moves wait for their transition date)."""
    if changes != ChangeMode.AUTO:
        return 0
    waiting = [p for p in proposals.pending(org_id, session=session) if p.plan_run_id == plan_run.id]
    days = transition_days
    return sum(
        proposals.approve(p.id, AUTO_APPROVER, now=now, transition_days=days, session=session).queued
        for p in waiting
        if p.id
    )


def forced_only(diff: PlanDiff, plan_run: PlanRun, *, session: Session) -> list[Change]:
    """The plan's changes without the owner changes that belong to proposals (approval writes those)."""
    held = proposals.held_accounts(plan_run, session=session)
    return [c for c in diff.changes if not isinstance(c.payload, AssignmentPayload) or held.allows(c.payload)]
