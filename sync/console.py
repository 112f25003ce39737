"""What `tsync` prints: Rich tables and lines for diffs, balances, runs and the outbox.

Presentation only: every function takes what a `sync` module returned and
prints it. Text from a CRM (names, error messages) is escaped, so it is shown,
never read as Rich markup. Only Rich is imported up front, so `tsync --help`
stays fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

if TYPE_CHECKING:
    import planner
    from sync.diff import PlanDiff
    from sync.outbox import SendReport
    from sync.pipeline import RunSummary
    from sync.runs import RunDetail
    from sync.store import OutboxItem, SyncRun
    from sync.store.plan_summary import KeptAccount
    from sync.store.proposal_doc import NightDecision
    from sync.team import FieldTeam
    from sync.views import PlanView

console = Console()
err_console = Console(stderr=True)

RUN_STYLES = {"failed": "red", "partial": "yellow", "running": "cyan"}  # by RunStatus value


# --------------------------------------------------------------------------- progress


def progress_bars(label: str = "", out: Console | None = None) -> Progress:
    """Spinners and counts per pipeline step, on stderr, gone when done."""
    return Progress(
        SpinnerColumn(),
        TextColumn(label + "{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=out or err_console,
        transient=True,
    )


class ProgressSink:
    """Adapts the pipeline's (what, n) progress callback to Rich tasks, one per step."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}

    def __call__(self, what: str, n: int) -> None:
        if what not in self.tasks:
            self.tasks[what] = self.progress.add_task(what, total=None)
        self.progress.advance(self.tasks[what], n)


# --------------------------------------------------------------------------- runs


def print_pushed(org_id: str, report: SendReport, held: str | None = None) -> None:
    console.print(
        f"[bold]{escape(org_id)}[/]: {report.done} applied, {report.rejected} rejected, "
        f"{report.retry} to retry, {report.parked} parked ({report.api_calls} API calls)"
    )
    _print_held(held)


def _print_held(held: str | None) -> None:
    if held:
        console.print(f"[yellow]nothing written:[/] {escape(held)}", highlight=False, soft_wrap=True)


def print_run(org_id: str, summary: RunSummary) -> None:
    assert summary.push is not None
    r = summary.push.report
    console.print(
        f"[bold]{escape(org_id)}[/]: run {summary.run_id}: pulled {summary.pull.counts.get('accounts', 0)} "
        f"accounts, {summary.plan.moves} moves, {summary.plan.visits} visits; "
        f"{r.done} changes applied, {r.rejected} rejected, {r.parked} parked"
    )
    _print_held(summary.push.held)
    print_night(summary.plan.night)


def print_night(night: NightDecision) -> None:
    """What the night decided about owners: forced changes made, and the rebalance put to a person."""
    forced = f"  {night.forced} forced owner change(s) made"
    if night.proposal_id is not None:
        pid = night.proposal_id
        console.print(
            f"{forced}; proposal {pid}: {night.proposed} rebalancing move(s) (see `tsync proposals {pid}`)"
        )
    elif night.why_no_proposal:
        console.print(f"{forced}; no rebalance: {escape(night.why_no_proposal)}")


def print_diff(org_id: str, diff: PlanDiff) -> None:
    """Per rep, what the plan would change, then the first moves with their reasons."""
    table = Table(title=f"{escape(org_id)}: what plan run {diff.plan_run_id} would change", show_lines=False)
    columns = ("rep", "gained", "lost", "workload h/yr", "drive h/yr", "open pipeline $k", "visits +",
               "visits −", "moved")  # fmt: skip
    for name in columns:
        table.add_column(name, justify="left" if name == "rep" else "right")
    reps = diff.sorted_reps()
    for rep in reps:
        if not rep.changed:
            continue
        table.add_row(
            escape(rep.name),
            str(len(rep.gained)),
            str(len(rep.lost)),
            f"{rep.workload_hours[0]:.0f} → {rep.workload_hours[1]:.0f}",
            f"{rep.drive_hours[0]:.0f} → {rep.drive_hours[1]:.0f}",
            f"{rep.pipeline_before.amount / 1e3:,.0f} → {rep.pipeline_after.amount / 1e3:,.0f}",
            str(rep.visits_added),
            str(rep.visits_removed),
            str(rep.visits_moved),
        )
    console.print(table)
    console.print(
        f"{diff.assignment_changes} account changes, {diff.visit_changes} visit changes and "
        f"{diff.notices} rep notices would be written; {len(diff.left_alone)} records changed by "
        "people are left alone."
    )
    moves = [(rep, gained) for rep in reps for gained in rep.gained][:10]
    for rep, gained in moves:
        console.print(
            f"  {escape(gained.name or gained.account_id)} → {escape(rep.name)}: {escape(gained.reason)}"
        )
    if diff.assignment_changes > len(moves):
        console.print(f"  … and {diff.assignment_changes - len(moves)} more (use --json for all)")
    for note in diff.notes:
        console.print(f"[yellow]note:[/] {escape(note)}", highlight=False, soft_wrap=True)
    print_kept(diff.kept)


def print_team(org_id: str, team: FieldTeam) -> None:
    """Who is planned, from which source, with which facts, and what is missing."""
    from sync.team import member_facts

    where = " + ".join(
        p for p in (f"TEAM_FILE {team.team_file}" if team.team_file else "", team.rule or "") if p
    ) or "no team defined"
    table = Table(title=f"{escape(org_id)}: field team ({escape(where)})", show_lines=False)
    columns = ("rep", "email", "source", "home", "skills", "share", "overlay", "days", "hours",
               "days off", "zone", "holidays")
    for name in columns:
        table.add_column(name, overflow="fold")
    for m in team.members:
        f = member_facts(m)
        home = f"{f['home']} ({f['home_source']})" if f["home"] else f"[red]none[/] ({f['home_source']})"
        table.add_row(
            escape(m.name), escape(m.email or ""), m.source.value, home, escape(f["skills"]),
            f["target_share"], f["overlay"], f["working_days"], f["hours"], f["days_off"],
            escape(f["time_zone"]), f["holidays"],
        )
    console.print(table)
    console.print(f"{len(team.members)} rep(s) planned", highlight=False)
    for m in team.members:
        for problem in m.problems:
            console.print(f"  [yellow]{escape(m.name or m.crm_id)}[/]: {escape(problem)}", highlight=False)
    for x in team.missing:
        console.print(f"  [red]{escape(x.label)}[/] (team file line {x.line}): {x.why}", highlight=False)
    for note in team.notes:
        console.print(f"[yellow]note:[/] {escape(note)}", highlight=False, soft_wrap=True)


def print_kept(kept: Sequence[KeptAccount], out: Console | None = None, *, shown: int = 10) -> None:
    """The accounts left with their rep for an open deal, each with its deal."""
    out = out or console
    if not kept:
        return
    out.print(f"{len(kept)} accounts stay with their rep for an open deal:")
    for k in kept[:shown]:
        out.print(f"  {escape(k.account_name or k.account_id)}: {escape(k.reason)}")
    if len(kept) > shown:
        out.print(f"  … and {len(kept) - shown} more (use --json for all)")


def print_runs(rows: Sequence[SyncRun]) -> None:
    from sync.views import counts_summary

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
        style = RUN_STYLES.get(r.status, "green")
        what = counts_summary(r.counts)
        if r.error_summary:
            error = f"[red]{escape(r.error_summary[:160])}[/]"
            what = f"{what}; {error}" if what else error
        table.add_row(
            str(r.id),
            escape(r.org_id),
            f"{r.kind} ({r.trigger})",
            f"[{style}]{r.status}[/]",
            r.started_at.strftime("%m-%d %H:%M"),
            took,
            what,
        )
    console.print(table)


def print_run_detail(detail: RunDetail, *, issues_shown: int = 200) -> None:
    run = detail.run
    console.print(f"run {run.id} ({run.kind}, {escape(run.org_id)}): {run.status}")
    console.print(run.counts)
    if run.error_summary:
        console.print(f"[red]{escape(run.error_summary)}[/]")
    for issue in detail.issues[:issues_shown]:
        console.print(f"  {issue.stream} {escape(issue.crm_id)}: {escape(issue.problem)}", highlight=False)
    if len(detail.issues) > issues_shown:
        console.print(f"  … {len(detail.issues) - issues_shown} more (use --json)")
    for p in detail.parked:
        error = escape(f"{p.last_error_code} {p.last_error}")
        console.print(f"  [yellow]parked[/] #{p.id} {p.kind} {escape(p.record_id)}: {error}")


def print_outbox(status: str, rows: Sequence[OutboxItem]) -> None:
    from sync.store.outbox_payload import AssignmentPayload

    table = Table(title=f"outbox: {status}")
    for name in ("id", "org", "kind", "record", "proposal", "attempts", "next attempt", "CRM error"):
        table.add_column(name)
    for r in rows:
        proposal = r.payload.proposal_id if isinstance(r.payload, AssignmentPayload) else None
        table.add_row(
            str(r.id),
            escape(r.org_id),
            r.kind,
            escape(r.record_id),
            str(proposal) if proposal else "",
            str(r.attempts),
            r.next_attempt_at.isoformat() if r.next_attempt_at else "",
            escape(f"{r.last_error_code or ''} {r.last_error or ''}".strip()),
        )
    console.print(table)


# --------------------------------------------------------------------------- plans


def print_balance(view: PlanView, out: Console | None = None) -> None:
    """The before/after table per rep and per dimension, thresholds highlighted."""
    from sync.views import THRESHOLDS, balance_rows, dimension_rows

    out = out or console
    per_rep = Table(
        title=f"Plan run {view.plan_run.id} ({escape(view.plan_run.org_id)}): per rep, before → after"
    )
    columns = ("rep", "accounts", "potential $M", "workload h/yr", "utilisation", "drive h/yr",
               "open pipeline $k")  # fmt: skip
    for name in columns:
        per_rep.add_column(name, justify="left" if name == "rep" else "right")
    for r in balance_rows(view):
        util = r.utilisation[1]
        shown = f"[red]{util:.0%}[/]" if util > 1.0 else f"{util:.0%}"
        per_rep.add_row(
            escape(r.name),
            f"{r.accounts[0]} → {r.accounts[1]}",
            f"{r.potential[0] / 1e6:.1f} → {r.potential[1] / 1e6:.1f}",
            f"{r.workload_hours[0]:.0f} → {r.workload_hours[1]:.0f}",
            f"{r.utilisation[0]:.0%} → {shown}",
            f"{r.drive_hours[0]:.0f} → {r.drive_hours[1]:.0f}",
            f"{r.open_pipeline[0] / 1e3:,.0f} → {r.open_pipeline[1] / 1e3:,.0f}",
        )
    out.print(per_rep)
    print_kept(view.plan_run.summary.kept, out)
    dims = Table(
        title=(
            f"Balance (green meets the target: potential CV < {THRESHOLDS['potential_cv']}, "
            f"workload CV < {THRESHOLDS['workload_cv']}, Gini < {THRESHOLDS['gini']}, "
            f"min/max ≥ {THRESHOLDS['min_max']})"
        )
    )
    for name in ("dimension", "CV", "Gini", "min/max"):
        dims.add_column(name, justify="left" if name == "dimension" else "right")
    for d in dimension_rows(view):
        dims.add_row(
            d.dimension,
            _before_after(d.cv, d.cv_ok),
            _before_after(d.gini, d.gini_ok),
            _before_after(d.min_max, d.min_max_ok),
        )
    out.print(dims)
    from sync.roads import roads_line

    if line := roads_line(view.plan_run.summary.roads):
        out.print(escape(line), highlight=False)


def _before_after(pair: tuple[float | None, float | None], ok: bool) -> str:
    before = "–" if pair[0] is None else f"{pair[0]:.3f}"
    after = "–" if pair[1] is None else f"{pair[1]:.3f}"
    return f"{before} → [{'green' if ok else 'red'}]{after}[/]"


def print_plan_file(plan: planner.TerritoryPlan, out: str) -> None:
    """One line on a spreadsheet plan: what moved, how balanced it is, where it went."""
    after = plan.after
    line = (
        f"{len(plan.assignments):,} accounts assigned, {len(plan.unassigned):,} unassigned, "
        f"{len(plan.moves):,} moves ({plan.moved_share:.0%}); potential CV {after.potential.cv:.3f}, "
        f"workload CV {after.workload.cv:.3f}, max utilisation {after.max_utilisation:.0%}"
    )
    if plan.extra_reps_needed:
        line += f"; {plan.extra_reps_needed} more rep(s) needed"
    if plan.out_of_band:
        line += f"; {len(plan.out_of_band)} rep(s) out of band or over capacity (see metrics.out_of_band)"
    console.print(f"{line} -> {escape(out)}", highlight=False, soft_wrap=True)


# --------------------------------------------------------------------------- emulators


def print_salesforce_emulator(url: str, accounts: int, reps: int, username: str | None) -> None:
    who = f"only {username} logs in" if username else "any login works"
    console.print(
        f"Salesforce emulator at {url} ({accounts:,} accounts, {reps} users; {escape(who)})\n"
        f"  curl -H 'Authorization: Bearer x' '{url}/services/data/v59.0/query/"
        "?q=SELECT+Id,Name,OwnerId+FROM+Account+LIMIT+5'\n"
        f"  curl {url}/__emulator/stats\n"
        "  python: Salesforce(username=..., password=..., security_token=..., "
        f"session=connectors.salesforce.client.RedirectingSession('{url}'))\n"
        f"  tsync: SALESFORCE_BASE_URL={url} SALESFORCE_USERNAME=... SALESFORCE_PASSWORD=...",
        highlight=False,
        soft_wrap=True,
    )


def print_hubspot_emulator(url: str, accounts: int, reps: int, *, token_required: bool) -> None:
    console.print(
        f"HubSpot emulator at {url} ({accounts:,} companies, {reps} owners; "
        f"{'only the given token' if token_required else 'any bearer token'} works)\n"
        f"  curl -H 'Authorization: Bearer pat-x' '{url}/crm/v3/objects/companies?limit=5'\n"
        f"  curl {url}/__emulator/stats\n"
        f"  python: HubSpot(access_token='pat-x', host='{url}')\n"
        f"  tsync: HUBSPOT_BASE_URL={url} HUBSPOT_ACCESS_TOKEN=pat-x",
        highlight=False,
        soft_wrap=True,
    )
