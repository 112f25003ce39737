"""`tsync`: the command line of territory-sync (Typer + Rich).

Commands stay thin: they parse options, call one function of `sync/` (or of
`connectors/emulators` for `tsync emulator`) and print what it returns.
Heavy imports happen inside the commands so `tsync --help` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from sync.settings import SettingsError, get_settings

app = typer.Typer(
    name="tsync",
    help="Keep CRM sales territories and call plans balanced, compact and executable.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals can hold credentials
)
db_app = typer.Typer(help="Manage the store's schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision")) -> None:
    """Apply the store's migrations (SQLite or PostgreSQL, from DATABASE_URL)."""
    from sync.store.schema import upgrade

    settings = get_settings()
    upgrade(settings.database_url, revision)
    console.print(f"store at {settings.safe_database_url()} is at revision [bold]{revision}[/]")


@app.command()
def demo(
    out: Path = typer.Option(Path("demo-out"), "--out", help="Where the map, chart and demo store go"),
    seconds: float = typer.Option(20.0, "--seconds", help="Time limit of each rebalance"),
) -> None:
    """Run the whole job on seeded, emulated Salesforce and HubSpot orgs with SQLite: no services needed."""
    from sync.demo import DemoSize, run_demo

    run_demo(out, size=DemoSize(plan_seconds=seconds), console=console)


@app.command()
def emulator(
    crm: str = typer.Argument(..., help="salesforce or hubspot"),
    port: int = typer.Option(8099, "--port", help="Port to listen on"),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on"),
    accounts: int = typer.Option(2_000, "--accounts", help="Seeded accounts/companies"),
    reps: int = typer.Option(20, "--reps", help="Seeded reps (Users/owners)"),
    seed: int = typer.Option(0, "--seed", help="Seed of the generated org"),
    metros: int | None = typer.Option(
        None, "--metros", help="A regional org around the N largest metros (default: nationwide)"
    ),
    username: str | None = typer.Option(None, "--username", help="Only this login works (Salesforce)"),
    password: str | None = typer.Option(None, "--password", help="Password for --username (Salesforce)"),
    token: str | None = typer.Option(
        None, "--token", help="Salesforce security token, or the only HubSpot bearer token accepted"
    ),
) -> None:
    """Serve a seeded local Salesforce or HubSpot API emulator in the foreground (Ctrl+C stops it)."""
    from emulators.seed import generate_org
    from emulators.server import serve_forever

    if crm not in ("salesforce", "hubspot"):
        raise fail("CRM must be salesforce or hubspot")
    org = generate_org(accounts, reps, seed=seed, metros=metros)
    url = f"http://{host}:{port}"
    if crm == "salesforce":
        from emulators.salesforce import SalesforceOrgCredentials, create_salesforce_app

        creds = None
        if username is not None:
            creds = SalesforceOrgCredentials(username, password or "", token or "")
        web = create_salesforce_app(org, credentials=creds)
        console.print(
            f"Salesforce emulator at {url} ({accounts:,} accounts, {reps} users; "
            f"{'only ' + username + ' logs in' if username else 'any login works'})\n"
            f"  curl -H 'Authorization: Bearer x' '{url}/services/data/v59.0/query/"
            "?q=SELECT+Id,Name,OwnerId+FROM+Account+LIMIT+5'\n"
            f"  curl {url}/__emulator/stats\n"
            "  python: Salesforce(username=..., password=..., security_token=..., "
            f"session=connectors.salesforce.client.RedirectingSession('{url}'))\n"
            f"  tsync: SALESFORCE_BASE_URL={url} SALESFORCE_USERNAME=... SALESFORCE_PASSWORD=...",
            highlight=False,
            soft_wrap=True,
        )
    else:
        from emulators.hubspot import create_hubspot_app

        web = create_hubspot_app(org, access_token=token)
        console.print(
            f"HubSpot emulator at {url} ({accounts:,} companies, {reps} owners; "
            f"{'only the given token' if token else 'any bearer token'} works)\n"
            f"  curl -H 'Authorization: Bearer pat-x' '{url}/crm/v3/objects/companies?limit=5'\n"
            f"  curl {url}/__emulator/stats\n"
            f"  python: HubSpot(access_token='pat-x', host='{url}')\n"
            f"  tsync: HUBSPOT_BASE_URL={url} HUBSPOT_ACCESS_TOKEN=pat-x",
            highlight=False,
            soft_wrap=True,
        )
    serve_forever(web, host, port)


@app.command("plan-file")
def plan_file(
    accounts: Path = typer.Option(
        ...,
        "--accounts",
        help="accounts.csv: id, name, lat, lon, tier, potential, effort, current_rep, locked, skills",
    ),
    reps: Path = typer.Option(
        ..., "--reps", help="reps.csv: id, name, home_lat, home_lon, skills, target_share"
    ),
    out: Path = typer.Option(..., "--out", help="plan.json to write"),
    policy: Path | None = typer.Option(None, "--policy", help="policy.toml (default: the defaults)"),
    mode: str = typer.Option("minimal", "--mode", help="minimal (nightly) or full (clean redesign)"),
    seconds: float = typer.Option(30.0, "--seconds", help="Time limit for the solver"),
    seed: int = typer.Option(0, "--seed", help="Same seed and inputs, same plan"),
    call_plans: bool = typer.Option(False, "--call-plans", help="Also plan each rep's dated visits"),
    start: str | None = typer.Option(None, "--start", help="First day of the call plans, YYYY-MM-DD"),
    weeks: int = typer.Option(13, "--weeks", help="Weeks of call plans"),
) -> None:
    """Plan territories from spreadsheet exports, with no CRM: CSV in, plan.json out."""
    from datetime import date

    from planner import build_call_plans
    from sync.planfile import (
        PlanFileError,
        call_plans_document,
        plan_document,
        plan_from_files,
        write_document,
    )

    if mode not in ("minimal", "full"):
        raise fail(f"--mode must be minimal or full, not {mode!r}")
    first_day = None
    if call_plans:
        try:
            first_day = date.fromisoformat(start or "")
        except ValueError:
            raise fail(f"--call-plans needs --start YYYY-MM-DD, not {start!r}") from None
        if weeks < 1:
            raise fail("--weeks must be at least 1")
    try:
        plan, account_list, rep_list, policy_used = plan_from_files(
            accounts,
            reps,
            policy_toml=policy,
            mode="full" if mode == "full" else "minimal",
            seconds=seconds,
            seed=seed,
        )
    except PlanFileError as exc:
        raise fail(str(exc)) from None
    document = plan_document(plan)
    if first_day is not None:
        document["call_plans"] = call_plans_document(
            build_call_plans(
                plan,
                account_list,
                rep_list,
                policy_used,
                start=first_day,
                weeks=weeks,
                seed=seed,
                time_limit=seconds,
            )
        )
    write_document(document, out)
    after = plan.after
    console.print(
        f"{len(plan.assignments):,} accounts assigned, {len(plan.unassigned):,} unassigned, "
        f"{len(plan.moves):,} moves ({plan.moved_share:.0%}); potential CV {after.potential.cv:.3f}, "
        f"workload CV {after.workload.cv:.3f}, max utilisation {after.max_utilisation:.0%}"
        + (f"; {plan.extra_reps_needed} more rep(s) needed" if plan.extra_reps_needed else "")
        + (f"; {len(plan.out_of_band)} rep(s) out of band or over capacity (see metrics.out_of_band)"
           if plan.out_of_band else "")
        + f" -> {out}",
        highlight=False,
        soft_wrap=True,
    )


def main() -> None:
    """Console entry point: a bad setting is one line on stderr and exit code 2, not a traceback."""
    try:
        app()
    except SettingsError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)


# --------------------------------------------------------------------------- the daemon

OrgOption = typer.Option(None, "--org", "--crm", help="salesforce or hubspot (default: every configured org)")


def _orgs(org: str | None) -> list[str]:
    from sync.crm import configured_orgs

    configured = [o.id for o in configured_orgs(get_settings())]
    if org is not None:
        if org not in configured:
            raise fail(f"org {org!r} is not configured; configured: {', '.join(configured) or 'none'}")
        return [org]
    if not configured:
        raise fail(
            "no CRM is configured: set SALESFORCE_* or HUBSPOT_* (see .env.example), or try `tsync demo`"
        )
    return configured


def _progress() -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


class _ProgressSink:
    """Adapts the pipeline's (what, n) progress callback to Rich tasks, one per stream."""

    def __init__(self, progress: Any) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}

    def __call__(self, what: str, n: int) -> None:
        if what not in self.tasks:
            self.tasks[what] = self.progress.add_task(what, total=None)
        self.progress.advance(self.tasks[what], n)


@app.command()
def pull(
    org: str | None = OrgOption,
    full: bool = typer.Option(False, "--full", help="Ignore cursors: pull everything, detect old deletes"),
    as_json: bool = typer.Option(False, "--json", help="Print counts as JSON"),
) -> None:
    """Pull accounts, reps and activities from the CRM into the store (incremental by default)."""
    import json

    from sync import pipeline

    out: dict[str, Any] = {}
    for org_id in _orgs(org):
        with _progress() as progress:
            summary = pipeline.pull(org_id, full=full, progress=_ProgressSink(progress))
        c = summary.counts
        out[org_id] = {
            "accounts": c.get("accounts", 0),
            "reps": c.get("reps", 0),
            "activities": c.get("activities", 0),
            "deleted": c.get("deleted", 0),
            "api_calls": c.get("api_calls", 0),
            "issues": c.get("issues", 0),
            "run_id": summary.run_id,
        }
    if as_json:
        console.print_json(json.dumps(out))
        return
    for org_id, counts in out.items():
        console.print(f"[bold]{org_id}[/]: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@app.command()
def plan(org: str | None = OrgOption) -> None:
    """Rebalance territories and build call plans from what the store holds (no CRM calls)."""
    from sync import pipeline

    for org_id in _orgs(org):
        with _progress() as progress:
            summary = pipeline.plan(org_id, progress=_ProgressSink(progress))
        console.print(
            f"[bold]{org_id}[/]: plan run {summary.plan_run_id}: {summary.moves} moves, "
            f"{summary.visits} visits planned, {summary.unassigned} unassigned, "
            f"{summary.human_edits} human edits kept"
        )


@app.command()
def push(
    org: str | None = OrgOption,
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would change per rep; write nothing"),
    as_json: bool = typer.Option(False, "--json", help="Print the diff or counts as JSON"),
    plan_run: int | None = typer.Option(None, "--plan-run", help="Push this plan run instead of the latest"),
) -> None:
    """Send the latest plan's changes to the CRM through the outbox (or preview them)."""
    import json

    from sync import pipeline

    results: dict[str, Any] = {}
    for org_id in _orgs(org):
        if dry_run:
            diff = pipeline.preview(org_id, plan_run_id=plan_run)
            results[org_id] = diff.as_dict()
            if not as_json:
                print_diff(org_id, diff.as_dict())
            continue
        with _progress() as progress:
            summary = pipeline.push(org_id, plan_run_id=plan_run, progress=_ProgressSink(progress))
        r = summary.report
        results[org_id] = {"plan_run_id": summary.plan_run_id, "queued": summary.queued, **r.__dict__}
        if not as_json:
            console.print(
                f"[bold]{org_id}[/]: {r.done} applied, {r.rejected} rejected, {r.retry} to retry, "
                f"{r.parked} parked ({r.api_calls} API calls)"
            )
    if as_json:
        console.print_json(json.dumps(results))


def print_diff(org_id: str, diff: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"{org_id}: what plan run {diff['plan_run_id']} would change", show_lines=False)
    for col_name in ("rep", "gained", "lost", "workload h/yr", "drive h/yr", "visits +", "visits −", "moved"):
        table.add_column(col_name, justify="left" if col_name == "rep" else "right")
    for rep in diff["reps"]:
        if not (
            rep["gained"]
            or rep["lost"]
            or rep["visits_added"]
            or rep["visits_removed"]
            or rep["visits_moved"]
        ):
            continue
        table.add_row(
            rep["name"],
            str(len(rep["gained"])),
            str(len(rep["lost"])),
            f"{rep['workload_hours_before']:.0f} → {rep['workload_hours_after']:.0f}",
            f"{rep['drive_hours_before']:.0f} → {rep['drive_hours_after']:.0f}",
            str(rep["visits_added"]),
            str(rep["visits_removed"]),
            str(rep["visits_moved"]),
        )
    console.print(table)
    console.print(
        f"{diff['assignment_changes']} account changes and {diff['visit_changes']} visit changes would be "
        f"written; {len(diff['left_alone'])} records changed by people are left alone."
    )
    shown = 0
    for rep in diff["reps"]:
        for gained in rep["gained"]:
            if shown < 10:
                console.print(
                    f"  {gained['name'] or gained['account_id']} → {rep['name']}: {gained['reason']}"
                )
                shown += 1
    if diff["assignment_changes"] > shown:
        console.print(f"  … and {diff['assignment_changes'] - shown} more (use --json for all)")


@app.command()
def run(
    once: bool = typer.Option(False, "--once", help="Run pull → plan → push once and exit"),
    org: str | None = OrgOption,
    dry_run: bool = typer.Option(False, "--dry-run", help="Stop after the diff; write nothing to the CRM"),
    full: bool = typer.Option(False, "--full", help="Full pull instead of incremental"),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
) -> None:
    """Run the whole pipeline: once, or nightly at NIGHTLY_AT in this process (embedded mode)."""
    import json

    from sync import pipeline

    if not once:
        _run_nightly_embedded()
        return
    results: dict[str, Any] = {}
    for org_id in _orgs(org):
        with _progress() as progress:
            summary = pipeline.run_all(org_id, dry_run=dry_run, full=full, progress=_ProgressSink(progress))
        if summary.diff is not None:
            results[org_id] = summary.diff.as_dict()
            if not as_json:
                print_diff(org_id, summary.diff.as_dict())
            continue
        assert summary.push is not None
        r = summary.push.report
        results[org_id] = {"run_id": summary.run_id, "plan_run_id": summary.plan.plan_run_id, **r.__dict__}
        if not as_json:
            console.print(
                f"[bold]{org_id}[/]: run {summary.run_id}: pulled {summary.pull.counts.get('accounts', 0)} "
                f"accounts, {summary.plan.moves} moves, {summary.plan.visits} visits; "
                f"{r.done} changes applied, {r.rejected} rejected, {r.parked} parked"
            )
    if as_json:
        console.print_json(json.dumps(results))


def _run_nightly_embedded() -> None:
    import time
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from sync import pipeline

    settings = get_settings()
    if not settings.embedded:
        raise fail("a broker is configured: run `tsync worker` and `tsync beat` instead")
    zone = ZoneInfo(settings.timezone)
    hour, minute = (int(p) for p in settings.nightly_at.split(":"))
    while True:
        now = datetime.now(zone)
        due = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if due <= now:
            due += timedelta(days=1)
        console.print(f"next run at {due.isoformat()} ({settings.timezone})")
        time.sleep((due - now).total_seconds())
        for org_id in _orgs(None):
            try:
                pipeline.run_all(org_id, trigger="nightly")
            except Exception as exc:  # one org failing must not stop the daemon; the run records why
                err_console.print(f"[red]{org_id}: run failed: {exc}[/]")


@app.command()
def runs(
    org: str | None = typer.Option(None, "--org", help="Only this org"),
    limit: int = typer.Option(20, "--limit", help="How many runs"),
    run_id: int | None = typer.Option(None, "--id", help="Show one run with its record issues"),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON"),
) -> None:
    """Run history: each pull, plan, push and full run with counts, retries and errors."""
    import json

    from rich.table import Table
    from sqlmodel import Session, select

    from sync.runs import recent_runs
    from sync.store import OutboxItem, OutboxStatus, RecordIssue, SyncRun, engine_for
    from sync.views import counts_summary

    engine = engine_for(get_settings().database_url)
    if run_id is not None:
        with Session(engine) as session:
            run_row = session.get(SyncRun, run_id)
            if run_row is None:
                raise fail(f"no run {run_id}")
            issues = session.exec(select(RecordIssue).where(RecordIssue.sync_run_id == run_id)).all()
            parked = session.exec(
                select(OutboxItem).where(
                    OutboxItem.org_id == run_row.org_id, OutboxItem.status == OutboxStatus.PARKED
                )
            ).all()
        if as_json:
            console.print_json(
                json.dumps(
                    {
                        "run": run_row.model_dump(mode="json"),
                        "issues": [
                            {"stream": i.stream, "crm_id": i.crm_id, "problem": i.problem} for i in issues
                        ],
                        "parked": [
                            {
                                "id": p.id,
                                "record": p.record_id,
                                "code": p.last_error_code,
                                "message": p.last_error,
                            }
                            for p in parked
                        ],
                    }
                )
            )
            return
        console.print(f"run {run_row.id} ({run_row.kind}, {run_row.org_id}): {run_row.status}")
        console.print(run_row.counts)
        if run_row.error_summary:
            console.print(f"[red]{run_row.error_summary}[/]")
        for issue in issues[:200]:
            console.print(f"  {issue.stream} {issue.crm_id}: {issue.problem}", highlight=False)
        if len(issues) > 200:
            console.print(f"  … {len(issues) - 200} more (use --json)")
        for p in parked:
            console.print(
                f"  [yellow]parked[/] #{p.id} {p.kind} {p.record_id}: {p.last_error_code} {p.last_error}"
            )
        return
    rows = recent_runs(engine, org_id=org, limit=limit)
    if as_json:
        console.print_json(json.dumps([r.model_dump(mode="json") for r in rows]))
        return
    table = Table(title="Run history", expand=False)
    table.add_column("id", justify="right")
    table.add_column("org")
    table.add_column("kind")
    table.add_column("status")
    table.add_column("started (UTC)")
    table.add_column("took", justify="right")
    table.add_column("what happened", overflow="fold")
    for r in rows:
        took = f"{(r.finished_at - r.started_at).total_seconds():.0f}s" if r.finished_at else "…"
        style = {"failed": "red", "partial": "yellow", "running": "cyan"}.get(r.status, "green")
        what = counts_summary(r.counts)
        if r.error_summary:
            what = f"{what}; [red]{r.error_summary[:160]}[/]" if what else f"[red]{r.error_summary[:160]}[/]"
        table.add_row(
            str(r.id),
            r.org_id,
            f"{r.kind} ({r.trigger})",
            f"[{style}]{r.status}[/]",
            r.started_at.strftime("%m-%d %H:%M"),
            took,
            what,
        )
    console.print(table)


outbox_app = typer.Typer(help="Inspect and recover the push outbox.", no_args_is_help=True)
app.add_typer(outbox_app, name="outbox")


@outbox_app.command("list")
def outbox_list(
    status: str = typer.Option("parked", "--status", help="pending, retry, parked, done, superseded"),
    limit: int = typer.Option(50, "--limit"),
) -> None:
    """List outbox rows by status, with the CRM's own error for failed ones."""
    from rich.table import Table
    from sqlmodel import Session, col, select

    from sync.store import OutboxItem, engine_for

    with Session(engine_for(get_settings().database_url)) as session:
        rows = session.exec(
            select(OutboxItem).where(OutboxItem.status == status).order_by(col(OutboxItem.id)).limit(limit)
        ).all()
    table = Table(title=f"outbox: {status}")
    for name in ("id", "org", "kind", "record", "attempts", "next attempt", "CRM error"):
        table.add_column(name)
    for r in rows:
        table.add_row(
            str(r.id),
            r.org_id,
            r.kind,
            r.record_id,
            str(r.attempts),
            r.next_attempt_at.isoformat() if r.next_attempt_at else "",
            f"{r.last_error_code or ''} {r.last_error or ''}".strip(),
        )
    console.print(table)


@outbox_app.command("retry")
def outbox_retry(
    ids: list[int] = typer.Argument(None, help="Outbox row ids (default: every parked row)"),
    org: str | None = typer.Option(None, "--org"),
) -> None:
    """Give parked changes a fresh set of attempts (after fixing the record in the CRM)."""
    from sync.outbox import requeue_parked
    from sync.store import engine_for

    n = requeue_parked(engine_for(get_settings().database_url), org_id=org, item_ids=ids or ())
    console.print(f"{n} parked change(s) will be sent by the next push (`tsync push`).")


@app.command()
def resync(
    org: str | None = OrgOption,
    scope: str = typer.Option("full", "--scope", help="full, accounts or activities"),
) -> None:
    """Ask for a resync now: queued for the workers, or run here in embedded mode."""
    from sync import pipeline

    if scope not in ("full", "accounts", "activities"):
        raise fail("--scope must be full, accounts or activities")
    settings = get_settings()
    for org_id in _orgs(org):
        if not settings.embedded:
            from sync.dispatch import submit

            task = "tsync.run" if scope == "full" else "tsync.pull"
            kwargs: dict[str, Any] = {"org_id": org_id, "trigger": "resync"}
            if scope == "full":
                kwargs["full"] = True
            else:
                kwargs["streams"] = [scope]
            console.print(f"{org_id}: queued as task {submit(task, **kwargs)}")
        elif scope == "full":
            summary = pipeline.run_all(org_id, full=True, trigger="resync")
            console.print(f"{org_id}: run {summary.run_id} finished")
        else:
            pulled = pipeline.pull(org_id, streams=(scope,), trigger="resync")
            console.print(f"{org_id}: pull run {pulled.run_id} finished")


@app.command()
def worker(
    queues: str = typer.Option("sync,planner", "--queues", "-Q", help="Queues to consume"),
    concurrency: int = typer.Option(2, "--concurrency", "-c"),
) -> None:
    """Start a Celery worker (`celery -A sync.celery_app worker`) on the configured broker."""
    from sync.celery_app import app as celery

    settings = get_settings()
    if settings.embedded:
        raise fail("CELERY_BROKER_URL is not set: in embedded mode tasks run in-process (`tsync run`)")
    prefixed = ",".join(settings.celery_queue_prefix + q.strip() for q in queues.split(","))
    celery.worker_main(["worker", "-Q", prefixed, "-c", str(concurrency), "--loglevel", settings.log_level])


@app.command()
def beat() -> None:
    """Start Celery beat: the nightly run of every configured org at NIGHTLY_AT."""
    from sync.celery_app import app as celery

    settings = get_settings()
    if settings.embedded:
        raise fail("CELERY_BROKER_URL is not set: `tsync run` schedules nightly runs in embedded mode")
    celery.start(["beat", "--loglevel", settings.log_level])


@app.command()
def web(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    workers: int = typer.Option(1, "--workers", help="uvicorn worker processes"),
) -> None:
    """Serve webhooks, /resync, /health, /metrics and the plan pages."""
    import uvicorn

    get_settings()  # fail fast on bad settings, before forking workers
    uvicorn.run(
        "sync.webhook:create_app", factory=True, host=host, port=port, workers=workers, log_level="info"
    )


# --------------------------------------------------------------------------- looking at plans


def print_balance(view: Any, out: Console | None = None) -> None:
    """The before/after table per rep and per dimension, thresholds highlighted."""
    out = out or console
    from rich.table import Table

    from sync.views import THRESHOLDS, balance_rows, dimension_rows

    per_rep = Table(title=f"Plan run {view.plan_run.id} ({view.plan_run.org_id}): per rep, before → after")
    for name in ("rep", "accounts", "potential $M", "workload h/yr", "utilisation", "drive h/yr"):
        per_rep.add_column(name, justify="left" if name == "rep" else "right")
    for r in balance_rows(view):
        util = r["utilisation"][1]
        style = "red" if util > 1.0 else ""
        per_rep.add_row(
            r["name"],
            f"{r['accounts'][0]} → {r['accounts'][1]}",
            f"{r['potential'][0] / 1e6:.1f} → {r['potential'][1] / 1e6:.1f}",
            f"{r['workload_hours'][0]:.0f} → {r['workload_hours'][1]:.0f}",
            f"{r['utilisation'][0]:.0%} → " + (f"[{style}]{util:.0%}[/]" if style else f"{util:.0%}"),
            f"{r['drive_hours'][0]:.0f} → {r['drive_hours'][1]:.0f}",
        )
    out.print(per_rep)
    dims = Table(
        title=(
            f"Balance (green meets the target: potential CV < {THRESHOLDS['potential_cv']}, "
            f"workload CV < {THRESHOLDS['workload_cv']}, Gini < {THRESHOLDS['gini']}, "
            f"min/max ≥ {THRESHOLDS['min_max']})"
        )
    )
    for name in ("dimension", "CV", "Gini", "min/max"):
        dims.add_column(name, justify="left" if name == "dimension" else "right")

    def fmt(pair: tuple[float | None, float | None], ok: bool) -> str:
        before = "–" if pair[0] is None else f"{pair[0]:.3f}"
        after = "–" if pair[1] is None else f"{pair[1]:.3f}"
        return f"{before} → [{'green' if ok else 'red'}]{after}[/]"

    for d in dimension_rows(view):
        dims.add_row(
            d["dimension"],
            fmt(d["cv"], d["cv_ok"]),
            fmt(d["gini"], d["gini_ok"]),
            fmt(d["min_max"], d["min_max_ok"]),
        )
    out.print(dims)


@app.command()
def report(
    plan_run: int | None = typer.Option(None, "--plan-run", help="A stored plan run (default: the latest)"),
    org: str | None = typer.Option(None, "--org", help="Latest plan of this org"),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON"),
) -> None:
    """The balance report of a stored plan: per rep and per dimension, before and after."""
    import json

    from sync.store import engine_for
    from sync.views import balance_rows, dimension_rows, load_plan_view

    try:
        view = load_plan_view(engine_for(get_settings().database_url), plan_run_id=plan_run, org_id=org)
    except LookupError as exc:
        raise fail(str(exc)) from None
    if as_json:
        console.print_json(
            json.dumps(
                {
                    "plan_run_id": view.plan_run.id,
                    "reps": balance_rows(view),
                    "dimensions": dimension_rows(view),
                    "summary": {k: v for k, v in view.plan_run.summary.items() if k != "coverage"},
                }
            )
        )
        return
    print_balance(view)


@app.command("map")
def map_command(
    out: Path = typer.Option(..., "--out", help="HTML file to write"),
    plan_run: int | None = typer.Option(None, "--plan-run", help="A stored plan run (default: the latest)"),
    org: str | None = typer.Option(None, "--org"),
    rep: str | None = typer.Option(None, "--rep", help="Draw this rep's first week of routes"),
) -> None:
    """Write an interactive map of a stored plan: territories, homes, opportunity and a week of routes."""
    from sync.store import engine_for
    from sync.views import load_plan_view, territory_map

    try:
        view = load_plan_view(
            engine_for(get_settings().database_url), plan_run_id=plan_run, org_id=org, route_rep=rep
        )
    except LookupError as exc:
        raise fail(str(exc)) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    territory_map(view).save(str(out))
    console.print(f"map of plan run {view.plan_run.id} written to {out}")
