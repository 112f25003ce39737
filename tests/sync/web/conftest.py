"""Web app fixtures: settings with sign-in configured, two users, the app served as `tsync web` does."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from sync.settings import Settings
from sync.web.server import bound_sockets, web_config
from sync.web.users import Role, add_user

SESSION_SECRET = "s" * 16 + "-test-session-secret-" + "t" * 8
PASSWORD = "correct horse battery"
VIEWER = "viewer@acme.example"
APPROVER = "approver@acme.example"


@dataclass(frozen=True)
class RunningWeb:
    url: str
    metrics_url: str | None


@contextmanager
def serve_web_app(app: FastAPI, settings: Settings) -> Iterator[RunningWeb]:
    """The app on free loopback ports with `tsync web`'s uvicorn config, in a thread."""
    config = web_config(settings, host="127.0.0.1", port=0, app=app, lifespan="off")
    sockets = bound_sockets(config, settings.metrics_port)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": sockets}, daemon=True)
    thread.start()
    try:
        for _ in range(2000):
            if server.started or not thread.is_alive():
                break
            thread.join(0.01)
        assert server.started, "the web app did not start"
        port = sockets[0].getsockname()[1]
        metrics = f"http://127.0.0.1:{sockets[1].getsockname()[1]}" if len(sockets) > 1 else None
        yield RunningWeb(f"http://127.0.0.1:{port}", metrics)
    finally:
        server.should_exit = True
        thread.join(10)
        for sock in sockets:
            sock.close()


@pytest.fixture(scope="session")
def hashed_users(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A viewer and an approver (argon2 hashing is slow on purpose: done once per session)."""
    path = tmp_path_factory.mktemp("users") / "users.json"
    add_user(path, VIEWER, Role.VIEWER, PASSWORD)
    add_user(path, APPROVER, Role.APPROVER, PASSWORD)
    return path.read_bytes()


@pytest.fixture
def users_file(tmp_path: Path, hashed_users: bytes) -> Path:
    path = tmp_path / "users.json"
    path.write_bytes(hashed_users)
    path.chmod(0o600)
    return path


@pytest.fixture
def web_settings(
    make_settings: Callable[..., Settings], sqlite_url: str, users_file: Path
) -> Callable[..., Settings]:
    """Embedded settings on SQLite with the built-in sign-in configured; overrides as keyword arguments."""

    def make(**env: str) -> Settings:
        defaults = {
            "database_url": sqlite_url,
            "celery_broker_url": "",
            "redis_url": "",
            "session_secret": SESSION_SECRET,
            "users_file": str(users_file),
            "resync_token": "ops-token",
            "login_max_failures": "3",
        }
        return make_settings(**{**defaults, **env})

    return make


def csrf_of(client: httpx.Client, url: str) -> str:
    """The CSRF token a page's forms carry (and its nonce cookie kept in the client)."""
    page = client.get(url, headers={"Accept": "text/html"})
    marker = '<meta name="csrf-token" content="'
    start = page.text.index(marker) + len(marker)
    return page.text[start : page.text.index('"', start)]


class BrowserCookies:
    """Cookies kept as Chromium keeps them for 127.0.0.1: Secure ones sent over loopback http too.

    (http.cookiejar, under httpx, never sends a Secure cookie over http.)
    """

    def __init__(self) -> None:
        self.jar: dict[str, str] = {}
        self.set_cookie_headers: list[str] = []

    def add_to(self, request: httpx.Request) -> None:
        if self.jar:
            request.headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())

    def keep_from(self, response: httpx.Response) -> None:
        for header in response.headers.get_list("set-cookie"):
            self.set_cookie_headers.append(header)
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0].strip('"')
            if "max-age=0" in header.lower() or not value:
                self.jar.pop(name, None)
            else:
                self.jar[name] = value


def browser_client(base_url: str) -> tuple[httpx.Client, BrowserCookies]:
    cookies = BrowserCookies()
    client = httpx.Client(
        base_url=base_url,
        follow_redirects=False,
        event_hooks={"request": [cookies.add_to], "response": [cookies.keep_from]},
    )
    return client, cookies


def sign_in(client: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    token = csrf_of(client, "/login")
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token, "next": "/outbox"}
    )

