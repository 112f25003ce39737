"""The plan pages: a stored plan as the ops page (map, balance tables, run history), and Leaflet's assets."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response
from fastapi.responses import HTMLResponse

from sync.views import leaflet_assets, load_plan_view, plan_page
from sync.web.deps import StoreEngine
from sync.web.security import CSP_HEADER, csp_for_legacy_page

LEAFLET_PREFIX = "/static/leaflet"
TILE_HOSTS = ("https://tile.openstreetmap.org",)  # folium's default basemap

router = APIRouter(tags=["plans"])


@router.get("/plans/latest", response_class=HTMLResponse)
def latest_plan(engine: StoreEngine, org: str | None = None, rep: str | None = None) -> HTMLResponse:
    return _plan_html(engine, None, org, rep)


@router.get("/plans/{plan_run_id}", response_class=HTMLResponse)
def one_plan(engine: StoreEngine, plan_run_id: int, rep: str | None = None) -> HTMLResponse:
    return _plan_html(engine, plan_run_id, None, rep)


def _plan_html(
    engine: StoreEngine, plan_run_id: int | None, org: str | None, rep: str | None
) -> HTMLResponse:
    try:
        view = load_plan_view(engine, plan_run_id=plan_run_id, org_id=org, route_rep=rep)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None
    html = plan_page(view, asset_prefix=LEAFLET_PREFIX)
    # The page still builds its map as inline script: allow those scripts by hash, no others.
    return HTMLResponse(html, headers={CSP_HEADER: csp_for_legacy_page(html, tile_hosts=TILE_HOSTS)})


@router.get(LEAFLET_PREFIX + "/{name}")
def leaflet_asset(name: str) -> Response:
    js, css = leaflet_assets()
    if name == "leaflet.js":
        return Response(js, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})
    if name == "leaflet.css":
        return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=86400"})
    raise HTTPException(404, "no such asset")
