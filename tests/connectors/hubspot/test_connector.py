"""HubSpotConnector against the emulator: incremental pulls, the 10k cap, per-record pushes, faults."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import redis
from fastapi import FastAPI

from connectors.base import AssignmentChange, CRMConnector, CRMError, Outcome, Page, Stream, VisitRecord
from connectors.hubspot import HubSpotApiVersion, HubSpotConnector, HubSpotOAuthRefresh
from emulators.faults import FaultConfig
from emulators.hubspot import create_hubspot_app
from emulators.hubspot.org import HubSpotOrg
from emulators.seed import SeedOrg
from emulators.server import RunningServer, serve

REPO = Path(__file__).resolve().parents[3]
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
FUTURE = datetime(2031, 3, 1, tzinfo=UTC)  # later than any seeded or listing timestamp


def connector_for(url: str, **kwargs: object) -> HubSpotConnector:
    options: dict[str, object] = {"search_per_second": None, "retry_initial_wait": 0.01}
    options.update(kwargs)
    return HubSpotConnector("pat-na1-test", base_url=url, **options)  # type: ignore[arg-type]


@pytest.fixture
def connector(hubspot_server: RunningServer, request: pytest.FixtureRequest) -> HubSpotConnector:
    return connector_for(hubspot_server.url, api_version=getattr(request, "param", HubSpotApiVersion.V3))


# The representative pulls and pushes run on the numeric paths and on a date-versioned release.
ON_EITHER_API_VERSION = pytest.mark.parametrize(
    "connector", [HubSpotApiVersion.V3, HubSpotApiVersion.V2026_09], indirect=True, ids=str
)


def drain(pages: Iterator[Page]) -> tuple[list, list, str]:  # type: ignore[type-arg]
    records, deleted, cursor = [], [], ""
    for page in pages:
        records += page.records
        deleted += page.deleted
        cursor = page.cursor
    return records, deleted, cursor


def add_companies(portal: HubSpotOrg, n: int, *, modified_ms: int = 1_000) -> list[str]:
    return portal.bulk_insert(
        "companies", [({"name": f"Filler {i}"}, modified_ms, modified_ms) for i in range(n)]
    )


def test_the_connector_speaks_the_crm_protocol(connector: HubSpotConnector) -> None:
    assert isinstance(connector, CRMConnector)
    assert connector.kind == "hubspot"
    assert connector.api_calls == 0  # building it costs no call


@ON_EITHER_API_VERSION
def test_incremental_pull_returns_exactly_the_changed_deleted_and_merged_companies(
    connector: HubSpotConnector, portal: HubSpotOrg
) -> None:
    everything, _, cursor = drain(connector.pull(Stream.ACCOUNTS, None))
    assert len(everything) == len({r.crm_id for r in everything}) == portal.count("companies")

    ids = portal.ids("companies")
    edited, archived, (primary, merged) = ids[:5], ids[5:7], ids[7:9]
    for company_id in edited:
        portal.update("companies", company_id, {"tier": "A"}, at=FUTURE)
    for company_id in archived:
        portal.archive("companies", company_id, at=FUTURE)
    portal.merge("companies", primary, merged, at=FUTURE)

    changed, deleted, cursor = drain(connector.pull(Stream.ACCOUNTS, cursor))

    assert sorted(r.crm_id for r in changed) == sorted([*edited, primary])
    assert all(r.tier == "A" for r in changed if r.crm_id in edited)
    assert {(d.crm_id, d.merged_into) for d in deleted} == {
        (archived[0], None),
        (archived[1], None),
        (merged, primary),
    }
    assert all(d.deleted_at.tzinfo is UTC for d in deleted)

    again, gone, _ = drain(connector.pull(Stream.ACCOUNTS, cursor))
    assert again == [] and gone == []


def test_500_companies_sharing_one_timestamp_at_the_page_boundary_arrive_once(
    connector: HubSpotConnector, portal: HubSpotOrg
) -> None:
    extra = add_companies(portal, 700)
    _, _, cursor = drain(connector.pull(Stream.ACCOUNTS, None))
    before, tied = extra[:150], extra[150:650]
    for i, company_id in enumerate(before):
        portal.touch("companies", [company_id], at=FUTURE - timedelta(milliseconds=150 - i))
    portal.touch("companies", tied, at=FUTURE)
    # The first search page holds the 150 earlier records and 50 of the 500 ties.

    changed, _, cursor = drain(connector.pull(Stream.ACCOUNTS, cursor))

    counts = Counter(r.crm_id for r in changed)
    assert set(counts) == set(before) | set(tied)
    assert max(counts.values()) == 1
    later, _, _ = drain(connector.pull(Stream.ACCOUNTS, cursor))
    assert later == []


def test_a_change_window_of_12000_companies_is_pulled_completely(
    connector: HubSpotConnector, portal: HubSpotOrg, hubspot_server: RunningServer
) -> None:
    _, _, cursor = drain(connector.pull(Stream.ACCOUNTS, None))
    base = round(FUTURE.timestamp() * 1000)
    window = portal.bulk_insert(
        "companies", [({"name": f"Changed {i}"}, base, base + i // 3) for i in range(12_000)]
    )
    httpx.post(f"{hubspot_server.url}/__emulator/reset")

    changed, _, _ = drain(connector.pull(Stream.ACCOUNTS, cursor))

    counts = Counter(r.crm_id for r in changed)
    assert set(counts) == set(window)
    assert max(counts.values()) == 1
    stats = httpx.get(f"{hubspot_server.url}/__emulator/stats").json()
    searches = stats["routes"]["POST /crm/v3/objects/{object_type}/search"]
    assert searches <= 12_000 // 200 + 3  # keyset paging: about one search per 200 records


@ON_EITHER_API_VERSION
def test_a_push_with_3_rejected_of_200_applies_the_other_197(
    connector: HubSpotConnector, portal: HubSpotOrg, hubspot_app: FastAPI
) -> None:
    add_companies(portal, 100)
    ids = portal.ids("companies")[:200]
    bad = {ids[3], ids[77], ids[150]}
    hubspot_app.state.faults.configure(
        FaultConfig(reject_ids={i: "Owner is not allowed in this region" for i in bad})
    )
    owner = portal.owner_ids()[0]
    changes = [
        AssignmentChange(key=f"chg-{i}", account_id=i, owner_id=owner, territory="West-3")
        for i in ids
    ]

    result = connector.push_assignments(changes)

    assert [o.key for o in result.outcomes] == [c.key for c in changes]
    outcome_of = {c.account_id: o for c, o in zip(changes, result.outcomes, strict=True)}
    assert {i for i, o in outcome_of.items() if o.outcome is Outcome.REJECTED} == bad
    assert len(result.done) == 197
    assert all("Owner is not allowed in this region" in (o.message or "") for o in result.rejected)
    assert all(o.error_code == "VALIDATION_ERROR" for o in result.rejected)
    for company_id in ids:
        props = portal.properties_of("companies", company_id)
        applied = props.get("territory") == "West-3" and props["hubspot_owner_id"] == owner
        assert applied == (company_id not in bad)


@ON_EITHER_API_VERSION
def test_re_pushing_visits_creates_no_duplicate_meetings(
    connector: HubSpotConnector, portal: HubSpotOrg
) -> None:
    companies = portal.ids("companies")[:150]
    owner = portal.owner_ids()[0]
    start = datetime(2031, 5, 4, 9, 0, tzinfo=UTC)
    visits = [
        VisitRecord(
            key=f"plan-7:{c}",
            account_id=c,
            owner_id=owner,
            start=start + timedelta(hours=i),
            end=start + timedelta(hours=i, minutes=45),
            subject="Planned visit",
        )
        for i, c in enumerate(companies)
    ]
    meetings_before = portal.count("meetings")

    first = connector.push_visits(visits)
    second = connector.push_visits(visits)

    assert len(first.done) == len(second.done) == 150
    assert portal.count("meetings") == meetings_before + 150
    for visit, outcome in zip(visits, second.outcomes, strict=True):
        assert portal.find("meetings", "territory_sync_visit_key", visit.key) == [outcome.crm_id]
        assert visit.account_id in portal.associated_ids("meetings", str(outcome.crm_id), "companies")
    assert first.api_calls <= 2 + 2 + 2  # property check + create, then one batch/create per 100

    cancelled = connector.push_visits([replace(visits[0], cancelled=True)])
    assert cancelled.done
    meeting = portal.find("meetings", "territory_sync_visit_key", visits[0].key)[0]
    assert portal.properties_of("meetings", meeting)["hs_meeting_outcome"] == "CANCELED"


def test_pulled_activities_carry_their_company_and_our_visit_key(
    connector: HubSpotConnector, portal: HubSpotOrg
) -> None:
    _, _, cursor = drain(connector.pull(Stream.ACTIVITIES, None))
    company = portal.ids("companies")[0]
    visit = VisitRecord(
        key="plan-9:visit",
        account_id=company,
        owner_id=portal.owner_ids()[0],
        start=datetime(2031, 6, 1, 9, tzinfo=UTC),
        end=datetime(2031, 6, 1, 10, tzinfo=UTC),
        subject="Review",
    )
    connector.push_visits([visit])

    changed, _, _ = drain(connector.pull(Stream.ACTIVITIES, cursor))

    assert [(a.kind, a.account_id, a.external_id, a.completed) for a in changed] == [
        ("meeting", company, "plan-9:visit", False)
    ]
    assert changed[0].started_at == visit.start


@ON_EITHER_API_VERSION
def test_a_full_activity_pull_links_meetings_and_calls_to_companies(
    connector: HubSpotConnector, portal: HubSpotOrg
) -> None:
    activities, _, _ = drain(connector.pull(Stream.ACTIVITIES, None))
    kinds = Counter(a.kind for a in activities)
    assert kinds["meeting"] == portal.count("meetings")
    assert kinds["call"] == portal.count("calls")
    live = set(portal.ids("companies"))
    assert all(a.account_id in live for a in activities)
    assert any(a.completed for a in activities)


@ON_EITHER_API_VERSION
def test_reps_are_owners_with_deactivated_users_inactive(
    connector: HubSpotConnector, seed_org: SeedOrg
) -> None:
    reps, _, _ = drain(connector.pull(Stream.REPS, None))
    assert {r.email: r.active for r in reps} == {r.email: r.active for r in seed_org.reps}
    assert all(r.home_lat is None for r in reps)


def test_pull_and_push_finish_exactly_once_under_429_503_latency_and_token_expiry(
    seed_org: SeedOrg,
) -> None:
    app = create_hubspot_app(seed_org, search_per_second=None)
    portal: HubSpotOrg = app.state.org
    add_companies(portal, 700)
    app.state.faults.configure(
        FaultConfig(
            request_budget=8,
            budget_window_seconds=1.0,
            error_share=0.1,
            latency_ms=5,
            session_expiry_after=12,
            seed=7,
        )
    )
    with serve(app) as running:
        connector = connector_for(
            running.url,
            retry_initial_wait=0.05,
            retry_attempts=12,  # enough backoff to outlast a spent 1 s window on a busy machine
            oauth=HubSpotOAuthRefresh("client-1", "client-secret", "refresh-1"),
        )
        pulled, _, _ = drain(connector.pull(Stream.ACCOUNTS, None))
        owner = portal.owner_ids()[1]
        changes = [
            AssignmentChange(key=f"k{i}", account_id=r.crm_id, owner_id=owner, territory=None)
            for i, r in enumerate(pulled)
        ]
        pushed = connector.push_assignments(changes)
        stats = httpx.get(f"{running.url}/__emulator/stats").json()

    counts = Counter(r.crm_id for r in pulled)
    assert len(counts) == 1_000 and max(counts.values()) == 1
    assert len(pushed.done) == 1_000
    assert {portal.properties_of("companies", i)["hubspot_owner_id"] for i in counts} == {owner}
    assert connector.api_calls > 10 + 1 + 10  # faults were met and retried
    assert stats["total"] >= connector.api_calls
    assert stats["routes"]["POST /oauth/2026-03/token"] >= 1  # the expired token was renewed


def test_an_expired_token_without_refresh_credentials_stops_with_a_clear_error(
    seed_org: SeedOrg,
) -> None:
    app = create_hubspot_app(
        seed_org, faults=FaultConfig(session_expiry_after=1), search_per_second=None
    )
    with serve(app) as running:
        connector = HubSpotConnector("pat-na1-secret-value", base_url=running.url)
        with pytest.raises(CRMError) as caught:
            drain(connector.pull(Stream.ACCOUNTS, None))
    assert "EXPIRED_AUTHENTICATION" in str(caught.value)
    assert "secret-value" not in str(caught.value)
    assert "secret-value" not in repr(connector)


WORKER = """
import json, sys
from connectors.base import Stream
from connectors.hubspot import HubSpotConnector
from connectors.limits import RedisBudget
url, redis_url, key = sys.argv[1:4]
budget = RedisBudget(redis_url, key, rate=20, per_seconds=1.0)
connector = HubSpotConnector("pat-na1-test", base_url=url, budget=budget, retry_attempts=1)
ids = [r.crm_id for page in connector.pull(Stream.ACCOUNTS, None) for r in page.records]
print(json.dumps({"records": len(ids), "unique": len(set(ids)), "calls": connector.api_calls}))
"""


@pytest.mark.redis
def test_two_worker_processes_pulling_at_once_stay_within_the_shared_budget(
    seed_org: SeedOrg,
) -> None:
    # The portal allows 20 calls a second; a worker that went over would get a 429 and,
    # with retry_attempts=1, fail.
    app = create_hubspot_app(
        seed_org,
        faults=FaultConfig(request_budget=20, budget_window_seconds=1.0),
        search_per_second=None,
    )
    add_companies(app.state.org, 1_200)
    key = f"tsync:test:budget:hubspot:{uuid.uuid4().hex}"
    try:
        with serve(app) as running:
            workers = [
                subprocess.Popen(
                    [sys.executable, "-c", WORKER, running.url, REDIS_URL, key],
                    cwd=REPO,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for _ in range(2)
            ]
            results = [w.communicate(timeout=120) for w in workers]
            stats = httpx.get(f"{running.url}/__emulator/stats").json()
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        client.delete(key)
        client.close()

    assert all(w.returncode == 0 for w in workers), [err[-2000:] for _, err in results]
    answers = [json.loads(out) for out, _ in results]
    assert all(a["records"] == a["unique"] == 1_500 for a in answers)
    assert [a["calls"] for a in answers] == [16, 16]  # 15 pages + the archive, no retries
    assert stats["total"] == 32


def test_searches_are_paced_under_hubspots_search_limit(seed_org: SeedOrg) -> None:
    # HubSpot allows 5 searches a second; with retry_attempts=1 a single 429 would fail the pull.
    app = create_hubspot_app(seed_org, search_per_second=5)
    portal: HubSpotOrg = app.state.org
    with serve(app) as running:
        connector = HubSpotConnector("pat-na1-test", base_url=running.url, retry_attempts=1)
        _, _, cursor = drain(connector.pull(Stream.ACCOUNTS, None))
        base = round(FUTURE.timestamp() * 1000)
        window = portal.bulk_insert(
            "companies", [({"name": f"Changed {i}"}, base, base + i) for i in range(1_500)]
        )
        changed, _, _ = drain(connector.pull(Stream.ACCOUNTS, cursor))
    assert sorted(r.crm_id for r in changed) == sorted(window)


def test_a_visit_to_a_missing_company_is_rejected_and_leaves_no_meeting(
    connector: HubSpotConnector, portal: HubSpotOrg
) -> None:
    first, second = portal.ids("companies")[:2]
    owner = portal.owner_ids()[0]
    start = datetime(2031, 7, 1, 9, tzinfo=UTC)

    def visit(key: str, company: str) -> VisitRecord:
        return VisitRecord(key, company, owner, start, start + timedelta(hours=1), "Visit")

    connector.push_visits([visit("v-1", first)])
    # v-1 exists, so this batch is upserted by key and only the new meetings are associated.
    mixed = connector.push_visits([visit("v-1", first), visit("v-2", second), visit("ghost", "404")])
    # Alone, the ghost goes through batch/create with its association inline.
    alone = connector.push_visits([visit("ghost-2", "405")])

    assert [o.outcome for o in mixed.outcomes] == [Outcome.DONE, Outcome.DONE, Outcome.REJECTED]
    assert alone.rejected and alone.rejected[0].error_code == "VALIDATION_ERROR"
    assert portal.find("meetings", "territory_sync_visit_key", "ghost") == []
    assert portal.find("meetings", "territory_sync_visit_key", "ghost-2") == []
    meeting = portal.find("meetings", "territory_sync_visit_key", "v-2")[0]
    assert portal.associated_ids("meetings", meeting, "companies") == [second]


@ON_EITHER_API_VERSION
def test_a_pull_after_our_own_push_returns_exactly_the_pushed_companies_in_full_pages(
    connector: HubSpotConnector, portal: HubSpotOrg, hubspot_server: RunningServer
) -> None:
    _, _, cursor = drain(connector.pull(Stream.ACCOUNTS, None))
    targets = portal.ids("companies")[:300]
    owner = portal.owner_ids()[0]
    # Three batch updates: three groups of 100 companies, each sharing one millisecond.
    pushed = connector.push_assignments(
        [AssignmentChange(f"a{i}", c, owner, "North") for i, c in enumerate(targets)]
    )
    assert len(pushed.done) == 300
    httpx.post(f"{hubspot_server.url}/__emulator/reset")

    changed, _, _ = drain(connector.pull(Stream.ACCOUNTS, cursor))

    assert sorted(r.crm_id for r in changed) == sorted(targets)
    stats = httpx.get(f"{hubspot_server.url}/__emulator/stats").json()
    searches = {r: n for r, n in stats["routes"].items() if r.endswith("/{object_type}/search")}
    assert list(searches.values()) == [2]  # 200 + 100, on the v3 or the date-versioned path
