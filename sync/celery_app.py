"""The Celery application: configured lazily from settings, two queues, a nightly beat per org.

`celery -A sync.celery_app worker` / `beat` (or `tsync worker` / `tsync beat`)
run it at scale on Redis. With no broker configured the same tasks run
in-process (`task_always_eager`), which is the embedded default.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.schedules import crontab

from sync.crm import configured_orgs
from sync.settings import Settings, get_settings

SYNC_QUEUE = "sync"  # I/O: pulls and pushes
PLANNER_QUEUE = "planner"  # CPU: rebalancing and call plans


def queue_names(settings: Settings) -> tuple[str, str]:
    prefix = settings.celery_queue_prefix
    return prefix + SYNC_QUEUE, prefix + PLANNER_QUEUE


def redis_transport_options(visibility_timeout: int) -> dict[str, Any]:
    """How soon a message held by a dead worker is delivered again.

    Kombu sweeps for abandoned messages every interval × throttle seconds; the
    sweep must come well within the visibility timeout or recovery waits for it.
    """
    return {
        "visibility_timeout": visibility_timeout,
        "unacked_restore_interval": max(1, min(10, visibility_timeout // 3)),
        "unacked_restore_throttle": 1 if visibility_timeout < 300 else 10,
    }


def celery_config(settings: Settings) -> dict[str, Any]:
    sync_q, planner_q = queue_names(settings)
    hour, minute = (int(part) for part in settings.nightly_at.split(":"))
    return {
        "broker_url": settings.celery_broker_url or "memory://",
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": redis_transport_options(settings.celery_visibility_timeout),
        "task_always_eager": settings.embedded,
        "task_eager_propagates": True,
        "task_ignore_result": True,
        "task_acks_late": True,  # a task a dead worker held is delivered again...
        "task_reject_on_worker_lost": True,  # ...which is safe: every task is idempotent
        "worker_prefetch_multiplier": 1,  # long tasks: don't hoard messages another worker could run
        "task_default_queue": sync_q,
        "task_routes": {"tsync.plan": {"queue": planner_q}},
        "timezone": settings.timezone,
        "enable_utc": True,
        "worker_hijack_root_logger": False,
        "beat_schedule": {
            f"nightly-{org.id}": {
                "task": "tsync.run",
                "schedule": crontab(hour=hour, minute=minute),
                "kwargs": {"org_id": org.id, "trigger": "nightly"},
                # A nightly run that could not start within 6 hours is stale: skip, don't pile up.
                "options": {"expires": 6 * 3600, "queue": sync_q},
            }
            for org in configured_orgs(settings)
        },
    }


app = Celery("territory_sync", include=["sync.tasks"])
# A promise: settings are read when Celery first needs its configuration, not at import.
app.add_defaults(lambda: celery_config(get_settings()))


def reconfigure(settings: Settings) -> None:
    """Apply new settings to the already-imported app (tests, and CLIs that load settings late)."""
    app.conf.update(celery_config(settings))
    # The connection and producer pools are bound to the broker they first connected to.
    app._pool = None
    app.amqp._producer_pool = None
