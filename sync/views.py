"""What a person looks at: a stored plan as a map, a balance chart and a balance table.

Used by `tsync report`, `tsync map`, `tsync demo` and the web app's
`/plans/...` pages; the pages and map files themselves are `sync/web/plan_pages.py`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Engine
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from sync.runs import recent_runs
from sync.store import AccountRow, CrmOrg, PlannedAssignment, PlannedVisit, PlanRun, SyncRun
from sync.store.plan_summary import BalanceMetrics, PlannedRep, RepLoadMetrics

if TYPE_CHECKING:
    from connectors.roads import RoadTravel

# Thresholds the reports highlight (the classic balance targets of territory design).
THRESHOLDS = {"potential_cv": 0.10, "workload_cv": 0.15, "gini": 0.15, "min_max": 0.7}
# Kelly's colours of maximum contrast and ten more chosen by greatest CIELAB distance, ordered so
# that every prefix is as far apart as it can be (first 10: ΔE ≥ 47, first 20: ΔE ≥ 35).
PALETTE = (
    "#0067A5", "#00EE00", "#F38400", "#0000FF", "#FF0099", "#008856", "#654522", "#DCD300",
    "#DD88FF", "#E68FAC", "#BE0032", "#0055EE", "#33EE88", "#00DDDD", "#C2B280", "#A1CAF1",
    "#FF33EE", "#880099", "#887700", "#875692", "#848482", "#F99379", "#882D17", "#2B3D26",
    "#8DB600", "#B3446C", "#E25822", "#F6A600", "#F3C300", "#604E97",
)  # fmt: skip


@dataclass(frozen=True)
class MapAccount:
    """One account of the plan: where it is (if known), whose it was and is, and why it moves."""

    id: str
    name: str
    lat: float | None
    lon: float | None
    potential: float
    tier: str | None
    rep_id: str | None
    previous_rep_id: str | None = None
    moved: bool = False
    reason: str = ""

    @property
    def located(self) -> bool:
        return self.lat is not None and self.lon is not None


@dataclass(frozen=True)
class MapVisit:
    """One stop of a rep's week; `starts`/`ends` are in the rep's local zone (`PlanView.zone_of`)."""

    day: date
    sequence: int
    account_id: str
    name: str
    lat: float
    lon: float
    starts: datetime
    ends: datetime
    drive_minutes: float = 0.0


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
    # per day of `route`: the road geometry home → stops → home, when a road engine drew it
    route_paths: Mapping[date, tuple[tuple[float, float], ...]] = field(default_factory=dict)
    org_name: str = ""

    def rep_order(self) -> list[str]:
        """Reps by name (then id): the order colours are given out in."""
        return sorted(self.reps, key=lambda r: (self.rep_name(r).casefold(), r))

    def color(self, rep_id: str | None) -> str:
        order = self.rep_order()
        return PALETTE[order.index(rep_id) % len(PALETTE)] if rep_id in order else "#000000"

    def color_index(self, rep_id: str | None) -> int | None:
        order = self.rep_order()
        return order.index(rep_id) % len(PALETTE) if rep_id in order else None

    def rep_name(self, rep_id: str | None) -> str:
        if rep_id is None:
            return "no rep"
        rep = self.reps.get(rep_id)
        return (rep.name if rep else "") or rep_id

    def zone_of(self, rep_id: str | None) -> ZoneInfo:
        """The rep's IANA zone from its call plan; UTC when neither the rep nor the policy names one."""
        rep = self.reps.get(rep_id) if rep_id is not None else None
        name = rep.time_zone if rep is not None else ""
        try:
            return ZoneInfo(name) if name else ZoneInfo("UTC")
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")

    @property
    def moves(self) -> list[MapAccount]:
        return [a for a in self.accounts if a.moved]


def load_plan_view(
    engine: Engine,
    *,
    plan_run_id: int | None = None,
    org_id: str | None = None,
    route_rep: str | None = None,
    roads: RoadTravel | None = None,
) -> PlanView:
    """A plan run (the latest if not given): accounts, reps, one rep's first week of routes, history;
    with `roads`, the routes' geometry along the roads (`route_paths`)."""
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
        accounts = _plan_accounts(session, plan_run)
        org = session.get(CrmOrg, plan_run.org_id)
        route_rep, route = _week_of_routes(session, plan_run, accounts, route_rep)
    view = PlanView(
        plan_run=plan_run,
        accounts=accounts,
        reps=plan_run.summary.reps,
        before=plan_run.metrics_before,
        after=plan_run.metrics_after,
        runs=recent_runs(engine, org_id=plan_run.org_id, limit=15),
        route_paths=_road_paths(route, plan_run.summary.reps.get(route_rep or ""), roads),
        org_name=(org.name if org else "") or plan_run.org_id,
    )
    view.route_rep = route_rep
    view.route = [_in_zone(v, view.zone_of(route_rep)) for v in route]
    return view


def _road_paths(
    route: list[MapVisit], rep: PlannedRep | None, roads: RoadTravel | None
) -> dict[date, tuple[tuple[float, float], ...]]:
    if roads is None or not route:
        return {}
    from sync.roads import PlannedStop, day_paths

    home = None
    if rep is not None and rep.home_lat is not None and rep.home_lon is not None:
        home = (rep.home_lat, rep.home_lon)
    return day_paths([PlannedStop(v.day, v.sequence, v.lat, v.lon) for v in route], home, roads)


def _plan_accounts(session: Session, plan_run: PlanRun) -> list[MapAccount]:
    # Columns, not entities: a 3,000-account plan loads in a fraction of the ORM's time.
    rows = session.execute(
        sa_select(
            col(AccountRow.crm_id), col(AccountRow.name), col(AccountRow.lat), col(AccountRow.lon),
            col(AccountRow.potential), col(AccountRow.tier), col(PlannedAssignment.rep_crm_id),
            col(PlannedAssignment.previous_rep_crm_id), col(PlannedAssignment.moved),
            col(PlannedAssignment.reason),
        )
        .select_from(PlannedAssignment)
        .join(
            AccountRow,
            (col(AccountRow.crm_id) == col(PlannedAssignment.account_crm_id))
            & (col(AccountRow.org_id) == plan_run.org_id),
        )
        .where(col(PlannedAssignment.plan_run_id) == plan_run.id)
    ).all()
    return [
        MapAccount(crm_id, name, lat, lon, potential or 0.0, tier, rep, previous_rep_id=previous, moved=moved,
                   reason=reason or "")
        for crm_id, name, lat, lon, potential, tier, rep, previous, moved, reason in rows
    ]  # fmt: skip


def _week_of_routes(
    session: Session, plan_run: PlanRun, accounts: list[MapAccount], route_rep: str | None
) -> tuple[str | None, list[MapVisit]]:
    """The chosen rep (default: the one with most visits) and its first seven days of stops."""
    of_plan = col(PlannedVisit.plan_run_id) == plan_run.id
    chosen = route_rep
    if chosen is None:
        rep_col = col(PlannedVisit.rep_crm_id)
        per_rep = session.exec(select(rep_col, func.count()).where(of_plan).group_by(rep_col)).all()
        chosen = max(per_rep, key=lambda rc: (rc[1], rc[0]))[0] if per_rep else None
    visits = session.exec(
        select(PlannedVisit)
        .where(of_plan, col(PlannedVisit.rep_crm_id) == chosen)
        .order_by(col(PlannedVisit.visit_date), col(PlannedVisit.sequence))
    ).all()
    located = {a.id: a for a in accounts if a.located}
    first = visits[0].visit_date if visits else None
    route: list[MapVisit] = []
    for v in visits:
        acc = located.get(v.account_crm_id)
        if first is None or v.visit_date >= first + timedelta(days=7) or acc is None:
            continue
        assert acc.lat is not None and acc.lon is not None
        route.append(
            MapVisit(
                v.visit_date, v.sequence, acc.id, acc.name, acc.lat, acc.lon, v.starts_at, v.ends_at,
                v.drive_minutes_before,
            )
        )  # fmt: skip
    return chosen, route


def _in_zone(visit: MapVisit, zone: ZoneInfo) -> MapVisit:
    return dataclasses.replace(visit, starts=visit.starts.astimezone(zone), ends=visit.ends.astimezone(zone))


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
    line = ", ".join(f"{label} {counts[key]}" for key, label in labels if counts.get(key))
    return f"{line}; nothing written: no field team defined" if counts.get("held") else line
