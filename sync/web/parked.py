"""Parked CRM changes: every signed-in user sees them, an approver sends them again."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import Session, col, select

from sync.outbox import requeue_parked
from sync.store import OutboxItem, OutboxStatus
from sync.web.auth import Approver, Auth, CsrfChecked, CurrentUser
from sync.web.deps import StoreEngine
from sync.web.pages import render
from sync.web.users import Role

audit = logging.getLogger("territory_sync.audit")
SHOWN = 200

router = APIRouter(tags=["outbox"])


@router.get("/outbox", response_class=HTMLResponse)
def parked_changes(
    request: Request, auth: Auth, user: CurrentUser, engine: StoreEngine, retried: int | None = None
) -> HTMLResponse:
    with Session(engine) as session:
        rows = session.exec(
            select(OutboxItem)
            .where(OutboxItem.status == OutboxStatus.PARKED)
            .order_by(col(OutboxItem.id))
            .limit(SHOWN)
        ).all()
    return render(
        request,
        auth,
        "parked.html",
        csrf_subject=user.email,
        user=user,
        rows=rows,
        retried=retried,
        may_approve=user.may(Role.APPROVER),
    )


@router.post("/outbox/retry")
def send_parked_again(approver: Approver, _form: CsrfChecked, engine: StoreEngine) -> RedirectResponse:
    """An approver's decision: every parked change gets a fresh set of attempts at the next push."""
    n = requeue_parked(engine)
    audit.info("%s (%s) sent %d parked change(s) again", approver.email, approver.via, n)
    return RedirectResponse(f"/outbox?retried={n}", status_code=303)
