"""The plan map's data: everything `static/plan.js` draws, as one typed document (the page's JSON island).

CRM text travels only as JSON string values here, never as markup or code: the script
puts it on the page with `textContent`. Numbers are made finite first (an absurd
potential becomes "not stated", not `Infinity`, which JSON cannot carry).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date

from pydantic import BaseModel, ConfigDict

from sync.store.plan_summary import PlannedRep
from sync.views import MapAccount, MapVisit, PlanView
from sync.web.basemap import Bounds, cities_near, states_near
from sync.web.formats import money
from sync.web.hull import convex_hull, core_points

LatLon = tuple[float, float]
GRID = 0.25  # degrees: about a 25 km square, the scale at which reps think about "areas"
OPPORTUNITY_RAMP = ("#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704")
DAY_COLORS = ("#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628", "#f781bf")


class Island(BaseModel):
    model_config = ConfigDict(frozen=True)


class RepMark(Island):
    id: str
    name: str
    color: str
    swatch: int  # the palette index: CSS class `sw-N` (no style attributes under the CSP)
    home: LatLon | None = None
    hull_before: list[LatLon] = []
    hull_after: list[LatLon] = []


class AccountMark(Island):
    lat: float
    lon: float
    rep: str | None  # a RepMark id; None: unassigned
    tier: str
    moved: bool
    radius: float
    lines: list[str]  # the tooltip, one text line each


class OpportunityCell(Island):
    south: float
    west: float
    band: int
    label: str


class Band(Island):
    color: str
    label: str


class RouteDay(Island):
    label: str
    color: str
    path: list[LatLon]
    stops: list[tuple[float, float, int, str]]  # lat, lon, order, tooltip text


class StateShape(Island):
    name: str
    polygons: list[list[list[LatLon]]]


class CityLabel(Island):
    name: str
    lat: float
    lon: float
    level: int = 0  # zoom steps beyond the first view before the label shows


class MapData(Island):
    bounds: tuple[LatLon, LatLon]
    reps: list[RepMark]
    accounts: list[AccountMark]
    tiers: list[str]
    opportunity: list[OpportunityCell]
    bands: list[Band]
    grid: float = GRID
    route_title: str = ""
    route: list[RouteDay] = []
    states: list[StateShape] = []
    cities: list[CityLabel] = []


def map_data(view: PlanView, *, only_rep: str | None = None) -> MapData:
    """The map of a plan; with `only_rep`, just that rep's book before and after (the drill-down)."""
    accounts = [a for a in view.accounts if a.located and _finite(a.lat) and _finite(a.lon)]
    if only_rep is not None:
        accounts = [a for a in accounts if only_rep in (a.rep_id, a.previous_rep_id)]
    bounds = _bounds(accounts)
    cells, bands = _opportunity(accounts)
    reps = [_rep_mark(view, rep_id, accounts) for rep_id in view.rep_order() if only_rep in (None, rep_id)]
    return MapData(
        bounds=((bounds.south, bounds.west), (bounds.north, bounds.east)),
        reps=reps,
        accounts=[_account_mark(view, a) for a in accounts],
        tiers=sorted({a.tier or "?" for a in accounts}),
        opportunity=cells,
        bands=bands,
        route_title=f"Week of routes: {view.rep_name(view.route_rep)}" if view.route else "",
        route=_route(view),
        states=[StateShape(name=s.name, polygons=_lists(s.polygons)) for s in states_near(bounds)],
        cities=[
            CityLabel(name=c.name, lat=c.lat, lon=c.lon, level=c.level)
            for c in cities_near(bounds.padded(0.3))
        ],
    )


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _bounds(accounts: Sequence[MapAccount]) -> Bounds:
    lats = [a.lat for a in accounts if a.lat is not None] or [39.8]
    lons = [a.lon for a in accounts if a.lon is not None] or [-98.6]
    return Bounds(min(lats), min(lons), max(lats), max(lons))


def _rep_mark(view: PlanView, rep_id: str, accounts: Sequence[MapAccount]) -> RepMark:
    return RepMark(
        id=rep_id,
        name=view.rep_name(rep_id),
        color=view.color(rep_id),
        swatch=view.color_index(rep_id) or 0,
        home=_home(view.reps[rep_id]),
        hull_before=convex_hull(core_points(_points(a for a in accounts if a.previous_rep_id == rep_id))),
        hull_after=convex_hull(core_points(_points(a for a in accounts if a.rep_id == rep_id))),
    )


def _points(accounts: Iterable[MapAccount]) -> list[LatLon]:
    return [(a.lat, a.lon) for a in accounts if a.lat is not None and a.lon is not None]


def _account_mark(view: PlanView, a: MapAccount) -> AccountMark:
    assert a.lat is not None and a.lon is not None
    potential = a.potential if math.isfinite(a.potential) else 0.0
    return AccountMark(
        lat=a.lat,
        lon=a.lon,
        rep=a.rep_id,
        tier=a.tier or "?",
        moved=a.moved,
        radius=3 + min(5.0, max(0.0, potential) / 400_000),
        lines=_tooltip(view, a),
    )


def _tooltip(view: PlanView, a: MapAccount) -> list[str]:
    owner = f"{view.rep_name(a.rep_id)}'s account" if a.rep_id else "unassigned"
    lines = [a.name, f"{owner} · tier {a.tier or '?'} · {money(a.potential)} potential"]
    if a.moved:
        why = f": {a.reason}" if a.reason else ""
        lines.append(f"moves from {view.rep_name(a.previous_rep_id)} to {view.rep_name(a.rep_id)}{why}")
    return lines


def _opportunity(accounts: Sequence[MapAccount]) -> tuple[list[OpportunityCell], list[Band]]:
    """Potential summed per grid square, in five bands of equal width on a square-root scale."""
    cells: dict[tuple[float, float], float] = defaultdict(float)
    for a in accounts:
        if a.lat is not None and a.lon is not None and math.isfinite(a.potential) and a.potential > 0:
            cells[(a.lat // GRID * GRID, a.lon // GRID * GRID)] += a.potential
    finite = [v for v in cells.values() if math.isfinite(v)]
    top = max(finite, default=0.0) or 1.0
    n = len(OPPORTUNITY_RAMP)
    edges = [top * (k / n) ** 2 for k in range(n + 1)]
    bands = [
        Band(color=OPPORTUNITY_RAMP[k], label=f"{money(edges[k])} – {money(edges[k + 1])}") for k in range(n)
    ]
    out = []
    for (lat, lon), value in sorted(cells.items()):
        band = min(n - 1, int(n * (min(value, top) / top) ** 0.5))
        out.append(OpportunityCell(south=lat, west=lon, band=band, label=f"{money(value)} potential"))
    return out, bands


def _route(view: PlanView) -> list[RouteDay]:
    """The chosen rep's week, a line per day from home through its stops and back, times local."""
    home = _home(view.reps.get(view.route_rep or ""))
    by_day: dict[date, list[MapVisit]] = defaultdict(list)
    for v in sorted(view.route, key=lambda v: (v.day, v.sequence)):
        by_day[v.day].append(v)
    days = []
    for i, (day, visits) in enumerate(sorted(by_day.items())):
        stops = [(v.lat, v.lon, v.sequence, _stop_tip(v)) for v in visits]
        path = [(v.lat, v.lon) for v in visits]
        if day in view.route_paths:  # along the roads, as the engine drives it
            path = _between_stops(view.route_paths[day], visits)
        if home is not None:
            path = [home, *path, home]
        label = f"{day:%a %d %b}: {len(visits)} visits"
        days.append(RouteDay(label=label, color=DAY_COLORS[i % len(DAY_COLORS)], path=path, stops=stops))
    return days


def _between_stops(path: Sequence[LatLon], visits: Sequence[MapVisit]) -> list[LatLon]:
    """The road path from the first stop to the last: the streets around a home stay off the map."""
    def nearest(target: MapVisit, indices: Iterable[int]) -> int:
        return min(indices, key=lambda i: math.hypot(path[i][0] - target.lat, path[i][1] - target.lon))

    first = nearest(visits[0], range(len(path)))
    last = nearest(visits[-1], range(len(path) - 1, first - 1, -1))
    return [(visits[0].lat, visits[0].lon), *path[first : last + 1], (visits[-1].lat, visits[-1].lon)]


def _stop_tip(v: MapVisit) -> str:
    return f"{v.day:%a} #{v.sequence}: {v.name}, {v.starts:%H:%M}–{v.ends:%H:%M} {v.starts.tzname() or ''}"


def _home(rep: PlannedRep | None) -> LatLon | None:
    """A rep's home rounded to about 1 km (a rep's home is personal); None when not known."""
    if rep is None or rep.home_lat is None or rep.home_lon is None:
        return None
    if not (math.isfinite(rep.home_lat) and math.isfinite(rep.home_lon)):
        return None
    return (round(rep.home_lat, 2), round(rep.home_lon, 2))


def _lists(polygons: tuple[tuple[tuple[LatLon, ...], ...], ...]) -> list[list[list[LatLon]]]:
    return [[list(ring) for ring in polygon] for polygon in polygons]
