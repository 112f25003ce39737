"""The docker stack is valid as written, even where no Docker engine runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from sync.cli import app
from sync.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text()))


def test_compose_has_the_five_services_with_health_checks() -> None:
    services = compose()["services"]
    assert {"web", "worker", "beat", "redis", "postgres"} <= set(services)
    for name in ("web", "worker", "redis", "postgres"):
        assert "healthcheck" in services[name], name


def test_app_services_run_real_tsync_commands_after_migrations() -> None:
    services = compose()["services"]
    runner = CliRunner()
    for name in ("migrate", "web", "worker", "beat"):
        command = services[name]["command"]
        result = runner.invoke(app, [*command[: 2 if command[0] == "db" else 1], "--help"])
        assert result.exit_code == 0, f"{name}: `tsync {' '.join(command)}` is not a command"
    assert services["migrate"]["command"] == ["db", "upgrade"]
    for name in ("web", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_app_services_get_settings_from_env_and_point_at_the_stack() -> None:
    services = compose()["services"]
    known = {name.upper() for name in Settings.model_fields}
    for name in ("web", "worker", "beat"):
        service = services[name]
        assert service["env_file"][0]["path"] == "../.env"
        env = service["environment"]
        assert set(env) <= known
        assert env["DATABASE_URL"].startswith("postgresql+psycopg://") and "@postgres:" in env["DATABASE_URL"]
        assert env["CELERY_BROKER_URL"].startswith("redis://redis:")
        Settings(**{k.lower(): v for k, v in env.items()})  # the values validate


def test_the_dockerfile_installs_the_project_and_runs_tsync() -> None:
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["tsync"]' in dockerfile
    for package in ("sync", "planner", "connectors"):
        assert f"COPY {package} ./{package}" in dockerfile
