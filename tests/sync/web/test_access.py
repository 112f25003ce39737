"""Who may reach what: a stranger nothing but the webhooks, /health and the sign-in; a viewer no decision."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlmodel import Session, select
from starlette.routing import Mount, Route

from sync.settings import Settings
from sync.store import OutboxItem, OutboxStatus
from sync.web import create_app
from sync.web.auth import CSRF_COOKIE, SESSION_COOKIE
from sync.web.users import Role, add_user

from .conftest import APPROVER, PASSWORD, VIEWER, browser_client, csrf_of, serve_web_app, sign_in

PUBLIC = {
    ("POST", "/webhooks/hubspot"),
    ("POST", "/webhooks/salesforce"),
    ("GET", "/health"),
    ("GET", "/login"),
    ("POST", "/login"),
}
BEARER = {("POST", "/resync")}  # machines call it with RESYNC_TOKEN


def app_routes(routes: list[object], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) of every route, included routers and mounts too, whatever FastAPI keeps them in."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from app_routes(included.routes, prefix + route.include_context.prefix)  # type: ignore[attr-defined]
        elif isinstance(route, Mount):
            yield from app_routes(list(route.routes), prefix + route.path)
        elif isinstance(route, (APIRoute, Route)):
            for method in sorted((route.methods or set()) - {"HEAD"}):
                yield method, prefix + route.path


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.fixture
def app(web_settings: Callable[..., Settings]) -> FastAPI:
    return create_app(web_settings())


def test_a_stranger_gets_401_or_the_sign_in_page_from_every_route_but_the_public_ones(app: FastAPI) -> None:
    routes = set(app_routes(app.router.routes))
    assert routes >= PUBLIC | BEARER and len(routes) >= 12, sorted(routes)
    guarded = sorted(routes - PUBLIC)
    with serve_web_app(app, app.state.settings) as web, httpx.Client(base_url=web.url) as client:
        for method, path in guarded:
            as_api = client.request(method, concrete(path))
            assert as_api.status_code == 401, (method, path, as_api.status_code)
            assert "csrf_token" not in as_api.text and "tsync_" not in as_api.text
            if method == "GET":
                as_browser = client.get(concrete(path), headers={"Accept": "text/html"})
                assert as_browser.status_code == 303, path
                assert as_browser.headers["location"].startswith("/login?next=%2F")
        assert client.get("/docs").status_code == client.get("/openapi.json").status_code == 404


def test_signing_in_sets_an_httponly_secure_samesite_session_and_a_wrong_password_does_not(
    app: FastAPI,
) -> None:
    with serve_web_app(app, app.state.settings) as web:
        client, cookies = browser_client(web.url)
        wrong = sign_in(client, VIEWER, "not the password")
        assert wrong.status_code == 401 and "Wrong email or password" in wrong.text
        assert SESSION_COOKIE not in cookies.jar
        right = sign_in(client, VIEWER)
        assert right.status_code == 303 and right.headers["location"] == "/outbox"
        session = next(h for h in cookies.set_cookie_headers if h.startswith(SESSION_COOKIE + "="))
        flags = {part.strip().lower() for part in session.split(";")}
        assert {"httponly", "secure", "samesite=lax", "path=/"} <= flags
        nonce = next(h for h in cookies.set_cookie_headers if h.startswith(CSRF_COOKIE + "="))
        assert {"httponly", "secure", "samesite=strict"} <= {p.strip().lower() for p in nonce.split(";")}
        page = client.get("/outbox")
        assert page.status_code == 200 and VIEWER in page.text
        assert client.get("/metrics").status_code == 200  # behind the sign-in: no METRICS_PORT here


def park(settings: Settings, n: int, *, error: str = "INVALID_FIELD: owner is inactive") -> None:
    """Outbox rows the CRM refused until their attempts ran out, as a push leaves them."""
    from sync.store import CrmOrg, engine_for
    from sync.store.outbox_payload import AssignmentPayload

    with Session(engine_for(settings.database_url)) as session:
        if session.get(CrmOrg, "hubspot") is None:
            session.add(CrmOrg(id="hubspot", kind="hubspot", name="HubSpot"))
        for i in range(n):
            session.add(
                OutboxItem(
                    org_id="hubspot",
                    kind="assignment",
                    record_id=f"c{i}",
                    payload=AssignmentPayload(account_id=f"c{i}", owner_id="o1", territory=None),
                    idempotency_key=f"parked-{i}",
                    status=OutboxStatus.PARKED,
                    attempts=5,
                    last_error=error,
                )
            )
        session.commit()


def parked(settings: Settings) -> int:
    from sync.store import engine_for

    with Session(engine_for(settings.database_url)) as session:
        return len(session.exec(select(OutboxItem).where(OutboxItem.status == OutboxStatus.PARKED)).all())


def test_a_viewer_cannot_send_parked_changes_again_and_an_approver_can(app: FastAPI) -> None:
    settings = app.state.settings
    park(settings, 3)
    with serve_web_app(app, settings) as web:
        viewer, _ = browser_client(web.url)
        sign_in(viewer, VIEWER)
        page = viewer.get("/outbox")
        assert page.text.count('class="parked-row"') == 3 and 'id="retry-parked"' not in page.text
        forged = viewer.post("/outbox/retry", data={"csrf_token": csrf_of(viewer, "/outbox")})
        assert forged.status_code == 403 and "approver" in forged.json()["detail"]
        assert parked(settings) == 3

        approver, _ = browser_client(web.url)
        sign_in(approver, APPROVER)
        token = csrf_of(approver, "/outbox")
        done = approver.post("/outbox/retry", data={"csrf_token": token})
        assert done.status_code == 303 and done.headers["location"] == "/outbox?retried=3"
        assert parked(settings) == 0


def test_a_form_post_without_the_users_own_csrf_token_is_refused(app: FastAPI) -> None:
    settings = app.state.settings
    park(settings, 1)
    with serve_web_app(app, settings) as web:
        approver, _ = browser_client(web.url)
        sign_in(approver, APPROVER)
        viewer, _ = browser_client(web.url)
        sign_in(viewer, VIEWER)
        viewers_token = csrf_of(viewer, "/outbox")
        assert approver.post("/outbox/retry", data={}).status_code == 403
        assert approver.post("/outbox/retry", data={"csrf_token": viewers_token}).status_code == 403
        assert approver.post("/outbox/retry", data={"csrf_token": "0" * 64}).status_code == 403
        stranger, _ = browser_client(web.url)
        login_without_token = stranger.post("/login", data={"email": APPROVER, "password": PASSWORD})
        assert login_without_token.status_code == 403
    assert parked(settings) == 1


def test_failed_sign_ins_are_throttled_per_account_even_with_the_right_password_after(app: FastAPI) -> None:
    with serve_web_app(app, app.state.settings) as web:
        client, cookies = browser_client(web.url)
        answers = [sign_in(client, APPROVER, f"guess number {i}").status_code for i in range(3)]
        assert answers == [401, 401, 401]
        throttled = sign_in(client, APPROVER)
        assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0
        assert SESSION_COOKIE not in cookies.jar
        other, _ = browser_client(web.url)
        assert sign_in(other, VIEWER).status_code == 429  # the same address used up its failures too


def test_pages_and_webhooks_carry_the_security_headers_and_a_foreign_host_is_refused(app: FastAPI) -> None:
    with serve_web_app(app, app.state.settings) as web, httpx.Client(base_url=web.url) as client:
        for answer in (client.get("/login"), client.get("/health"), client.post("/webhooks/hubspot")):
            csp = answer.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp
            assert "frame-ancestors 'none'" in csp
            assert answer.headers["x-frame-options"] == "DENY"
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert answer.headers["referrer-policy"] == "same-origin"
        rebound = client.get("/health", headers={"Host": "attacker.example"})
        assert rebound.status_code == 400


def test_with_a_metrics_port_metrics_are_served_there_only(web_settings: Callable[..., Settings]) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = web_settings(metrics_port=str(port))
    with serve_web_app(create_app(settings), settings) as web:
        assert web.metrics_url is not None
        scraped = httpx.get(f"{web.metrics_url}/metrics")
        assert scraped.status_code == 200 and "tsync_webhook_requests_rejected" in scraped.text
        assert httpx.get(f"{web.metrics_url}/plans/latest").status_code == 404
        assert httpx.get(f"{web.url}/metrics").status_code == 404


def test_the_users_file_is_written_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    add_user(path, VIEWER, Role.VIEWER, PASSWORD)
    assert path.stat().st_mode & 0o077 == 0
    assert PASSWORD not in path.read_text() and "$argon2id$" in path.read_text()
