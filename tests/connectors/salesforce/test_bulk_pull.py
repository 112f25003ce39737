"""Full pulls through Bulk API 2.0 above the threshold, REST below it, against the emulator over HTTP."""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from connectors.base import CRMError, DeletedRecord, FieldMap, Page, Stream
from connectors.salesforce import SalesforceConnector, SalesforceCredentials
from connectors.salesforce.bulk import BulkPolling, typed_record
from connectors.salesforce.records import Position, StreamCursor
from connectors.salesforce.streams import DEFAULT_FIELD_MAP
from emulators.salesforce import create_salesforce_app
from emulators.seed import SeedOrg
from emulators.server import serve
from tests.fixtures.salesforce import Emulator, EmulatorFactory

LOGIN = SalesforceCredentials(username="ops@acme.example", password="s3cret", security_token="TOK")
FAST_POLLING = BulkPolling(first_wait=0.01, max_wait=0.05, timeout=10.0)


def connector(
    emu: Emulator, *, threshold: int, page_size: int = 2_000, field_map: FieldMap = DEFAULT_FIELD_MAP
) -> SalesforceConnector:
    return SalesforceConnector(
        LOGIN,
        base_url=emu.url,
        field_map=field_map,
        max_retry_wait=0.2,
        bulk_threshold=threshold,
        bulk_page_size=page_size,
        bulk_polling=FAST_POLLING,
    )


def drain(pages: Iterator[Page[Any]]) -> tuple[list[Any], list[DeletedRecord], str, int]:
    records: list[Any] = []
    deleted: list[DeletedRecord] = []
    cursor, count = "", 0
    for page in pages:
        records.extend(page.records)
        deleted.extend(page.deleted)
        cursor, count = page.cursor, count + 1
    return records, deleted, cursor, count


def positions(cursor: str) -> dict[str, Position]:
    return StreamCursor.decode(cursor).positions


def routes(emu: Emulator) -> Counter[str]:
    return Counter(httpx.get(f"{emu.url}/__emulator/stats").json()["routes"])


def bulk_calls(counts: Counter[str]) -> int:
    return sum(n for route, n in counts.items() if "/jobs/query" in route)


def reset_stats(emu: Emulator) -> None:
    httpx.post(f"{emu.url}/__emulator/reset")


def test_a_bulk_full_pull_equals_the_rest_pull_record_for_record_deleted_and_merged_included(
    salesforce_emulator: EmulatorFactory, org_5k: SeedOrg
) -> None:
    with salesforce_emulator(org_5k) as emu:
        ids = emu.org.ids("Account")
        emu.org.soft_delete("Account", [ids[3], ids[4]])
        emu.org.merge("Account", ids[10], [ids[11], ids[12]])
        emu.org.soft_delete("Event", emu.org.ids("Event")[:2])
        rest, bulk = connector(emu, threshold=0), connector(emu, threshold=1_000)
        for stream in (Stream.REPS, Stream.ACCOUNTS, Stream.ACTIVITIES):
            by_rest = drain(rest.pull(stream, None, full=True))
            by_bulk = drain(bulk.pull(stream, None, full=True))
            assert by_bulk[0] == by_rest[0], stream  # same records, same values, same order
            assert by_bulk[1] == by_rest[1], stream  # same soft deletes and merge losers
            # The same place to go on from (the getDeleted watermark is the pull's own clock).
            assert positions(by_bulk[2]) == positions(by_rest[2]), stream
        accounts, deleted, _, _ = drain(bulk.pull(Stream.ACCOUNTS, None, full=True))
        assert len(accounts) == 5_000 - 4
        assert {(d.crm_id, d.merged_into) for d in deleted} == {
            (ids[3], None),
            (ids[4], None),
            (ids[11], ids[10]),
            (ids[12], ids[10]),
        }
        assert any(a.potential is not None for a in accounts) and any(a.locked for a in accounts)
        assert all(isinstance(a.raw["BillingLatitude"], float | None) for a in accounts)
        assert bulk_calls(routes(emu)) > 0


def test_a_full_pull_over_the_threshold_goes_through_bulk_in_fewer_calls_than_rest(
    salesforce_emulator: EmulatorFactory, org_5k: SeedOrg
) -> None:
    with salesforce_emulator(org_5k) as emu:
        rest = connector(emu, threshold=0)
        rest_records, _, _, rest_pages = drain(rest.pull(Stream.ACCOUNTS, None))
        rest_routes = routes(emu)
        reset_stats(emu)

        bulk = connector(emu, threshold=4_999, page_size=50_000)
        bulk_records, _, _, bulk_pages = drain(bulk.pull(Stream.ACCOUNTS, None))
        bulk_routes, bulk_pull_calls = routes(emu), bulk.api_calls
        bulk_jobs = bulk.client.limits()["DailyBulkV2QueryJobs"]

    assert len(bulk_records) == len(rest_records) == 5_000
    assert bulk_calls(rest_routes) == 0 and rest.api_calls == 1 + 3  # login + 3 pages of 2,000
    # login + COUNT() + describe + create + poll + one results page of 5,000
    assert bulk_pull_calls == sum(bulk_routes.values()) == 6
    assert bulk_calls(bulk_routes) == 3 and bulk_pages == 1 + 1  # the rows, then the getDeleted page
    assert rest_pages == 3 + 1
    assert bulk_jobs["Max"] - bulk_jobs["Remaining"] == 1  # the org counts one query job


def test_a_bulk_job_salesforce_fails_stops_the_pull_with_salesforces_own_message(
    salesforce_emulator: EmulatorFactory, org_5k: SeedOrg
) -> None:
    # A field map naming a compound field: REST can read it, a Bulk query job cannot.
    compound = FieldMap(
        tier="BillingAddress", potential=None, effort=None, locked=None, territory="Territory__c"
    )
    with salesforce_emulator(org_5k) as emu:
        sf = connector(emu, threshold=1_000, field_map=compound)
        with pytest.raises(CRMError, match="ended Failed: Selecting compound data not supported"):
            drain(sf.pull(Stream.ACCOUNTS, None))


def test_a_full_pull_at_or_under_the_threshold_stays_on_rest_and_threshold_0_skips_the_count(
    salesforce_emulator: EmulatorFactory, org_5k: SeedOrg
) -> None:
    with salesforce_emulator(org_5k) as emu:
        at_threshold = connector(emu, threshold=5_000)
        records, _, _, _ = drain(at_threshold.pull(Stream.ACCOUNTS, None))
        assert len(records) == 5_000
        assert bulk_calls(routes(emu)) == 0
        assert at_threshold.api_calls == 1 + 1 + 3  # login + COUNT() + 3 REST pages
        reset_stats(emu)

        rest_only = connector(emu, threshold=0)
        drain(rest_only.pull(Stream.ACCOUNTS, None))
        assert rest_only.api_calls == 1 + 3  # no COUNT() at all
        assert bulk_calls(routes(emu)) == 0


def test_incremental_pulls_stay_on_rest_whatever_the_threshold(
    salesforce_emulator: EmulatorFactory, org_5k: SeedOrg
) -> None:
    with salesforce_emulator(org_5k) as emu:
        sf = connector(emu, threshold=1)
        _, _, cursor, _ = drain(sf.pull(Stream.ACCOUNTS, None))
        ids = emu.org.ids("Account")
        emu.org.touch("Account", ids[100:103])
        emu.org.soft_delete("Account", [ids[200]])
        reset_stats(emu)

        records, deleted, _, _ = drain(sf.pull(Stream.ACCOUNTS, cursor))
        assert sorted(r.crm_id for r in records) == sorted(ids[100:103])
        assert [d.crm_id for d in deleted] == [ids[200]]
        assert bulk_calls(routes(emu)) == 0


def test_a_hard_delete_after_a_bulk_pull_is_found_by_the_next_incremental_pull(
    salesforce_emulator: EmulatorFactory, org_5k: SeedOrg
) -> None:
    with salesforce_emulator(org_5k) as emu:
        sf = connector(emu, threshold=1_000)
        _, _, cursor, _ = drain(sf.pull(Stream.ACCOUNTS, None))
        gone = emu.org.ids("Account")[7]
        emu.org.hard_delete("Account", [gone], at=datetime.now(UTC) - timedelta(seconds=90))
        _, deleted, _, _ = drain(sf.pull(Stream.ACCOUNTS, cursor))
        assert [d.crm_id for d in deleted] == [gone]


def test_a_cell_that_is_not_its_fields_type_is_read_as_empty_and_reported_by_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    types = {"Id": "id", "Effort__c": "double", "Locked__c": "boolean", "SystemModstamp": "datetime"}
    row = {
        "Id": "001x",
        "Effort__c": "lots",
        "Locked__c": "true",
        "SystemModstamp": "2026-05-01T09:30:00.000Z",
    }
    with caplog.at_level(logging.WARNING):
        record = typed_record(row, types)
    assert record == {
        "Id": "001x",
        "Effort__c": None,
        "Locked__c": True,
        "SystemModstamp": "2026-05-01T09:30:00.000+0000",
    }
    assert "001x" in caplog.text and "Effort__c" in caplog.text


class SlowJobs:
    """An org whose query jobs report `InProgress` for the first `polls` polls (or for ever)."""

    def __init__(self, app: ASGIApp, polls: int | None) -> None:
        self.app = app
        self.polls = polls
        self.seen: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, method = scope.get("path", ""), scope.get("method", "")
        polling = scope["type"] == "http" and method == "GET" and re.search(r"/jobs/query/[^/]+$", path)
        if polling:
            self.seen.append(f"{method} poll")
            if self.polls is None or len(self.seen) <= self.polls:
                job_id = path.rsplit("/", 1)[-1]
                await JSONResponse({"id": job_id, "state": "InProgress"})(scope, receive, send)
                return
        elif scope["type"] == "http" and "/jobs/query/" in path:
            self.seen.append(f"{method} {path.rsplit('/', 1)[-1]}")
        await self.app(scope, receive, send)


def test_a_job_in_progress_is_polled_with_backoff_until_salesforce_completes_it(
    org_5k: SeedOrg,
) -> None:
    slow = SlowJobs(create_salesforce_app(org_5k), polls=3)
    with serve(slow) as running:
        sf = SalesforceConnector(
            LOGIN,
            base_url=running.url,
            bulk_threshold=1_000,
            bulk_page_size=50_000,
            bulk_polling=FAST_POLLING,
        )
        started = time.perf_counter()
        records, _, _, _ = drain(sf.pull(Stream.ACCOUNTS, None))
        waited = time.perf_counter() - started
    assert len(records) == 5_000
    assert slow.seen.count("GET poll") == 4  # three answered InProgress, the fourth JobComplete
    assert waited >= 0.01 + 0.02 + 0.04  # exponential waits between the polls


def test_a_job_that_never_completes_is_aborted_at_the_deadline_with_a_clear_error(
    org_5k: SeedOrg,
) -> None:
    stuck = SlowJobs(create_salesforce_app(org_5k), polls=None)
    deadline = BulkPolling(first_wait=0.01, max_wait=0.05, timeout=0.3)
    with serve(stuck) as running:
        sf = SalesforceConnector(LOGIN, base_url=running.url, bulk_threshold=1_000, bulk_polling=deadline)
        with pytest.raises(CRMError, match=r"still InProgress after 0.3 s; aborted it"):
            drain(sf.pull(Stream.ACCOUNTS, None))
    assert stuck.seen.count("GET poll") >= 2 and stuck.seen[-1].startswith("PATCH ")
