"""The Celery wiring: a nightly run per configured org, queues that scale apart, embedded mode."""

from __future__ import annotations

from celery.schedules import crontab

import sync.tasks  # noqa: F401  (registers the tasks)
from sync.celery_app import app, celery_config
from sync.settings import load_settings


def test_beat_runs_every_configured_org_nightly_at_the_local_time() -> None:
    settings = load_settings(
        database_url="sqlite://",
        celery_broker_url="redis://127.0.0.1:6379/0",
        nightly_at="01:30",
        timezone="Europe/Berlin",
        hubspot_access_token="pat",
        salesforce_username="ops@acme",
        celery_queue_prefix="acme-",
    )
    config = celery_config(settings)
    schedule = config["beat_schedule"]
    assert set(schedule) == {"nightly-salesforce", "nightly-hubspot"}
    entry = schedule["nightly-hubspot"]
    assert entry["task"] == "tsync.run" and entry["kwargs"] == {"org_id": "hubspot", "trigger": "nightly"}
    assert entry["schedule"] == crontab(hour=1, minute=30)
    assert entry["options"]["expires"] > 0 and entry["options"]["queue"] == "acme-sync"
    assert config["timezone"] == "Europe/Berlin"


def test_planning_runs_on_its_own_queue_and_tasks_survive_a_dead_worker() -> None:
    settings = load_settings(database_url="sqlite://", celery_broker_url="redis://127.0.0.1:6379/0")
    config = celery_config(settings)
    assert config["task_routes"] == {"tsync.plan": {"queue": "planner"}}
    assert config["task_default_queue"] == "sync"
    assert config["task_acks_late"] and config["task_reject_on_worker_lost"]
    assert not config["task_always_eager"]
    visibility = config["broker_transport_options"]
    assert (
        visibility["unacked_restore_interval"] * visibility["unacked_restore_throttle"]
        <= (visibility["visibility_timeout"])
    )


def test_without_a_broker_the_same_tasks_run_in_process() -> None:
    config = celery_config(load_settings(database_url="sqlite://", celery_broker_url=None))
    assert config["task_always_eager"] and config["broker_url"] == "memory://"
    assert {"tsync.run", "tsync.pull", "tsync.plan", "tsync.push", "tsync.webhook"} <= set(app.tasks)
