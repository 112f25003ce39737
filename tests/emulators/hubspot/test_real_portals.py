"""The HubSpot emulator seeds portals that look like real ones: owners in teams, deals associated to
companies, a properties API that says what may be written, and a portal without our custom properties."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hubspot import HubSpot
from hubspot.crm.companies import ApiException as CompaniesError
from hubspot.crm.companies import SimplePublicObjectInput as CompanyInput
from hubspot.crm.deals import ApiException as DealsError
from hubspot.crm.deals import (
    BatchReadInputSimplePublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectId,
    SimplePublicObjectInput,
)

from emulators.hubspot import create_hubspot_app
from emulators.hubspot.org import HubSpotOrg
from emulators.seed import SeedOrg, Team, generate_org
from emulators.server import serve

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def staffed_org() -> SeedOrg:
    return generate_org(300, 8, seed=12, as_of=AS_OF, staff=True)


@pytest.fixture
def running(staffed_org: SeedOrg, request: pytest.FixtureRequest) -> Iterator[tuple[HubSpot, HubSpotOrg]]:
    options = getattr(request, "param", {})
    app = create_hubspot_app(staffed_org, search_per_second=None, **options)
    with serve(app) as server:
        yield HubSpot(access_token="pat-na1-test", host=server.url), app.state.org


def test_owners_come_in_teams_and_only_field_reps_are_in_field_sales(
    running: tuple[HubSpot, HubSpotOrg], staffed_org: SeedOrg
) -> None:
    client, _ = running
    owners = client.crm.owners.owners_api.get_page(limit=500).results
    by_email = {o.email: o for o in owners}
    field_sales = {e for e, o in by_email.items() if any(t.name == Team.FIELD_SALES for t in o.teams)}
    assert field_sales == {r.email for r in staffed_org.field_team}
    assert {t.name for o in owners for t in o.teams} == {
        "Field Sales",
        "Specialists",
        "Inside Sales",
        "Sales Leadership",
        "Operations",
    }
    overlay = next(r for r in staffed_org.field_team if r.overlay)
    teams = by_email[overlay.email].teams
    assert [(t.name, t.primary) for t in teams] == [("Field Sales", True), ("Specialists", False)]
    assert len({t.id for t in teams}) == 2 and all(t.id.isdigit() for t in teams)
    assert by_email["integration@example.com"].teams == []


def test_deals_are_listed_with_their_company_searched_read_in_batches_and_archived(
    running: tuple[HubSpot, HubSpotOrg], staffed_org: SeedOrg
) -> None:
    client, portal = running
    deals = client.crm.deals.get_all(
        properties=["dealname", "amount", "dealstage", "closedate"], associations=["companies"]
    )
    assert len(deals) == len(staffed_org.opportunities)
    first = deals[0]
    assert first.properties["dealstage"] in {
        "appointmentscheduled",
        "closedwon",
        "closedlost",
        "qualifiedtobuy",
        "presentationscheduled",
        "decisionmakerboughtin",
        "contractsent",
    }
    company = first.associations["companies"].results[0]
    assert company.type == "deal_to_company" and company.id in portal.ids("companies")

    since = datetime.now(UTC) + timedelta(seconds=5)
    changed = portal.ids("deals")[:2]
    portal.update("deals", changed[0], {"dealstage": "closedwon"}, at=since)
    portal.update("deals", changed[1], {"amount": "999"}, at=since + timedelta(seconds=1))
    found = client.crm.deals.search_api.do_search(
        public_object_search_request=PublicObjectSearchRequest(
            filter_groups=[
                {
                    "filters": [
                        {
                            "propertyName": "hs_lastmodifieddate",
                            "operator": "GTE",
                            "value": str(int(since.timestamp() * 1000)),
                        }
                    ]
                }
            ],
            sorts=[{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
            properties=["dealname", "hs_is_closed_won", "hubspot_owner_id"],
            limit=100,
        )
    )
    assert [d.id for d in found.results] == changed
    assert found.results[0].properties["hs_is_closed_won"] == "true"

    read = client.crm.deals.batch_api.read(
        BatchReadInputSimplePublicObjectId(
            properties=["amount"], inputs=[SimplePublicObjectId(id=i) for i in [*changed, "999"]]
        )
    )
    assert sorted(d.id for d in read.results) == changed and read.errors[0].context["ids"] == ["999"]
    client.crm.deals.basic_api.archive(changed[1])
    archived = client.crm.deals.basic_api.get_page(archived=True, limit=100).results
    assert [d.id for d in archived] == [changed[1]]


def test_the_properties_api_tells_types_and_read_only_values_and_refuses_writes_to_them(
    running: tuple[HubSpot, HubSpotOrg],
) -> None:
    client, portal = running
    props = {p.name: p for p in client.crm.properties.core_api.get_all("deals").results}
    assert props["amount"].type == "number" and props["closedate"].type == "datetime"
    assert [o.value for o in props["dealstage"].options][-2:] == ["closedwon", "closedlost"]
    assert props["hs_is_closed"].modification_metadata.read_only_value is True
    assert props["dealname"].modification_metadata.read_only_value is False
    companies = {p.name: p for p in client.crm.properties.core_api.get_all("companies").results}
    assert companies["hs_object_id"].modification_metadata.read_only_value is True
    assert companies["required_skills"].field_type == "checkbox"
    assert {o.value for o in companies["hs_ideal_customer_profile"].options} == {"tier_1", "tier_2", "tier_3"}
    deal = portal.ids("deals")[0]
    with pytest.raises(DealsError) as refused:
        client.crm.deals.basic_api.update(deal, SimplePublicObjectInput(properties={"hs_is_closed": "true"}))
    assert refused.value.status == 400 and "READ_ONLY_VALUE" in refused.value.body


@pytest.mark.parametrize(
    "running", [{"schema": "standard", "read_only_properties": ["companies.annualrevenue"]}], indirect=True
)
def test_a_portal_without_our_custom_properties_has_only_hubspots_own(
    running: tuple[HubSpot, HubSpotOrg],
) -> None:
    client, _ = running
    names = {p.name for p in client.crm.properties.core_api.get_all("companies").results}
    assert not names & {"tier", "potential", "effort", "locked", "latitude", "longitude", "required_skills"}
    assert {"annualrevenue", "hs_ideal_customer_profile", "zip", "hubspot_owner_id"} <= names
    companies = client.crm.companies.get_all(
        properties=["annualrevenue", "hs_ideal_customer_profile", "tier"]
    )
    assert sum(1 for c in companies if c.properties["annualrevenue"]) > 250
    assert all(c.properties["tier"] is None for c in companies)
    company = companies[0].id
    with pytest.raises(CompaniesError) as unknown:
        client.crm.companies.basic_api.update(company, CompanyInput(properties={"tier": "A"}))
    assert json.loads(unknown.value.body)["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"
    with pytest.raises(CompaniesError) as read_only:
        client.crm.companies.basic_api.update(company, CompanyInput(properties={"annualrevenue": "1"}))
    assert json.loads(read_only.value.body)["errors"][0]["code"] == "READ_ONLY_VALUE"
    revenue = client.crm.properties.core_api.get_by_name("companies", "annualrevenue")
    assert revenue.modification_metadata.read_only_value is True
