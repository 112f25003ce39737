"""A hostile org's plan pages in a real headless Chromium: text shows as text, never runs; the map draws.

The org's names carry markup, template literals, backticks, Rich markup and
spreadsheet formulas; two accounts claim a potential of 1e308. The nightly plan runs
against the HubSpot emulator over HTTP, then the pages, the drill-down, the CSV
exports and a `tsync map` file are opened as an ops lead would.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from emulators.hubspot import create_hubspot_app
from emulators.seed import generate_org
from emulators.server import serve
from sync import pipeline
from sync.cli import app as cli
from sync.settings import Settings, load_settings
from sync.store.schema import upgrade
from sync.web import create_app
from tests.sync.conftest import FIELD_TEAM

from .conftest import PASSWORD, SESSION_SECRET, VIEWER, browser_client, serve_web_app, sign_in

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ROOT = Path(__file__).resolve().parents[3]
SHOTS = ROOT / "test-output"
ZONE = "America/Los_Angeles"

IMG = "<img src=x onerror=\"document.title='pwned';window.pwned=1\">"
LITERAL = "${document.title='pwned'}"
BACKTICK = "Bob`s Diner"
RICH = "[/]x[bold]"
FORMULA = '=HYPERLINK("http://evil.example","click")'
HOSTILE_ACCOUNTS = (
    IMG,
    LITERAL,
    BACKTICK,
    RICH,
    FORMULA,
    "@SUM(1+1)",
    "+1-555 cash",
    "</script><script>x()</script>",
)
HOSTILE_REPS = (("<b onmouseover=alert(1)>Ana", "`Lopez${1}`"), ("[bold]Bo[/]", "</title>Ng"))
MARKUP_NAMES = (IMG, "</script><script>x()</script>", "<b onmouseover=alert(1)>Ana")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)"),
]


@dataclass(frozen=True)
class HostilePlan:
    settings: Settings
    web_url: str
    plan_run_id: int
    org_id: str
    rep_ids: tuple[str, ...]


def hostile_org() -> Any:
    org = generate_org(180, 5, seed=11, metros=2)
    accounts = list(org.accounts)
    for i, name in enumerate(HOSTILE_ACCOUNTS):
        accounts[i] = dataclasses.replace(accounts[i], name=name)
    for i in (len(HOSTILE_ACCOUNTS), len(HOSTILE_ACCOUNTS) + 1):
        accounts[i] = dataclasses.replace(accounts[i], potential=1e308)
    users = list(org.users)
    reps = [i for i, u in enumerate(users) if u.is_field_rep and u.active]
    for i, (first, last) in zip(reps, HOSTILE_REPS, strict=False):
        users[i] = dataclasses.replace(users[i], first_name=first, last_name=last)
    return dataclasses.replace(org, accounts=tuple(accounts), users=tuple(users))


@pytest.fixture(scope="module")
def hostile_plan(tmp_path_factory: pytest.TempPathFactory, hashed_users: bytes) -> Iterator[HostilePlan]:
    folder = tmp_path_factory.mktemp("hostile")
    users = folder / "users.json"
    users.write_bytes(hashed_users)
    users.chmod(0o600)
    policy = folder / "policy.toml"
    policy.write_text("[transition]\ndays = 0\n")  # approved moves take effect tonight
    with serve(create_hubspot_app(hostile_org(), search_per_second=None)) as crm:
        settings = load_settings(
            **FIELD_TEAM,
            territory_changes="auto",  # the page shows a rebalance, not only tonight's forced changes
            policy_file=str(policy),
            database_url=f"sqlite:///{folder / 'store.db'}",
            hubspot_access_token="pat-na1-hostile",
            hubspot_base_url=crm.url,
            plan_seconds=3,
            plan_weeks=1,
            timezone=ZONE,
            celery_broker_url=None,
            redis_url=None,
            session_secret=SESSION_SECRET,
            users_file=str(users),
        )
        upgrade(settings.database_url)
        ctx = pipeline.Context.from_settings(settings)
        summary = pipeline.run_all("hubspot", ctx=ctx)
    assert summary.plan is not None and summary.plan.plan_run_id is not None
    app = create_app(settings)
    with serve_web_app(app, settings) as web:
        from sync.views import load_plan_view

        view = load_plan_view(ctx.engine, plan_run_id=summary.plan.plan_run_id)
        yield HostilePlan(
            settings, web.url, summary.plan.plan_run_id, view.plan_run.org_id, tuple(view.rep_order())
        )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


def watched_page(browser: Any) -> tuple[Any, list[str]]:
    """A page that fails the test on any dialog and records script errors and CSP violations."""
    page = browser.new_context(viewport={"width": 1280, "height": 1400}).new_page()
    problems: list[str] = []
    page.on("dialog", lambda dialog: pytest.fail(f"a script ran: {dialog.message}"))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.route(  # map tiles would come from the internet: not here
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(("http://127.0.0.1", "file://", "data:"))
            else route.abort()
        ),
    )
    return page, problems


def signed_in(browser: Any, plan: HostilePlan, path: str) -> tuple[Any, list[str]]:
    page, problems = watched_page(browser)
    page.goto(plan.web_url + path)
    page.fill("input[name=email]", VIEWER)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation(wait_until="load"):
        page.click("button[type=submit]")
    assert page.url == plan.web_url + path
    return page, problems


def island(page: Any) -> dict[str, Any]:
    data: dict[str, Any] = page.evaluate("JSON.parse(document.getElementById('plan-data').textContent)")
    return data


def assert_nothing_ran(page: Any, problems: list[str], title: str) -> None:
    assert page.title() == title
    assert page.evaluate("window.pwned === undefined && typeof x === 'undefined'")
    assert page.locator("img[src=x], b[onmouseover]").count() == 0
    assert [p for p in problems if "ERR_FAILED" not in p] == []


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def test_a_hostile_orgs_plan_page_shows_its_names_as_text_runs_no_script_and_draws_every_marker(
    hostile_plan: HostilePlan, browser: Any
) -> None:
    page, problems = signed_in(browser, hostile_plan, f"/plans/latest?org={hostile_plan.org_id}")
    page.wait_for_selector("body[data-map-ready]", timeout=15_000)
    data = island(page)
    assert page.locator("path.territory").count() == len(data["accounts"]) > 150  # no blank map
    assert page.locator("path.hull-after").count() >= 3 and page.locator(".city-label").count() >= 5
    assert page.locator("path.state").count() >= 3  # state outlines without any tile
    assert_nothing_ran(page, problems, f"HubSpot · plan run {hostile_plan.plan_run_id} · territory-sync")
    table = page.locator("#balance").inner_text()
    assert "<b onmouseover=alert(1)>Ana `Lopez${1}`" in table and "[bold]Bo[/] </title>Ng" in table
    names = {a["lines"][0] for a in data["accounts"]}
    assert set(HOSTILE_ACCOUNTS) <= names  # the island carries the names exactly
    icon = page.evaluate(
        "getComputedStyle(document.querySelector('.leaflet-control-layers-toggle')).backgroundImage"
    )
    assert icon.startswith('url("data:image/png;base64,')  # the layer icon is no 404, online or off
    page.hover(".leaflet-control-layers")  # rep names in Leaflet's layer control: text, not markup
    layers = page.locator(".leaflet-control-layers-overlays").inner_text()
    assert "<b onmouseover=alert(1)>Ana `Lopez${1}`" in layers
    tooltips = " ".join(line for a in data["accounts"] for line in a["lines"])
    assert "e+308" not in tooltips and "Infinity" not in tooltips  # 1e308 was bounded at intake
    moves, book = (int(page.locator(f"#{i}").inner_text()) for i in ("moves-count", "book-count"))
    assert page.locator("#moves-share").inner_text() == f"{100 * moves / book:.1f} %"
    assert page.locator("#moves .move-row").count() == min(moves, 200)
    colours = [r["color"] for r in data["reps"]]
    assert len(set(colours)) == len(colours)
    assert "hubspot" in page.locator("#plan-org").inner_text().lower()
    shot(page, "plan-hostile.png")


def test_the_filters_show_one_reps_accounts_the_moved_ones_or_one_tier(
    hostile_plan: HostilePlan, browser: Any
) -> None:
    page, problems = signed_in(browser, hostile_plan, f"/plans/{hostile_plan.plan_run_id}")
    page.wait_for_selector("body[data-map-ready]", timeout=15_000)
    data = island(page)
    rep = data["reps"][0]
    page.select_option("#f-rep", rep["id"])
    mine = sum(1 for a in data["accounts"] if a["rep"] == rep["id"])
    assert page.locator("path.territory").count() == mine
    assert page.locator("#f-count").inner_text() == f"{mine} of {len(data['accounts'])} accounts shown"
    page.select_option("#f-rep", "")
    page.check("#f-moved")
    assert page.locator("path.territory").count() == sum(1 for a in data["accounts"] if a["moved"])
    page.uncheck("#f-moved")
    tier = data["tiers"][0]
    page.select_option("#f-tier", tier)
    assert page.locator("path.territory").count() == sum(1 for a in data["accounts"] if a["tier"] == tier)
    page.select_option("#f-tier", "")
    page.hover(".leaflet-control-layers")
    page.locator(".leaflet-control-layers-overlays label", has_text="Opportunity").click()
    legend = page.locator(".map-legend")  # the opportunity layer's scale: five bands of amounts
    assert legend.locator(".band").count() == 5 and "$" in legend.inner_text()
    assert page.locator("path.opportunity").count() > 0
    page.locator("path.territory.moved").first.dispatch_event("mouseover")
    assert re.search(r"moves from .+ to .+", page.locator(".leaflet-tooltip").inner_text())
    assert_nothing_ran(page, problems, page.title())


def test_a_reps_drill_down_shows_its_book_moves_with_reasons_and_its_week_in_local_time(
    hostile_plan: HostilePlan, browser: Any
) -> None:
    rep_id = hostile_plan.rep_ids[0]
    page, problems = signed_in(browser, hostile_plan, f"/plans/{hostile_plan.plan_run_id}/reps/{rep_id}")
    page.wait_for_selector("body[data-map-ready]", timeout=15_000)
    assert page.locator("#rep-title").inner_text().strip() == "<b onmouseover=alert(1)>Ana `Lopez${1}`"
    assert ZONE in page.locator("#rep-numbers").inner_text()
    book = page.locator("#book .book-row").count()
    assert book > 0 and f"{book} accounts after the plan" in page.locator("#rep-numbers").inner_text()
    arrivals = [page.locator("#routes .stop-row td:nth-child(4)").nth(i).inner_text() for i in range(3)]
    assert all("07:00" <= t <= "18:00" for t in arrivals), arrivals  # the rep's working day, not UTC's
    moves = page.locator("#moves-in .move-row, #moves-out .move-row")
    if moves.count():
        assert moves.first.locator("td").nth(4).inner_text().strip()  # each move says why
    assert_nothing_ran(page, problems, page.title())
    shot(page, "plan-rep-drill-down.png")


def test_the_csv_exports_name_reps_and_accounts_and_defuse_spreadsheet_formulas(
    hostile_plan: HostilePlan, browser: Any
) -> None:
    page, _problems = signed_in(browser, hostile_plan, f"/plans/{hostile_plan.plan_run_id}")
    for name in ("moves.csv", "call-plans.csv"):
        answer = page.request.get(f"{hostile_plan.web_url}/plans/{hostile_plan.plan_run_id}/{name}")
        assert answer.status == 200 and answer.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(answer.text())))
        assert rows, name
        cells = [v for row in rows for v in row.values()]
        assert not [v for v in cells if v[:1] in ("=", "+", "-", "@")], name
    moves = list(
        csv.DictReader(
            io.StringIO(
                page.request.get(f"{hostile_plan.web_url}/plans/{hostile_plan.plan_run_id}/moves.csv").text()
            )
        )
    )
    assert {"from_rep", "to_rep", "reason"} <= set(moves[0]) and all(m["reason"] for m in moves)
    plans = page.request.get(f"{hostile_plan.web_url}/plans/{hostile_plan.plan_run_id}/call-plans.csv").text()
    assert ZONE in plans
    accounts = {row["account"] for row in csv.DictReader(io.StringIO(plans))}
    for hostile in (FORMULA, "@SUM(1+1)", "+1-555 cash"):
        if "'" + hostile in accounts or hostile in accounts:
            assert "'" + hostile in accounts and hostile not in accounts


def test_the_html_carries_crm_text_only_in_the_data_island_or_escaped(hostile_plan: HostilePlan) -> None:
    client, _cookies = browser_client(hostile_plan.web_url)
    assert sign_in(client, VIEWER).status_code == 303
    pages = [
        f"/plans/{hostile_plan.plan_run_id}",
        f"/plans/{hostile_plan.plan_run_id}/reps/{hostile_plan.rep_ids[0]}",
    ]
    for path in pages:
        html = client.get(path).text
        for name in MARKUP_NAMES:
            assert name not in html, (path, name)  # raw, it would be markup: only ever escaped
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
        inline = [(attrs, body) for attrs, body in scripts if "src=" not in attrs]
        assert [attrs for attrs, _ in inline] == [' type="application/json" id="plan-data"'], path
        assert "&lt;b onmouseover=alert(1)&gt;Ana `Lopez${1}`" in html, path  # the rep's name, escaped
    client.close()


def test_a_tsync_map_file_opened_from_disk_draws_the_hostile_org_with_no_script_run(
    hostile_plan: HostilePlan, browser: Any, tmp_path: Path
) -> None:
    out = tmp_path / "map.html"
    env = {"DATABASE_URL": hostile_plan.settings.database_url}
    result = CliRunner().invoke(
        cli, ["map", "--out", str(out), "--plan-run", str(hostile_plan.plan_run_id)], env=env
    )
    assert result.exit_code == 0, result.output
    report = CliRunner().invoke(cli, ["report", "--plan-run", str(hostile_plan.plan_run_id)], env=env)
    assert report.exit_code == 0 and "[bold]B" in report.output, report.output  # Rich markup as text
    html = out.read_text()
    assert all(name not in html for name in MARKUP_NAMES)
    page, problems = watched_page(browser)
    page.goto(out.as_uri())
    page.wait_for_selector("body[data-map-ready]", timeout=15_000)
    assert page.locator("path.territory").count() == len(island(page)["accounts"]) > 150
    assert page.locator("path.state").count() >= 3
    assert_nothing_ran(page, problems, f"HubSpot · plan run {hostile_plan.plan_run_id} · territory-sync")
    assert page.locator("#moves-csv").count() == 0  # a file has no server to export from
    shot(page, "plan-map-file.png")


def test_home_lists_the_orgs_and_recent_plans_and_a_stranger_reaches_none_of_the_plan_pages(
    hostile_plan: HostilePlan, browser: Any
) -> None:
    page, _problems = signed_in(browser, hostile_plan, "/")
    assert page.locator("#orgs .org-row").count() == 1
    assert page.locator("#recent-plans .plan-row").count() >= 1
    shot(page, "plans-home.png")
    page.click("#orgs a")
    assert page.url.endswith(f"/plans/latest?org={hostile_plan.org_id}")
    plan = hostile_plan.plan_run_id
    with httpx.Client(base_url=hostile_plan.web_url) as stranger:
        for path in ("/", f"/plans/{plan}", "/plans/latest", f"/plans/{plan}/reps/{hostile_plan.rep_ids[0]}",
                     f"/plans/{plan}/moves.csv", f"/plans/{plan}/call-plans.csv", "/static/plan.js",
                     "/static/leaflet/leaflet.js"):  # fmt: skip
            assert stranger.get(path).status_code == 401, path
            as_browser = stranger.get(path, headers={"Accept": "text/html"})
            assert as_browser.status_code == 303 and as_browser.headers["location"].startswith("/login?next=")
