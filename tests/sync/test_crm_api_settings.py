"""SALESFORCE_BULK_THRESHOLD and HUBSPOT_API_VERSION reach the connectors the daemon builds."""

from __future__ import annotations

import httpx
import pytest

from connectors.base import CRMKind, Stream
from emulators.hubspot import create_hubspot_app
from emulators.salesforce import create_salesforce_app
from emulators.seed import generate_org
from emulators.server import serve
from sync.crm import build_connector, org_of_kind
from sync.settings import SettingsError, load_settings


def routes(url: str) -> list[str]:
    return list(httpx.get(f"{url}/__emulator/stats").json()["routes"])


def test_a_bulk_threshold_under_the_orgs_size_pulls_accounts_through_a_bulk_job() -> None:
    org = generate_org(300, 6, seed=4)
    with serve(create_salesforce_app(org)) as running:
        settings = load_settings(
            database_url="sqlite://",
            redis_url=None,
            salesforce_username="ops@acme.example",
            salesforce_password="pw",
            salesforce_base_url=running.url,
            salesforce_bulk_threshold=100,
        )
        org_config = org_of_kind(settings, CRMKind.SALESFORCE)
        assert org_config is not None
        connector = build_connector(org_config, settings)
        accounts = [r for page in connector.pull(Stream.ACCOUNTS, None) for r in page.records]
        called = routes(running.url)
    assert len(accounts) == 300
    assert any(r.startswith("POST /services/data/v{version}/jobs/query") for r in called)


def test_hubspot_api_version_2026_09_puts_the_daemons_calls_on_the_dated_paths() -> None:
    with serve(create_hubspot_app(generate_org(120, 4, seed=4), search_per_second=None)) as running:
        settings = load_settings(
            database_url="sqlite://",
            redis_url=None,
            hubspot_access_token="pat-na1-test",
            hubspot_base_url=running.url,
            hubspot_api_version="2026-09",
        )
        org_config = org_of_kind(settings, CRMKind.HUBSPOT)
        assert org_config is not None
        connector = build_connector(org_config, settings)
        companies = [r for page in connector.pull(Stream.ACCOUNTS, None) for r in page.records]
        called = routes(running.url)
    assert len(companies) == 120
    assert called and all(r.startswith("GET /crm/objects/{api_version}/") for r in called)


def test_an_unknown_hubspot_api_version_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUBSPOT_API_VERSION", "v4")
    with pytest.raises(SettingsError, match="HUBSPOT_API_VERSION"):
        load_settings()
