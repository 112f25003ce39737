"""What a person looks at: a stored plan as a map, a balance chart and a balance table.

Used by `tsync report`, `tsync map`, `tsync demo` and the web app's
`/plans/...` pages. Maps are folium (Leaflet) with Leaflet's JS and CSS taken
from a local package, so they render with no internet (tiles aside).
"""

from __future__ import annotations

import base64
import dataclasses
import html
import importlib.resources
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import folium
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from sync.runs import recent_runs
from sync.store import AccountRow, PlannedAssignment, PlannedVisit, PlanRun, SyncRun
from sync.store.plan_summary import BalanceMetrics, PlannedRep, RepLoadMetrics

# Thresholds the reports highlight (the classic balance targets of territory design).
THRESHOLDS = {"potential_cv": 0.10, "workload_cv": 0.15, "gini": 0.15, "min_max": 0.7}
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#843c39",
    "#7b4173",
    "#3182bd",
    "#e6550d",
    "#31a354",
    "#756bb1",
    "#636363",
    "#6baed6",
    "#fd8d3c",
    "#74c476",
    "#9e9ac8",
    "#969696",
    "#9c9ede",
    "#cedb9c",
    "#e7cb94",
    "#e7969c",
    "#de9ed6",
)


@dataclass(frozen=True)
class MapAccount:
    id: str
    name: str
    lat: float
    lon: float
    potential: float
    tier: str | None
    rep_id: str | None


@dataclass(frozen=True)
class MapVisit:
    day: date
    sequence: int
    account_id: str
    name: str
    lat: float
    lon: float
    starts: str


@dataclass
class PlanView:
    plan_run: PlanRun
    accounts: list[MapAccount]
    reps: Mapping[str, PlannedRep]
    before: BalanceMetrics
    after: BalanceMetrics
    route_rep: str | None = None
    route: list[MapVisit] = field(default_factory=list)
    runs: list[SyncRun] = field(default_factory=list)

    def color(self, rep_id: str | None) -> str:
        if rep_id is None:
            return "#000000"
        order = sorted(self.reps)
        return PALETTE[order.index(rep_id) % len(PALETTE)] if rep_id in order else "#000000"


def load_plan_view(
    engine: Engine, *, plan_run_id: int | None = None, org_id: str | None = None, route_rep: str | None = None
) -> PlanView:
    """A plan run (the latest if not given): accounts, reps, one rep's first week of routes, history."""
    with Session(engine) as session:
        if plan_run_id is not None:
            plan_run = session.get(PlanRun, plan_run_id)
        else:
            query = select(PlanRun).order_by(col(PlanRun.id).desc()).limit(1)
            if org_id:
                query = query.where(PlanRun.org_id == org_id)
            plan_run = session.exec(query).first()
        if plan_run is None or plan_run.id is None:
            raise LookupError("no plan has been stored yet: run `tsync run --once` (or `tsync demo`)")
        rows = session.exec(
            select(PlannedAssignment, AccountRow)
            .join(
                AccountRow,
                (col(AccountRow.crm_id) == col(PlannedAssignment.account_crm_id))
                & (col(AccountRow.org_id) == plan_run.org_id),
            )
            .where(PlannedAssignment.plan_run_id == plan_run.id)
        ).all()
        accounts = [
            MapAccount(a.crm_id, a.name, a.lat, a.lon, a.potential or 0.0, a.tier, pa.rep_crm_id)
            for pa, a in rows
            if a.lat is not None and a.lon is not None
        ]
        located = {a.id: a for a in accounts}
        visits = session.exec(
            select(PlannedVisit)
            .where(PlannedVisit.plan_run_id == plan_run.id)
            .order_by(col(PlannedVisit.visit_date), col(PlannedVisit.sequence))
        ).all()
        reps = plan_run.summary.reps
        per_rep: dict[str, int] = defaultdict(int)
        for v in visits:
            per_rep[v.rep_crm_id] += 1
        chosen = route_rep or (max(per_rep, key=lambda r: (per_rep[r], r)) if per_rep else None)
        route: list[MapVisit] = []
        if chosen is not None:
            first = next((v.visit_date for v in visits if v.rep_crm_id == chosen), None)
            for v in visits:
                if v.rep_crm_id != chosen or first is None or v.visit_date >= first + timedelta(days=7):
                    continue
                acc = located.get(v.account_crm_id)
                if acc is not None:
                    route.append(
                        MapVisit(
                            v.visit_date,
                            v.sequence,
                            acc.id,
                            acc.name,
                            acc.lat,
                            acc.lon,
                            v.starts_at.isoformat(),
                        )
                    )
    return PlanView(
        plan_run=plan_run,
        accounts=accounts,
        reps=reps,
        before=plan_run.metrics_before,
        after=plan_run.metrics_after,
        route_rep=chosen,
        route=route,
        runs=recent_runs(engine, org_id=plan_run.org_id, limit=15),
    )


# --------------------------------------------------------------------------- map


@lru_cache(maxsize=1)
def leaflet_assets() -> tuple[str, str]:
    """Leaflet's JS and CSS, from the `django-js-lib-leaflet` package data."""
    folder = importlib.resources.files("js_lib_leaflet") / "static" / "js_lib_leaflet"
    return (folder / "leaflet.js").read_text(), (folder / "leaflet.css").read_text()


def _data_uri(mime: str, text: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(text.encode()).decode()}"


def territory_map(view: PlanView, *, assets: str = "inline", height: str = "100%") -> folium.Map:
    """Accounts coloured by territory, rep homes, an opportunity layer and one rep's week of routes.

    `assets="inline"` embeds Leaflet (a self-contained file); any other value is
    a URL prefix the web app serves `leaflet.js`/`leaflet.css` under.
    """
    js, css = leaflet_assets()
    if assets == "inline":
        js_url, css_url = _data_uri("text/javascript", js), _data_uri("text/css", css)
    else:
        js_url, css_url = f"{assets}/leaflet.js", f"{assets}/leaflet.css"
    lats = [a.lat for a in view.accounts] or [39.8]
    lons = [a.lon for a in view.accounts] or [-98.6]
    fmap = folium.Map(
        location=[sum(lats) / len(lats), sum(lons) / len(lons)],
        zoom_start=5,
        height=height,
        prefer_canvas=False,
        control_scale=True,
    )
    # Only Leaflet itself: no CDN scripts (jQuery, Bootstrap, icon fonts) that fail offline.
    fmap.default_js = [("leaflet", js_url)]
    fmap.default_css = [("leaflet_css", css_url)]
    fmap.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]])

    heat = folium.FeatureGroup(name="Opportunity (potential per area)", show=False)
    for (lat, lon), value in _opportunity_grid(view.accounts).items():
        folium.Rectangle(
            bounds=[[lat, lon], [lat + GRID, lon + GRID]],
            weight=0,
            fill=True,
            fill_color=value[1],
            fill_opacity=0.45,
            tooltip=f"${value[0] / 1e6:.1f}M potential",
        ).add_to(heat)
    heat.add_to(fmap)

    for rep_id in sorted(view.reps):
        rep = view.reps[rep_id]
        color = view.color(rep_id)
        layer = folium.FeatureGroup(name=f"{rep.name or rep_id}")
        for a in (a for a in view.accounts if a.rep_id == rep_id):
            folium.CircleMarker(
                [a.lat, a.lon],
                radius=3 + min(5.0, a.potential / 400_000),
                color=color,
                weight=1,
                fill=True,
                fill_opacity=0.7,
                class_name=f"territory territory-{rep_id}",
                tooltip=f"{html.escape(a.name)} · tier {a.tier or '?'} · ${a.potential:,.0f}",
            ).add_to(layer)
        if rep.home_lat is not None and rep.home_lon is not None:
            folium.Marker(
                [rep.home_lat, rep.home_lon],
                icon=folium.DivIcon(
                    html=f'<div class="rep-home" style="background:{color}">⌂</div>',
                    icon_size=(18, 18),
                    icon_anchor=(9, 9),
                ),
                tooltip=f"home of {html.escape(rep.name or rep_id)}",
            ).add_to(layer)
        layer.add_to(fmap)
    unassigned = [a for a in view.accounts if a.rep_id is None]
    if unassigned:
        layer = folium.FeatureGroup(name="Unassigned")
        for a in unassigned:
            folium.CircleMarker(
                [a.lat, a.lon],
                radius=4,
                color="#000",
                class_name="territory unassigned",
                tooltip=html.escape(a.name),
            ).add_to(layer)
        layer.add_to(fmap)
    if view.route_rep and view.route:
        _add_route(fmap, view)
    folium.LayerControl(collapsed=True).add_to(fmap)
    fmap.get_root().header.add_child(  # type: ignore[attr-defined]
        folium.Element(
            "<style>.rep-home{width:18px;height:18px;border-radius:4px;color:#fff;"
            "font:bold 12px/18px sans-serif;text-align:center;border:1px solid #222}"
            ".stop-no{background:#fff;border:2px solid #222;border-radius:9px;"
            "font:bold 10px/14px sans-serif;text-align:center;width:14px;height:14px}</style>"
        )
    )
    return fmap


GRID = 0.25  # degrees: about a 25 km square, the scale at which reps think about "areas"


def _opportunity_grid(accounts: list[MapAccount]) -> dict[tuple[float, float], tuple[float, str]]:
    cells: dict[tuple[float, float], float] = defaultdict(float)
    for a in accounts:
        cells[(a.lat // GRID * GRID, a.lon // GRID * GRID)] += a.potential
    if not cells:
        return {}
    top = max(cells.values()) or 1.0
    ramp = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"]
    return {k: (v, ramp[min(4, int(5 * (v / top) ** 0.5))]) for k, v in cells.items()}


def _add_route(fmap: folium.Map, view: PlanView) -> None:
    rep = view.reps.get(view.route_rep or "", PlannedRep())
    home: list[float] | None = (
        [rep.home_lat, rep.home_lon] if rep.home_lat is not None and rep.home_lon is not None else None
    )
    layer = folium.FeatureGroup(name=f"Week of routes: {rep.name or view.route_rep}")
    by_day: dict[date, list[MapVisit]] = defaultdict(list)
    for v in view.route:
        by_day[v.day].append(v)
    day_colors = ["#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628", "#f781bf"]
    for i, (day, stops) in enumerate(sorted(by_day.items())):
        points = [[s.lat, s.lon] for s in sorted(stops, key=lambda s: s.sequence)]
        if home is not None:
            points = [home, *points, home]
        folium.PolyLine(
            points,
            color=day_colors[i % len(day_colors)],
            weight=3,
            opacity=0.9,
            class_name="route",
            tooltip=f"{day:%a %d %b}: {len(stops)} visits",
        ).add_to(layer)
        for s in stops:
            folium.Marker(
                [s.lat, s.lon],
                icon=folium.DivIcon(
                    html=f'<div class="stop-no">{s.sequence}</div>', icon_size=(14, 14), icon_anchor=(7, 7)
                ),
                tooltip=f"{day:%a} #{s.sequence}: {html.escape(s.name)} at {s.starts[11:16]} UTC",
            ).add_to(layer)
    layer.add_to(fmap)


# --------------------------------------------------------------------------- balance


Pair = tuple[float, float]  # before, after
Dimension = Literal["potential", "workload", "accounts", "travel"]
DIMENSIONS: tuple[Dimension, ...] = ("potential", "workload", "accounts", "travel")


@dataclass(frozen=True)
class RepBalance:
    """One rep's book before and after the plan."""

    rep_id: str
    name: str
    accounts: tuple[int, int]
    potential: Pair
    workload_hours: Pair
    utilisation: Pair
    drive_hours: Pair
    open_pipeline: Pair = (0.0, 0.0)  # open deals at the book's accounts


@dataclass(frozen=True)
class DimensionBalance:
    """One balance dimension before and after, each statistic flagged against its threshold."""

    dimension: Dimension
    cv: tuple[float | None, float | None]
    gini: tuple[float | None, float | None]
    min_max: tuple[float | None, float | None]
    cv_ok: bool
    gini_ok: bool
    min_max_ok: bool
    cv_limit: float


def balance_rows(view: PlanView) -> list[RepBalance]:
    """Per rep, before and after: accounts, potential, workload, utilisation, drive time."""
    before, after = view.before.by_rep(), view.after.by_rep()
    summary = view.plan_run.summary
    rows = []
    for rep_id in sorted(set(before) | set(after)):
        deals_before, deals_after = summary.pipeline_before.get(rep_id), summary.pipeline_after.get(rep_id)
        b = before.get(rep_id) or RepLoadMetrics(rep_id=rep_id)
        a = after.get(rep_id) or RepLoadMetrics(rep_id=rep_id)
        rep = view.reps.get(rep_id)
        rows.append(
            RepBalance(
                rep_id=rep_id,
                name=(rep.name if rep else "") or rep_id,
                accounts=(b.accounts, a.accounts),
                potential=(b.potential, a.potential),
                workload_hours=(b.workload_minutes / 60, a.workload_minutes / 60),
                utilisation=(b.utilisation, a.utilisation),
                drive_hours=(b.drive_minutes / 60, a.drive_minutes / 60),
                open_pipeline=(
                    deals_before.amount if deals_before else 0.0,
                    deals_after.amount if deals_after else 0.0,
                ),
            )
        )
    return rows


def dimension_rows(view: PlanView) -> list[DimensionBalance]:
    """CV, Gini and min/max per dimension, before and after, each flagged against its threshold."""
    out = []
    for dim in DIMENSIONS:
        b, a = view.before.dimension(dim), view.after.dimension(dim)
        cv_limit = THRESHOLDS["potential_cv"] if dim == "potential" else THRESHOLDS["workload_cv"]
        out.append(
            DimensionBalance(
                dimension=dim,
                cv=(b.cv, a.cv),
                gini=(b.gini, a.gini),
                min_max=(b.min_max_ratio, a.min_max_ratio),
                cv_ok=a.cv is not None and a.cv < cv_limit,
                gini_ok=a.gini is not None and a.gini < THRESHOLDS["gini"],
                min_max_ok=a.min_max_ratio is not None and a.min_max_ratio >= THRESHOLDS["min_max"],
                cv_limit=cv_limit,
            )
        )
    return out


def report_document(view: PlanView) -> dict[str, Any]:
    """`tsync report --json`: the balance tables and the plan's summary (coverage aside)."""
    return {
        "plan_run_id": view.plan_run.id,
        "reps": [dataclasses.asdict(r) for r in balance_rows(view)],
        "dimensions": [dataclasses.asdict(d) for d in dimension_rows(view)],
        "summary": view.plan_run.summary.model_dump(mode="json", exclude={"coverage"}),
    }


def balance_chart(view: PlanView, path: Path) -> Path:
    """Before/after bars per rep for potential, workload and drive time (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = balance_rows(view)
    names = [r.name for r in rows]
    panels = [
        ("potential", "Revenue potential ($M)", 1e-6),
        ("workload_hours", "Workload (h/yr)", 1.0),
        ("drive_hours", "Drive time (h/yr)", 1.0),
    ]
    fig, axes = plt.subplots(len(panels), 1, figsize=(max(8, 0.45 * len(rows) + 3), 10), sharex=True)
    x = range(len(rows))
    for ax, (key, title, scale) in zip(axes, panels, strict=True):
        values = [getattr(r, key) for r in rows]
        before, after = [v[0] * scale for v in values], [v[1] * scale for v in values]
        ax.bar([i - 0.2 for i in x], before, width=0.4, label="before", color="#bbbbbb")
        ax.bar([i + 0.2 for i in x], after, width=0.4, label="after", color="#2b8cbe")
        ax.set_title(title, loc="left", fontsize=11)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(loc="upper right")
    axes[-1].set_xticks(list(x))
    axes[-1].set_xticklabels(names, rotation=60, ha="right", fontsize=8)
    fig.suptitle(f"Balance per rep, plan run {view.plan_run.id} ({view.plan_run.org_id})", fontsize=13)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plan_page(view: PlanView, *, asset_prefix: str) -> str:
    """The read-only ops page: the map, the balance tables and the run history, as one HTML document."""
    fmap = territory_map(view, assets=asset_prefix, height="560px")

    def pair(v: tuple[Any, Any], fmt: str) -> str:
        return f"{format(v[0], fmt)} → {format(v[1], fmt)}"

    rep_rows = "".join(
        f'<tr class="rep-row" data-rep="{html.escape(r.rep_id)}">'
        f'<td><span class="swatch" style="background:{view.color(r.rep_id)}"></span>'
        f"{html.escape(r.name)}</td><td>{pair(r.accounts, 'd')}</td>"
        f"<td>{pair((r.potential[0] / 1e6, r.potential[1] / 1e6), '.1f')}</td>"
        f"<td>{pair(r.workload_hours, '.0f')}</td><td>{pair(r.utilisation, '.0%')}</td>"
        f"<td>{pair(r.drive_hours, '.0f')}</td>"
        f"<td>{pair((r.open_pipeline[0] / 1e3, r.open_pipeline[1] / 1e3), ',.0f')}</td></tr>"
        for r in balance_rows(view)
    )

    def stat(v: float | None, ok: bool | None = None) -> str:
        text = "–" if v is None else f"{v:.3f}"
        return text if ok is None else f'<span class="{"ok" if ok else "bad"}">{text}</span>'

    dim_rows = "".join(
        f"<tr><td>{d.dimension}</td><td>{stat(d.cv[0])} → {stat(d.cv[1], d.cv_ok)}</td>"
        f"<td>{stat(d.gini[0])} → {stat(d.gini[1], d.gini_ok)}</td>"
        f"<td>{stat(d.min_max[0])} → {stat(d.min_max[1], d.min_max_ok)}</td></tr>"
        for d in dimension_rows(view)
    )
    run_rows = "".join(
        f"<tr><td>{r.id}</td><td>{r.kind}</td><td>{r.trigger}</td><td class='{r.status}'>{r.status}</td>"
        f"<td>{r.started_at:%Y-%m-%d %H:%M}</td><td>{html.escape(counts_summary(r.counts))}</td>"
        f"<td>{html.escape((r.error_summary or '')[:120])}</td></tr>"
        for r in view.runs
    )
    pr = view.plan_run
    summary = pr.summary
    band_rows = "".join(
        f"<tr><td>{html.escape(o.rep_id)}</td><td>{html.escape(o.reason)}</td></tr>"
        for o in summary.out_of_band
    )
    out_of_band = (
        " <h2>Reps outside the balance band or over capacity, and why</h2>\n"
        f' <table id="out-of-band"><tr><th>rep</th><th>reason</th></tr>{band_rows}</table>\n'
        if band_rows else ""
    )
    kept_rows = "".join(
        f"<tr><td>{html.escape(k.account_name or k.account_id)}</td><td>{html.escape(k.reason)}</td></tr>"
        for k in summary.kept
    )
    kept = (
        " <h2>Kept with their rep for an open deal</h2>\n"
        f' <table id="kept"><tr><th>account</th><th>reason</th></tr>{kept_rows}</table>\n'
        if kept_rows else ""
    )
    body = f"""
<div class="report">
 <h1>Plan run {pr.id} · {html.escape(pr.org_id)} · {pr.created_at:%Y-%m-%d %H:%M} UTC</h1>
 <p>{summary.moves} accounts move ({summary.moved_share:.0%} of the book),
   {len(summary.unassigned)} unassigned, {len(summary.human_edits)} human edits kept,
   {summary.extra_reps_needed} extra reps needed.</p>
 <h2>Balance per dimension (before → after)</h2>
 <table id="dimensions"><tr><th>dimension</th><th>CV</th><th>Gini</th><th>min/max</th></tr>{dim_rows}</table>
 <h2>Per rep (before → after)</h2>
 <table id="balance"><thead><tr><th>rep</th><th>accounts</th><th>potential $M</th><th>workload h/yr</th>
  <th>utilisation</th><th>drive h/yr</th><th>open pipeline $k</th></tr></thead>
  <tbody>{rep_rows}</tbody></table>
{out_of_band}{kept} <h2>Run history</h2>
 <table id="runs"><tr><th>id</th><th>kind</th><th>trigger</th><th>status</th><th>started</th><th>counts</th>
  <th>error</th></tr>{run_rows}</table>
</div>"""
    style = """<style>
 body{font-family:system-ui,sans-serif;margin:0} .report{padding:12px 20px}
 table{border-collapse:collapse;margin-bottom:18px;font-size:13px}
 td,th{border:1px solid #ddd;padding:3px 8px}
 th{background:#f3f3f3} .ok{color:#137333;font-weight:600} .bad{color:#b3261e;font-weight:600}
 .failed{color:#b3261e} .partial{color:#a56100}
 .swatch{display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px}
</style>"""
    root: Any = fmap.get_root()  # a branca Figure: it has a header and a body
    root.header.add_child(folium.Element(style))
    root.html.add_child(folium.Element(body))
    return str(root.render())


def counts_summary(counts: dict[str, Any]) -> str:
    """A run's counts as one line, for the history table and the plans page."""
    labels = (
        ("accounts", "accounts"),
        ("reps", "reps"),
        ("activities", "activities"),
        ("opportunities", "deals"),
        ("deleted", "deleted"),
        ("moves", "moves"),
        ("visits_to_push", "visits"),
        ("pushed", "pushed"),
        ("rejected", "rejected"),
        ("parked", "parked"),
        ("retries", "retries"),
        ("issues", "issues"),
        ("api_calls", "calls"),
    )
    return ", ".join(f"{label} {counts[key]}" for key, label in labels if counts.get(key))
