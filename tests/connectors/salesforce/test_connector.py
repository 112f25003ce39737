"""SalesforceConnector against the emulator over HTTP, with the real simple-salesforce client."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from connectors.base import (
    AccountRecord,
    AssignmentChange,
    CRMConnector,
    DeletedRecord,
    Outcome,
    Page,
    QuotaExhausted,
    Stream,
    VisitRecord,
)
from connectors.salesforce import SalesforceConnector, SalesforceCredentials
from emulators.faults import FaultConfig
from emulators.salesforce import SalesforceOrgCredentials
from emulators.seed import SeedOrg
from tests.fixtures.salesforce import Emulator, EmulatorFactory

LOGIN = SalesforceCredentials(username="ops@acme.example", password="s3cret", security_token="TOK")


def connector(emu: Emulator, **kwargs: object) -> SalesforceConnector:
    kwargs.setdefault("max_retry_wait", 0.2)
    return SalesforceConnector(LOGIN, base_url=emu.url, **kwargs)  # type: ignore[arg-type]


def drain(pages: Iterator[Page[AccountRecord]]) -> tuple[list[AccountRecord], list[DeletedRecord], str]:
    records: list[AccountRecord] = []
    deleted: list[DeletedRecord] = []
    cursor = ""
    for page in pages:
        records.extend(page.records)
        deleted.extend(page.deleted)
        cursor = page.cursor
    return records, deleted, cursor


def test_connector_satisfies_the_protocol_and_keeps_secrets_out_of_reprs() -> None:
    sf = SalesforceConnector(
        SalesforceCredentials(
            username="ops@acme.example",
            password="hunter2",
            security_token="tok-123",
            consumer_key="key",
            consumer_secret="very-secret",
        ),
        base_url="http://127.0.0.1:9",
    )
    assert isinstance(sf, CRMConnector)
    text = repr(sf) + repr(sf._credentials)
    assert "hunter2" not in text and "tok-123" not in text and "very-secret" not in text
    assert sf.api_calls == 0  # no login until the first call


def test_full_pull_returns_every_account_once_in_pages_with_crm_values(
    salesforce_emulator: EmulatorFactory, org_5k: SeedOrg
) -> None:
    with salesforce_emulator(org_5k) as emu:
        sf = connector(emu)
        pages = list(sf.pull(Stream.ACCOUNTS, None))
        assert [len(p.records) for p in pages] == [2000, 2000, 1000, 0]
        ids = [r.crm_id for p in pages for r in p.records]
        assert len(ids) == len(set(ids)) == 5000
        by_name = {r.crm_id: r for p in pages for r in p.records}
        seeded = {a.index: a for a in org_5k.accounts}
        first = by_name[emu.org.ids("Account")[0]]
        assert first.name == seeded[0].name and first.postal_code == seeded[0].postal_code
        assert first.modified_at.tzinfo is UTC
        assert any(r.lat is None and r.postal_code for r in by_name.values())
        assert any(r.tier not in ("A", "B", "C") for r in by_name.values())
        # One login + the COUNT() that keeps 5,000 rows on REST + 3 query pages + 1 getDeleted-free
        # final page.
        assert sf.api_calls == 5

        reps = [r for p in sf.pull(Stream.REPS, None) for r in p.records]
        assert len(reps) == 25 and any(not r.active for r in reps)
        assert all(r.home_lat is not None for r in reps)
        activities = [a for p in sf.pull(Stream.ACTIVITIES, None) for a in p.records]
        assert Counter(a.kind for a in activities).keys() == {"event", "task"}
        assert len(activities) == len(org_5k.activities)
        assert all(a.account_id and a.account_id.startswith("001") for a in activities)
        assert all(a.completed for a in activities if a.kind == "event")


def test_incremental_pull_returns_exactly_the_changed_deleted_and_merged_accounts(
    salesforce_emulator: EmulatorFactory, org_5k: SeedOrg
) -> None:
    with salesforce_emulator(org_5k) as emu:
        sf = connector(emu)
        _, _, cursor = drain(sf.pull(Stream.ACCOUNTS, None))
        now = datetime.now(UTC)
        ids = emu.org.ids("Account")
        emu.org.update("Account", ids[10], {"OwnerId": emu.org.get("Account", ids[11])["OwnerId"]})
        emu.org.touch("Account", [ids[12]])
        emu.org.soft_delete("Account", [ids[13]])
        emu.org.merge("Account", ids[14], [ids[15], ids[16]])
        # Purged 90 s ago: only getDeleted still knows about it.
        emu.org.hard_delete("Account", [ids[17]], at=now - timedelta(seconds=90))

        records, deleted, cursor = drain(sf.pull(Stream.ACCOUNTS, cursor))
        assert sorted(r.crm_id for r in records) == sorted([ids[10], ids[12], ids[14]])
        assert {(d.crm_id, d.merged_into) for d in deleted} == {
            (ids[13], None),
            (ids[15], ids[14]),
            (ids[16], ids[14]),
            (ids[17], None),
        }
        again, deleted_again, _ = drain(sf.pull(Stream.ACCOUNTS, cursor))
        assert again == [] and deleted_again == []


def test_five_hundred_records_sharing_a_timestamp_at_a_page_boundary_are_pulled_once(
    salesforce_emulator: EmulatorFactory, org_5k: SeedOrg
) -> None:
    with salesforce_emulator(org_5k) as emu:
        sf = connector(emu)
        _, _, cursor = drain(sf.pull(Stream.ACCOUNTS, None))
        ids = emu.org.ids("Account")
        base = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
        # 1,800 changes before T, then 500 at exactly T straddling the 2,000-row page end, then 200.
        for i, rid in enumerate(ids[:1800]):
            emu.org.touch("Account", [rid], at=base + timedelta(milliseconds=i))
        tie = base + timedelta(seconds=10)
        emu.org.touch("Account", ids[1800:2300], at=tie)
        emu.org.touch("Account", ids[2300:2500], at=tie + timedelta(seconds=1))

        pages = sf.pull(Stream.ACCOUNTS, cursor)
        first = next(pages)
        assert len(first.records) == 2000
        assert first.records[-1].modified_at == tie  # the page ends inside the tie
        del pages  # the worker stops here, having stored page one and its cursor

        rest, _, _ = drain(sf.pull(Stream.ACCOUNTS, first.cursor))
        seen = [r.crm_id for r in first.records] + [r.crm_id for r in rest]
        assert Counter(seen) == Counter(ids[:2500])


def test_a_push_of_200_with_3_rejected_reports_them_and_applies_the_other_197(
    salesforce_emulator: EmulatorFactory, small_org: SeedOrg
) -> None:
    with salesforce_emulator(small_org) as emu:
        ids = emu.org.ids("Account")[:200]
        bad = {ids[5]: "Strategic account: ownership is frozen", ids[77]: "Region closed", ids[150]: "No"}
        emu.app.state.faults.configure(FaultConfig(reject_ids=bad))
        owner = emu.org.find("User", IsActive=True)[0]["Id"]
        changes = [
            AssignmentChange(key=f"a-{i}", account_id=rid, owner_id=owner, territory="T-North")
            for i, rid in enumerate(ids)
        ]
        sf = connector(emu)
        result = sf.push_assignments(changes)
        assert result.api_calls == 2  # login + one collection of 200
        rejected = {o.crm_id: (o.error_code, o.message) for o in result.rejected}
        assert rejected == {
            rid: ("FIELD_CUSTOM_VALIDATION_EXCEPTION", message) for rid, message in bad.items()
        }
        assert len(result.done) == 197
        applied = [emu.org.get("Account", rid) for rid in ids if rid not in bad]
        assert all(
            a is not None and a["OwnerId"] == owner and a["Territory__c"] == "T-North" for a in applied
        )
        assert [o.key for o in result.outcomes] == [c.key for c in changes]


def test_pushing_visits_twice_creates_no_duplicate_events_and_cancel_deletes(
    salesforce_emulator: EmulatorFactory, small_org: SeedOrg
) -> None:
    with salesforce_emulator(small_org) as emu:
        accounts = emu.org.ids("Account")
        owner = emu.org.find("User", IsActive=True)[0]["Id"]
        start = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
        visits = [
            VisitRecord(
                key=f"plan-1:{i}",
                account_id=accounts[i % len(accounts)],
                owner_id=owner,
                start=start + timedelta(hours=i),
                end=start + timedelta(hours=i, minutes=45),
                subject="Quarterly visit",
            )
            for i in range(250)
        ]
        sf = connector(emu)
        before = emu.org.count("Event")
        first = sf.push_visits(visits)
        assert len(first.done) == 250 and first.api_calls == 1 + 2
        second = sf.push_visits(visits)
        assert len(second.done) == 250
        assert emu.org.count("Event") == before + 250
        assert {o.crm_id for o in first.outcomes} == {o.crm_id for o in second.outcomes}

        cancelled = [
            VisitRecord(v.key, v.account_id, v.owner_id, v.start, v.end, v.subject, cancelled=True)
            for v in visits[:3]
        ]
        result = sf.push_visits(cancelled)
        assert [o.outcome for o in result.outcomes] == [Outcome.DONE] * 3
        assert emu.org.count("Event") == before + 247
        assert sf.push_visits(cancelled).done  # cancelling again is a no-op, not an error


def test_quota_guard_stops_the_run_with_a_clear_message(
    salesforce_emulator: EmulatorFactory, org_5k: SeedOrg
) -> None:
    daily = FaultConfig(request_budget=4, budget_window_seconds=86_400)
    with salesforce_emulator(org_5k, faults=daily) as emu:
        sf = connector(emu, quota_share=0.5, bulk_threshold=0)  # REST only: no COUNT() call
        stored: list[Page[AccountRecord]] = []
        with pytest.raises(QuotaExhausted, match=r"2/4 \(50%\).*50% share"):
            for page in sf.pull(Stream.ACCOUNTS, None):
                stored.append(page)  # each page is kept, with its cursor, before the guard trips
        assert [len(p.records) for p in stored] == [2000, 2000]
        assert httpx.get(f"{emu.url}/__emulator/stats").json()["total"] == 1 + 2


def test_pull_and_push_survive_429_equivalents_server_errors_latency_and_session_expiry(
    salesforce_emulator: EmulatorFactory, org_5k: SeedOrg
) -> None:
    faults = FaultConfig(
        error_share=0.1,
        latency_ms=5,
        session_expiry_after=7,
        request_budget=6,
        budget_window_seconds=0.5,
        seed=42,
    )
    credentials = SalesforceOrgCredentials("ops@acme.example", "s3cret", "TOK")
    with salesforce_emulator(org_5k, faults=faults, credentials=credentials) as emu:
        sf = connector(emu)
        records, _, _ = drain(sf.pull(Stream.ACCOUNTS, None))
        assert Counter(r.crm_id for r in records) == Counter(emu.org.ids("Account"))

        owner = emu.org.find("User", IsActive=True)[0]["Id"]
        changes = [
            AssignmentChange(key=f"k{i}", account_id=rid, owner_id=owner, territory="T-7")
            for i, rid in enumerate(emu.org.ids("Account")[:1000])
        ]
        result = sf.push_assignments(changes)
        assert len(result.done) == 1000
        assert all(emu.org.get("Account", c.account_id)["Territory__c"] == "T-7" for c in changes)
        routes = httpx.get(f"{emu.url}/__emulator/stats").json()["routes"]
        assert routes["POST /services/Soap/u/{version}"] > 1  # it logged in again


def test_territory2_push_associates_accounts_in_the_planning_model_once(
    salesforce_emulator: EmulatorFactory, small_org: SeedOrg
) -> None:
    with salesforce_emulator(small_org) as emu:
        ids = emu.org.ids("Account")[:30]
        owner = emu.org.find("User", IsActive=True)[0]["Id"]
        changes = [
            AssignmentChange(key=f"t{i}", account_id=rid, owner_id=owner, territory=f"Metro {i % 3}")
            for i, rid in enumerate(ids)
        ]
        sf = connector(emu, use_territory2=True)
        assert len(sf.push_assignments(changes).done) == 30
        assert len(sf.push_assignments(changes).done) == 30
        planning = emu.org.find("Territory2Model", State="Planning")[0]["Id"]
        territories = emu.org.find("Territory2", Territory2ModelId=planning)
        assert sorted(t["Name"] for t in territories) == ["Metro 0", "Metro 1", "Metro 2"]
        assert emu.org.count("ObjectTerritory2Association") == 30

        moved = [AssignmentChange(key="m", account_id=ids[0], owner_id=owner, territory="Metro 2")]
        sf.push_assignments(moved)
        rows = emu.org.find("ObjectTerritory2Association", ObjectId=ids[0])
        name_of = {t["Id"]: t["Name"] for t in territories}
        assert [name_of[r["Territory2Id"]] for r in rows] == ["Metro 2"]


def test_calls_that_time_out_are_retried_then_left_to_retry_not_lost(
    salesforce_emulator: EmulatorFactory, small_org: SeedOrg
) -> None:
    with salesforce_emulator(small_org) as emu:
        sf = connector(emu, timeout=0.15, retry_attempts=2, max_retry_wait=0.05)
        ids = emu.org.ids("Account")[:3]
        owner = emu.org.find("User", IsActive=True)[0]["Id"]
        assert sf.push_assignments(
            [AssignmentChange(key="warm-up", account_id=ids[0], owner_id=owner, territory=None)]
        ).done
        emu.app.state.faults.configure(FaultConfig(latency_ms=400))
        changes = [
            AssignmentChange(key=f"slow-{i}", account_id=rid, owner_id=owner, territory="Slow")
            for i, rid in enumerate(ids)
        ]
        result = sf.push_assignments(changes)
        assert [o.outcome for o in result.outcomes] == [Outcome.RETRY] * 3
        assert all("did not answer" in (o.message or "") for o in result.outcomes)
        assert (
            httpx.get(f"{emu.url}/__emulator/stats").json()["routes"][
                "PATCH /services/data/v{version}/composite/sobjects"
            ]
            == 1 + 2
        )
