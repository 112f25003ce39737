"""AUTH_MODE=proxy: an SSO proxy's user header counts only when the proxy's address is trusted."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from sync.settings import Settings
from sync.web import create_app

from .conftest import APPROVER, VIEWER, browser_client, csrf_of, serve_web_app
from .test_access import park, parked

HEADER = "X-Forwarded-Email"


def test_the_header_is_believed_from_a_trusted_proxy_only(web_settings: Callable[..., Settings]) -> None:
    for trusted, expected in (("10.20.0.0/16", 401), ("127.0.0.0/8", 200)):
        settings = web_settings(auth_mode="proxy", trusted_proxies=trusted)
        with serve_web_app(create_app(settings), settings) as web:
            answer = httpx.get(f"{web.url}/outbox", headers={HEADER: VIEWER})
            assert answer.status_code == expected, trusted
            assert httpx.get(f"{web.url}/outbox").status_code == 401  # no header, no user
            assert httpx.get(f"{web.url}/login").status_code == 404  # sign-in happens at the proxy


def test_roles_come_from_the_users_file_and_unknown_users_get_the_default_role(
    web_settings: Callable[..., Settings],
) -> None:
    settings = web_settings(auth_mode="proxy", trusted_proxies="127.0.0.1", proxy_default_role="viewer")
    park(settings, 2)
    with serve_web_app(create_app(settings), settings) as web:
        stranger_via_sso, _ = browser_client(web.url)
        stranger_via_sso.headers[HEADER] = "newcomer@acme.example"
        page = stranger_via_sso.get("/outbox")
        assert page.status_code == 200 and "newcomer@acme.example (viewer)" in page.text
        token = csrf_of(stranger_via_sso, "/outbox")
        assert stranger_via_sso.post("/outbox/retry", data={"csrf_token": token}).status_code == 403

        approver, _ = browser_client(web.url)
        approver.headers[HEADER] = APPROVER
        token = csrf_of(approver, "/outbox")
        assert approver.post("/outbox/retry", data={}).status_code == 403  # CSRF holds in proxy mode too
        assert approver.post("/outbox/retry", data={"csrf_token": token}).status_code == 303
    assert parked(settings) == 0

    closed = web_settings(auth_mode="proxy", trusted_proxies="127.0.0.1", proxy_default_role="none")
    with serve_web_app(create_app(closed), closed) as web:
        assert httpx.get(f"{web.url}/outbox", headers={HEADER: "newcomer@acme.example"}).status_code == 403
