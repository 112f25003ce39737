"""A service that cannot be reached is one line naming it: in the CLI, the web app and the tasks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.salesforce import SalesforceConnector, SalesforceCredentials
from sync import pipeline
from sync.crm import OrgConfig
from sync.outages import ServiceUnreachable, outage_of
from sync.settings import Settings, load_settings
from sync.store.schema import upgrade

DOWN_DATABASE = "postgresql+psycopg://tsync:db-password@127.0.0.1:1/tsync"


def test_the_cli_says_the_database_is_unreachable_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": DOWN_DATABASE, "HUBSPOT_ACCESS_TOKEN": "pat-x", "LOG_LEVEL": "INFO"}
    done = subprocess.run(
        [sys.executable, "-m", "sync", "pull", "--org", "hubspot"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach the database:"), done.stderr
    assert "Connection refused" in lines[0] and "db-password" not in done.stderr + done.stdout


def test_a_crm_that_refuses_connections_is_named_in_one_line(sqlite_url: str) -> None:
    settings = load_settings(
        database_url=sqlite_url,
        salesforce_username="ops@acme.example",
        salesforce_password="pw",
        salesforce_base_url="http://127.0.0.1:1",
        celery_broker_url=None,
        redis_url=None,
    )
    upgrade(settings.database_url)
    ctx = pipeline.Context.from_settings(settings)

    def impatient(org: OrgConfig, s: Settings) -> SalesforceConnector:
        creds = SalesforceCredentials(username="ops@acme.example", password="pw", security_token="")
        url = s.salesforce_base_url
        return SalesforceConnector(creds, base_url=url, retry_attempts=1, max_retry_wait=0.1)

    ctx.connector_factory = impatient
    with pytest.raises(Exception) as raised:
        pipeline.pull("salesforce", ctx=ctx)
    outage = outage_of(raised.value)
    assert outage is not None and outage.service == "the CRM"
    assert "\n" not in outage.line() and len(outage.line()) < 260


def test_a_task_turns_an_outage_into_one_line_the_worker_logs_without_a_traceback() -> None:
    from sync import tasks

    for task in (tasks.run_org, tasks.pull_org, tasks.plan_org, tasks.push_org, tasks.handle_webhook_event):
        assert ServiceUnreachable in task.throws  # Celery logs these at INFO, with no traceback
