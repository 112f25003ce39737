"""Territory proposals: rebalancing moves that wait for a person, and what deciding them does.

A nightly plan applies *forced* owner changes itself (no owner, owner gone,
out of reach, lacks a skill). Moves made *by choice* to rebalance become one
`Proposal`: stored with its moves, reasons and balance, and never written to
the CRM until someone approves it. Approving re-diffs each move against the
store as it is now (the CRM may have changed under it), queues the moves that
still hold with the proposal's id on every outbox row, and records what it
dropped and why. Store functions here take `session=` and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from sync.notices import rep_notices
from sync.outbox import Change, enqueue
from sync.store import (
    AccountRow,
    OutboxItem,
    OutboxKind,
    OutboxStatus,
    PlanRun,
    Proposal,
    ProposalOrigin,
    ProposalStatus,
    RepRow,
)
from sync.store.outbox_payload import AssignmentPayload
from sync.store.plan_summary import BalanceMetrics
from sync.store.proposal_doc import DroppedMove, ProposalDiff, ProposalOutcome, ProposedMove
from sync.store.types import utcnow
from sync.stored_plan import territory_for_rep


class ProposalNotFound(LookupError):
    """No proposal has that id."""


class NotDecidable(ValueError):
    """The proposal was already decided or replaced: it cannot be approved or rejected now."""


@dataclass(frozen=True)
class Decision:
    """What approving a proposal did: the moves queued for the CRM and those dropped, with why."""

    proposal_id: int
    status: ProposalStatus
    decided_by: str
    applied: tuple[str, ...]
    dropped: tuple[DroppedMove, ...]
    queued: int  # outbox rows added
    effective_on: date | None = None  # when the moves take effect (held until then when later than today)


# --------------------------------------------------------------------------- recording


def record_proposal(
    org_id: str,
    plan_run_id: int | None,
    moves: Iterable[ProposedMove],
    *,
    before: BalanceMetrics,
    after: BalanceMetrics,
    fingerprint: str = "",
    book_after: str = "",
    origin: ProposalOrigin = ProposalOrigin.NIGHTLY,
    label: str = "",
    session: Session,
) -> Proposal:
    """Store a proposal (flushed, with its id); a nightly one supersedes older pending nightly ones."""
    if origin is ProposalOrigin.NIGHTLY:
        for older in pending(org_id, session=session):
            older.status = ProposalStatus.SUPERSEDED
            session.add(older)
    proposal = Proposal(
        org_id=org_id,
        plan_run_id=plan_run_id,
        origin=origin,
        label=label,
        inputs_fingerprint=fingerprint,
        diff=ProposalDiff(moves=tuple(sorted(moves, key=lambda m: m.account_id)), book_after=book_after),
        metrics_before=before,
        metrics_after=after,
    )
    session.add(proposal)
    session.flush()
    return proposal


def supersede_pending(org_id: str, *, session: Session) -> int:
    """A night that proposes nothing replaces what was pending: its balance no longer calls for it."""
    older = pending(org_id, session=session)
    for p in older:
        p.status = ProposalStatus.SUPERSEDED
        session.add(p)
    return len(older)


def pending(org_id: str, *, session: Session) -> list[Proposal]:
    """The org's nightly proposals waiting for a decision, oldest first."""
    return list(
        session.exec(
            select(Proposal)
            .where(
                Proposal.org_id == org_id,
                Proposal.status == ProposalStatus.PENDING,
                Proposal.origin == ProposalOrigin.NIGHTLY,
            )
            .order_by(col(Proposal.id))
        ).all()
    )


def latest_decided(org_id: str, *, session: Session) -> Proposal | None:
    """The org's last nightly proposal a person (or auto mode) approved or rejected."""
    return session.exec(
        select(Proposal)
        .where(
            Proposal.org_id == org_id,
            Proposal.origin == ProposalOrigin.NIGHTLY,
            col(Proposal.status).in_(
                [ProposalStatus.APPLIED, ProposalStatus.APPROVED, ProposalStatus.REJECTED]
            ),
        )
        .order_by(col(Proposal.decided_at).desc(), col(Proposal.id).desc())
        .limit(1)
    ).first()


def list_proposals(
    *, org_id: str | None = None, status: ProposalStatus | None = None, limit: int = 50, session: Session
) -> list[Proposal]:
    """Proposals newest first (what `tsync proposals` and the web list show)."""
    query = select(Proposal)
    if org_id:
        query = query.where(Proposal.org_id == org_id)
    if status:
        query = query.where(Proposal.status == status)
    return list(session.exec(query.order_by(col(Proposal.id).desc()).limit(limit)).all())


def get_proposal(proposal_id: int, *, session: Session) -> Proposal:
    proposal = session.get(Proposal, proposal_id)
    if proposal is None:
        raise ProposalNotFound(f"no proposal {proposal_id}")
    return proposal


# --------------------------------------------------------------------------- deciding


def _decidable(proposal: Proposal) -> None:
    if proposal.status is not ProposalStatus.PENDING:
        raise NotDecidable(
            f"proposal {proposal.id} is {proposal.status.value}: only a pending one can be decided"
        )


def reject(
    proposal_id: int, by: str, reason: str, *, now: datetime | None = None, session: Session
) -> Proposal:
    """Record a rejection (who, when, why); nothing of the proposal reaches the CRM."""
    proposal = get_proposal(proposal_id, session=session)
    _decidable(proposal)
    proposal.status = ProposalStatus.REJECTED
    proposal.decided_by, proposal.decided_at = by, now or utcnow()
    proposal.decision_reason = reason
    session.add(proposal)
    return proposal


def approve(
    proposal_id: int,
    by: str,
    *,
    reason: str | None = None,
    now: datetime | None = None,
    transition_days: int = 0,
    session: Session,
) -> Decision:
    """Record the approval, then queue the moves that still hold and record what was dropped; with
    `transition_days` (the policy's `[transition] days`) the moves wait for their date instead."""

    proposal = get_proposal(proposal_id, session=session)
    _decidable(proposal)
    at = now or utcnow()
    proposal.status = ProposalStatus.APPROVED
    proposal.decided_by, proposal.decided_at, proposal.decision_reason = by, at, reason
    session.add(proposal)
    return take_effect(proposal, days=transition_days, now=at, session=session)


def take_effect(proposal: Proposal, *, days: int, now: datetime | None = None, session: Session) -> Decision:
    """After approval: apply at once (`days` 0), or hold the approved proposal until approval day + `days`
    (`sync.transitions` applies it on that date and plans the handoff visits before it)."""
    at = now or utcnow()
    proposal.effective_on = at.date() + timedelta(days=max(0, days))
    _tell_reps(proposal, proposal.effective_on, session=session)  # before the date, not on it
    if days <= 0:
        return apply(proposal, now=at, session=session)
    assert proposal.id is not None
    session.add(proposal)
    return Decision(
        proposal_id=proposal.id, status=proposal.status, decided_by=proposal.decided_by or "",
        applied=(), dropped=(), queued=0, effective_on=proposal.effective_on,
    )  # fmt: skip


def apply(proposal: Proposal, *, now: datetime | None = None, session: Session) -> Decision:
    """Re-diff an approved proposal against the store and queue what still holds (once)."""
    assert proposal.id is not None
    holding, dropped = rediff(proposal, session=session)
    rep_names = {
        r.crm_id: r.name for r in session.exec(select(RepRow).where(RepRow.org_id == proposal.org_id))
    }
    changes = [_change(proposal.id, m, rep_names) for m in holding]
    queued = enqueue(proposal.org_id, proposal.plan_run_id, changes, session=session)
    proposal.status = ProposalStatus.APPLIED
    proposal.applied_at = now or utcnow()
    proposal.applied, proposal.dropped = len(holding), len(dropped)
    proposal.outcome = ProposalOutcome(applied=tuple(m.account_id for m in holding), dropped=tuple(dropped))
    session.add(proposal)
    return Decision(
        proposal_id=proposal.id,
        status=proposal.status,
        decided_by=proposal.decided_by or "",
        applied=proposal.outcome.applied,
        dropped=proposal.outcome.dropped,
        queued=queued,
    )


def _tell_reps(proposal: Proposal, effective: date, *, session: Session) -> None:
    """One Task per active rep whose book the approved moves change (once per proposal: its key)."""
    assert proposal.id is not None
    holding, _dropped = rediff(proposal, session=session)
    reps = session.exec(select(RepRow).where(RepRow.org_id == proposal.org_id)).all()
    notices = rep_notices(
        f"proposal{proposal.id}", holding, {r.crm_id: r.name for r in reps},
        active={r.crm_id for r in reps if r.active}, effective=effective, label=f"proposal {proposal.id}",
    )  # fmt: skip
    enqueue(proposal.org_id, proposal.plan_run_id, notices, session=session)


def _change(proposal_id: int, move: ProposedMove, rep_names: Mapping[str, str]) -> Change:
    payload = AssignmentPayload(
        account_id=move.account_id,
        owner_id=move.to_rep,
        territory=territory_for_rep(rep_names.get(move.to_rep, ""), move.to_rep),
        previous_owner_id=move.from_rep,
        proposal_id=proposal_id,
    )
    return Change(move.account_id, f"proposal{proposal_id}:assignment:{move.account_id}", payload)


# --------------------------------------------------------------------------- staleness


def rediff(proposal: Proposal, *, session: Session) -> tuple[list[ProposedMove], list[DroppedMove]]:
    """Split the proposal's moves into those that still hold and those the CRM changed under."""
    ids = [m.account_id for m in proposal.diff.moves]
    accounts = {
        a.crm_id: a
        for a in session.exec(
            select(AccountRow).where(AccountRow.org_id == proposal.org_id, col(AccountRow.crm_id).in_(ids))
        )
    }
    reps = {r.crm_id: r for r in session.exec(select(RepRow).where(RepRow.org_id == proposal.org_id))}
    pushed = last_pushed_owners(proposal.org_id, ids, session=session)
    holding: list[ProposedMove] = []
    dropped: list[DroppedMove] = []
    for move in proposal.diff.moves:
        why = _why_not(
            move, accounts.get(move.account_id), reps.get(move.to_rep), pushed.get(move.account_id)
        )
        if why is None:
            holding.append(move)
        else:
            dropped.append(DroppedMove(account_id=move.account_id, why=why))
    return holding, dropped


def _why_not(
    move: ProposedMove, account: AccountRow | None, to_rep: RepRow | None, pushed: AssignmentPayload | None
) -> str | None:
    """Why a move no longer holds (None: it does)."""
    if account is None or account.deleted_at is not None:
        return "the account was deleted in the CRM"
    if account.locked:
        return "the account is locked in the CRM"
    owner = account.owner_crm_id
    # a forced change we pushed but have not pulled back yet counts as the owner
    if pushed is not None and owner == pushed.previous_owner_id:
        owner = pushed.owner_id
    if owner == move.to_rep:
        return "the account already has that owner"
    if owner != move.from_rep:
        return f"its owner changed in the CRM since the proposal (now {owner or 'nobody'})"
    if to_rep is None or to_rep.deleted_at is not None or not to_rep.active:
        return f"the new owner {move.to_rep} is no longer an active user"
    return None


def last_pushed_owners(
    org_id: str, account_ids: Iterable[str], *, session: Session
) -> dict[str, AssignmentPayload]:
    """Per account, the assignment we last wrote successfully."""
    ids = list(account_ids)
    rows = session.exec(
        select(OutboxItem)
        .where(
            OutboxItem.org_id == org_id,
            OutboxItem.kind == OutboxKind.ASSIGNMENT,
            OutboxItem.status == OutboxStatus.DONE,
            col(OutboxItem.record_id).in_(ids),
        )
        .order_by(col(OutboxItem.updated_at), col(OutboxItem.id))
    ).all()
    return {r.record_id: r.payload for r in rows if isinstance(r.payload, AssignmentPayload)}


# --------------------------------------------------------------------------- what was moved by choice


def moved_by_choice_since(org_id: str, since: datetime, *, session: Session) -> dict[str, datetime]:
    """Accounts moved by an applied proposal since `since`, with when (for the budget and cooldown)."""
    moved: dict[str, datetime] = {}
    for p in session.exec(
        select(Proposal)
        .where(
            Proposal.org_id == org_id,
            Proposal.status == ProposalStatus.APPLIED,
            col(Proposal.applied_at) >= since,
        )
        .order_by(col(Proposal.applied_at))
    ):
        assert p.applied_at is not None
        for account_id in p.outcome.applied:
            moved[account_id] = p.applied_at
    # approved and waiting for its transition date: its moves are spoken for already
    for p in session.exec(
        select(Proposal).where(
            Proposal.org_id == org_id,
            Proposal.status == ProposalStatus.APPROVED,
            col(Proposal.decided_at) >= since,
        )
    ):
        assert p.decided_at is not None
        for m in p.diff.moves:
            moved.setdefault(m.account_id, p.decided_at)
    return moved


@dataclass(frozen=True)
class HeldAccounts:
    """Accounts whose owner proposals decide, as far as pushing one plan run is concerned."""

    approved: frozenset[str]  # a proposal writes them: the plan must not write (or undo) them at all
    pending: frozenset[str]  # waiting for a person: the plan may fix their territory, not their owner

    def allows(self, payload: AssignmentPayload) -> bool:
        if payload.account_id in self.approved:
            return False
        return payload.account_id not in self.pending or payload.owner_id == payload.previous_owner_id


def held_accounts(plan_run: PlanRun, *, session: Session) -> HeldAccounts:
    """The moves of the plan run's own proposals, and of any proposal approved after it was planned."""
    rows = session.exec(
        select(Proposal).where(
            Proposal.org_id == plan_run.org_id,
            col(Proposal.status).in_(
                [ProposalStatus.PENDING, ProposalStatus.APPROVED, ProposalStatus.APPLIED]
            ),
            (col(Proposal.plan_run_id) == plan_run.id) | (col(Proposal.decided_at) >= plan_run.created_at),
        )
    ).all()
    decided = {m.account_id for p in rows if p.status is not ProposalStatus.PENDING for m in p.diff.moves}
    waiting = {m.account_id for p in rows if p.status is ProposalStatus.PENDING for m in p.diff.moves}
    return HeldAccounts(frozenset(decided), frozenset(waiting - decided))


# --------------------------------------------------------------------------- the audit trail


def audit_line(proposal: Proposal) -> str:
    """E.g. "owner changed by proposal 12, approved by ana@ on 2026-12-03"."""
    if proposal.decided_at is None or proposal.decided_by is None:
        return f"proposal {proposal.id}: {proposal.status.value}"
    on = f"{proposal.decided_at:%Y-%m-%d}"
    if proposal.status is ProposalStatus.REJECTED:
        return f"proposal {proposal.id} rejected by {proposal.decided_by} on {on}: {proposal.decision_reason}"
    return f"owner changed by proposal {proposal.id}, approved by {proposal.decided_by} on {on}"
