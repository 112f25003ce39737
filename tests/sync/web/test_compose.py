"""The docker stack serves nothing to a stranger: loopback-only web, sign-in, hosts, metrics inside."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from sync.settings import Settings

ROOT = Path(__file__).resolve().parents[3]


def web_service() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())["services"]["web"])


def test_the_web_is_published_on_the_hosts_loopback_only() -> None:
    ports = web_service()["ports"]
    assert ports and all(str(p).startswith("127.0.0.1:") for p in ports), ports
    assert "9100" not in " ".join(map(str, ports))  # metrics stay inside the compose network


def test_the_web_runs_behind_the_sign_in_with_allowed_hosts_and_a_metrics_port() -> None:
    service = web_service()
    env = service["environment"]
    settings = Settings(**{k.lower(): v for k, v in env.items()})
    assert settings.auth_mode == "login" and settings.metrics_port == 9100
    assert "${TSYNC_HOSTNAME" in env["ALLOWED_HOSTS"] and "*" not in settings.allowed_host_list
    assert env["USERS_FILE"].startswith("/data/") and any(v.endswith(":/data") for v in service["volumes"])
    assert "SESSION_SECRET" not in env  # a secret comes from ../.env, never from the compose file
    assert env["DATABASE_URL"].startswith("postgresql+psycopg://")  # still the stack's store


def test_the_image_gives_the_app_user_its_data_directory() -> None:
    assert "mkdir /data && chown tsync /data" in (ROOT / "docker" / "Dockerfile").read_text()
