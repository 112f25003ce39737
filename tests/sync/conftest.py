"""Fixtures for the daemon: settings on a real store, a real Redis broker with private queue names."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
import redis
from fastapi import FastAPI

from emulators.hubspot import create_hubspot_app
from emulators.seed import generate_org
from emulators.server import RunningServer, serve
from sync import pipeline
from sync.celery_app import queue_names, reconfigure
from sync.settings import Settings, get_settings, load_settings
from sync.store.schema import upgrade

# The seeded orgs' field team by the CRMs' own rules: without a team a run writes nothing.
FIELD_TEAM = {"hubspot_rep_teams": "Field Sales", "salesforce_rep_filter": "Profile.Name = 'Field Sales'"}


@pytest.fixture
def make_settings(monkeypatch: pytest.MonkeyPatch, redis_url: str) -> Iterator[Callable[..., Settings]]:
    """Set the environment for one test and return the settings every component will read."""

    def make(**env: str) -> Settings:
        for key, value in {**FIELD_TEAM, **env}.items():
            monkeypatch.setenv(key.upper(), value)
        get_settings.cache_clear()
        pipeline.default_context.cache_clear()
        settings = get_settings()
        upgrade(settings.database_url)
        reconfigure(settings)
        return settings

    monkeypatch.setenv("CELERY_QUEUE_PREFIX", f"t{uuid.uuid4().hex[:8]}-")
    yield make
    get_settings.cache_clear()
    pipeline.default_context.cache_clear()
    reconfigure(load_settings(database_url="sqlite://", celery_broker_url=None))


def queued_messages(settings: Settings, redis_url: str) -> int:
    """Messages waiting in this test's Celery queues on the real broker."""
    client = redis.Redis.from_url(redis_url)
    return sum(int(client.llen(q)) for q in queue_names(settings))


EmulatedCRM = tuple[RunningServer, FastAPI]


@pytest.fixture
def hubspot_crm() -> Iterator[Callable[..., EmulatedCRM]]:
    """Start seeded HubSpot portals on loopback (regional by default, search unthrottled)."""
    with ExitStack() as running:

        def start(accounts: int, reps: int, *, seed: int, metros: int | None = 1, **org: Any) -> EmulatedCRM:
            app = create_hubspot_app(
                generate_org(accounts, reps, seed=seed, metros=metros, **org), search_per_second=None
            )
            return running.enter_context(serve(app)), app

        yield start
