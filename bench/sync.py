"""Sync efficiency against the CRM emulators on loopback: API calls vs the minimum, and records/s.

    nice .venv/bin/python -m bench.sync [--accounts 100000] [--changes 10000] [--visits 10000]
                                        [--crm hubspot salesforce] [--fault-share 0.1]

For each CRM it seeds one org, then, once clean and once with `--fault-share`
of the API calls answered with the CRM's rate-limit answer (HubSpot 429
`TEN_SECONDLY_ROLLING`, Salesforce 403 `REQUEST_LIMIT_EXCEEDED`) or a 503
(half each, deterministic per seed):

1. pulls every account (a full pull), then pulls them again through the
   daemon's own pull (`sync.pipeline.pull`) into a fresh store, so the cost of
   intake and the bulk upsert shows against the bare pull measured in the same run,
2. pushes `--changes` assignment changes (new owner and territory),
3. pushes `--visits` planned visits (meetings / Events),
4. pulls the changes since step 1 (exactly the accounts step 2 touched),

and prints one row per step: the HTTP calls the emulator saw (faulted ones
included), the minimum possible (HubSpot: ceil(N/100) list pages and batch
calls, ceil(N/200) search pages for changes; Salesforce: ceil(N/2000) query
pages, ceil(N/200) collection calls),
their ratio, records per second, and whether every record arrived or landed
exactly once (checked against the emulator's own state). Goal: ratio <= 1.05
clean, <= 1.3 faulty, every record exactly once. A second table sets the pull
into the store (SQLite by default, `--store-url` for PostgreSQL) against the
bare pull: records/s of each and their time ratio.

A third table pulls every Salesforce account of the same emulated org once
over REST (2,000 rows a call) and once through one Bulk API 2.0 query job
(the connector's route above `SALESFORCE_BULK_THRESHOLD`; 50,000 rows a
call): calls, records/s, and the ratios Bulk/REST. `--rest-vs-bulk` runs
only that table; the rows above keep Salesforce's full pulls on REST so
their minimum stays ceil(N/2000).
"""

from __future__ import annotations

import argparse
import math
import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from fastapi import FastAPI
from sqlmodel import Session, func, select
from starlette.types import Receive, Scope, Send

from connectors.base import AssignmentChange, CRMConnector, PushResult, Stream, VisitRecord
from emulators.faults import CONTROL_PREFIX, BudgetState, CRMFaultStyle
from emulators.seed import SeedOrg, generate_org
from emulators.server import serve

VISIT_PREFIX = "bench-visit-"


class InjectedFaults:
    """Answers a share of API calls the way an overloaded CRM does, and counts every call.

    It sits outside the emulator, so the calls it fails are counted here too:
    the count is what the connector really sent.
    """

    def __init__(self, app: FastAPI, style: CRMFaultStyle, *, share: float, seed: int) -> None:
        self.app = app
        self.style = style
        self.share = share
        self.rng = random.Random(seed)
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        self.calls += 1
        if self.share > 0 and self.style.is_api_call(path) and self.rng.random() < self.share:
            if self.rng.random() < 0.5:
                state = BudgetState(used=100, limit=100, window_seconds=10.0, window_remaining_seconds=5.0)
                response = self.style.over_budget(state)
            else:
                response = self.style.server_error(503)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


@dataclass(frozen=True)
class CRMUnderTest:
    """How to stand up one CRM's emulator and connector, and how to read its state back."""

    name: str
    page_size: int
    search_page_size: int  # an incremental pull's page: HubSpot search 200, SOQL 2,000
    batch_size: int
    make_app: Callable[[SeedOrg], FastAPI]
    style: Callable[[FastAPI], CRMFaultStyle]
    connect: Callable[[str], CRMConnector]
    assigned: Callable[[FastAPI, list[AssignmentChange]], int]
    visits_landed: Callable[[FastAPI, list[VisitRecord]], int]


# --------------------------------------------------------------------------- HubSpot


def hubspot() -> CRMUnderTest:
    from connectors.hubspot import HubSpotConnector
    from emulators.hubspot.app import HubSpotFaultStyle, create_hubspot_app
    from emulators.hubspot.org import HubSpotOrg

    def assigned(app: FastAPI, changes: list[AssignmentChange]) -> int:
        org: HubSpotOrg = app.state.org
        table = org.tables["companies"].live
        return sum(
            1
            for c in changes
            if table[c.account_id].properties.get("hubspot_owner_id") == c.owner_id
            and table[c.account_id].properties.get("territory") == c.territory
        )

    def visits_landed(app: FastAPI, visits: list[VisitRecord]) -> int:
        org: HubSpotOrg = app.state.org
        wanted = {v.key: v.account_id for v in visits}
        found: Counter[str] = Counter()
        for obj in org.tables["meetings"].live.values():
            key = obj.properties.get("territory_sync_visit_key")
            if key in wanted and wanted[key] in org.associated_ids("meetings", obj.id, "companies"):
                found[key] += 1
        return sum(1 for k in wanted if found[k] == 1)

    return CRMUnderTest(
        name="hubspot",
        page_size=100,
        search_page_size=200,
        batch_size=100,
        make_app=lambda org: create_hubspot_app(org),
        style=lambda app: HubSpotFaultStyle(),
        connect=lambda url: HubSpotConnector("pat-na1-bench", base_url=url),
        assigned=assigned,
        visits_landed=visits_landed,
    )


# --------------------------------------------------------------------------- Salesforce


def salesforce() -> CRMUnderTest:
    from connectors.salesforce import SalesforceConnector, SalesforceCredentials
    from emulators.salesforce.app import DEFAULT_DAILY_LIMIT, SalesforceFaultStyle, create_salesforce_app
    from emulators.salesforce.org import SalesforceOrg

    login = SalesforceCredentials(username="bench@acme.example", password="pw", security_token="tok")

    def assigned(app: FastAPI, changes: list[AssignmentChange]) -> int:
        org: SalesforceOrg = app.state.org
        ok = 0
        for c in changes:
            rec = org.get("Account", c.account_id) or {}
            ok += rec.get("OwnerId") == c.owner_id and rec.get("Territory__c") == c.territory
        return ok

    def visits_landed(app: FastAPI, visits: list[VisitRecord]) -> int:
        org: SalesforceOrg = app.state.org
        wanted = {v.key: v.account_id for v in visits}
        found: Counter[str] = Counter()
        for rec in org.find("Event"):
            key = rec.get("Visit_Key__c")
            if key in wanted and org.normalise_id(str(rec.get("WhatId"))) == org.normalise_id(
                wanted[key]
            ):
                found[key] += 1
        return sum(1 for k in wanted if found[k] == 1)

    return CRMUnderTest(
        name="salesforce",
        page_size=2000,
        search_page_size=2000,
        batch_size=200,
        make_app=lambda org: create_salesforce_app(org),
        style=lambda app: SalesforceFaultStyle(DEFAULT_DAILY_LIMIT),
        connect=lambda url: cast(
            CRMConnector, SalesforceConnector(login, base_url=url, quota_share=1.0, bulk_threshold=0)
        ),
        assigned=assigned,
        visits_landed=visits_landed,
    )


CRMS: dict[str, Callable[[], CRMUnderTest]] = {"hubspot": hubspot, "salesforce": salesforce}


# --------------------------------------------------------------------------- one run


@dataclass(frozen=True)
class Row:
    crm: str
    scenario: str
    step: str
    records: int
    calls: int
    minimum: int
    seconds: float
    exactly_once: bool

    @property
    def ratio(self) -> float:
        return self.calls / self.minimum if self.minimum else math.nan

    @property
    def per_second(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else math.inf


def drain_ids(pages: Iterator[Any]) -> list[str]:
    return [r.crm_id for page in pages for r in page.records]


def run_crm(
    crm: CRMUnderTest,
    org: SeedOrg,
    *,
    scenario: str,
    share: float,
    changes: int,
    visits: int,
    seed: int,
    store_url: Callable[[], str] | None = None,
) -> list[Row]:
    app = crm.make_app(org)
    wrapped = InjectedFaults(app, crm.style(app), share=share, seed=seed)
    rows: list[Row] = []
    with serve(wrapped) as running:
        connector = crm.connect(running.url)
        reps = [r.crm_id for page in connector.pull(Stream.REPS, None) for r in page.records if r.active]

        wrapped.calls = 0
        started = time.perf_counter()
        ids: list[str] = []
        cursor = ""
        for page in connector.pull(Stream.ACCOUNTS, None):
            ids += [r.crm_id for r in page.records]
            cursor = page.cursor
        seconds = time.perf_counter() - started
        n = len(org.accounts)
        rows.append(
            Row(
                crm.name, scenario, "pull accounts", len(ids), wrapped.calls,
                math.ceil(n / crm.page_size), seconds,
                len(ids) == n and len(set(ids)) == n,
            )
        )  # fmt: skip
        if store_url is not None:
            rows.append(pull_into_store(crm, scenario, wrapped, running.url, store_url(), n))

        targets = ids[:changes]
        assignment_changes = [
            AssignmentChange(
                key=f"bench-assign-{i}",
                account_id=account,
                owner_id=reps[(i * 7 + 3) % len(reps)],
                territory=f"Bench-{i % 40:02d}",
            )
            for i, account in enumerate(targets)
        ]
        rows.append(
            timed_push(
                crm, scenario, "push assignments", wrapped, len(assignment_changes),
                lambda: connector.push_assignments(assignment_changes),
                lambda: crm.assigned(app, assignment_changes),
            )
        )  # fmt: skip

        start = datetime(2031, 1, 6, 8, 0, tzinfo=UTC)
        planned = [
            VisitRecord(
                key=f"{VISIT_PREFIX}{i}",
                account_id=account,
                owner_id=reps[i % len(reps)],
                start=start + timedelta(days=i // 8, hours=i % 8),
                end=start + timedelta(days=i // 8, hours=i % 8, minutes=45),
                subject="Planned visit",
            )
            for i, account in enumerate(ids[:visits])
        ]
        rows.append(
            timed_push(
                crm, scenario, "push visits", wrapped, len(planned),
                lambda: connector.push_visits(planned),
                lambda: crm.visits_landed(app, planned),
            )
        )  # fmt: skip

        # The assignments touched `changes` accounts: an incremental pull returns exactly those.
        wrapped.calls = 0
        started = time.perf_counter()
        changed = drain_ids(connector.pull(Stream.ACCOUNTS, cursor))
        seconds = time.perf_counter() - started
        rows.append(
            Row(
                crm.name, scenario, "pull changes", len(changed), wrapped.calls,
                math.ceil(len(targets) / crm.search_page_size), seconds,
                sorted(changed) == sorted(targets),
            )
        )  # fmt: skip
        connector.close()
    return rows


def pull_into_store(
    crm: CRMUnderTest, scenario: str, wrapped: InjectedFaults, url: str, database_url: str, n: int
) -> Row:
    """The daemon's own full pull of the accounts into an empty store: connector, intake and upsert."""
    from sync import pipeline
    from sync.settings import load_settings
    from sync.store import AccountRow
    from sync.store.schema import upgrade

    settings = load_settings(
        database_url=database_url,
        celery_broker_url=None,
        redis_url=None,
        hubspot_access_token="pat-na1-bench",
        salesforce_username="bench@acme.example",
    )
    upgrade(database_url)
    ctx = pipeline.Context.from_settings(settings)
    ctx.connector_factory = lambda org, _settings: crm.connect(url)
    wrapped.calls = 0
    started = time.perf_counter()
    pipeline.pull(crm.name, ctx=ctx, streams=("accounts",))
    seconds = time.perf_counter() - started
    with Session(ctx.engine) as session:
        stored = session.exec(select(func.count()).select_from(AccountRow)).one()
    ctx.engine.dispose()
    return Row(
        crm.name, scenario, "pull -> store", stored, wrapped.calls,
        math.ceil(n / crm.page_size), seconds, stored == n,
    )  # fmt: skip


def print_store_table(rows: list[Row]) -> None:
    """The pull into the store against the bare pull of the same run."""
    bare = {(r.crm, r.scenario): r for r in rows if r.step == "pull accounts"}
    stored = [r for r in rows if r.step == "pull -> store"]
    if not stored:
        return
    header = f"{'crm':<11}{'scenario':<10}{'bare records/s':>16}{'store records/s':>17}{'time ratio':>12}"
    print()
    print(header)
    print("-" * len(header))
    for r in stored:
        peer = bare[(r.crm, r.scenario)]
        print(
            f"{r.crm:<11}{r.scenario:<10}{peer.per_second:>16.0f}{r.per_second:>17.0f}"
            f"{r.seconds / peer.seconds:>12.2f}"
        )


def timed_push(
    crm: CRMUnderTest,
    scenario: str,
    step: str,
    wrapped: InjectedFaults,
    n: int,
    push: Callable[[], PushResult],
    landed: Callable[[], int],
) -> Row:
    wrapped.calls = 0
    started = time.perf_counter()
    result = push()
    seconds = time.perf_counter() - started
    once = len(result.done) == n and landed() == n
    return Row(crm.name, scenario, step, n, wrapped.calls, math.ceil(n / crm.batch_size), seconds, once)


def print_table(rows: list[Row]) -> None:
    header = (
        f"{'crm':<11}{'scenario':<10}{'step':<18}{'records':>9}{'calls':>8}{'minimum':>9}"
        f"{'ratio':>8}{'records/s':>11}  exactly once"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r.crm:<11}{r.scenario:<10}{r.step:<18}{r.records:>9}{r.calls:>8}{r.minimum:>9}"
            f"{r.ratio:>8.3f}{r.per_second:>11.0f}  {'yes' if r.exactly_once else 'NO'}"
        )


# --------------------------------------------------------------------------- REST vs Bulk


@dataclass(frozen=True)
class FullPull:
    """One full pull of every Salesforce account along one API."""

    api: str
    records: int
    calls: int
    seconds: float
    exactly_once: bool

    @property
    def per_second(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else math.inf


def rest_vs_bulk(org: SeedOrg) -> list[FullPull]:
    """The same org pulled over REST and through Bulk API 2.0, calls counted in front of the emulator."""
    from connectors.salesforce import SalesforceConnector, SalesforceCredentials
    from emulators.salesforce.app import DEFAULT_DAILY_LIMIT, SalesforceFaultStyle, create_salesforce_app

    login = SalesforceCredentials(username="bench@acme.example", password="pw", security_token="tok")
    app = create_salesforce_app(org)
    counted = InjectedFaults(app, SalesforceFaultStyle(DEFAULT_DAILY_LIMIT), share=0.0, seed=0)
    n = len(org.accounts)
    pulls: list[FullPull] = []
    with serve(counted) as running:
        for api, threshold in (("REST", 0), ("Bulk 2.0", 1)):
            # The emulator runs a query job's SOQL inside the create call: a big org needs time there.
            connector = SalesforceConnector(
                login, base_url=running.url, quota_share=1.0, bulk_threshold=threshold, timeout=900.0
            )
            counted.calls = 0
            started = time.perf_counter()
            ids = drain_ids(connector.pull(Stream.ACCOUNTS, None))
            seconds = time.perf_counter() - started
            once = len(ids) == n and len(set(ids)) == n
            pulls.append(FullPull(api, len(ids), counted.calls, seconds, once))
            connector.close()
    return pulls


def print_rest_vs_bulk(pulls: list[FullPull]) -> None:
    header = f"{'salesforce full pull':<22}{'records':>9}{'calls':>8}{'records/s':>11}  exactly once"
    print()
    print(header)
    print("-" * len(header))
    for p in pulls:
        print(
            f"{p.api:<22}{p.records:>9}{p.calls:>8}{p.per_second:>11.0f}  {'yes' if p.exactly_once else 'NO'}"
        )
    rest, bulk = pulls
    print(
        f"{'ratio Bulk / REST':<22}{'':>9}{bulk.calls / rest.calls:>8.3f}"
        f"{bulk.per_second / rest.per_second:>11.2f}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sync", description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=60)
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--visits", type=int, default=10_000)
    parser.add_argument("--fault-share", type=float, default=0.10)
    parser.add_argument("--crm", nargs="+", choices=sorted(CRMS), default=["hubspot", "salesforce"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--store-url", default=None, help="Store of the pull -> store step (default: a fresh SQLite file)"
    )
    parser.add_argument("--no-store", action="store_true", help="Skip the pull -> store step")
    parser.add_argument(
        "--rest-vs-bulk", action="store_true", help="Only the Salesforce REST vs Bulk API 2.0 full pulls"
    )
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    stores = iter(range(1_000_000))

    def store_url() -> str:
        return args.store_url or f"sqlite:///{scratch / f'store-{next(stores)}.db'}"

    started = time.perf_counter()
    org = generate_org(args.accounts, args.reps, seed=args.seed)
    print(f"seeded {len(org.accounts)} accounts, {len(org.reps)} reps, {len(org.activities)} "
          f"activities in {time.perf_counter() - started:.1f}s")  # fmt: skip
    if args.rest_vs_bulk:
        print_rest_vs_bulk(rest_vs_bulk(org))
        return
    rows: list[Row] = []
    for name in args.crm:
        crm = CRMS[name]()
        for scenario, share in (("clean", 0.0), (f"{args.fault_share:.0%} fault", args.fault_share)):
            rows += run_crm(
                crm, org, scenario=scenario, share=share,
                changes=args.changes, visits=args.visits, seed=args.seed,
                store_url=None if args.no_store else store_url,
            )  # fmt: skip
    print()
    print_table(rows)
    print_store_table(rows)
    if "salesforce" in args.crm:
        print_rest_vs_bulk(rest_vs_bulk(org))


if __name__ == "__main__":
    main()
