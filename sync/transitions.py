"""Transitions: an approved move takes effect on a date, with a handoff visit of both reps before it.

Approving a proposal with `[transition] days` > 0 records the decision and an
effective date (approval day + days) and writes nothing yet: the accounts keep
their owners, the proposal is *held* (status approved). Every night's call
plans give each held move a joint visit of the outgoing and the incoming rep
before the date (`planner.Handoff`), keyed apart from the reps' own visits. The
first nightly push on or after the date applies the proposal once (re-diffed
like any approval), so the CRM's owners change on the transition date.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

import planner
from sync import proposals
from sync.store import Proposal, ProposalStatus
from sync.store.types import utcnow


@dataclass(frozen=True)
class HeldMove:
    """An approved move waiting for its transition date."""

    proposal_id: int
    account_id: str
    account_name: str
    from_rep: str
    to_rep: str
    effective_on: date


def take_effect(
    proposal: Proposal, *, days: int, now: datetime | None = None, session: Session
) -> proposals.Decision:
    """After approval: apply at once (`days` 0), or hold the proposal until approval day + `days`."""
    at = now or utcnow()
    if days <= 0:
        proposal.effective_on = at.date()
        return proposals.apply(proposal, now=at, session=session)
    assert proposal.id is not None
    proposal.effective_on = at.date() + timedelta(days=days)
    session.add(proposal)
    return proposals.Decision(
        proposal_id=proposal.id,
        status=proposal.status,
        decided_by=proposal.decided_by or "",
        applied=(),
        dropped=(),
        queued=0,
    )


def held(org_id: str, *, session: Session) -> list[Proposal]:
    """Approved proposals not applied yet, by effective date."""
    return list(
        session.exec(
            select(Proposal)
            .where(Proposal.org_id == org_id, Proposal.status == ProposalStatus.APPROVED)
            .order_by(col(Proposal.effective_on), col(Proposal.id))
        ).all()
    )


def apply_due(org_id: str, today: date, *, now: datetime | None = None, session: Session) -> int:
    """Apply every held proposal whose date has come (once: it is applied after); returns rows queued."""
    queued = 0
    for p in held(org_id, session=session):
        if p.effective_on is not None and p.effective_on <= today:
            queued += proposals.apply(p, now=now, session=session).queued
    return queued


def held_moves(org_id: str, *, session: Session) -> list[HeldMove]:
    """Each move of a held proposal, with its effective date (for handoffs, the dry run, the page)."""
    return [
        HeldMove(p.id, m.account_id, m.account_name, m.from_rep, m.to_rep, p.effective_on)
        for p in held(org_id, session=session)
        if p.id is not None and p.effective_on is not None
        for m in p.diff.moves
        if m.from_rep is not None
    ]


def handoffs(moves: Sequence[HeldMove], reps: Sequence[planner.Rep]) -> list[planner.Handoff]:
    """The planner's handoffs of the held moves between reps it plans for."""
    known = {r.id for r in reps}
    return [
        planner.Handoff(
            m.account_id, outgoing_rep=m.from_rep, incoming_rep=m.to_rep, effective=m.effective_on
        )
        for m in moves
        if m.from_rep in known and m.to_rep in known
    ]
