"""Fixtures for the HubSpot emulator and connector tests: a seeded portal served on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from hubspot import HubSpot

from connectors.emulators.hubspot import create_hubspot_app
from connectors.emulators.hubspot_org import HubSpotOrg
from connectors.emulators.seed import SeedOrg, generate_org
from connectors.emulators.server import RunningServer, serve


@pytest.fixture(scope="session")
def seed_org() -> SeedOrg:
    return generate_org(300, 8, seed=3)


@pytest.fixture
def hubspot_app(seed_org: SeedOrg) -> FastAPI:
    # The search per-second limit is off here so tests run at full speed; one test turns it on.
    return create_hubspot_app(seed_org, search_per_second=None)


@pytest.fixture
def portal(hubspot_app: FastAPI) -> HubSpotOrg:
    org: HubSpotOrg = hubspot_app.state.org
    return org


@pytest.fixture
def hubspot_server(hubspot_app: FastAPI) -> Iterator[RunningServer]:
    with serve(hubspot_app) as running:
        yield running


@pytest.fixture
def client(hubspot_server: RunningServer) -> HubSpot:
    return HubSpot(access_token="pat-na1-test", host=hubspot_server.url)
