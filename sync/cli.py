"""`tsync`: the command line of territory-sync (Typer), a map from commands to `sync` functions.

Each command parses its options, calls one function of `sync/` (or of
`emulators/` for `tsync emulator`) and hands the result to `sync/console.py`,
which prints it. Heavy imports happen inside the commands so `tsync --help`
stays fast.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from connectors.base import FieldMapError
from sync.console import ProgressSink, console, err_console, progress_bars
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
outbox_app = typer.Typer(help="Inspect and recover the push outbox.", no_args_is_help=True)
app.add_typer(outbox_app, name="outbox")

roads_app = typer.Typer(help="Road data for the routing engines.", no_args_is_help=True)
app.add_typer(roads_app, name="roads")

OrgOption = typer.Option(None, "--org", "--crm", help="An org's id (default: every configured org)")


def fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


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


def _engine() -> Any:
    from sync.store import engine_for

    return engine_for(get_settings().database_url)


# --------------------------------------------------------------------------- set-up and try-out


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
    from connectors.base import CRMKind
    from emulators.seed import generate_org
    from emulators.server import serve_forever
    from sync.console import print_hubspot_emulator, print_salesforce_emulator

    try:
        kind = CRMKind(crm)
    except ValueError:
        raise fail("CRM must be salesforce or hubspot") from None
    org = generate_org(accounts, reps, seed=seed, metros=metros)
    url = f"http://{host}:{port}"
    if kind is CRMKind.SALESFORCE:
        from emulators.salesforce import SalesforceOrgCredentials, create_salesforce_app

        creds = SalesforceOrgCredentials(username, password or "", token or "") if username else None
        web_app = create_salesforce_app(org, credentials=creds)
        print_salesforce_emulator(url, accounts, reps, username)
    else:
        from emulators.hubspot import create_hubspot_app

        web_app = create_hubspot_app(org, access_token=token)
        print_hubspot_emulator(url, accounts, reps, token_required=token is not None)
    serve_forever(web_app, host, port)


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
    field_map: Path | None = typer.Option(
        None, "--field-map", envvar="FIELD_MAP", help="Field map TOML: its [csv] names the accounts columns"
    ),
    mode: str = typer.Option("minimal", "--mode", help="minimal (nightly) or full (clean redesign)"),
    seconds: float = typer.Option(30.0, "--seconds", help="Time limit for the solver"),
    seed: int = typer.Option(0, "--seed", help="Same seed and inputs, same plan"),
    call_plans: bool = typer.Option(False, "--call-plans", help="Also plan each rep's dated visits"),
    start: str | None = typer.Option(None, "--start", help="First day of the call plans, YYYY-MM-DD"),
    weeks: int = typer.Option(13, "--weeks", help="Weeks of call plans"),
    csv_dir: Path | None = typer.Option(None, "--csv", help="With --call-plans: one CSV per rep in DIR"),
    routing_engine: str | None = typer.Option(
        None, "--routing-engine", help="haversine, valhalla-local, valhalla or osrm (default: ROUTING_ENGINE)"
    ),
) -> None:
    """Plan territories from spreadsheet exports, with no CRM: CSV in, plan.json out."""
    from sync.console import print_plan_file
    from sync.planfile import (
        PlanFileError,
        load_policy,
        plan_spreadsheets,
        print_input_problems,
        write_document,
    )
    from sync.roads import RoutingNotReady, open_roads

    if mode not in ("minimal", "full"):
        raise fail(f"--mode must be minimal or full, not {mode!r}")
    if csv_dir is not None and not call_plans:
        raise fail("--csv writes the call plans: give --call-plans --start YYYY-MM-DD too")
    first_day = _call_plans_start(start, weeks) if call_plans else None
    try:
        travel = open_roads(get_settings(), load_policy(policy), engine=routing_engine)
        plan, document = plan_spreadsheets(
            accounts,
            reps,
            policy_toml=policy,
            field_map_toml=field_map,
            mode="full" if mode == "full" else "minimal",
            seconds=seconds,
            seed=seed,
            call_plans_from=first_day,
            weeks=weeks,
            csv_dir=csv_dir,
            travel=travel,
        )
    except (PlanFileError, RoutingNotReady) as exc:
        raise fail(str(exc)) from None
    write_document(document, out)
    print_input_problems(document.get("problems", []))
    print_plan_file(plan, str(out))


@roads_app.command("build")
def roads_build(
    pbf: Path = typer.Option(..., "--pbf", help="An OpenStreetMap extract (.osm.pbf)"),
    tiles: Path = typer.Option(..., "--tiles", help="The tiles directory to build (replaced when done)"),
) -> None:
    """Build Valhalla routing tiles from an OSM extract, for ROUTING_ENGINE=valhalla-local."""
    import time

    from connectors.roads import TilesError, build_tiles, tiles_version

    started = time.perf_counter()
    try:
        manifest = build_tiles(pbf, tiles)
    except TilesError as exc:
        raise fail(str(exc)) from None
    seconds = time.perf_counter() - started
    console.print(
        f"{manifest.tiles} tiles from {manifest.source} in {tiles} in {seconds:.1f} s; "
        f"tiles version [bold]{tiles_version(tiles)}[/]",
        highlight=False,
        soft_wrap=True,
    )


def _call_plans_start(start: str | None, weeks: int) -> date:
    try:
        first_day = date.fromisoformat(start or "")
    except ValueError:
        raise fail(f"--call-plans needs --start YYYY-MM-DD, not {start!r}") from None
    if weeks < 1:
        raise fail("--weeks must be at least 1")
    return first_day


def main() -> None:
    """Console entry point: a bad setting is one line on stderr and exit code 2, not a traceback."""
    from sync.outages import describe_outage

    try:
        app()
    except (SettingsError, FieldMapError) as exc:  # a setting or field map to fix: one line
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except Exception as exc:  # a service down is one line (traceback with LOG_LEVEL=DEBUG), not 500 lines
        line = describe_outage(exc)
        if line is None:
            raise
        if os.environ.get("LOG_LEVEL", "").upper() == "DEBUG":
            err_console.print_exception(show_locals=False)
        err_console.print(f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True)
        sys.exit(1)


# --------------------------------------------------------------------------- the daemon


@app.command()
def pull(
    org: str | None = OrgOption,
    full: bool = typer.Option(False, "--full", help="Ignore cursors: pull everything, detect old deletes"),
    as_json: bool = typer.Option(False, "--json", help="Print counts as JSON"),
) -> None:
    """Pull accounts, reps, activities and open deals from the CRM into the store (incremental by default)."""
    from sync import pipeline

    out: dict[str, Any] = {}
    for org_id in _orgs(org):
        with progress_bars() as progress:
            summary = pipeline.pull(org_id, full=full, progress=ProgressSink(progress))
        out[org_id] = {**summary.headline(), "run_id": summary.run_id}
    if as_json:
        console.print_json(json.dumps(out))
        return
    for org_id, counts in out.items():
        console.print(f"[bold]{org_id}[/]: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@app.command()
def plan(org: str | None = OrgOption) -> None:
    """Rebalance territories and build call plans from what the store holds (no CRM calls)."""
    from sync import pipeline
    from sync.console import print_night

    for org_id in _orgs(org):
        with progress_bars() as progress:
            summary = pipeline.plan(org_id, progress=ProgressSink(progress))
        console.print(
            f"[bold]{org_id}[/]: plan run {summary.plan_run_id}: {summary.moves} moves, "
            f"{summary.visits} visits planned, {summary.unassigned} unassigned, "
            f"{summary.human_edits} human edits kept"
        )
        print_night(summary.night)


@app.command()
def push(
    org: str | None = OrgOption,
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would change per rep; write nothing"),
    as_json: bool = typer.Option(False, "--json", help="Print the diff or counts as JSON"),
    plan_run: int | None = typer.Option(None, "--plan-run", help="Push this plan run instead of the latest"),
) -> None:
    """Send the latest plan's changes to the CRM through the outbox (or preview them)."""
    from sync import pipeline
    from sync.console import print_diff, print_pushed
    from sync.transitions import print_held

    results: dict[str, Any] = {}
    for org_id in _orgs(org):
        if dry_run:
            diff = pipeline.preview(org_id, plan_run_id=plan_run)
            held = _held_moves(org_id)
            results[org_id] = {**diff.as_dict(), "transitions": [h.as_dict() for h in held]}
            if not as_json:
                print_diff(org_id, diff)
                print_held(held, console)
                _print_waiting(org_id)
            continue
        with progress_bars() as progress:
            summary = pipeline.push(org_id, plan_run_id=plan_run, progress=ProgressSink(progress))
        report = summary.report.as_dict()
        results[org_id] = {"plan_run_id": summary.plan_run_id, "queued": summary.queued, **report,
                           "held": summary.held}
        if not as_json:
            print_pushed(org_id, summary.report, summary.held)
    if as_json:
        console.print_json(json.dumps(results))


@app.command()
def run(
    once: bool = typer.Option(False, "--once", help="Run pull → plan → push once and exit"),
    org: str | None = OrgOption,
    dry_run: bool = typer.Option(False, "--dry-run", help="Stop after the diff; write nothing to the CRM"),
    full: bool = typer.Option(False, "--full", help="Full pull instead of incremental"),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
) -> None:
    """Run the whole pipeline: once, or nightly at NIGHTLY_AT in this process (embedded mode)."""
    from sync import pipeline
    from sync.console import print_diff, print_run

    if not once:
        _run_nightly()
        return
    results: dict[str, Any] = {}
    for org_id in _orgs(org):
        with progress_bars() as progress:
            summary = pipeline.run_all(org_id, dry_run=dry_run, full=full, progress=ProgressSink(progress))
        if summary.diff is not None:
            results[org_id] = summary.diff.as_dict()
            if not as_json:
                print_diff(org_id, summary.diff)
            continue
        assert summary.push is not None
        report = summary.push.report.as_dict()
        results[org_id] = {"run_id": summary.run_id, "plan_run_id": summary.plan.plan_run_id, **report,
                           "held": summary.push.held}
        if not as_json:
            print_run(org_id, summary)
    if as_json:
        console.print_json(json.dumps(results))


def _run_nightly() -> None:
    from sync.nightly import run_nightly

    settings = get_settings()
    if not settings.embedded:
        raise fail("a broker is configured: run `tsync worker` and `tsync beat` instead")
    _orgs(None)  # fail now, not at night, when no CRM is configured
    _routing_ready(settings)
    run_nightly(settings, say=console.print, warn=lambda text: err_console.print(f"[red]{text}[/]"))


def _routing_ready(settings: Any) -> None:
    """Fail now, not at night, when ROUTING_ENGINE cannot be opened (no tiles, no package)."""
    from sync.roads import RoutingNotReady, check_routing

    try:
        check_routing(settings)
    except RoutingNotReady as exc:
        raise fail(str(exc)) from None


@app.command()
def team(
    org: str | None = OrgOption,
    as_json: bool = typer.Option(False, "--json", help="Print the team as JSON"),
) -> None:
    """Who is planned (TEAM_FILE, the CRM's rule), with each rep's facts and what is missing."""
    from sync import pipeline
    from sync.console import print_team
    from sync.store import transaction
    from sync.team import load_field_team, team_document

    ctx = pipeline.default_context()
    out: dict[str, Any] = {}
    for org_id in _orgs(org):
        kind = ctx.org(org_id).kind
        with transaction(ctx.engine) as session:
            found = load_field_team(org_id, kind, ctx.settings, ctx.geocoder, session=session)
        out[org_id] = team_document(found)
        if not as_json:
            print_team(org_id, found)
    if as_json:
        console.print_json(json.dumps(out))


@app.command()
def resync(
    org: str | None = OrgOption,
    scope: str = typer.Option("full", "--scope", help="full, accounts or activities"),
) -> None:
    """Ask for a resync now: queued for the workers, or run here in embedded mode."""
    from sync import pipeline
    from sync.store import RunTrigger

    if scope not in ("full", "accounts", "activities"):
        raise fail("--scope must be full, accounts or activities")
    settings = get_settings()
    for org_id in _orgs(org):
        if not settings.embedded:
            from sync.dispatch import submit

            task = "tsync.run" if scope == "full" else "tsync.pull"
            kwargs: dict[str, Any] = {"org_id": org_id, "trigger": RunTrigger.RESYNC.value}
            if scope == "full":
                kwargs["full"] = True
            else:
                kwargs["streams"] = [scope]
            console.print(f"{org_id}: queued as task {submit(task, **kwargs)}")
        elif scope == "full":
            summary = pipeline.run_all(org_id, full=True, trigger=RunTrigger.RESYNC)
            console.print(f"{org_id}: run {summary.run_id} finished")
        else:
            pulled = pipeline.pull(org_id, streams=(scope,), trigger=RunTrigger.RESYNC)
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
    _routing_ready(settings)
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
    """Serve webhooks, /resync, /health, the plan pages (behind the sign-in) and /metrics."""
    from sync.web.server import serve_web

    serve_web(get_settings(), host=host, port=port, workers=workers)  # bad settings fail before forking


# --------------------------------------------------------------------------- history and the outbox


@app.command()
def runs(
    org: str | None = typer.Option(None, "--org", help="Only this org"),
    limit: int = typer.Option(20, "--limit", help="How many runs"),
    run_id: int | None = typer.Option(None, "--id", help="Show one run with its record issues"),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON"),
) -> None:
    """Run history: each pull, plan, push and full run with counts, retries and errors."""
    from sync.console import print_run_detail, print_runs
    from sync.runs import recent_runs, run_detail

    if run_id is None:
        rows = recent_runs(_engine(), org_id=org, limit=limit)
        if as_json:
            console.print_json(json.dumps([r.model_dump(mode="json") for r in rows]))
        else:
            print_runs(rows)
        return
    detail = run_detail(_engine(), run_id)
    if detail is None:
        raise fail(f"no run {run_id}")
    if as_json:
        console.print_json(json.dumps(detail.as_dict()))
    else:
        print_run_detail(detail)


@app.command()
def proposals(
    proposal_id: int | None = typer.Argument(None, help="Show this proposal: every move, its audit line"),
    org: str | None = typer.Option(None, "--org", help="Only this org"),
    limit: int = typer.Option(20, "--limit", help="How many proposals"),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON"),
    compare: tuple[int, int] | None = typer.Option(None, "--compare", help="Two proposals, side by side"),
) -> None:
    """Territory proposals: rebalancing moves waiting for approval, and what was decided."""
    if compare is not None:
        _compare(compare, as_json=as_json)
        return
    from sync.proposal_views import print_proposal, print_proposals, proposal_view, proposal_views
    from sync.proposals import ProposalNotFound, get_proposal
    from sync.store import transaction

    with transaction(_engine()) as session:
        try:
            views = (
                [proposal_view(get_proposal(proposal_id, session=session), session=session)]
                if proposal_id is not None
                else proposal_views(org_id=org, limit=limit, session=session)
            )
        except ProposalNotFound as exc:
            raise fail(str(exc)) from None
    if as_json:
        console.print_json(json.dumps([v.as_dict() for v in views]))
    elif proposal_id is not None:
        print_proposal(views[0], console)
    else:
        print_proposals(views, console)


def _held_moves(org_id: str) -> list[Any]:
    """Approved moves waiting for their transition date (the dry run shows each with its date)."""
    from sync.store import transaction
    from sync.transitions import held_views

    with transaction(_engine()) as session:
        return list(held_views(org_id, session=session))


def _compare(ids: tuple[int, int], *, as_json: bool) -> None:
    from sync.proposals import ProposalNotFound
    from sync.scenarios import compare, print_comparison
    from sync.store import transaction

    with transaction(_engine()) as session:
        try:
            pair = compare(*ids, session=session)
        except ProposalNotFound as exc:
            raise fail(str(exc)) from None
    if as_json:
        console.print_json(json.dumps([f.as_dict() for f in pair]))
    else:
        print_comparison(pair, console)


@app.command()
def propose(
    org: str | None = OrgOption,
    add_rep: list[str] = typer.Option([], "--add-rep", help="EMAIL,POSTAL_CODE of a rep to add (repeatable)"),
    remove_rep: list[str] = typer.Option([], "--remove-rep", help="EMAIL of a rep to leave out (repeatable)"),
    policy: Path | None = typer.Option(None, "--policy", help="Plan with this policy TOML instead"),
    mode: str = typer.Option("minimal", "--mode", help="full (a clean redesign) or minimal (fewest moves)"),
) -> None:
    """A scenario from the stored snapshot, stored as a proposal; the CRM is neither read nor written."""
    from sync.scenarios import NewRep, ScenarioError, ScenarioRequest
    from sync.scenarios import propose as propose_scenario

    if mode not in ("full", "minimal"):
        raise fail("--mode must be full or minimal")
    for org_id in _orgs(org):
        try:
            request = ScenarioRequest(
                add_reps=tuple(NewRep.parse(r) for r in add_rep), remove_reps=tuple(remove_rep),
                policy_file=policy, mode="full" if mode == "full" else "minimal",
            )  # fmt: skip
            p = propose_scenario(org_id, request)
        except ScenarioError as exc:
            raise fail(str(exc)) from None
        console.print(
            f"[bold]{escape(org_id)}[/]: proposal {p.id}: {escape(p.label)}: {len(p.diff.moves)} moves, "
            f"potential CV {p.metrics_before.potential.cv or 0:.3f} → "
            f"{p.metrics_after.potential.cv or 0:.3f}; "
            f"`tsync proposals --compare {p.id} <other>` puts it beside another"
        )


def _print_waiting(org_id: str) -> None:
    from sync.proposal_views import print_waiting
    from sync.store import transaction

    with transaction(_engine()) as session:
        print_waiting(org_id, console, session=session)


@app.command()
def approve(
    proposal_id: int = typer.Argument(..., help="The proposal's id (`tsync proposals`)"),
    by: str = typer.Option(..., "--by", help="Who approves (recorded with the decision)"),
    reason: str | None = typer.Option(None, "--reason", help="Why (recorded)"),
) -> None:
    """Approve a proposal: its moves that still hold are written to the CRM, each naming the proposal."""
    from sync.decide import approve_proposal
    from sync.proposals import NotDecidable, ProposalNotFound

    try:
        approval = approve_proposal(proposal_id, by, reason=reason)
    except (ProposalNotFound, NotDecidable) as exc:
        raise fail(str(exc)) from None
    d = approval.decision
    if d.effective_on is not None and d.status == "approved":  # held for its transition date
        console.print(
            f"proposal {d.proposal_id} approved by {escape(by)}: its moves take effect on {d.effective_on}, "
            "with a handoff visit of both reps before it (`tsync push --dry-run` lists them)"
        )
        return
    sent = (
        f"{approval.sent.done} CRM write(s) made (owners, and one Task per rep told)"
        if approval.sent else "the next `tsync push` sends them"
    )
    queued = f"{len(d.applied)} move(s) queued"
    console.print(f"proposal {d.proposal_id} approved by {escape(by)}: {queued}, {sent}")
    for dropped in d.dropped:
        console.print(f"  dropped {escape(dropped.account_id)}: {escape(dropped.why)}", highlight=False)


@app.command()
def reject(
    proposal_id: int = typer.Argument(..., help="The proposal's id (`tsync proposals`)"),
    by: str = typer.Option(..., "--by", help="Who rejects (recorded with the decision)"),
    reason: str = typer.Option(..., "--reason", help="Why (recorded)"),
) -> None:
    """Reject a proposal: nothing of it reaches the CRM; the decision is recorded."""
    from sync.decide import reject_proposal
    from sync.proposals import NotDecidable, ProposalNotFound

    try:
        reject_proposal(proposal_id, by, reason)
    except (ProposalNotFound, NotDecidable) as exc:
        raise fail(str(exc)) from None
    console.print(f"proposal {proposal_id} rejected by {escape(by)}: {escape(reason)}")


@outbox_app.command("list")
def outbox_list(
    status: str = typer.Option("parked", "--status", help="pending, retry, parked, done, superseded"),
    limit: int = typer.Option(50, "--limit"),
) -> None:
    """List outbox rows by status, with the CRM's own error for failed ones."""
    from sync.console import print_outbox
    from sync.outbox import outbox_rows
    from sync.store import OutboxStatus

    try:
        wanted = OutboxStatus(status)
    except ValueError:
        raise fail(f"--status must be one of {', '.join(s.value for s in OutboxStatus)}") from None
    print_outbox(status, outbox_rows(_engine(), wanted, limit=limit))


@outbox_app.command("retry")
def outbox_retry(
    ids: list[int] = typer.Argument(None, help="Outbox row ids (default: every parked row)"),
    org: str | None = typer.Option(None, "--org"),
) -> None:
    """Give parked changes a fresh set of attempts (after fixing the record in the CRM)."""
    from sync.outbox import requeue_parked

    n = requeue_parked(_engine(), org_id=org, item_ids=ids or ())
    console.print(f"{n} parked change(s) will be sent by the next push (`tsync push`).")


# --------------------------------------------------------------------------- looking at plans


@app.command()
def report(
    plan_run: int | None = typer.Option(None, "--plan-run", help="A stored plan run (default: the latest)"),
    org: str | None = typer.Option(None, "--org", help="Latest plan of this org"),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON"),
) -> None:
    """The balance report of a stored plan: per rep and per dimension, before and after."""
    from sync.console import print_balance
    from sync.views import load_plan_view, report_document

    try:
        view = load_plan_view(_engine(), plan_run_id=plan_run, org_id=org)
    except LookupError as exc:
        raise fail(str(exc)) from None
    if as_json:
        console.print_json(json.dumps(report_document(view)))
    else:
        print_balance(view)


@app.command("map")
def map_command(
    out: Path = typer.Option(..., "--out", help="HTML file to write"),
    plan_run: int | None = typer.Option(None, "--plan-run", help="A stored plan run (default: the latest)"),
    org: str | None = typer.Option(None, "--org"),
    rep: str | None = typer.Option(None, "--rep", help="Draw this rep's first week of routes"),
) -> None:
    """Write an interactive map of a stored plan: territories, homes, opportunity and a week of routes."""
    from sync.roads import RoutingNotReady, map_engine
    from sync.views import load_plan_view
    from sync.web.plan_pages import write_map_file

    try:
        roads = map_engine(get_settings())  # routes drawn along the roads of ROUTING_ENGINE
        view = load_plan_view(_engine(), plan_run_id=plan_run, org_id=org, route_rep=rep, roads=roads)
    except (LookupError, RoutingNotReady) as exc:
        raise fail(str(exc)) from None
    write_map_file(view, out)
    console.print(f"map of plan run {view.plan_run.id} written to {out}")


# --------------------------------------------------------------------------- users of the pages (H5)

users_app = typer.Typer(help="Manage who may sign in to the pages (USERS_FILE).", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("add")
def users_add(
    email: str = typer.Argument(..., help="The user's email (their sign-in name)"),
    role: str = typer.Option("viewer", "--role", help="viewer (sees plans) or approver (also decides)"),
    no_password: bool = typer.Option(
        False, "--no-password", help="Only a role, for AUTH_MODE=proxy (the SSO proxy signs them in)"
    ),
) -> None:
    """Add a user or change their role/password; the password is asked for (or read from stdin)."""
    from sync.web.users import Role, UsersFileError, add_user

    if role not in {r.value for r in Role}:
        raise fail("--role must be viewer or approver")
    password = None
    if not no_password:
        password = (
            typer.prompt("Password", hide_input=True, confirmation_prompt=True)
            if sys.stdin.isatty()
            else sys.stdin.readline().rstrip("\n")
        )
    path = Path(get_settings().users_file)
    try:
        user = add_user(path, email, Role(role), password)
    except UsersFileError as exc:
        raise fail(str(exc)) from None
    console.print(f"{user.email} is a {user.role} in {path}", highlight=False)


@users_app.command("remove")
def users_remove(email: str = typer.Argument(..., help="The user's email")) -> None:
    """Remove a user: their sessions end at their next request."""
    from sync.web.users import remove_user

    path = Path(get_settings().users_file)
    if not remove_user(path, email):
        raise fail(f"{email} is not in {path}")
    console.print(f"{email} removed from {path}", highlight=False)


@users_app.command("list")
def users_list() -> None:
    """Who may sign in, with their role."""
    from rich.markup import escape

    from sync.web.users import read_users

    for user in read_users(Path(get_settings().users_file)).values():
        how = "password" if user.password_hash else "proxy only"
        console.print(f"{escape(user.email)}  {user.role}  {how}")

