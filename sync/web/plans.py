"""The plan pages: `/` (orgs and recent plans), a plan, a rep's drill-down, CSV exports, and their assets."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import HTMLResponse
from sqlmodel import Session, col, select

from sync.store import CrmOrg, PlanRun
from sync.views import MapVisit, PlanView, load_plan_view
from sync.web.auth import Auth, CurrentUser
from sync.web.deps import StoreEngine
from sync.web.exports import call_plans_csv, moves_csv
from sync.web.pages import PAGE_CSS_HASH, render
from sync.web.plan_pages import LEAFLET_PREFIX, STATIC, assets, plan_context
from sync.web.proposals import plan_proposals
from sync.web.security import CSP_HEADER, strict_csp

TILE_HOSTS = ("https://tile.openstreetmap.org",)  # the optional online basemap layer
PLAN_CSP = strict_csp(style_hashes=(PAGE_CSS_HASH,), image_hosts=TILE_HOSTS)
RECENT = 30

router = APIRouter(tags=["plans"])


@router.get("/", response_class=HTMLResponse)
def home(request: Request, auth: Auth, user: CurrentUser, engine: StoreEngine) -> HTMLResponse:
    """Every connected org with its latest plan, and the most recent plans of all orgs."""
    with Session(engine) as session:
        orgs = session.exec(select(CrmOrg).order_by(col(CrmOrg.id))).all()
        plans = session.exec(select(PlanRun).order_by(col(PlanRun.id).desc()).limit(RECENT)).all()
        latest = {
            org.id: session.exec(
                select(PlanRun).where(PlanRun.org_id == org.id).order_by(col(PlanRun.id).desc()).limit(1)
            ).first()
            for org in orgs
        }
    return render(
        request, auth, "home.html", csrf_subject=user.email, user=user,
        orgs=[(org, latest[org.id]) for org in orgs], plans=plans,
        org_names={org.id: org.name or org.id for org in orgs},
    )  # fmt: skip


@router.get("/plans/latest", response_class=HTMLResponse)
def latest_plan(
    request: Request,
    auth: Auth,
    user: CurrentUser,
    engine: StoreEngine,
    org: str | None = None,
    rep: str | None = None,
) -> HTMLResponse:
    return _plan_page(request, auth, user, _view(engine, None, org, rep), engine)


@router.get("/plans/{plan_run_id}", response_class=HTMLResponse)
def one_plan(
    request: Request,
    auth: Auth,
    user: CurrentUser,
    engine: StoreEngine,
    plan_run_id: int,
    rep: str | None = None,
) -> HTMLResponse:
    return _plan_page(request, auth, user, _view(engine, plan_run_id, None, rep), engine)


@router.get("/plans/{plan_run_id}/reps/{rep_id}", response_class=HTMLResponse)
def rep_page(
    request: Request, auth: Auth, user: CurrentUser, engine: StoreEngine, plan_run_id: int, rep_id: str
) -> HTMLResponse:
    """One rep: its book before and after, the moves in and out with their reasons, its week of routes."""
    view = _view(engine, plan_run_id, None, rep_id)
    if rep_id not in view.reps:
        raise HTTPException(404, "this plan has no such rep")
    context = _rep_context(view, rep_id)
    response = render(request, auth, "rep.html", csrf_subject=user.email, user=user, **context)
    response.headers[CSP_HEADER] = PLAN_CSP
    return response


@router.get("/plans/{plan_run_id}/moves.csv")
def moves_export(engine: StoreEngine, plan_run_id: int) -> Response:
    view = _view(engine, plan_run_id, None, None)
    return _csv(moves_csv(view), f"plan-{plan_run_id}-moves.csv")


@router.get("/plans/{plan_run_id}/call-plans.csv")
def call_plans_export(engine: StoreEngine, plan_run_id: int) -> Response:
    view = _view(engine, plan_run_id, None, None)
    return _csv(call_plans_csv(engine, view), f"plan-{plan_run_id}-call-plans.csv")


@router.get(STATIC + "/{name}")
def static_asset(name: str) -> Response:
    a = assets()
    files = {"plan.js": (a.plan_js, "text/javascript"), "plan.css": (a.plan_css, "text/css")}
    return _asset(files, name)


@router.get(LEAFLET_PREFIX + "/{name}")
def leaflet_asset(name: str) -> Response:
    a = assets()
    files = {"leaflet.js": (a.leaflet_js, "text/javascript"), "leaflet.css": (a.leaflet_css, "text/css")}
    return _asset(files, name)


def _asset(files: dict[str, tuple[str, str]], name: str) -> Response:
    if name not in files:
        raise HTTPException(404, "no such asset")
    text, media_type = files[name]
    return Response(text, media_type=media_type, headers={"Cache-Control": "private, max-age=3600"})


def _view(engine: StoreEngine, plan_run_id: int | None, org: str | None, rep: str | None) -> PlanView:
    try:
        return load_plan_view(engine, plan_run_id=plan_run_id, org_id=org, route_rep=rep)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None


def _plan_page(
    request: Request, auth: Auth, user: CurrentUser, view: PlanView, engine: StoreEngine
) -> HTMLResponse:
    with Session(engine) as session:
        orgs = session.exec(select(CrmOrg).order_by(col(CrmOrg.id))).all()
    response = render(
        request, auth, "plan.html", csrf_subject=user.email, user=user, web=True, orgs=orgs,
        **plan_context(view), **plan_proposals(engine, view.plan_run.id or 0, user),
    )  # fmt: skip
    response.headers[CSP_HEADER] = PLAN_CSP
    return response


def _rep_context(view: PlanView, rep_id: str) -> dict[str, Any]:
    days: dict[date, list[MapVisit]] = defaultdict(list)
    for visit in view.route:
        days[visit.day].append(visit)
    context = plan_context(view, only_rep=rep_id)
    context.update(
        rep_id=rep_id,
        rep_name=view.rep_name(rep_id),
        zone=str(view.zone_of(rep_id)),
        days=sorted(days.items()),
        book_after=sorted((a for a in view.accounts if a.rep_id == rep_id), key=lambda a: a.name.casefold()),
        book_before=sum(1 for a in view.accounts if a.previous_rep_id == rep_id),
        moves_in=[a for a in view.moves if a.rep_id == rep_id],
        moves_out=[a for a in view.moves if a.previous_rep_id == rep_id],
    )
    return context


def _csv(text: str, filename: str) -> Response:
    return Response(
        text, media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )  # fmt: skip
