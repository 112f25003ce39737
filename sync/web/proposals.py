"""Territory proposals on the web: every signed-in user reads them, an approver approves or rejects.

A decision is recorded with the signed-in user (who, when, why) in the same
transaction that queues the approved moves; the moves then go to the CRM with
the org's next push, asked for at once (Celery, or the embedded worker).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import Engine
from sqlmodel import Session

from sync import proposals
from sync.crm import configured_orgs
from sync.dispatch import submit
from sync.proposal_views import ProposalView, proposal_view, proposal_views
from sync.store import transaction
from sync.team import writes_refused
from sync.transitions import configured_days
from sync.web.auth import Approver, Auth, CsrfChecked, CurrentUser
from sync.web.deps import AppSettings, StoreEngine
from sync.web.pages import render
from sync.web.users import Role

audit = logging.getLogger("territory_sync.audit")
SHOWN = 50

router = APIRouter(tags=["proposals"])


@router.get("/proposals", response_class=HTMLResponse)
def proposal_list(request: Request, auth: Auth, user: CurrentUser, engine: StoreEngine) -> HTMLResponse:
    with Session(engine) as session:
        views = proposal_views(limit=SHOWN, session=session)
    return render(request, auth, "proposals.html", csrf_subject=user.email, user=user, proposals=views)


@router.get("/proposals/{proposal_id}", response_class=HTMLResponse)
def proposal_page(
    request: Request, auth: Auth, user: CurrentUser, engine: StoreEngine, proposal_id: int, decided: str = ""
) -> HTMLResponse:
    view = _view(engine, proposal_id)
    return render(
        request,
        auth,
        "proposal.html",
        csrf_subject=user.email,
        user=user,
        p=view,
        decided=decided,
        may_approve=user.may(Role.APPROVER),
    )


@router.post("/proposals/{proposal_id}/approve")
def approve(
    proposal_id: int, approver: Approver, _form: CsrfChecked, engine: StoreEngine, settings: AppSettings
) -> RedirectResponse:
    """An approver's decision: the moves that still hold are queued, each naming the proposal."""
    with transaction(engine) as session:
        try:
            refused = writes_refused(settings, proposals.get_proposal(proposal_id, session=session).org_id)
            if refused:  # an approval writes to the CRM: not before the field team is defined
                raise proposals.NotDecidable(refused)
            days = configured_days(settings)
            decision = proposals.approve(proposal_id, approver.email, transition_days=days, session=session)
        except (proposals.ProposalNotFound, proposals.NotDecidable) as exc:
            raise HTTPException(409 if isinstance(exc, proposals.NotDecidable) else 404, str(exc)) from None
        org_id = proposals.get_proposal(proposal_id, session=session).org_id
    audit.info(
        "%s (%s) approved proposal %d: %d move(s) queued, %d dropped",
        approver.email, approver.via, proposal_id, len(decision.applied), len(decision.dropped),
    )  # fmt: skip
    if decision.queued and org_id in {o.id for o in configured_orgs(settings)}:
        submit("tsync.push", org_id=org_id, trigger="manual")
    return RedirectResponse(f"/proposals/{proposal_id}?decided=approved", status_code=303)


@router.post("/proposals/{proposal_id}/reject")
def reject(
    proposal_id: int,
    approver: Approver,
    _form: CsrfChecked,
    engine: StoreEngine,
    reason: Annotated[str, Form(min_length=1, max_length=1000)],
) -> RedirectResponse:
    with transaction(engine) as session:
        try:
            proposals.reject(proposal_id, approver.email, reason.strip(), session=session)
        except (proposals.ProposalNotFound, proposals.NotDecidable) as exc:
            raise HTTPException(409 if isinstance(exc, proposals.NotDecidable) else 404, str(exc)) from None
    audit.info("%s (%s) rejected proposal %d", approver.email, approver.via, proposal_id)
    return RedirectResponse(f"/proposals/{proposal_id}?decided=rejected", status_code=303)


def _view(engine: Engine, proposal_id: int) -> ProposalView:
    with Session(engine) as session:
        try:
            return proposal_view(proposals.get_proposal(proposal_id, session=session), session=session)
        except proposals.ProposalNotFound as exc:
            raise HTTPException(404, str(exc)) from None


def plan_proposals(engine: Engine, plan_run_id: int, user: Any) -> dict[str, Any]:
    """What the plan page's proposals slot (`plan_proposals.html`) needs: the plan run's proposals."""
    with Session(engine) as session:
        views = [v for v in proposal_views(limit=SHOWN, session=session) if v.plan_run_id == plan_run_id]
    return {"plan_proposals": views, "may_approve": user.may(Role.APPROVER)}
