"""The embedded daemon: `tsync run` without a broker runs every configured org at NIGHTLY_AT.

With a broker, Celery beat schedules the same runs (`sync/celery_app.py`).
One org failing never stops the loop: its run records why.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sync import pipeline
from sync.crm import configured_orgs
from sync.settings import Settings
from sync.store import RunTrigger


def next_run_at(now: datetime, nightly_at: str) -> datetime:
    """The next NIGHTLY_AT (HH:MM, in `now`'s zone) strictly after `now`."""
    hour, minute = (int(p) for p in nightly_at.split(":"))
    due = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return due if due > now else due + timedelta(days=1)


def run_nightly(
    settings: Settings,
    *,
    say: Callable[[str], None],
    warn: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Sleep until each NIGHTLY_AT, then run every configured org; forever."""
    zone = ZoneInfo(settings.timezone)
    while True:
        now = datetime.now(zone)
        due = next_run_at(now, settings.nightly_at)
        say(f"next run at {due.isoformat()} ({settings.timezone})")
        sleep((due - now).total_seconds())
        for org in configured_orgs(settings):
            try:
                pipeline.run_all(org.id, trigger=RunTrigger.NIGHTLY)
            except Exception as exc:  # one org failing must not stop the daemon; the run records why
                warn(f"{org.id}: run failed: {exc}")
