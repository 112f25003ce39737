"""`tsync demo`: the whole job on one laptop, with no services and no credentials.

Starts both CRM emulators in-process with seeded orgs that have drifted the
way real orgs do, points the real connectors at them, runs pull → plan → push
on a fresh SQLite store with in-process tasks, and shows what changed: the
balance before and after, a map, a chart, and what was written to each CRM.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from connectors.base import CRMKind
from emulators.hubspot import create_hubspot_app
from emulators.salesforce import create_salesforce_app
from emulators.seed import SeedOrg, generate_org, write_team_file
from emulators.server import RunningServer, serve
from sync import pipeline
from sync.console import ProgressSink, print_balance, progress_bars
from sync.crm import configured_orgs
from sync.settings import Settings, load_settings
from sync.store import RunTrigger
from sync.store.schema import upgrade

DEMO_TEAM_FILE = "demo-team.csv"


@dataclass(frozen=True)
class DemoSize:
    salesforce_accounts: int = 3000
    salesforce_reps: int = 25
    hubspot_accounts: int = 600
    hubspot_reps: int = 6
    seed: int = 7
    plan_seconds: float = 20.0
    weeks: int = 2


@dataclass
class DemoResult:
    settings: Settings
    runs: dict[CRMKind, pipeline.RunSummary]
    written: dict[CRMKind, dict[str, int]]
    outputs: dict[str, Path]
    seconds: float


def demo_orgs(size: DemoSize) -> tuple[SeedOrg, SeedOrg]:
    """The Salesforce and HubSpot orgs, staffed as real ones are (admin, integration user, ...)."""
    return (
        generate_org(size.salesforce_accounts, size.salesforce_reps, seed=size.seed, metros=3, staff=True),
        generate_org(size.hubspot_accounts, size.hubspot_reps, seed=size.seed + 1, metros=1, staff=True),
    )


def write_demo_team_file(orgs: tuple[SeedOrg, ...], path: Path) -> Path:
    """One team file for both CRMs: each org's field reps, as ops would keep it."""
    lines: list[str] = []
    for k, org in enumerate(orgs):
        part = write_team_file(org, path.with_name(f"{path.stem}-{k}.csv"))
        text = part.read_text(encoding="utf-8").splitlines()
        lines.extend(text if k == 0 else text[1:])
        part.unlink()
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@contextmanager
def emulators(
    size: DemoSize, orgs: tuple[SeedOrg, SeedOrg] | None = None
) -> Iterator[tuple[RunningServer, RunningServer, Any, Any]]:
    """Both CRMs, seeded, on loopback ports; yields the servers and their apps."""
    sf_org, hs_org = orgs or demo_orgs(size)
    sf_app = create_salesforce_app(sf_org)
    hs_app = create_hubspot_app(hs_org)
    with ExitStack() as stack:
        sf = stack.enter_context(serve(sf_app))
        hs = stack.enter_context(serve(hs_app))
        yield sf, hs, sf_app, hs_app


def demo_settings(out_dir: Path, sf_url: str, hs_url: str, size: DemoSize) -> Settings:
    """The demo's settings: its field team is the team file beside its store (`demo-team.csv`), and its
    approved moves take effect at once (a policy with no transition days)."""
    policy = out_dir / "demo-policy.toml"
    policy.write_text("[transition]\ndays = 0  # the demo's approved moves take effect at once\n")
    return load_settings(
        team_file=str(out_dir / DEMO_TEAM_FILE),
        policy_file=str(policy),
        database_url=f"sqlite:///{out_dir / 'demo.db'}",
        celery_broker_url=None,
        redis_url=None,
        salesforce_username="ops@demo.example",
        salesforce_password="demo-password",
        salesforce_security_token="",
        salesforce_base_url=sf_url,
        hubspot_access_token="pat-demo-token",
        hubspot_base_url=hs_url,
        plan_seconds=size.plan_seconds,
        plan_weeks=size.weeks,
        plan_seed=size.seed,
        # The emulators serve one org each at loopback speed: a generous budget keeps the demo quick.
        salesforce_requests_per_second=500.0,
        hubspot_requests_per_10s=5000,
        territory_changes="auto",  # the demo approves its own proposals (and says so)
    )


def run_demo(out_dir: Path, *, size: DemoSize | None = None, console: Console | None = None) -> DemoResult:
    from sync.views import balance_chart, load_plan_view
    from sync.web.plan_pages import write_map_file

    size = size or DemoSize()
    console = console or Console()
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "demo.db").unlink(missing_ok=True)
    console.print(
        f"[bold]territory-sync demo[/]: a Salesforce org of {size.salesforce_accounts:,} accounts and "
        f"{size.salesforce_reps} reps, a HubSpot portal of {size.hubspot_accounts:,} companies and "
        f"{size.hubspot_reps} owners, both emulated on this machine. Rebalancing proposals are "
        "approved at once (TERRITORY_CHANGES=auto) and take effect at once ([transition] days = 0); "
        "in production they wait for `tsync approve` and a transition date."
    )
    seeded = demo_orgs(size)
    team_file = write_demo_team_file(seeded, out_dir / DEMO_TEAM_FILE)
    console.print(
        f"The field team is {team_file} (TEAM_FILE): the orgs' admins, integration users, managers "
        "and inside sales are not on it, so the accounts they own go to field reps."
    )
    with emulators(size, seeded) as (sf, hs, sf_app, hs_app):
        settings = demo_settings(out_dir, sf.url, hs.url, size)
        upgrade(settings.database_url)
        ctx = pipeline.Context.from_settings(settings)
        runs: dict[CRMKind, pipeline.RunSummary] = {}
        orgs = {org.kind: org for org in configured_orgs(settings)}
        for kind in (CRMKind.SALESFORCE, CRMKind.HUBSPOT):
            org_id = orgs[kind].id
            with progress_bars(f"{org_id}: ", console) as progress:
                runs[kind] = pipeline.run_all(
                    org_id, ctx=ctx, trigger=RunTrigger.DEMO, progress=ProgressSink(progress)
                )
            console.print(_run_line(org_id, runs[kind]))
        written = {
            CRMKind.SALESFORCE: _salesforce_written(sf_app),
            CRMKind.HUBSPOT: _hubspot_written(hs_app),
        }
    view = load_plan_view(ctx.engine, plan_run_id=runs[CRMKind.SALESFORCE].plan.plan_run_id)
    print_balance(view, console)  # the same tables `tsync report` prints
    outputs = {"map": out_dir / "territories.html", "chart": out_dir / "balance.png"}
    write_map_file(view, outputs["map"])
    balance_chart(view, outputs["chart"])
    hs_view = load_plan_view(ctx.engine, plan_run_id=runs[CRMKind.HUBSPOT].plan.plan_run_id)
    outputs["hubspot_map"] = out_dir / "territories-hubspot.html"
    write_map_file(hs_view, outputs["hubspot_map"])
    _print_written(console, written)
    seconds = time.perf_counter() - started
    console.print(
        f"\nWrote {outputs['map']}, {outputs['hubspot_map']} and {outputs['chart']} in {seconds:.0f} s. "
        f"The store is {out_dir / 'demo.db'}: try `DATABASE_URL=sqlite:///{out_dir / 'demo.db'} tsync runs`."
    )
    return DemoResult(settings, runs, written, outputs, seconds)


def _run_line(org_id: str, run: pipeline.RunSummary) -> str:
    push = run.push.report if run.push else None
    return (
        f"[green]✓[/] {org_id}: pulled {run.pull.counts.get('accounts', 0):,} accounts, "
        f"{run.pull.counts.get('reps', 0)} reps, {run.pull.counts.get('activities', 0):,} activities "
        f"({run.pull.counts.get('issues', 0)} data issues reported by id); "
        f"moved {run.plan.moves} accounts, planned {run.plan.visits:,} visits; "
        f"pushed {push.done if push else 0:,} changes ({push.rejected if push else 0} rejected)"
    )


def _salesforce_written(app: Any) -> dict[str, int]:
    org = app.state.org
    accounts = org.find("Account")
    return {
        "accounts with a territory": sum(1 for a in accounts if a.get("Territory__c")),
        "planned visit events": sum(1 for e in org.find("Event") if e.get("Visit_Key__c")),
    }


def _hubspot_written(app: Any) -> dict[str, int]:
    portal = app.state.org

    def having(object_type: str, prop: str) -> int:
        return sum(1 for i in portal.ids(object_type) if portal.properties_of(object_type, i).get(prop))

    return {
        "companies with a territory": having("companies", "territory"),
        "planned visit meetings": having("meetings", "territory_sync_visit_key"),
    }


def _print_written(console: Console, written: dict[CRMKind, dict[str, int]]) -> None:
    console.print("\n[bold]What reps will see in their CRM[/]")
    sf, hs = written[CRMKind.SALESFORCE], written[CRMKind.HUBSPOT]
    console.print(
        f"  Salesforce: Account Owner and the Territory field on {sf['accounts with a territory']:,} "
        f"accounts; {sf['planned visit events']:,} Events (subject 'Visit: …') on reps' calendars "
        "and account timelines."
    )
    console.print(
        f"  HubSpot: Company owner and the 'Territory' property on {hs['companies with a territory']:,} "
        f"companies; {hs['planned visit meetings']:,} meetings on the company timelines."
    )
