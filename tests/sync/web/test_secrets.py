"""Secrets stay out: of `repr(settings)`, of the access log of `tsync web`, of the users file."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from sync.cli import app as cli
from sync.settings import Settings, load_settings, mask_url
from sync.web.users import read_users

from .conftest import SESSION_SECRET

ROOT = Path(__file__).resolve().parents[3]
URL_SECRETS = {
    "database_url": "postgresql+psycopg://tsync:db-pass-1@postgres:5432/tsync",
    "celery_broker_url": "redis://:broker-pass-2@redis:6379/0",
    "redis_url": "rediss://default:redis-pass-3@redis:6380/1",
    "salesforce_base_url": "https://sf-user:sf-pass-4@proxy.example/sf",
    "hubspot_base_url": "https://proxy.example/hs?token=hs-token-5&portal=1",
    "osrm_url": "https://osrm:osrm-pass-6@roads.example",
    "routing_url": "https://valhalla:routing-pass-7@roads.example",
}


def test_every_url_setting_is_masked_in_the_settings_repr() -> None:
    settings = load_settings(**URL_SECRETS)
    shown = f"{settings!r} {settings}"
    secrets = ("db-pass-1", "broker-pass-2", "redis-pass-3", "sf-pass-4", "hs-token-5", "osrm-pass-6")
    for secret in (*secrets, "routing-pass-7"):
        assert secret not in shown
    assert "postgres:5432/tsync" in shown and "portal=***" in shown  # the rest stays readable
    every_url = {name for name in Settings.model_fields if name.endswith("_url")}
    assert every_url <= set(URL_SECRETS) | {"salesforce_base_url"}, "add the new URL setting to this test"


def test_mask_url_keeps_urls_without_secrets_as_they_are() -> None:
    assert mask_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert mask_url("sqlite:///./territory-sync.db") == "sqlite:///./territory-sync.db"
    assert mask_url("amqp://guest:guest@rabbit:5672//") == "amqp://guest:***@rabbit:5672//"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_access_log_of_tsync_web_never_shows_the_outbound_message_secret(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
        "CELERY_BROKER_URL": "",
        "REDIS_URL": "",
        "SALESFORCE_ORG_ID": "00D5g000004ABCDEAZ",
        "SALESFORCE_OUTBOUND_SECRET": "outbound-secret-value",
        "SESSION_SECRET": SESSION_SECRET,
    }
    subprocess.run([sys.executable, "-m", "sync", "db", "upgrade"], env=env, cwd=tmp_path, check=True,
                   capture_output=True)
    web = subprocess.Popen(
        [sys.executable, "-m", "sync", "web", "--port", str(port)],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        for secret in ("outbound-secret-value", "a-wrong-guess"):
            httpx.post(f"{base}/webhooks/salesforce?secret={secret}", content=b"<x/>")
        httpx.get(f"{base}/login?next=%2Fplans%2Flatest")
    finally:
        web.terminate()
        log, _ = web.communicate(timeout=20)
    assert '"POST /webhooks/salesforce?[redacted] HTTP/1.1" 401' in log
    assert '"POST /webhooks/salesforce?[redacted] HTTP/1.1" 400' in log
    assert "outbound-secret-value" not in log and "a-wrong-guess" not in log
    assert "/login?next=%2Fplans%2Flatest" in log  # other routes keep their query strings


def test_tsync_users_add_stores_an_argon2_hash_and_the_role(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    runner = CliRunner()
    env = {"USERS_FILE": str(path)}
    from sync.settings import get_settings

    get_settings.cache_clear()
    try:
        added = runner.invoke(
            cli,
            ["users", "add", "Ops@Acme.example", "--role", "approver"],
            input="a long enough password\n",
            env=env,
        )
        short = runner.invoke(cli, ["users", "add", "x@acme.example"], input="short\n", env=env)
        bad_role = runner.invoke(cli, ["users", "add", "x@acme.example", "--role", "admin"], env=env)
    finally:
        get_settings.cache_clear()
    assert added.exit_code == 0, added.output
    assert short.exit_code == bad_role.exit_code == 2
    users = read_users(path)
    assert list(users) == ["ops@acme.example"] and users["ops@acme.example"].role == "approver"
    assert "a long enough password" not in path.read_text()
    assert (users["ops@acme.example"].password_hash or "").startswith("$argon2id$")
