"""The stream contract both CRMs keep: declared streams, neutral records, and a field map decided at
construction, against the emulators over HTTP with the real clients."""

from __future__ import annotations

import pytest

from connectors.base import STREAM_RECORDS, AssignmentChange, FieldMap, Stream
from connectors.hubspot import HubSpotConnector
from connectors.salesforce import SalesforceConnector, SalesforceCredentials
from emulators.hubspot.org import HubSpotOrg
from emulators.seed import SeedOrg
from emulators.server import RunningServer
from tests.fixtures.salesforce import EmulatorFactory

LOGIN = SalesforceCredentials(username="ops@acme.example", password="s3cret", security_token="TOK")
NO_CUSTOM_FIELDS = FieldMap(tier=None, potential=None, effort=None, locked=None, territory="Territory__c")


def test_both_crms_pull_every_neutral_stream_as_its_declared_record_type(
    salesforce_emulator: EmulatorFactory, small_org: SeedOrg, hubspot_server: RunningServer
) -> None:
    hubspot = HubSpotConnector("pat-na1-test", base_url=hubspot_server.url, search_per_second=None)
    with salesforce_emulator(small_org) as emu:
        salesforce = SalesforceConnector(LOGIN, base_url=emu.url)
        for connector in (salesforce, hubspot):
            assert connector.streams == set(Stream)
            for stream in Stream:
                records = [r for page in connector.pull(stream, None) for r in page.records]
                assert records, f"{connector.kind} {stream}"
                assert all(type(r) is STREAM_RECORDS[stream] for r in records)


def test_a_field_map_without_the_custom_fields_reads_accounts_without_them(
    salesforce_emulator: EmulatorFactory, small_org: SeedOrg
) -> None:
    with salesforce_emulator(small_org) as emu:
        mapped = SalesforceConnector(LOGIN, base_url=emu.url, field_map=NO_CUSTOM_FIELDS)
        default = SalesforceConnector(LOGIN, base_url=emu.url)
        plain = [r for page in mapped.pull(Stream.ACCOUNTS, None) for r in page.records]
        custom = [r for page in default.pull(Stream.ACCOUNTS, None) for r in page.records]
    assert len(plain) == len(custom) == len(small_org.accounts)
    assert all(r.tier is None and r.potential is None and r.effort is None for r in plain)
    assert any(r.tier is not None for r in custom) and any(r.potential for r in custom)
    assert not any(r.raw.keys() & {"Tier__c", "Potential__c", "Effort__c", "Locked__c"} for r in plain)


def test_a_field_map_names_the_property_the_territory_is_written_to(
    hubspot_server: RunningServer, portal: HubSpotOrg
) -> None:
    fields = FieldMap(
        tier="tier", potential="potential", effort="effort", locked="locked", territory="region"
    )
    connector = HubSpotConnector(
        "pat-na1-test", base_url=hubspot_server.url, search_per_second=None, field_map=fields
    )
    company = portal.ids("companies")[0]
    result = connector.push_assignments([AssignmentChange("k1", company, None, "North-East")])
    assert [o.outcome.value for o in result.outcomes] == ["done"]
    assert portal.properties_of("companies", company)["region"] == "North-East"
    pulled = {r.crm_id: r for page in connector.pull(Stream.ACCOUNTS, None) for r in page.records}
    assert pulled[company].territory == "North-East"


def test_a_stream_the_connector_lacks_is_refused_by_name(hubspot_server: RunningServer) -> None:
    connector = HubSpotConnector("pat-na1-test", base_url=hubspot_server.url, search_per_second=None)
    connector.specs = tuple(s for s in connector.specs if s.stream is not Stream.ACTIVITIES)
    with pytest.raises(ValueError, match="no activities stream"):
        connector.pull(Stream.ACTIVITIES, None)
    assert connector.api_calls == 0
