"""Bulk API 2.0 and 1.0 as the real simple-salesforce client drives them: query jobs with locator paging,
ingest jobs with per-row results, and Bulk 1.0 query jobs in JSON and CSV."""

from __future__ import annotations

import csv
import io

import httpx
import pytest
from simple_salesforce import Salesforce

from emulators.seed import SeedOrg
from tests.fixtures.salesforce import EmulatorFactory


def _rows(pages: list[str]) -> list[dict[str, str]]:
    return [row for page in pages for row in csv.DictReader(io.StringIO(page))]


def test_a_bulk_2_query_pages_by_locator_and_query_all_sees_deleted_rows(
    salesforce_emulator: EmulatorFactory, org_5k: SeedOrg
) -> None:
    with salesforce_emulator(org_5k) as emu:
        sf = emu.client()
        soql = "SELECT Id, Name, Owner.Email, Potential__c, IsDeleted FROM Account ORDER BY Id"
        pages = list(sf.bulk2.Account.query(soql, max_records=2_000, wait=0.1))
        rows = _rows(pages)
        assert len(pages) == 3 and len(rows) == 5_000 == len({r["Id"] for r in rows})
        assert rows[0]["Owner.Email"].endswith("@example.com")
        gone = emu.org.ids("Account")[:7]
        emu.org.soft_delete("Account", gone)
        live = _rows(list(sf.bulk2.Account.query("SELECT Id FROM Account", wait=0.1)))
        every = _rows(list(sf.bulk2.Account.query_all("SELECT Id, IsDeleted FROM Account", wait=0.1)))
        assert len(live) == 4_993 and len(every) == 5_000
        assert sum(1 for r in every if r["IsDeleted"] == "true") == 7
        limits = sf.limits()
        assert limits["DailyBulkV2QueryJobs"]["Remaining"] == limits["DailyBulkV2QueryJobs"]["Max"] - 3

        # The raw protocol: the locator header pages, "null" ends, and a bad query is refused at once.
        headers = {"Authorization": f"Bearer {sf.session_id}"}
        base = f"{emu.url}/services/data/v59.0/jobs/query"
        job = httpx.post(
            base, json={"operation": "query", "query": "SELECT Id FROM User"}, headers=headers
        ).json()
        assert job["state"] == "UploadComplete"
        assert httpx.get(f"{base}/{job['id']}", headers=headers).json()["state"] == "JobComplete"
        page = httpx.get(f"{base}/{job['id']}/results", params={"maxRecords": 5}, headers=headers)
        assert page.headers["Sforce-NumberOfRecords"] == "5" and page.headers["Sforce-Locator"] != "null"
        rest = httpx.get(
            f"{base}/{job['id']}/results", params={"locator": page.headers["Sforce-Locator"]}, headers=headers
        )
        assert rest.headers["Sforce-Locator"] == "null" and rest.text.startswith('"Id"\n')
        bad = httpx.post(
            base, json={"operation": "query", "query": "SELECT Nope__c FROM Account"}, headers=headers
        )
        assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "INVALID_FIELD"


def test_a_bulk_2_ingest_reports_each_row_as_successful_failed_or_unprocessed(
    salesforce_emulator: EmulatorFactory, small_org: SeedOrg
) -> None:
    with salesforce_emulator(small_org) as emu:
        sf = emu.client()
        owner = emu.org.find("User", IsActive=True)[0]["Id"]
        records = [
            {"Name": f"Bulk Co {i}", "OwnerId": owner, "NumberOfEmployees": str(10 + i)} for i in range(5)
        ]
        records.append({"Name": "", "OwnerId": owner, "NumberOfEmployees": "3"})  # Name is required
        results = sf.bulk2.Account.insert(records=records, wait=0.1)
        assert results[0]["numberRecordsProcessed"] == 6 and results[0]["numberRecordsFailed"] == 1
        job_id = results[0]["job_id"]
        ok = list(csv.DictReader(io.StringIO(sf.bulk2.Account.get_successful_records(job_id))))
        failed = list(csv.DictReader(io.StringIO(sf.bulk2.Account.get_failed_records(job_id))))
        assert [r["sf__Created"] for r in ok] == ["true"] * 5 and all(
            r["sf__Id"].startswith("001") for r in ok
        )
        assert failed[0]["sf__Error"].startswith("REQUIRED_FIELD_MISSING:Required fields are missing: [Name]")
        assert emu.org.get("Account", ok[0]["sf__Id"])["NumberOfEmployees"] == 10

        updates = [{"Id": r["sf__Id"], "Territory__c": "Bulk North"} for r in ok[:3]]
        updated = sf.bulk2.Account.update(records=updates, wait=0.1)
        assert updated[0]["numberRecordsFailed"] == 0
        assert {emu.org.get("Account", u["Id"])["Territory__c"] for u in updates} == {"Bulk North"}

        headers = {"Authorization": f"Bearer {sf.session_id}"}
        base = f"{emu.url}/services/data/v59.0/jobs/ingest"
        job = httpx.post(base, json={"object": "Account", "operation": "delete"}, headers=headers).json()
        upload = httpx.put(
            f"{base}/{job['id']}/batches",
            content=f"Id\n{ok[3]['sf__Id']}\n",
            headers={**headers, "Content-Type": "text/csv"},
        )
        assert upload.status_code == 201
        httpx.patch(f"{base}/{job['id']}", json={"state": "Aborted"}, headers=headers).raise_for_status()
        unprocessed = httpx.get(f"{base}/{job['id']}/unprocessedrecords", headers=headers).text
        assert unprocessed.splitlines()[1:] == [f'"{ok[3]["sf__Id"]}"']
        assert emu.org.get("Account", ok[3]["sf__Id"])["IsDeleted"] is False


@pytest.mark.parametrize("content_type", ["JSON", "CSV"])
def test_a_bulk_1_query_job_runs_its_batch_and_serves_the_results(
    salesforce_emulator: EmulatorFactory, small_org: SeedOrg, content_type: str
) -> None:
    with salesforce_emulator(small_org) as emu:
        sf: Salesforce = emu.client()
        if content_type == "JSON":
            records = sf.bulk.Account.query("SELECT Id, Name, Owner.Name FROM Account", lazy_operation=False)
            assert len(records) == 200 and records[0]["Owner"]["Name"]
            return
        # CSV, as Singer's tap-salesforce drives it: X-SFDC-Session, XML batch answers, a result list.
        base = f"{emu.url}/services/async/59.0/job"
        headers = {"X-SFDC-Session": sf.session_id, "Content-Type": "application/json"}
        body = {"operation": "queryAll", "object": "Account", "contentType": "CSV"}
        job = httpx.post(base, json=body, headers=headers).json()
        batch = httpx.post(
            f"{base}/{job['id']}/batch",
            content="SELECT Id, Name FROM Account",
            headers={**headers, "Content-Type": "text/csv"},
        )
        assert "<state>Queued</state>" in batch.text
        batch_id = batch.text.split("<id>")[1].split("</id>")[0]
        httpx.post(f"{base}/{job['id']}", json={"state": "Closed"}, headers=headers).raise_for_status()
        info = httpx.get(f"{base}/{job['id']}/batch/{batch_id}", headers=headers).text
        assert "<state>Completed</state>" in info and "<numberRecordsProcessed>200<" in info
        listing = httpx.get(f"{base}/{job['id']}/batch/{batch_id}/result", headers=headers).text
        result_id = listing.split("<result>")[1].split("</result>")[0]
        rows = list(
            csv.DictReader(
                io.StringIO(
                    httpx.get(f"{base}/{job['id']}/batch/{batch_id}/result/{result_id}", headers=headers).text
                )
            )
        )
        assert len(rows) == 200 and set(rows[0]) == {"Id", "Name"}
        refused = httpx.get(
            f"{base}/{job['id']}", headers={"X-SFDC-Session": "", "Content-Type": "application/json"}
        )
        assert refused.status_code == 400 and refused.json()["exceptionCode"] == "InvalidSessionId"
