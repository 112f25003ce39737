"""The Salesforce emulator serves the real simple-salesforce client as Salesforce would."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import requests
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from emulators.faults import FaultConfig
from emulators.salesforce import SalesforceOrgCredentials
from emulators.seed import SeedOrg
from tests.fixtures.salesforce import EmulatorFactory, TimedOrg

CREDS = SalesforceOrgCredentials(
    username="ops@acme.example",
    password="s3cret",
    security_token="TOKEN123",
    consumer_key="3MVG9.key",
    consumer_secret="consumer-secret",
)


def test_soap_and_oauth_logins_work_and_wrong_credentials_get_salesforce_answers(
    salesforce_emulator: EmulatorFactory, small_org: SeedOrg
) -> None:
    with salesforce_emulator(small_org, credentials=CREDS) as emu:
        soap = emu.client(username="ops@acme.example", password="s3cret", security_token="TOKEN123")
        oauth = emu.client(
            username="ops@acme.example",
            password="s3cret",
            consumer_key="3MVG9.key",
            consumer_secret="consumer-secret",
        )
        client_credentials = emu.client(
            username=None,
            consumer_key="3MVG9.key",
            consumer_secret="consumer-secret",
            domain="acme.my",
        )
        for sf in (soap, oauth, client_credentials):
            assert sf.sf_instance == f"127.0.0.1:{emu.running.port}"  # the emulator's own address
            assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 200

        with pytest.raises(SalesforceAuthenticationFailed) as soap_failure:
            emu.client(username="ops@acme.example", password="s3cret", security_token="wrong")
        assert soap_failure.value.code == "INVALID_LOGIN"
        with pytest.raises(SalesforceAuthenticationFailed) as oauth_failure:
            emu.client(
                username="ops@acme.example",
                password="nope",
                consumer_key="3MVG9.key",
                consumer_secret="consumer-secret",
            )
        assert "invalid_grant" in str(oauth_failure.value)

        # No or a made-up bearer token: the real 401 list body.
        bare = httpx.get(f"{emu.url}/services/data/v59.0/limits/")
        assert bare.status_code == 401
        assert bare.json()[0]["errorCode"] == "INVALID_SESSION_ID"


def test_query_all_iter_pages_through_5000_accounts_each_exactly_once(
    salesforce_emulator: EmulatorFactory, org_5k: SeedOrg
) -> None:
    with salesforce_emulator(org_5k) as emu:
        sf = emu.client()
        first = sf.query("SELECT Id, Name, Owner.Name, BillingPostalCode FROM Account")
        assert first["totalSize"] == 5_000 and first["done"] is False
        assert len(first["records"]) == 2_000
        assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/")
        record = first["records"][0]
        assert record["attributes"]["type"] == "Account"
        assert record["Owner"]["attributes"]["type"] == "User" and record["Owner"]["Name"]

        ids = [r["Id"] for r in sf.query_all_iter("SELECT Id FROM Account ORDER BY Id")]
        assert len(ids) == 5_000 == len(set(ids))
        assert ids == sorted(ids)
        stats = httpx.get(f"{emu.url}/__emulator/stats").json()["routes"]
        assert stats["GET /services/data/v{version}/query/{locator}"] == 2  # pages 2 and 3


def test_incremental_query_on_systemmodstamp_sees_only_changes(
    salesforce_emulator: EmulatorFactory, small_org: SeedOrg
) -> None:
    with salesforce_emulator(small_org) as emu:
        sf = emu.client()
        cutoff = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=5)
        ids = emu.org.ids("Account")[:3]
        emu.org.update("Account", ids[0], {"Tier__c": "A"}, at=cutoff)
        emu.org.touch("Account", [ids[1]], at=cutoff + timedelta(minutes=1))
        emu.org.soft_delete("Account", [ids[2]], at=cutoff + timedelta(minutes=2))
        literal = cutoff.strftime("%Y-%m-%dT%H:%M:%SZ")
        soql = f"SELECT Id, IsDeleted FROM Account WHERE SystemModstamp >= {literal} ORDER BY SystemModstamp"
        live = sf.query_all(soql)["records"]
        everything = sf.query_all(soql, include_deleted=True)["records"]
        assert [r["Id"] for r in live] == ids[:2]
        assert [(r["Id"], r["IsDeleted"]) for r in everything] == [
            (ids[0], False),
            (ids[1], False),
            (ids[2], True),
        ]
        # A quoted datetime is a malformed query, as in Salesforce.
        with pytest.raises(SalesforceMalformedRequest) as bad:
            sf.query(f"SELECT Id FROM Account WHERE SystemModstamp > '{literal}'")
        assert bad.value.content[0]["errorCode"] == "MALFORMED_QUERY"
        with pytest.raises(SalesforceMalformedRequest) as unknown:
            sf.query("SELECT Id, Colour__c FROM Account")
        assert unknown.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_create_read_update_upsert_delete_answer_with_salesforce_status_codes(
    salesforce_emulator: EmulatorFactory, small_org: SeedOrg
) -> None:
    with salesforce_emulator(small_org) as emu:
        sf = emu.client()
        owner = emu.org.find("User", IsActive=True)[0]["Id"]
        created = sf.Account.create({"Name": "Acme Tools", "OwnerId": owner, "Tier__c": "B"})
        assert created["success"] is True and created["id"].startswith("001")
        assert sf.Account.get(created["id"])["Tier__c"] == "B"
        assert sf.Account.update(created["id"], {"Territory__c": "North"}) == 204
        assert sf.Account.get(created["id"])["Territory__c"] == "North"

        start = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
        event = {
            "Subject": "Visit",
            "WhatId": created["id"],
            "OwnerId": owner,
            "StartDateTime": start.isoformat(),
            "EndDateTime": (start + timedelta(minutes=45)).isoformat(),
        }
        first = sf.Event.upsert("Visit_Key__c/v-1", event)
        second = sf.Event.upsert("Visit_Key__c/v-1", {**event, "Subject": "Visit (moved)"})
        assert first == 201 and second == 200
        assert len(emu.org.find("Event", Visit_Key__c="v-1")) == 1
        assert sf.Event.get_by_custom_id("Visit_Key__c", "v-1")["Subject"] == "Visit (moved)"

        assert sf.Account.delete(created["id"]) == 204
        with pytest.raises(SalesforceResourceNotFound):
            sf.Account.get(created["id"])
        with pytest.raises(SalesforceResourceNotFound) as unknown_path:
            sf.restful("no/such/resource")
        assert unknown_path.value.content[0]["errorCode"] == "NOT_FOUND"
        with pytest.raises(SalesforceMalformedRequest) as missing:
            sf.Account.create({"Industry": "Retail"})
        assert missing.value.content[0] == {
            "message": "Required fields are missing: [Name]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["Name"],
        }


def test_collections_report_per_record_results_and_respect_all_or_none(
    salesforce_emulator: EmulatorFactory, small_org: SeedOrg
) -> None:
    with salesforce_emulator(small_org) as emu:
        sf = emu.client()
        ids = emu.org.ids("Account")[:5]
        emu.org.soft_delete("Account", [ids[4]])
        records = [{"attributes": {"type": "Account"}, "id": i, "Territory__c": "East"} for i in ids]
        records[1]["Potential__c"] = "lots"  # not a number
        body = {"allOrNone": False, "records": records}
        results = sf.restful("composite/sobjects", method="PATCH", json=body)
        assert [r["success"] for r in results] == [True, False, True, True, False]
        assert results[1]["errors"][0]["statusCode"] == "JSON_PARSER_ERROR"
        assert results[4]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"
        assert emu.org.get("Account", ids[0])["Territory__c"] == "East"

        records = [{"attributes": {"type": "Account"}, "id": i, "Territory__c": "West"} for i in ids[:3]]
        records[2]["OwnerId"] = "005000000000000AAA"
        rolled_back = sf.restful(
            "composite/sobjects", method="PATCH", json={"allOrNone": True, "records": records}
        )
        assert [r["errors"][0]["statusCode"] for r in rolled_back] == [
            "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            "INVALID_CROSS_REFERENCE_KEY",
        ]
        assert emu.org.get("Account", ids[0])["Territory__c"] == "East"

        too_many = [{"attributes": {"type": "Account"}, "Name": f"N{i}"} for i in range(201)]
        with pytest.raises(SalesforceMalformedRequest) as refused:
            sf.restful("composite/sobjects", method="POST", json={"records": too_many})
        assert refused.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_configured_rejections_fail_only_those_records(
    salesforce_emulator: EmulatorFactory, small_org: SeedOrg
) -> None:
    with salesforce_emulator(small_org) as emu:
        ids = emu.org.ids("Account")[:4]
        faults = FaultConfig(reject_ids={ids[2]: "Territory is frozen for this account"})
        httpx.post(f"{emu.url}/__emulator/faults", json=faults.model_dump()).raise_for_status()
        sf = emu.client()
        records = [{"attributes": {"type": "Account"}, "id": i, "Territory__c": "T9"} for i in ids]
        results = sf.restful("composite/sobjects", method="PATCH", json={"records": records})
        assert [r["success"] for r in results] == [True, True, False, True]
        assert results[2]["errors"][0] == {
            "statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            "message": "Territory is frozen for this account",
            "fields": [],
        }


def test_session_expiry_mid_run_is_survived_by_logging_in_again(
    salesforce_emulator: EmulatorFactory, org_5k: SeedOrg
) -> None:
    with salesforce_emulator(org_5k, faults=FaultConfig(session_expiry_after=2)) as emu:
        sf = emu.client()
        first_session = sf.session_id
        ids = [r["Id"] for r in sf.query_all_iter("SELECT Id FROM Account")]
        assert len(set(ids)) == 5_000
        assert sf.session_id != first_session
        routes = httpx.get(f"{emu.url}/__emulator/stats").json()["routes"]
        assert routes["POST /services/Soap/u/{version}"] == 2


def test_stats_count_exactly_the_calls_the_client_made_and_reset_clears_them(
    salesforce_emulator: EmulatorFactory, small_org: SeedOrg
) -> None:
    with salesforce_emulator(small_org) as emu:
        sf = emu.client()
        sf.query("SELECT Id FROM Account LIMIT 5")
        sf.query("SELECT Id FROM User")
        sf.Account.describe()
        sf.limits()
        stats = httpx.get(f"{emu.url}/__emulator/stats").json()
        assert stats == {
            "total": 5,
            "routes": {
                "GET /services/data/v{version}/limits/": 1,
                "GET /services/data/v{version}/query/": 2,
                "GET /services/data/v{version}/sobjects/{sobject}/describe": 1,
                "POST /services/Soap/u/{version}": 1,
            },
        }
        httpx.post(f"{emu.url}/__emulator/reset").raise_for_status()
        assert httpx.get(f"{emu.url}/__emulator/stats").json() == {"total": 0, "routes": {}}


def test_daily_limit_shows_in_headers_and_ends_in_request_limit_exceeded(
    salesforce_emulator: EmulatorFactory, small_org: SeedOrg
) -> None:
    budget = FaultConfig(request_budget=4, budget_window_seconds=86_400)
    with salesforce_emulator(small_org, faults=budget) as emu:
        sf = emu.client()
        sf.query("SELECT Id FROM Account LIMIT 1")
        assert sf.api_usage["api-usage"].used == 1
        assert sf.api_usage["api-usage"].total == 4
        assert sf.limits()["DailyApiRequests"] == {"Max": 4, "Remaining": 2}
        sf.query("SELECT Id FROM Account LIMIT 1")
        sf.query("SELECT Id FROM Account LIMIT 1")
        with pytest.raises(SalesforceRefusedRequest) as refused:
            sf.query("SELECT Id FROM Account LIMIT 1")
        assert refused.value.content == [
            {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
        ]


def test_injected_server_errors_are_deterministic_per_seed(
    salesforce_emulator: EmulatorFactory, small_org: SeedOrg
) -> None:
    def statuses(seed: int) -> list[int]:
        with salesforce_emulator(small_org, faults=FaultConfig(error_share=0.3, seed=seed)) as emu:
            sf = emu.client()
            out = []
            for _ in range(30):
                try:
                    sf.query("SELECT Id FROM Account LIMIT 1")
                    out.append(200)
                except SalesforceError as exc:
                    out.append(exc.status)
            return out

    first, again = statuses(5), statuses(5)
    assert first == again
    assert set(Counter(first)) == {200, 500, 503}


def test_get_updated_and_get_deleted_cover_their_windows(
    salesforce_emulator: EmulatorFactory, small_org: SeedOrg
) -> None:
    with salesforce_emulator(small_org) as emu:
        sf = emu.client()
        now = datetime.now(UTC)
        ids = emu.org.ids("Account")[:4]
        emu.org.update("Account", ids[0], {"Name": "Renamed"}, at=now - timedelta(hours=2))
        emu.org.soft_delete("Account", [ids[1]], at=now - timedelta(hours=2))
        emu.org.hard_delete("Account", [ids[2]], at=now - timedelta(hours=1))
        emu.org.merge("Account", ids[3], [ids[0]], at=now - timedelta(minutes=30))
        deleted = sf.Account.deleted(now - timedelta(days=1), now)
        assert {d["id"] for d in deleted["deletedRecords"]} == {ids[0], ids[1], ids[2]}
        updated = sf.Account.updated(now - timedelta(days=1), now)
        assert set(updated["ids"]) == {ids[3]}
        merged = sf.query_all(
            f"SELECT Id, MasterRecordId FROM Account WHERE Id = '{ids[0]}'", include_deleted=True
        )
        assert merged["records"][0]["MasterRecordId"] == ids[3]
        with pytest.raises(SalesforceMalformedRequest) as too_old:
            sf.Account.deleted(now - timedelta(days=20), now)
        assert too_old.value.content[0]["errorCode"] == "INVALID_REPLICATION_DATE"


def test_territory_management_objects_enforce_their_rules(
    salesforce_emulator: EmulatorFactory, small_org: SeedOrg
) -> None:
    with salesforce_emulator(small_org) as emu:
        sf = emu.client()
        models = sf.query("SELECT Id, State, DeveloperName FROM Territory2Model ORDER BY State")
        assert [m["State"] for m in models["records"]] == ["Active", "Planning"]
        planning = models["records"][1]["Id"]
        type_id = sf.query("SELECT Id FROM Territory2Type")["records"][0]["Id"]
        territory = sf.Territory2.create(
            {
                "Name": "North East",
                "DeveloperName": "North_East",
                "Territory2ModelId": planning,
                "Territory2TypeId": type_id,
            }
        )["id"]
        account = emu.org.ids("Account")[0]
        association = {"ObjectId": account, "Territory2Id": territory, "AssociationCause": "Territory2Manual"}
        created = sf.ObjectTerritory2Association.create(association)
        assert created["success"]
        with pytest.raises(SalesforceMalformedRequest) as duplicate:
            sf.ObjectTerritory2Association.create(association)
        assert duplicate.value.content[0]["errorCode"] == "DUPLICATE_VALUE"
        with pytest.raises(SalesforceMalformedRequest) as no_update:
            sf.ObjectTerritory2Association.update(created["id"], {"Territory2Id": territory})
        assert no_update.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
        rows = sf.query(
            "SELECT Id, Territory2.Name FROM ObjectTerritory2Association "
            f"WHERE Territory2.Territory2Model.State = 'Planning' AND ObjectId = '{account}'"
        )["records"]
        assert rows[0]["Territory2"]["Name"] == "North East"
        with pytest.raises(SalesforceMalformedRequest) as required:
            sf.Territory2.create({"Name": "Nowhere"})
        assert required.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"


def test_a_100k_org_seeds_fast_and_pages_through_query_all_iter_one_page_per_answer(
    salesforce_emulator: EmulatorFactory, org_100k: TimedOrg
) -> None:
    started = time.perf_counter()
    with salesforce_emulator(org_100k.org) as emu:
        assert org_100k.seconds + (time.perf_counter() - started) < 10.0
        sf = emu.client()
        page_sizes: list[int] = []

        def count_records(response: requests.Response, *args: object, **kwargs: object) -> None:
            if "/query" in response.url:
                page_sizes.append(len(response.json()["records"]))

        sf.session.hooks["response"].append(count_records)
        soql = "SELECT Id, Name, OwnerId, SystemModstamp FROM Account ORDER BY SystemModstamp, Id"
        ids = [r["Id"] for r in sf.query_all_iter(soql, include_deleted=True)]
        assert len(ids) == len(set(ids)) == 100_000
        assert page_sizes == [2000] * 50
