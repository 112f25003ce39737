"""Deciding a proposal from the CLI or the web: record the decision, then send what it queued.

The decision and its outbox rows are one transaction (`sync.proposals`); the
rows then go to the CRM with a normal push of the org, under its lock. If a
run holds the org just then, the rows wait in the outbox for the next push.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sync import proposals
from sync.locks import OrgBusy
from sync.outbox import SendReport
from sync.pipeline import Context, default_context, push
from sync.store import Proposal, RunTrigger, transaction
from sync.team import writes_refused

log = logging.getLogger("territory_sync.decide")


@dataclass(frozen=True)
class Approval:
    decision: proposals.Decision
    sent: SendReport | None  # None: left in the outbox for the next push (the org was busy, or not asked)


def approve_proposal(
    proposal_id: int, by: str, *, ctx: Context | None = None, reason: str | None = None, send: bool = True
) -> Approval:
    """Approve (who, when), queue the moves that still hold, and push them now unless the org is busy."""
    ctx = ctx or default_context()
    with transaction(ctx.engine) as session:
        org_id = proposals.get_proposal(proposal_id, session=session).org_id
        refused = writes_refused(ctx.settings, org_id)
        if refused:  # an approval writes to the CRM: not before the field team is defined
            raise proposals.NotDecidable(refused)
        decision = proposals.approve(
            proposal_id, by, reason=reason, now=ctx.clock(), transition_days=ctx.policy().transition.days,
            session=session,
        )  # fmt: skip
    if not send or not decision.queued:
        return Approval(decision, None)
    try:
        pushed = push(org_id, ctx=ctx, trigger=RunTrigger.MANUAL)
    except OrgBusy:
        log.info("proposal %s approved; org %s is busy: the next push sends it", proposal_id, org_id)
        return Approval(decision, None)
    return Approval(decision, pushed.report)


def reject_proposal(proposal_id: int, by: str, reason: str, *, ctx: Context | None = None) -> Proposal:
    ctx = ctx or default_context()
    with transaction(ctx.engine) as session:
        return proposals.reject(proposal_id, by, reason, now=ctx.clock(), session=session)
