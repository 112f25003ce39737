"""The ops page in a real headless Chromium: the map shows every territory, the table every rep."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlmodel import Session, select

from emulators.server import RunningServer, serve
from sync import pipeline
from sync.settings import load_settings
from sync.store import PlannedAssignment, PlanRun
from sync.store.schema import upgrade
from sync.web import create_app
from sync.web.users import Role, add_user

from .conftest import FIELD_TEAM, EmulatedCRM
from .web.conftest import PASSWORD, SESSION_SECRET, VIEWER

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)"),
]


@pytest.fixture
def crm(hubspot_crm: Callable[..., EmulatedCRM]) -> EmulatedCRM:
    return hubspot_crm(240, 6, seed=5, metros=2)


def test_the_latest_plan_page_shows_every_territory_on_the_map_and_every_rep_in_the_table(
    crm: tuple[RunningServer, FastAPI], sqlite_url: str, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    server, _app = crm
    settings = load_settings(
        database_url=sqlite_url,
        hubspot_access_token="pat-na1-page",
        hubspot_base_url=server.url,
        plan_seconds=3,
        plan_weeks=1,
        celery_broker_url=None,
        redis_url=None,
        session_secret=SESSION_SECRET,
        users_file=str(tmp_path / "users.json"),
        **FIELD_TEAM,
    )
    add_user(tmp_path / "users.json", VIEWER, Role.VIEWER, PASSWORD)  # the page needs a signed-in user
    upgrade(settings.database_url)
    ctx = pipeline.Context.from_settings(settings)
    summary = pipeline.run_all("hubspot", ctx=ctx)
    with Session(ctx.engine) as session:
        plan_run = session.get(PlanRun, summary.plan.plan_run_id)
        assert plan_run is not None
        planned_reps = set(plan_run.summary.reps)
        reps = {
            p.rep_crm_id
            for p in session.exec(
                select(PlannedAssignment).where(PlannedAssignment.plan_run_id == summary.plan.plan_run_id)
            )
            if p.rep_crm_id
        }
    assert reps

    with serve(create_app(settings)) as web, sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 1600})
        page.route(
            "**/*", lambda route: route.abort() if "127.0.0.1" not in route.request.url else route.continue_()
        )  # map tiles would come from the internet: not here
        csp_violations: list[str] = []
        page.on("console", lambda m: csp_violations.append(m.text) if "Content Security" in m.text else None)
        page.goto(f"{web.url}/plans/latest")
        page.fill("input[name=email]", VIEWER)  # sent to the sign-in first
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation(url=f"{web.url}/plans/latest", wait_until="load") as signed_in:
            page.click("button[type=submit]")
        response = signed_in.value
        assert response is not None and response.status == 200
        # No inline script at all: the map is drawn by /static/plan.js from the page's JSON data island.
        script_src = response.headers["content-security-policy"].split("script-src", 1)[1].split(";")[0]
        assert script_src.strip() == "'self'"
        page.wait_for_selector("path.territory", state="attached", timeout=15_000)
        island = page.evaluate("JSON.parse(document.getElementById('plan-data').textContent)")
        index = {rep["id"]: i for i, rep in enumerate(island["reps"])}
        for rep in reps:
            assert page.locator(f"path.territory.rep-{index[rep]}").count() > 0, f"no markers for {rep}"
        # a row per rep of the plan, including any left without accounts (reported, not hidden)
        assert page.locator("#balance tbody tr.rep-row").count() == len(planned_reps) >= len(reps)
        assert page.locator("#runs tr").count() > 1
        shot = ROOT / "test-output" / "plans-latest.png"
        shot.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
        shutil.copy(shot, tmp_path / shot.name)
        assert csp_violations == []
        missing = web.url + "/plans/999999"
        assert page.goto(missing).status == 404  # type: ignore[union-attr]
        browser.close()
