"""HUBSPOT_API_VERSION: on a date-versioned release no call goes to a numeric (v1–v4) CRM path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from connectors.base import AssignmentChange, Stream, VisitRecord
from connectors.hubspot import HubSpotApiVersion, HubSpotConnector
from connectors.hubspot.versions import versioned_path
from emulators.hubspot.org import HubSpotOrg
from emulators.server import RunningServer


@pytest.mark.parametrize("version", [HubSpotApiVersion.V2026_03, HubSpotApiVersion.V2026_09], ids=str)
def test_on_a_dated_release_every_pull_and_push_uses_date_versioned_paths_only(
    version: HubSpotApiVersion, hubspot_server: RunningServer, portal: HubSpotOrg
) -> None:
    connector = HubSpotConnector(
        "pat-na1-test", base_url=hubspot_server.url, search_per_second=None, api_version=version
    )
    pages = list(connector.pull(Stream.ACCOUNTS, None))
    companies = [r for p in pages for r in p.records]
    reps = [r for p in connector.pull(Stream.REPS, None) for r in p.records]
    activities = [a for p in connector.pull(Stream.ACTIVITIES, None) for a in p.records]
    first = companies[0]
    assigned = connector.push_assignments([AssignmentChange("a1", first.crm_id, reps[0].crm_id, "North")])
    start = datetime(2026, 12, 7, 9, tzinfo=UTC)
    visit = VisitRecord(
        key="visit-1",
        account_id=first.crm_id,
        owner_id=reps[0].crm_id,
        start=start,
        end=start + timedelta(minutes=45),
        subject="Visit",
    )
    visited = connector.push_visits([visit])
    changed = [r for p in connector.pull(Stream.ACCOUNTS, pages[-1].cursor) for r in p.records]
    routes = httpx.get(f"{hubspot_server.url}/__emulator/stats").json()["routes"]

    assert len(companies) == portal.count("companies") and reps and activities
    assert assigned.done and visited.done and [r.crm_id for r in changed] == [first.crm_id]
    assert portal.properties_of("companies", first.crm_id)["hubspot_owner_id"] == reps[0].crm_id
    crm_routes = [r for r in routes if " /crm/" in r]
    assert crm_routes and not [r for r in crm_routes if "/crm/v3/" in r or "/crm/v4/" in r]
    assert any(r.startswith("GET /crm/owners/") for r in crm_routes)
    assert any(r.startswith("POST /crm/objects/") and r.endswith("/batch/update") for r in crm_routes)
    assert any(r.startswith("POST /crm/objects/") and r.endswith("/search") for r in crm_routes)


def test_only_the_crm_paths_we_call_are_mapped_and_v3_is_left_as_the_sdk_builds_it() -> None:
    dated = HubSpotApiVersion.V2026_09
    assert versioned_path("/crm/v3/objects/{objectType}/search", dated) == (
        "/crm/objects/2026-09/{objectType}/search"
    )
    assert versioned_path("/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read", dated) == (
        "/crm/associations/2026-09/{fromObjectType}/{toObjectType}/batch/read"
    )
    assert versioned_path("/crm/v3/owners/", dated) == "/crm/owners/2026-09/"
    assert versioned_path("/crm/v3/properties/{objectType}", HubSpotApiVersion.V2026_03) == (
        "/crm/properties/2026-03/{objectType}"
    )
    assert versioned_path("/oauth/v1/token", dated) == "/oauth/v1/token"
    assert versioned_path("/crm/v3/objects/companies", HubSpotApiVersion.V3) == "/crm/v3/objects/companies"
