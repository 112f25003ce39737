"""The HubSpot emulator serves the real hubspot-api-client like HubSpot would, limits and errors included."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
from hubspot import HubSpot
from hubspot.crm.associations.v4 import ApiException as AssociationsError
from hubspot.crm.companies import ApiException as CompaniesError
from hubspot.crm.companies import (
    BatchInputSimplePublicObjectBatchInput,
    BatchReadInputSimplePublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInput,
    SimplePublicObjectId,
)
from hubspot.crm.objects.meetings import (
    AssociationSpec,
    PublicAssociationsForObject,
    PublicObjectId,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.properties import ApiException as PropertiesError
from hubspot.crm.properties import PropertyCreate

from emulators.faults import FaultConfig
from emulators.hubspot import create_hubspot_app
from emulators.hubspot.org import HubSpotOrg
from emulators.seed import SeedOrg
from emulators.server import RunningServer, serve


def search_modified_since(since_ms: int, *, after: int = 0, limit: int = 200) -> PublicObjectSearchRequest:
    return PublicObjectSearchRequest(
        filter_groups=[
            {"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": str(since_ms)}]}
        ],
        sorts=[{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
        properties=["name", "hubspot_owner_id"],
        limit=limit,
        after=after,
    )


def test_paging_through_companies_returns_every_company_once(
    client: HubSpot, portal: HubSpotOrg, seed_org: SeedOrg
) -> None:
    ids: list[str] = []
    after = None
    pages = 0
    while True:
        page = client.crm.companies.basic_api.get_page(
            limit=100, after=after, properties=["name", "zip", "tier", "hubspot_owner_id"]
        )
        pages += 1
        ids += [c.id for c in page.results]
        if page.paging is None:
            break
        after = page.paging.next.after

    assert pages == 3
    assert len(ids) == len(set(ids)) == len(seed_org.accounts) == portal.count("companies")
    owners = set(portal.owner_ids()) | set(portal.owner_ids(archived=True))
    first = client.crm.companies.basic_api.get_by_id(ids[0], properties=["hubspot_owner_id"])
    assert first.properties["hubspot_owner_id"] in owners


def test_comma_separated_properties_and_archived_flag_are_understood(
    hubspot_server: RunningServer, portal: HubSpotOrg
) -> None:
    victim = portal.ids("companies")[0]
    portal.archive("companies", victim)
    with httpx.Client(base_url=hubspot_server.url, headers={"Authorization": "Bearer t"}) as http:
        live = http.get("/crm/v3/objects/companies", params={"limit": 5, "properties": "name,zip"})
        archived = http.get("/crm/v3/objects/companies", params={"limit": 100, "archived": "TRUE"})
    assert set(live.json()["results"][0]["properties"]) == {"name", "zip"}
    assert [c["id"] for c in archived.json()["results"]] == [victim]
    assert archived.json()["results"][0]["archived"] is True
    assert "paging" not in archived.json()


def test_search_by_last_modified_finds_exactly_the_changed_companies(
    client: HubSpot, portal: HubSpotOrg
) -> None:
    edited = portal.ids("companies")[10:15]
    when = datetime(2031, 1, 1, tzinfo=UTC)
    for company_id in edited:
        portal.update("companies", company_id, {"name": "Renamed"}, at=when)

    found = client.crm.companies.search_api.do_search(
        public_object_search_request=search_modified_since(int(when.timestamp() * 1000))
    )

    assert found.total == 5
    assert sorted(r.id for r in found.results) == sorted(edited)
    assert {r.properties["name"] for r in found.results} == {"Renamed"}
    assert found.paging is None


def test_batch_update_of_100_companies_applies_all_of_them(client: HubSpot, portal: HubSpotOrg) -> None:
    ids = portal.ids("companies")[:100]
    owner = portal.owner_ids()[0]
    batch = BatchInputSimplePublicObjectBatchInput(
        inputs=[SimplePublicObjectBatchInput(id=i, properties={"hubspot_owner_id": owner}) for i in ids]
    )

    answer = client.crm.companies.batch_api.update(batch_input_simple_public_object_batch_input=batch)

    assert answer.status == "COMPLETE"
    assert len(answer.results) == 100
    assert {portal.properties_of("companies", i)["hubspot_owner_id"] for i in ids} == {owner}


def test_batches_over_100_inputs_get_the_real_validation_error(client: HubSpot, portal: HubSpotOrg) -> None:
    ids = portal.ids("companies")[:101]
    batch = BatchInputSimplePublicObjectBatchInput(
        inputs=[SimplePublicObjectBatchInput(id=i, properties={"name": "x"}) for i in ids]
    )
    with pytest.raises(CompaniesError) as caught:
        client.crm.companies.batch_api.update(batch_input_simple_public_object_batch_input=batch)

    body = json.loads(caught.value.body)
    assert caught.value.status == 400
    assert body["status"] == "error"
    assert body["category"] == "VALIDATION_ERROR"
    assert body["correlationId"]
    assert portal.properties_of("companies", ids[0])["name"] != "x"


def test_unknown_properties_fail_the_whole_batch(client: HubSpot, portal: HubSpotOrg) -> None:
    ids = portal.ids("companies")[:3]
    batch = BatchInputSimplePublicObjectBatchInput(
        inputs=[SimplePublicObjectBatchInput(id=i, properties={"territory": "North"}) for i in ids]
    )
    with pytest.raises(CompaniesError) as caught:
        client.crm.companies.batch_api.update(batch_input_simple_public_object_batch_input=batch)
    body = json.loads(caught.value.body)
    assert caught.value.status == 400
    assert "PROPERTY_DOESNT_EXIST" in body["message"]


def test_batch_read_reports_missing_ids_as_multi_status(client: HubSpot, portal: HubSpotOrg) -> None:
    real = portal.ids("companies")[:2]
    answer = client.crm.companies.batch_api.read(
        batch_read_input_simple_public_object_id=BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=i) for i in [*real, "999"]], properties=["name"]
        )
    )
    assert sorted(r.id for r in answer.results) == sorted(real)
    assert answer.num_errors == 1
    assert answer.errors[0].context == {"ids": ["999"]}


def test_search_over_200_per_page_is_refused(client: HubSpot) -> None:
    with pytest.raises(CompaniesError) as caught:
        client.crm.companies.search_api.do_search(
            public_object_search_request=search_modified_since(0, limit=201)
        )
    assert caught.value.status == 400
    assert json.loads(caught.value.body)["category"] == "VALIDATION_ERROR"


def test_search_cannot_page_past_10000_results(client: HubSpot, portal: HubSpotOrg) -> None:
    portal.bulk_insert("companies", [({"name": f"Filler {i}"}, 1_000 + i, 2_000 + i) for i in range(10_000)])
    near_the_end = client.crm.companies.search_api.do_search(
        public_object_search_request=search_modified_since(0, after=9_800)
    )
    assert near_the_end.total > 10_000
    assert len(near_the_end.results) == 200
    assert near_the_end.paging.next.after == "10000"

    with pytest.raises(CompaniesError) as caught:
        client.crm.companies.search_api.do_search(
            public_object_search_request=search_modified_since(0, after=10_000)
        )
    assert caught.value.status == 400
    body = json.loads(caught.value.body)
    assert body["category"] == "VALIDATION_ERROR"
    assert "10000" in body["message"]


def test_creating_a_property_then_again_gives_409(client: HubSpot) -> None:
    spec = PropertyCreate(
        name="territory",
        label="Territory",
        type="string",
        field_type="text",
        group_name="companyinformation",
    )
    created = client.crm.properties.core_api.create(object_type="companies", property_create=spec)
    assert created.name == "territory"
    assert created.hubspot_defined is False

    with pytest.raises(PropertiesError) as caught:
        client.crm.properties.core_api.create(object_type="companies", property_create=spec)
    assert caught.value.status == 409
    assert json.loads(caught.value.body)["category"] == "OBJECT_ALREADY_EXISTS"
    names = {p.name for p in client.crm.properties.core_api.get_all(object_type="companies").results}
    assert "territory" in names


def test_a_meeting_created_with_an_association_is_linked_to_its_company(
    client: HubSpot, portal: HubSpotOrg
) -> None:
    company = portal.ids("companies")[0]
    meeting = client.crm.objects.meetings.basic_api.create(
        simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
            properties={
                "hs_timestamp": "2030-05-01T09:00:00Z",
                "hs_meeting_title": "Quarterly visit",
                "hs_meeting_start_time": "2030-05-01T09:00:00Z",
                "hs_meeting_end_time": "2030-05-01T10:00:00Z",
                "hs_meeting_outcome": "SCHEDULED",
            },
            associations=[
                PublicAssociationsForObject(
                    to=PublicObjectId(id=company),
                    types=[AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=188)],
                )
            ],
        )
    )
    assert meeting.properties["hs_meeting_title"] == "Quarterly visit"

    links = client.crm.associations.v4.basic_api.get_page(
        object_type="companies", object_id=company, to_object_type="meetings"
    )
    assert meeting.id in {r.to_object_id for r in links.results}
    types = {t.type_id for r in links.results if r.to_object_id == meeting.id for t in r.association_types}
    assert types == {187}


def test_default_association_between_unknown_records_is_refused(client: HubSpot) -> None:
    with pytest.raises(AssociationsError) as caught:
        client.crm.associations.v4.basic_api.create_default(
            from_object_type="meetings",
            from_object_id="1",
            to_object_type="companies",
            to_object_id="2",
        )
    assert caught.value.status == 404


def test_owners_are_read_with_inactive_users_archived(client: HubSpot, seed_org: SeedOrg) -> None:
    active = client.crm.owners.owners_api.get_page(limit=500)
    archived = client.crm.owners.owners_api.get_page(limit=500, archived=True)
    emails = {o.email for o in active.results}
    assert emails == {r.email for r in seed_org.reps if r.active}
    assert {o.email for o in archived.results} == {r.email for r in seed_org.reps if not r.active}
    assert all(o.id and o.user_id for o in active.results)


def test_over_budget_calls_get_the_real_429_body_and_headers(seed_org: SeedOrg) -> None:
    app = create_hubspot_app(
        seed_org,
        faults=FaultConfig(request_budget=3, budget_window_seconds=10.0),
        search_per_second=None,
    )
    with serve(app) as running:
        client = HubSpot(access_token="pat-na1-test", host=running.url)
        for _ in range(3):
            client.crm.companies.basic_api.get_page(limit=1)
        with pytest.raises(CompaniesError) as caught:
            client.crm.companies.basic_api.get_page(limit=1)

    body = json.loads(caught.value.body)
    assert caught.value.status == 429
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["errorType"] == "RATE_LIMIT"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert caught.value.headers["X-HubSpot-RateLimit-Max"] == "3"
    assert caught.value.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert caught.value.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"


def test_search_has_its_own_per_second_limit(seed_org: SeedOrg) -> None:
    app = create_hubspot_app(seed_org, search_per_second=2)
    with serve(app) as running:
        client = HubSpot(access_token="pat-na1-test", host=running.url)
        request = search_modified_since(0, limit=1)
        for _ in range(2):
            client.crm.companies.search_api.do_search(public_object_search_request=request)
        with pytest.raises(CompaniesError) as caught:
            client.crm.companies.search_api.do_search(public_object_search_request=request)
        # The general API is not affected by the search limit.
        client.crm.companies.basic_api.get_page(limit=1)
    assert caught.value.status == 429
    assert json.loads(caught.value.body)["policyName"] == "SECONDLY"


def test_missing_or_wrong_tokens_get_401(seed_org: SeedOrg) -> None:
    app = create_hubspot_app(seed_org, access_token="pat-na1-right", search_per_second=None)
    with serve(app) as running, httpx.Client(base_url=running.url) as http:
        missing = http.get("/crm/v3/objects/companies")
        wrong = http.get("/crm/v3/objects/companies", headers={"Authorization": "Bearer nope"})
        right = http.get("/crm/v3/objects/companies", headers={"Authorization": "Bearer pat-na1-right"})
    assert missing.status_code == 401
    assert missing.json()["category"] == "INVALID_AUTHENTICATION"
    assert wrong.status_code == 401
    assert "nope" not in wrong.text
    assert right.status_code == 200


def test_stats_count_exactly_the_calls_the_client_made(
    client: HubSpot, hubspot_server: RunningServer, portal: HubSpotOrg
) -> None:
    httpx.post(f"{hubspot_server.url}/__emulator/reset")
    client.crm.companies.basic_api.get_page(limit=10)
    client.crm.companies.basic_api.get_page(limit=10)
    client.crm.companies.basic_api.get_by_id(portal.ids("companies")[0])
    client.crm.owners.owners_api.get_page()

    stats = httpx.get(f"{hubspot_server.url}/__emulator/stats").json()

    assert stats["total"] == 4
    assert stats["routes"] == {
        "GET /crm/v3/objects/{object_type}": 2,
        "GET /crm/v3/objects/{object_type}/{object_id}": 1,
        "GET /crm/v3/owners/": 1,
    }


def test_merged_companies_resolve_to_the_primary(client: HubSpot, portal: HubSpotOrg) -> None:
    primary, merged = portal.ids("companies")[:2]
    portal.merge("companies", primary, merged)

    found = client.crm.companies.basic_api.get_by_id(merged, properties=["hs_merged_object_ids"])

    assert found.id == primary
    assert found.properties["hs_merged_object_ids"] == merged
    assert merged not in portal.ids("companies")
