"""The console in a real headless Chromium: a stranger reaches nothing, a viewer cannot decide, CSRF fails."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from emulators.server import serve
from sync.settings import Settings
from sync.web import create_app

from .conftest import APPROVER, PASSWORD, VIEWER, RunningWeb, serve_web_app
from .test_access import PUBLIC, app_routes, concrete, park, parked

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ROOT = Path(__file__).resolve().parents[3]
SHOTS = ROOT / "test-output"
HOSTILE_ERROR = "<img src=x onerror=\"document.title='pwned'\"> ${document.title='pwned'} `Bob`s"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)"),
]


@pytest.fixture
def console(web_settings: Callable[..., Settings]) -> Iterator[tuple[FastAPI, RunningWeb]]:
    settings = web_settings()
    park(settings, 2, error=HOSTILE_ERROR)
    app = create_app(settings)
    with serve_web_app(app, settings) as web:
        yield app, web


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


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def signed_in(browser: Any, web: RunningWeb, email: str) -> Any:
    page = browser.new_context().new_page()
    page.on("dialog", lambda dialog: pytest.fail(f"a script ran: {dialog.message}"))
    page.goto(f"{web.url}/outbox")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{web.url}/outbox")
    return page


def test_a_stranger_is_sent_to_the_sign_in_or_refused_on_every_route(
    console: tuple[FastAPI, RunningWeb], browser: Any
) -> None:
    app, web = console
    page = browser.new_context().new_page()
    guarded = sorted(set(app_routes(app.router.routes)) - PUBLIC)
    assert len(guarded) >= 8
    for method, path in guarded:
        if method == "GET":
            answer = page.goto(web.url + concrete(path))
            assert answer is not None and answer.status == 200 and "/login?next=" in page.url, path
            assert page.locator("form.signin").count() == 1
        else:
            assert page.request.fetch(web.url + concrete(path), method=method).status == 401, path
    page.goto(f"{web.url}/plans/latest")
    shot(page, "console-stranger-sign-in.png")


def test_a_viewer_sees_parked_changes_as_text_and_cannot_send_them_again(
    console: tuple[FastAPI, RunningWeb], browser: Any
) -> None:
    app, web = console
    page = signed_in(browser, web, VIEWER)
    assert page.locator("#who").inner_text() == f"{VIEWER} (viewer)"
    assert page.locator("tr.parked-row").count() == 2
    assert HOSTILE_ERROR in page.locator("#parked").inner_text()  # shown as text, not run
    assert page.title() != "pwned" and page.locator("#parked img").count() == 0
    assert page.locator("#retry-parked").count() == 0 and page.locator("#approver-only").is_visible()
    shot(page, "console-viewer-parked.png")
    forged = page.evaluate(
        """async () => {
            const token = document.querySelector('meta[name=csrf-token]').content;
            const answer = await fetch('/outbox/retry', {method: 'POST',
                body: new URLSearchParams({csrf_token: token})});
            return answer.status;
        }"""
    )
    assert forged == 403
    assert parked(app.state.settings) == 2


def test_an_approver_sends_parked_changes_again_from_the_form(
    console: tuple[FastAPI, RunningWeb], browser: Any
) -> None:
    app, web = console
    page = signed_in(browser, web, APPROVER)
    page.click("#retry-parked button")
    page.wait_for_url(f"{web.url}/outbox?retried=2")
    assert "2 parked change(s) will be sent" in page.locator("#retried").inner_text()
    assert page.locator("tr.parked-row").count() == 0
    shot(page, "console-approver-sent-again.png")
    assert parked(app.state.settings) == 0


def test_a_form_posted_from_another_page_without_the_token_is_refused(
    console: tuple[FastAPI, RunningWeb], browser: Any
) -> None:
    app, web = console
    page = signed_in(browser, web, APPROVER)
    attack = (
        f'<form id="f" method="post" action="{web.url}/outbox/retry">'
        '<input name="csrf_token" value="guessed"></form>'
        '<script>document.getElementById("f").submit()</script>'
    )

    async def attacker_page(request: Any) -> HTMLResponse:
        return HTMLResponse(attack)

    with serve(Starlette(routes=[Route("/", attacker_page)])) as evil:  # same site, another origin
        answer_status: list[int] = []
        page.on("response", lambda r: answer_status.append(r.status) if "/outbox/retry" in r.url else None)
        page.goto(evil.url)
        page.wait_for_load_state("networkidle")
        shot(page, "console-csrf-refused.png")
    assert answer_status == [403]
    same_origin_without_token = page.evaluate(
        "async () => (await fetch('/outbox/retry', {method: 'POST', body: new URLSearchParams()})).status"
    )
    assert same_origin_without_token == 403
    assert parked(app.state.settings) == 2


def test_failed_sign_ins_are_throttled_in_the_browser(
    console: tuple[FastAPI, RunningWeb], browser: Any
) -> None:
    _app, web = console
    page = browser.new_context().new_page()
    statuses = []
    for password in ("first guess", "second guess", "third guess", PASSWORD):
        page.goto(f"{web.url}/login")
        page.fill("input[name=email]", APPROVER)
        page.fill("input[name=password]", password)
        posted = page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST")
        with posted as answer:
            page.click("button[type=submit]")
        statuses.append(answer.value.status)
    assert statuses == [401, 401, 401, 429]  # even the right password, once throttled
    assert "Too many failed sign-ins" in page.locator("#error").inner_text()
    shot(page, "console-sign-in-throttled.png")
