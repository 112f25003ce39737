"""HubSpot answers as the real API does where code that passes here would otherwise fail there:
property history with its page cap, refused unknown filters, error bodies everywhere, contacts and
schemas, the date-versioned paths, and OAuth on 2026-03 beside a v1 that retires."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import httpx
import pytest
from hubspot import HubSpot
from hubspot.crm.companies import ApiException as CompaniesError
from hubspot.crm.companies import (
    BatchReadInputSimplePublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectId,
)

from emulators.hubspot import create_hubspot_app
from emulators.hubspot.org import HubSpotOrg
from emulators.seed import SeedOrg
from emulators.server import RunningServer, serve

AUTH = {"Authorization": "Bearer pat-na1-test"}


@pytest.fixture
def served(seed_org: SeedOrg) -> Iterator[tuple[RunningServer, HubSpotOrg]]:
    app = create_hubspot_app(seed_org, search_per_second=None)
    with serve(app) as running:
        yield running, app.state.org


def test_property_history_comes_newest_first_and_caps_pages_at_50(
    served: tuple[RunningServer, HubSpotOrg],
) -> None:
    running, portal = served
    company = portal.ids("companies")[0]
    portal.update("companies", company, {"name": "Renamed Once"})
    portal.update("companies", company, {"name": "Renamed Twice"})
    url = f"{running.url}/crm/v3/objects/companies"
    one = httpx.get(f"{url}/{company}", params={"propertiesWithHistory": "name"}, headers=AUTH).json()
    values = [h["value"] for h in one["propertiesWithHistory"]["name"]]
    assert values[:2] == ["Renamed Twice", "Renamed Once"] and len(values) == 3
    page = httpx.get(url, params={"limit": 100, "propertiesWithHistory": "name"}, headers=AUTH).json()
    assert len(page["results"]) == 50 and "propertiesWithHistory" in page["results"][0]
    assert len(httpx.get(url, params={"limit": 100}, headers=AUTH).json()["results"]) == 100
    many = [SimplePublicObjectId(id=i) for i in portal.ids("companies")[:51]]
    with pytest.raises(CompaniesError) as capped:
        HubSpot(access_token="t", host=running.url).crm.companies.batch_api.read(
            BatchReadInputSimplePublicObjectId(
                properties=["name"], properties_with_history=["name"], inputs=many
            )
        )
    assert capped.value.status == 400


def test_a_search_on_an_unknown_property_is_refused_not_answered_empty(client: HubSpot) -> None:
    request = PublicObjectSearchRequest(
        filter_groups=[{"filters": [{"propertyName": "no_such_field", "operator": "EQ", "value": "x"}]}],
        limit=10,
    )
    with pytest.raises(CompaniesError) as refused:
        client.crm.companies.search_api.do_search(public_object_search_request=request)
    body = json.loads(refused.value.body)
    assert refused.value.status == 400 and body["category"] == "VALIDATION_ERROR"
    assert body["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"


def test_every_route_answers_with_hubspots_error_body(served: tuple[RunningServer, HubSpotOrg]) -> None:
    running, _ = served
    for method, path in [
        ("GET", "/crm/v3/nothing/here"),
        ("PUT", "/crm/v3/objects/companies"),
        ("GET", "/x"),
    ]:
        answer = httpx.request(method, f"{running.url}{path}", headers=AUTH)
        body = answer.json()
        assert answer.status_code in (404, 405) and "detail" not in body
        assert {"status", "message", "correlationId", "category"} <= set(body)
    scopes = httpx.get(f"{running.url}/crm/v3/properties/tickets", headers=AUTH)
    assert scopes.status_code == 403 and scopes.json()["category"] == "MISSING_SCOPES"


def test_contacts_schemas_and_date_versioned_paths_serve_the_same_portal(
    served: tuple[RunningServer, HubSpotOrg], seed_org: SeedOrg
) -> None:
    running, _ = served
    client = HubSpot(access_token="pat-na1-test", host=running.url)
    contacts = client.crm.contacts.get_all(
        properties=["email", "lastmodifieddate"], associations=["companies"]
    )
    assert len(contacts) == len(seed_org.contacts) and contacts[0].properties["email"].endswith(
        "@customer.example"
    )
    assert contacts[0].associations["companies"].results[0].type == "contact_to_company"
    assert httpx.get(f"{running.url}/crm/v3/schemas", headers=AUTH).json() == {"results": []}
    v3 = httpx.get(f"{running.url}/crm/v3/objects/companies", params={"limit": 5}, headers=AUTH).json()
    dated = httpx.get(
        f"{running.url}/crm/objects/2026-09/companies", params={"limit": 5}, headers=AUTH
    ).json()
    assert [c["id"] for c in dated["results"]] == [c["id"] for c in v3["results"]]
    search = httpx.post(
        f"{running.url}/crm/objects/2026-03/companies/search",
        json={
            "filterGroups": [{"filters": [{"propertyName": "hs_object_id", "operator": "GT", "value": "0"}]}]
        },
        headers=AUTH,
    )
    assert search.json()["total"] == len(seed_org.accounts)
    owners = httpx.get(f"{running.url}/crm/owners/2026-09/", headers=AUTH).json()["results"]
    assert len(owners) == sum(1 for u in seed_org.users if u.active)
    props = httpx.get(f"{running.url}/crm/properties/2026-09/deals", headers=AUTH).json()["results"]
    assert {"dealname", "dealstage"} <= {p["name"] for p in props}
    unknown = httpx.get(f"{running.url}/crm/objects/2099-01/companies", headers=AUTH)
    assert unknown.status_code == 404 and unknown.json()["status"] == "error"


def test_oauth_2026_03_issues_introspects_and_revokes_and_v1_retires_after_its_sunset(
    seed_org: SeedOrg,
) -> None:
    client = ("client-1", "secret-1")
    app = create_hubspot_app(
        seed_org, access_token="pat-na1-x", oauth_client=client, refresh_token="rt-1", today=date(2027, 1, 5)
    )
    with serve(app) as running:
        token_url = f"{running.url}/oauth/2026-03/token"
        creds = {"client_id": client[0], "client_secret": client[1]}
        issued = httpx.post(token_url, data={"grant_type": "refresh_token", "refresh_token": "rt-1", **creds})
        assert issued.status_code == 200
        access = issued.json()["access_token"]
        bearer = {"Authorization": f"Bearer {access}"}
        assert httpx.get(f"{running.url}/crm/v3/objects/companies", headers=bearer).status_code == 200
        info = httpx.post(f"{token_url}/introspect", data={"token": access, **creds}).json()
        assert (
            info["active"] is True
            and info["token_type"] == "access_token"
            and info["client_id"] == "client-1"
        )
        bad = httpx.post(token_url, data={"grant_type": "refresh_token", "refresh_token": "nope", **creds})
        assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
        wrong = httpx.post(
            token_url,
            data={
                "grant_type": "refresh_token",
                "refresh_token": "rt-1",
                "client_id": "c",
                "client_secret": "s",
            },
        )
        assert wrong.json()["error"] == "invalid_client"
        assert httpx.post(f"{token_url}/revoke", data={"token": "rt-1", **creds}).status_code == 200
        assert httpx.get(f"{running.url}/crm/v3/objects/companies", headers=bearer).status_code == 401
        assert httpx.post(f"{token_url}/introspect", data={"token": access, **creds}).json() == {
            "active": False
        }
        # v1 still answers before its sunset
        v1 = httpx.post(
            f"{running.url}/oauth/v1/token", data={"grant_type": "refresh_token", "refresh_token": "rt-1"}
        )
        assert v1.status_code == 400  # rt-1 was revoked
    retired = create_hubspot_app(seed_org, today=date(2027, 2, 17))
    with serve(retired) as running:
        gone = httpx.post(
            f"{running.url}/oauth/v1/token", data={"grant_type": "refresh_token", "refresh_token": "r"}
        )
        assert gone.status_code == 410 and "2026-03" in gone.json()["message"]
        fresh = httpx.post(
            f"{running.url}/oauth/2026-03/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": "r",
                "client_id": "a",
                "client_secret": "b",
            },
        )
        assert fresh.status_code == 200
