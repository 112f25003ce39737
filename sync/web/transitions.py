"""Transitions and scenarios on the web: approved moves waiting for their date, two proposals side by side.

Every signed-in user may read these; deciding a proposal happens on the
proposal pages (approvers only).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from sync.proposals import ProposalNotFound
from sync.scenarios import ROWS, compare
from sync.transitions import held_views
from sync.web.auth import Auth, CurrentUser
from sync.web.deps import StoreEngine
from sync.web.pages import render

router = APIRouter(tags=["transitions"])


@router.get("/transitions", response_class=HTMLResponse)
def transitions_page(
    request: Request, auth: Auth, user: CurrentUser, engine: StoreEngine, org: str | None = None,
    a: int | None = None, b: int | None = None,
) -> HTMLResponse:  # fmt: skip
    """Held moves with their dates and handoff visits; with `a` and `b`, those proposals compared."""
    with Session(engine) as session:
        held = held_views(org, session=session) if org else []
        try:
            pair = compare(a, b, session=session) if a is not None and b is not None else None
        except ProposalNotFound as exc:
            raise HTTPException(404, str(exc)) from None
    rows = [(name, value(pair[0]), value(pair[1])) for name, value in ROWS] if pair else []
    return render(
        request, auth, "transitions.html", csrf_subject=user.email, user=user, org=org, held=held,
        pair=pair, rows=rows, a=a, b=b,
    )  # fmt: skip
