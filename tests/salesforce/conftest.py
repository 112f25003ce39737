"""Fixtures: a seeded Salesforce emulator on a loopback port, and the real simple-salesforce client."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from simple_salesforce import Salesforce

from connectors.emulators.faults import FaultConfig
from connectors.emulators.salesforce import SalesforceOrgCredentials, create_salesforce_app
from connectors.emulators.salesforce_org import SalesforceOrg
from connectors.emulators.seed import SeedOrg, generate_org
from connectors.emulators.server import RunningServer, serve
from connectors.salesforce.client import RedirectingSession

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="session")
def small_org() -> SeedOrg:
    """200 accounts, 8 reps: enough for shapes and writes."""
    return generate_org(200, 8, seed=3, as_of=AS_OF)


@pytest.fixture(scope="session")
def org_5k() -> SeedOrg:
    """5,000 accounts: three query pages."""
    return generate_org(5_000, 25, seed=11, as_of=AS_OF)


@dataclass(frozen=True)
class TimedOrg:
    org: SeedOrg
    seconds: float


@pytest.fixture(scope="session")
def org_100k() -> TimedOrg:
    """100,000 accounts (and how long they took to generate, place tables already loaded)."""
    generate_org(10, 2, seed=0, as_of=AS_OF)
    started = time.perf_counter()
    org = generate_org(100_000, 150, seed=5, as_of=AS_OF)
    return TimedOrg(org, time.perf_counter() - started)


class Emulator:
    """A running Salesforce emulator: its URL, its app, its org."""

    def __init__(self, app: FastAPI, running: RunningServer):
        self.app = app
        self.running = running
        self.url = running.url

    @property
    def org(self) -> SalesforceOrg:
        org: SalesforceOrg = self.app.state.org
        return org

    def client(self, **login: Any) -> Salesforce:
        """simple-salesforce logged in through the emulator (SOAP unless OAuth args are given)."""
        login.setdefault("username", "ops@territory-sync.example")
        if "consumer_key" not in login:
            login.setdefault("password", "pw")
            login.setdefault("security_token", "tok")
        return Salesforce(session=RedirectingSession(self.url), **login)


EmulatorFactory = Callable[..., AbstractContextManager[Emulator]]


@pytest.fixture
def salesforce_emulator() -> EmulatorFactory:
    """`with salesforce_emulator(org, credentials=..., faults=...) as emu:`"""

    @contextmanager
    def start(
        org: SeedOrg | None = None,
        *,
        credentials: SalesforceOrgCredentials | None = None,
        faults: FaultConfig | None = None,
        **kwargs: Any,
    ) -> Iterator[Emulator]:
        app = create_salesforce_app(org, credentials=credentials, faults=faults, **kwargs)
        with serve(app) as running:
            yield Emulator(app, running)

    return start
