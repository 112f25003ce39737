"""The daemon's plan on the embedded Valhalla router over Helsinki's tiles, on PostgreSQL.

The store holds what a pull left there (accounts and reps in central Helsinki,
one account in Tampere, two on streets cars cannot use); `pipeline.plan` runs
as the nightly run does. The plan run's summary says how much the engine was
asked, so a second night shows the cache at work.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from connectors.base import CRMKind, Stream
from connectors.roads import LocalValhalla
from sync import pipeline
from sync.cli import app
from sync.runs import ensure_org
from sync.settings import Settings, get_settings, load_settings
from sync.store import (
    AccountRow,
    PlannedAssignment,
    PlannedVisit,
    PlanRun,
    RecordIssue,
    RepRow,
    TravelPair,
    transaction,
)
from sync.store.schema import upgrade
from sync.views import load_plan_view
from tests.connectors.roads import conftest as roads
from tests.sync.helsinki_book import TAMPERE, HelsinkiBook, helsinki_book

helsinki_tiles = roads.helsinki_tiles  # the tiles, built once per session

ORG = "hubspot"
UNREACHABLE = {"tampere", "no-car-in", "no-car-out"}


def road_settings(database_url: str, tiles: Path) -> Settings:
    return load_settings(
        database_url=database_url,
        celery_broker_url=None,
        redis_url=None,
        hubspot_access_token="pat-na1-test",  # configures the org; the plan never calls the CRM
        routing_engine="valhalla-local",
        valhalla_tiles=str(tiles),
        plan_seconds=3,
        plan_weeks=1,
        plan_horizon_weeks=3,
    )


def pulled(ctx: pipeline.Context, book: HelsinkiBook) -> None:
    """What a pull of the org would have stored: two reps and their accounts."""
    places = {f"shop-{k:02d}": (float(lat), float(lon)) for k, (lat, lon) in enumerate(book.shops)}
    places.update({"no-car-in": book.no_car_in, "no-car-out": book.no_car_out, "tampere": TAMPERE})
    with transaction(ctx.engine) as session:
        ensure_org(ORG, CRMKind.HUBSPOT, "Helsinki", session=session)
        for k, (lat, lon) in enumerate(book.homes):
            session.add(RepRow(org_id=ORG, crm_id=f"rep-{k}", name=f"Rep {k}", home_lat=lat, home_lon=lon))
        for n, (crm_id, (lat, lon)) in enumerate(places.items()):
            session.add(
                AccountRow(
                    org_id=ORG, crm_id=crm_id, name=crm_id, lat=lat, lon=lon, tier="ABC"[n % 3], potential=1e3
                )
            )


def add_account(ctx: pipeline.Context, crm_id: str, spot: tuple[float, float]) -> None:
    with transaction(ctx.engine) as session:
        session.add(AccountRow(org_id=ORG, crm_id=crm_id, name=crm_id, lat=spot[0], lon=spot[1], tier="A"))


def stored_pairs(ctx: pipeline.Context) -> int:
    with Session(ctx.engine) as session:
        return int(session.exec(select(func.count()).select_from(TravelPair)).one())


def latest_plan(ctx: pipeline.Context) -> PlanRun:
    with Session(ctx.engine) as session:
        plan_run = pipeline.latest_plan_run(ORG, session=session)
        assert plan_run is not None
        return plan_run


@pytest.fixture
def ctx(postgres_url: str, helsinki_tiles: Path) -> pipeline.Context:
    settings = road_settings(postgres_url, helsinki_tiles)
    upgrade(settings.database_url)
    context = pipeline.Context.from_settings(settings)
    pulled(context, helsinki_book(helsinki_tiles))
    return context


def test_the_nightly_plan_on_roads_leaves_out_and_reports_the_accounts_no_rep_can_reach(
    ctx: pipeline.Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = pipeline.plan(ORG, ctx=ctx)

    plan_run = latest_plan(ctx)
    assert plan_run.summary.roads.engine == "valhalla-local"
    assert plan_run.summary.roads.unreachable_accounts == 3
    unassigned = {u.account_id: u.reason for u in plan_run.summary.unassigned}
    assert set(unassigned) == UNREACHABLE
    assert "no drivable road within 2 km" in unassigned["tampere"]
    with Session(ctx.engine) as session:
        issues = session.exec(select(RecordIssue).where(RecordIssue.sync_run_id == summary.run_id)).all()
        rows = session.exec(
            select(PlannedAssignment).where(PlannedAssignment.plan_run_id == plan_run.id)
        ).all()
        visited = set(
            session.exec(
                select(PlannedVisit.account_crm_id).where(PlannedVisit.plan_run_id == plan_run.id)
            ).all()
        )
    reported = {
        i.crm_id for i in issues if i.stream == Stream.ACCOUNTS and "no rep can reach it by road" in i.problem
    }
    assert reported == UNREACHABLE
    assert {r.account_crm_id for r in rows if r.rep_crm_id is None} == UNREACHABLE
    assert visited and visited.isdisjoint(UNREACHABLE)
    monkeypatch.setenv("DATABASE_URL", ctx.settings.database_url)
    get_settings.cache_clear()
    try:
        shown = CliRunner().invoke(app, ["report", "--org", ORG])
    finally:
        get_settings.cache_clear()
    assert shown.exit_code == 0, shown.output
    assert "Roads: valhalla-local" in shown.output
    assert "3 account(s) no rep can reach by road" in " ".join(shown.output.split())


def test_the_next_night_asks_the_engine_only_for_the_account_that_is_new(
    ctx: pipeline.Context, helsinki_tiles: Path
) -> None:
    pipeline.plan(ORG, ctx=ctx)
    first = latest_plan(ctx).summary.roads
    assert first.engine_requests > 0 and first.pairs_from_store == 0

    pipeline.plan(ORG, ctx=ctx)
    unchanged = latest_plan(ctx).summary.roads
    assert unchanged.engine_requests == 0 and unchanged.pairs_routed == 0
    assert unchanged.pairs_from_store > 0

    stored = stored_pairs(ctx)
    add_account(ctx, "shop-new", tuple(float(v) for v in helsinki_book(helsinki_tiles).spare[0]))  # type: ignore[arg-type]
    pipeline.plan(ORG, ctx=ctx)
    grown = latest_plan(ctx).summary.roads
    # The pairs routed are the ones the store did not have: the new account's, and those of stops
    # that now share a territory for the first time.
    assert grown.engine_requests > 0 and grown.pairs_from_store > 0
    new_pairs = stored_pairs(ctx) - stored
    assert 0 < new_pairs <= grown.pairs_routed <= new_pairs + 5  # a block may ask a known pair again
    with Session(ctx.engine) as session:
        planned = session.exec(
            select(PlannedAssignment.rep_crm_id).where(
                PlannedAssignment.plan_run_id == latest_plan(ctx).id,
                col(PlannedAssignment.account_crm_id) == "shop-new",
            )
        ).one()
    assert planned is not None


def test_the_map_draws_the_planned_routes_along_the_roads(
    ctx: pipeline.Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline.plan(ORG, ctx=ctx)
    for key, value in {
        "DATABASE_URL": ctx.settings.database_url,
        "ROUTING_ENGINE": "valhalla-local",
        "VALHALLA_TILES": str(ctx.settings.valhalla_tiles),
    }.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        drawn = CliRunner().invoke(app, ["map", "--out", str(tmp_path / "map.html")])
        view = load_plan_view(ctx.engine, roads=LocalValhalla(str(ctx.settings.valhalla_tiles)))
    finally:
        get_settings.cache_clear()

    assert drawn.exit_code == 0, drawn.output
    assert view.route and set(view.route_paths) == {v.day for v in view.route}
    page = (tmp_path / "map.html").read_text()
    island = page.split('id="plan-data">', 1)[1].split("</script>", 1)[0]
    drawn_days = [[tuple(p) for p in day["path"]] for day in json.loads(island)["route"]]
    stops = {(v.lat, v.lon) for v in view.route}
    for path, drawn_path in zip(view.route_paths.values(), drawn_days, strict=True):
        assert len(path) > 3 * len({(v.lat, v.lon) for v in view.route})  # the road's bends
        bends = [p for p in drawn_path if p not in stops]
        assert len(bends) > len(drawn_path) // 2 and set(bends) & set(path)  # drawn along the road
