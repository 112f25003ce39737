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

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from sqlmodel import Session, col, select

import planner
from sync import proposals
from sync.handoff_visits import HANDOFF_KEY_MARK
from sync.settings import Settings
from sync.store import PlannedVisit, PlanRun, Proposal, ProposalStatus, RepRow


@dataclass(frozen=True)
class HeldMove:
    """An approved move waiting for its transition date."""

    proposal_id: int
    account_id: str
    account_name: str
    from_rep: str
    to_rep: str
    effective_on: date


def configured_days(settings: Settings) -> int:
    """The policy's `[transition] days` (approvals outside a pipeline run, e.g. on the web)."""
    text = Path(settings.policy_file).read_text() if settings.policy_file else ""
    return planner.Policy.from_toml(text).transition.days


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


# --------------------------------------------------------------------------- what people see


@dataclass(frozen=True)
class HeldMoveView:
    """A held move as the dry run and the plan page show it: who, from whom to whom, when."""

    proposal_id: int
    account_id: str
    account_name: str
    from_rep: str  # names where the CRM has them
    to_rep: str
    effective_on: str
    handoff_at: str | None  # the joint visit's start (ISO, UTC) in the latest plan, if planned yet

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def held_views(org_id: str, *, session: Session) -> list[HeldMoveView]:
    names = {r.crm_id: r.name for r in session.exec(select(RepRow).where(RepRow.org_id == org_id))}
    latest = session.exec(
        select(PlanRun).where(PlanRun.org_id == org_id).order_by(col(PlanRun.id).desc()).limit(1)
    ).first()
    joint: dict[str, datetime] = {}
    if latest is not None:
        for v in session.exec(select(PlannedVisit).where(PlannedVisit.plan_run_id == latest.id)):
            if HANDOFF_KEY_MARK in v.visit_key:
                joint[v.account_crm_id] = v.starts_at
    return [
        HeldMoveView(
            proposal_id=m.proposal_id,
            account_id=m.account_id,
            account_name=m.account_name,
            from_rep=names.get(m.from_rep) or m.from_rep,
            to_rep=names.get(m.to_rep) or m.to_rep,
            effective_on=m.effective_on.isoformat(),
            handoff_at=joint[m.account_id].isoformat() if m.account_id in joint else None,
        )
        for m in held_moves(org_id, session=session)
    ]


def print_held(views: Sequence[HeldMoveView], out: Console, *, shown: int = 20) -> None:
    """Approved moves waiting for their date, each with its handoff visit."""
    if not views:
        return
    out.print(f"{len(views)} approved move(s) wait for their transition date:")
    for v in views[:shown]:
        visit = (
            f"handoff visit {v.handoff_at[:16].replace('T', ' ')} UTC"
            if v.handoff_at
            else "handoff not planned yet"
        )
        out.print(
            f"  {escape(v.account_name or v.account_id)}: {escape(v.from_rep)} → {escape(v.to_rep)} "
            f"on {v.effective_on} (proposal {v.proposal_id}); {visit}",
            highlight=False,
        )
    if len(views) > shown:
        out.print(f"  … and {len(views) - shown} more (use --json for all)")
