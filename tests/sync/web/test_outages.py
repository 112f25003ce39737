"""The web app when the store is down: 503 naming it in one line, logged once, no traceback."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest

from sync.settings import Settings
from sync.web import create_app

from .conftest import VIEWER, browser_client, serve_web_app, sign_in

DOWN_DATABASE = "postgresql+psycopg://tsync:db-password@127.0.0.1:1/tsync"


def test_the_web_app_answers_503_naming_the_database_and_logs_one_line(
    web_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    settings = web_settings()
    down = settings.model_copy(update={"database_url": DOWN_DATABASE})
    caplog.set_level(logging.INFO)
    with serve_web_app(create_app(down), down) as web:
        client, _ = browser_client(web.url)
        assert sign_in(client, VIEWER).status_code == 303  # the users file needs no database
        answer = client.get("/plans/latest")
        health = httpx.get(f"{web.url}/health")
    assert answer.status_code == 503
    assert answer.json()["detail"].startswith("cannot reach the database (GET /plans/latest):")
    assert health.status_code == 503 and health.json()["database"].startswith("unreachable")
    warnings = [
        r for r in caplog.records if r.name == "territory_sync.outages" and r.levelno >= logging.WARNING
    ]
    assert len(warnings) == 1 and warnings[0].exc_info is None
    assert "db-password" not in caplog.text and "Traceback" not in caplog.text
