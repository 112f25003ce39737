"""The daemon's work as plain functions: `pull`, `plan`, `push`, `run_all`.

Each takes an org id (and optionally a `Context`; by default one built from
settings), so a Celery task is a one-line call and every step is testable
without a broker. Every entry point holds the org's lock for its duration,
records a `SyncRun`, and commits one transaction per pulled page or plan.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

import planner
from connectors.base import CRMConnector, DeletedRecord, Stream, as_utc
from sync import changes, intake, proposals, transitions
from sync.crm import OrgConfig, build_connector, configured_orgs, redis_prefix
from sync.diff import PlanDiff, diff_plan
from sync.geocode import Geocoder, ZipCentroidGeocoder
from sync.locks import Heartbeat, LocalOrgLock, LockLost, OrgBusy, OrgLock, RedisOrgLock
from sync.outbox import SendReport, enqueue, send
from sync.plan_window import PlanWindow
from sync.roads import RoadCheck, open_roads
from sync.runs import (
    RecordProblem,
    RunRecorder,
    close_run,
    describe_error,
    ensure_org,
    mark_interrupted,
    open_run,
    recorded_run,
)
from sync.settings import Settings, get_settings
from sync.snapshot import Snapshot, load_snapshot
from sync.store import (
    PlanRun,
    Proposal,
    RunKind,
    RunStatus,
    RunTrigger,
    SyncCursor,
    engine_for,
    transaction,
    upsert_page,
)
from sync.store.plan_summary import BalanceMetrics
from sync.store.proposal_doc import NightDecision
from sync.store.types import utcnow
from sync.stored_plan import SolvedPlan, store_plan
from sync.streams import PULL_ORDER, STORES, PulledTable, StreamStore, parse_streams
from sync.team import explain_team_moves, load_field_team, no_team_hint, read_team_file, team_defined
from sync.team_file import TeamFileError
from sync.travel_cache import CachedTravel

log = logging.getLogger("territory_sync.pipeline")

Progress = Callable[[str, int], None]  # (what, how many more)


class NotConfigured(LookupError):
    """The org has no credentials in the settings."""


@dataclass
class Context:
    """What a pipeline step needs from the outside world, built once per process."""

    settings: Settings
    engine: Engine
    lock: OrgLock
    geocoder: Geocoder = field(default_factory=ZipCentroidGeocoder)
    clock: Callable[[], datetime] = utcnow
    connector_factory: Callable[[OrgConfig, Settings], CRMConnector] = build_connector

    @classmethod
    def from_settings(cls, settings: Settings) -> Context:
        lock: OrgLock = (
            RedisOrgLock(
                settings.redis_url, settings.org_lock_seconds, prefix=f"{redis_prefix(settings)}lock:org:"
            )
            if settings.redis_url
            else LocalOrgLock(settings.org_lock_seconds)
        )
        return cls(settings=settings, engine=engine_for(settings.database_url), lock=lock)

    def org(self, org_id: str) -> OrgConfig:
        for org in configured_orgs(self.settings):
            if org.id == org_id:
                return org
        raise NotConfigured(f"no CRM org {org_id!r} is configured (set its credentials)")

    def policy(self) -> planner.Policy:
        path = self.settings.policy_file
        return planner.Policy.from_toml(Path(path).read_text()) if path else planner.Policy()

    def travel(self, policy: planner.Policy) -> planner.TravelMatrix:
        """ROUTING_ENGINE's road times through the store's cache, else the planner's straight lines."""
        roads = open_roads(self.settings, policy, store=self.engine)
        return roads or planner.HaversineTravel(policy.travel.speed_kmh, policy.travel.circuity)

    def today(self) -> date:
        return self.clock().astimezone(ZoneInfo(self.settings.timezone)).date()

    def plan_window(self) -> PlanWindow:
        """Tomorrow on, for the horizon (at least the pushed weeks), in the org's time zone."""
        s = self.settings
        return PlanWindow(
            today=self.today(),
            zone=ZoneInfo(s.timezone),
            weeks=max(s.plan_horizon_weeks, s.plan_weeks),
            push_weeks=s.plan_weeks,
        )


@lru_cache(maxsize=1)
def default_context() -> Context:
    return Context.from_settings(get_settings())


@contextmanager
def org_locked(ctx: Context, org_id: str, token: str | None) -> Iterator[str]:
    """Hold the org's lock: take it (and release it after), or extend the caller's."""
    ttl = ctx.settings.org_lock_seconds
    if token is not None:
        if not ctx.lock.extend(org_id, token):
            raise LockLost(f"the run holding org {org_id} lost its lock (expired or taken over)")
        with Heartbeat(ctx.lock, org_id, token, ttl):
            yield token
        return
    token = uuid.uuid4().hex
    if not ctx.lock.acquire(org_id, token):
        raise OrgBusy(f"another run of org {org_id} is in progress")
    try:
        mark_interrupted(ctx.engine, org_id)
        with Heartbeat(ctx.lock, org_id, token, ttl):
            yield token
    finally:
        ctx.lock.release(org_id, token)


def _still_holding(ctx: Context, org_id: str, token: str) -> None:
    """A checkpoint between pages and chunks: stop at once if another run took the org over."""
    if not ctx.lock.extend(org_id, token):
        raise LockLost(f"the run of org {org_id} lost its lock (expired or taken over): stopping")


def _prepare(ctx: Context, org_id: str) -> OrgConfig:
    org = ctx.org(org_id)
    with transaction(ctx.engine) as session:
        ensure_org(org.id, org.kind, org.name, session=session)
    return org


# --------------------------------------------------------------------------- pull


@dataclass(frozen=True)
class PullSummary:
    run_id: int
    counts: dict[str, Any]

    def headline(self) -> dict[str, int]:
        """The counts an operator looks at first."""
        shown = ("accounts", "reps", "activities", "opportunities", "deleted", "api_calls", "issues")
        return {name: int(self.counts.get(name, 0)) for name in shown}


def pull(
    org_id: str,
    *,
    ctx: Context | None = None,
    full: bool = False,
    streams: Iterable[Stream | str] = PULL_ORDER,
    trigger: RunTrigger | str = RunTrigger.MANUAL,
    lock_token: str | None = None,
    progress: Progress | None = None,
) -> PullSummary:
    """Pull the org's streams into the store, page by page, checkpointing the cursor with each page."""
    ctx = ctx or default_context()
    chosen = parse_streams(streams)
    org = _prepare(ctx, org_id)
    with (
        org_locked(ctx, org_id, lock_token) as token,
        recorded_run(ctx.engine, org_id, RunKind.PULL, trigger=trigger) as run,
    ):
        connector = ctx.connector_factory(org, ctx.settings)
        try:
            if Stream.ACCOUNTS in chosen:
                connector.check_fields()  # a field map this org cannot serve stops here, in one line
            for stream in chosen:
                _pull_stream(
                    ctx, org_id, STORES[stream], connector, run, full=full, token=token, progress=progress
                )
        finally:
            run.set(api_calls=connector.api_calls, retries=connector.retries)
            connector.close()
        return PullSummary(run.run_id, dict(run.counts))


def _pull_stream(
    ctx: Context,
    org_id: str,
    store: StreamStore[Any],
    connector: CRMConnector,
    run: RunRecorder,
    *,
    full: bool,
    token: str,
    progress: Progress | None,
) -> None:
    stream, table = store.stream, store.table
    with transaction(ctx.engine) as session:
        saved = session.get(SyncCursor, (org_id, stream))
        cursor = None if full or saved is None else saved.cursor
    started = ctx.clock()
    context = intake.IntakeContext(org_id, ctx.geocoder)
    for page in connector.pull(stream, cursor, full=full):
        got = store.intake(store.records(page), context)
        with transaction(ctx.engine) as session:
            report = upsert_page(table, got.rows, session=session)
            for _org, crm_id in report.duplicate_keys:
                twice = RecordProblem(stream, crm_id, "sent twice in one page: the last copy was kept")
                run.issue(org_id, twice, session=session)
            for problem in got.problems:
                run.issue(org_id, problem, session=session)
            deleted = _mark_deleted(table, org_id, page.deleted, session=session)
            _save_cursor(org_id, stream, page.cursor, session=session)
            run.add(**{stream: report.rows, "deleted": deleted, "pages": 1})
            run.save(session=session)
        _still_holding(ctx, org_id, token)
        if progress:
            progress(stream, len(page.records))
    if full:
        # A complete full pull saw every live record: whatever it did not see is gone from the CRM
        # (older than the CRM's own delete log can tell us).
        with transaction(ctx.engine) as session:
            result = session.execute(
                update(table)
                .where(
                    col(table.org_id) == org_id,
                    col(table.deleted_at).is_(None),
                    col(table.pulled_at) < started,
                )
                .values(deleted_at=ctx.clock())
            )
            run.add(deleted=int(result.rowcount or 0))  # type: ignore[attr-defined]


def _mark_deleted(
    table: PulledTable, org_id: str, deletions: Sequence[DeletedRecord], *, session: Session
) -> int:
    marked = 0
    for d in deletions:
        result = session.execute(
            update(table)
            .where(col(table.org_id) == org_id, col(table.crm_id) == d.crm_id)
            .values(deleted_at=as_utc(d.deleted_at), merged_into=d.merged_into)
        )
        marked += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return marked


def _save_cursor(org_id: str, stream: Stream, cursor: str, *, session: Session) -> None:
    row = session.get(SyncCursor, (org_id, stream))
    if row is None:
        row = SyncCursor(org_id=org_id, stream=stream, cursor=cursor)
    row.cursor = cursor
    row.updated_at = utcnow()
    session.add(row)


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class PlanSummary:
    run_id: int
    plan_run_id: int
    moves: int
    unassigned: int
    visits: int  # planned over the whole horizon
    visits_to_push: int  # of those, in the weeks written to the CRM
    human_edits: int
    extra_reps_needed: int
    before: BalanceMetrics
    after: BalanceMetrics
    night: NightDecision = field(default_factory=NightDecision)  # forced changes, and the rebalance proposed


def plan(
    org_id: str,
    *,
    ctx: Context | None = None,
    trigger: RunTrigger | str = RunTrigger.MANUAL,
    lock_token: str | None = None,
    progress: Progress | None = None,
) -> PlanSummary:
    """Rebalance the org's territories and build call plans from one consistent snapshot."""
    ctx = ctx or default_context()
    org = _prepare(ctx, org_id)
    policy = ctx.policy()
    read_team_file(ctx.settings)  # a bad team file stops the plan before it starts
    with (
        org_locked(ctx, org_id, lock_token),
        recorded_run(ctx.engine, org_id, RunKind.PLAN, trigger=trigger) as run,
    ):
        window = ctx.plan_window()
        with transaction(ctx.engine) as session:
            team = load_field_team(org_id, org.kind, ctx.settings, ctx.geocoder, session=session)
            snap = load_snapshot(org_id, policy, window, session=session, team=team)
            history = changes.ChangeHistory.load(org_id, policy, ctx.clock(), session=session)
            waiting = proposals.pending(org_id, session=session)
            held = transitions.held_moves(org_id, session=session)
        _step(progress, "snapshot", len(snap.accounts))
        solved, night = _solve(
            ctx, snap, policy, window, progress, history, waiting[-1] if waiting else None,
            transitions.handoffs(held, snap.reps),
        )  # fmt: skip
        with transaction(ctx.engine) as session:
            plan_run = store_plan(
                org_id,
                snap,
                solved,
                run,
                window,
                mode=ctx.settings.plan_mode,
                seed=ctx.settings.plan_seed,
                session=session,
            )
            changes.record_night(org_id, plan_run, night, snap, session=session)
            summary = _plan_summary(run.run_id, plan_run, snap, solved, window)
            run.set(
                plan_run_id=summary.plan_run_id,
                accounts=len(snap.accounts),
                reps=len(snap.reps),
                moves=summary.moves,
                unassigned=summary.unassigned,
                visits=summary.visits,
                visits_to_push=summary.visits_to_push,
                human_edits=summary.human_edits,
                team_members=len(team.members),
                team_defined=team.defined,
            )
            run.save(session=session)
        return summary


def _step(progress: Progress | None, what: str, n: int) -> None:
    if progress:
        progress(what, n)


def _solve(
    ctx: Context,
    snap: Snapshot,
    policy: planner.Policy,
    window: PlanWindow,
    progress: Progress | None,
    history: changes.ChangeHistory,
    pending: Proposal | None,
    handoffs: Sequence[planner.Handoff] = (),
) -> tuple[SolvedPlan, changes.NightPlan]:
    """Territories first (forced changes, and a rebalance only when due), then each rep's dated
    visits over the window, from the same snapshot."""
    settings = ctx.settings
    travel = ctx.travel(policy)
    roads = RoadCheck(travel if isinstance(travel, CachedTravel) else None)
    # none planned on a straight line: accounts no rep can reach by road are left out, and reported
    snap = dataclasses.replace(snap, accounts=tuple(roads.before_planning(snap.accounts, snap.reps)))
    rebalance = changes.rebalancer(snap.reps, travel, seed=settings.plan_seed, seconds=settings.plan_seconds)
    night = changes.plan_night(
        snap, policy, history, rebalance,
        mode=settings.plan_mode, changes=settings.territory_changes, pending=pending,
    )  # fmt: skip
    territories = roads.with_unreachable(night.territories)
    territories = explain_team_moves(territories, snap.non_member_books, snap.rep_names)
    _step(progress, "territories", len(territories.assignments))
    call_plans = planner.build_call_plans(
        # with transition dates, tonight's owners keep their accounts until a move's date comes
        night.stable if policy.transition.days else territories,
        snap.accounts,
        snap.reps,
        policy,
        start=window.start,
        weeks=window.weeks,
        travel=travel,
        completed=[planner.CompletedVisit(c.account_id, c.on) for c in snap.completed],
        seed=settings.plan_seed,
        time_limit=settings.plan_seconds,
        handoffs=handoffs,
    )
    _step(progress, "call plans", len(call_plans))
    roads.after_planning(call_plans, snap.accounts, snap.reps)
    roads.close()
    solved = SolvedPlan(territories, call_plans, road_problems=tuple(roads.problems()), roads=roads.summary())
    return solved, night


def _plan_summary(
    run_id: int, plan_run: PlanRun, snap: Snapshot, solved: SolvedPlan, window: PlanWindow
) -> PlanSummary:
    assert plan_run.id is not None
    territories = solved.territories
    return PlanSummary(
        run_id=run_id,
        plan_run_id=plan_run.id,
        moves=len(territories.moves),
        unassigned=len(territories.unassigned),
        visits=solved.visits,
        visits_to_push=solved.visits_before(window.last_pushed_day),
        human_edits=len(snap.human_edits),
        extra_reps_needed=territories.extra_reps_needed,
        before=plan_run.metrics_before,
        after=plan_run.metrics_after,
        night=plan_run.summary.night,
    )


# --------------------------------------------------------------------------- push


@dataclass(frozen=True)
class PushSummary:
    run_id: int
    plan_run_id: int
    queued: int
    report: SendReport
    held: str | None = None  # why nothing was written (no field team defined)


def latest_plan_run(org_id: str, *, session: Session) -> PlanRun | None:
    return session.exec(
        select(PlanRun)
        .where(PlanRun.org_id == org_id, PlanRun.status == RunStatus.SUCCEEDED)
        .order_by(col(PlanRun.id).desc())
        .limit(1)
    ).first()


def preview(org_id: str, *, ctx: Context | None = None, plan_run_id: int | None = None) -> PlanDiff:
    """The dry run: what `push` would change, per rep, without writing anything."""
    ctx = ctx or default_context()
    with transaction(ctx.engine) as session:
        plan_run = (
            session.get(PlanRun, plan_run_id) if plan_run_id else latest_plan_run(org_id, session=session)
        )
        if plan_run is None:
            raise LookupError(f"org {org_id} has no plan yet: run `tsync run --once` or `tsync plan` first")
        diff = diff_plan(org_id, plan_run, session=session)
    kind = ctx.org(org_id).kind
    if not team_defined(ctx.settings, kind):
        log.warning("org %s: %s", org_id, no_team_hint(kind))
        diff.notes.append(no_team_hint(kind))
    return diff


def push(
    org_id: str,
    *,
    ctx: Context | None = None,
    plan_run_id: int | None = None,
    trigger: RunTrigger | str = RunTrigger.MANUAL,
    lock_token: str | None = None,
    progress: Progress | None = None,
) -> PushSummary:
    """Queue the plan's changes in the outbox and send every due change to the CRM."""
    ctx = ctx or default_context()
    org = _prepare(ctx, org_id)
    settings = ctx.settings
    with (
        org_locked(ctx, org_id, lock_token) as token,
        recorded_run(ctx.engine, org_id, RunKind.PUSH, trigger=trigger) as run,
    ):
        with transaction(ctx.engine) as session:
            plan_run = (
                session.get(PlanRun, plan_run_id) if plan_run_id else latest_plan_run(org_id, session=session)
            )
            if plan_run is None or plan_run.id is None:
                raise LookupError(f"org {org_id} has no plan to push")
            # with no field team nothing is written: no forced change, no proposal applied
            no_team = None if team_defined(settings, org.kind) else no_team_hint(org.kind)
            approved = 0
            if no_team:
                log.warning("org %s: %s", org_id, no_team)
            else:
                days = ctx.policy().transition.days
                approved = changes.approve_waiting(
                    org_id, plan_run, settings.territory_changes, now=ctx.clock(), transition_days=days,
                    session=session,
                ) + transitions.apply_due(org_id, ctx.today(), now=ctx.clock(), session=session)
            diff = diff_plan(org_id, plan_run, session=session)
            to_write = [] if no_team else changes.forced_only(diff, plan_run, session=session)
            queued = enqueue(org_id, plan_run.id, to_write, session=session) + approved
            run.set(plan_run_id=plan_run.id, queued=queued, left_alone=len(diff.left_alone), held=no_team)
            run.save(session=session)
        connector = ctx.connector_factory(org, settings)

        def chunk_sent(n: int) -> None:
            _still_holding(ctx, org_id, token)
            if progress:
                progress("push", n)

        try:
            report = send(
                ctx.engine,
                org_id,
                connector,
                max_attempts=settings.outbox_max_attempts,
                retry_after=timedelta(minutes=settings.outbox_retry_minutes),
                now=ctx.clock,
                on_chunk=chunk_sent,
            )
        finally:
            run.set(api_calls=connector.api_calls, retries=connector.retries)
            connector.close()
        run.add(pushed=report.done, rejected=report.rejected, to_retry=report.retry, parked=report.parked)
        return PushSummary(run.run_id, plan_run.id, queued, report, no_team)


# --------------------------------------------------------------------------- the whole run


@dataclass(frozen=True)
class RunSummary:
    run_id: int
    pull: PullSummary
    plan: PlanSummary
    push: PushSummary | None
    diff: PlanDiff | None


def begin_run(
    org_id: str, *, ctx: Context | None = None, trigger: RunTrigger | str = RunTrigger.MANUAL
) -> tuple[str, int]:
    """Take the org's lock for a whole run and open its history row: (lock token, run id).

    The stages (`pull`, `plan`, `push`, possibly on different workers) carry the
    token; `end_run` releases it. A dead worker's lock expires by itself.
    """
    ctx = ctx or default_context()
    _prepare(ctx, org_id)
    _refuse_a_bad_team_file(ctx, org_id, trigger)
    token = uuid.uuid4().hex
    if not ctx.lock.acquire(org_id, token):
        raise OrgBusy(f"another run of org {org_id} is in progress")
    mark_interrupted(ctx.engine, org_id)
    return token, open_run(ctx.engine, org_id, RunKind.RUN, trigger=trigger)


def _refuse_a_bad_team_file(ctx: Context, org_id: str, trigger: RunTrigger | str) -> None:
    """Nothing runs on a bad team file; the refusal is in the run history, naming the cell."""
    try:
        read_team_file(ctx.settings)
    except TeamFileError as exc:
        run_id = open_run(ctx.engine, org_id, RunKind.RUN, trigger=trigger)
        close_run(ctx.engine, run_id, RunStatus.FAILED, str(exc))
        raise


def end_run(
    org_id: str,
    token: str,
    run_id: int,
    *,
    ctx: Context | None = None,
    error: str | None = None,
    counts: dict[str, Any] | None = None,
) -> None:
    """Close the run as succeeded (partial if records were rejected) or failed, and free the org."""
    ctx = ctx or default_context()
    try:
        if error is not None:
            status = RunStatus.FAILED
        elif counts and (counts.get("rejected") or counts.get("parked")):
            status = RunStatus.PARTIAL
        else:
            status = RunStatus.SUCCEEDED
        close_run(ctx.engine, run_id, status, error, counts)
    finally:
        ctx.lock.release(org_id, token)


def run_all(
    org_id: str,
    *,
    ctx: Context | None = None,
    dry_run: bool = False,
    full: bool = False,
    trigger: RunTrigger | str = RunTrigger.MANUAL,
    progress: Progress | None = None,
) -> RunSummary:
    """Pull, plan and push one org under one lock; with `dry_run`, stop after the diff."""
    ctx = ctx or default_context()
    token, run_id = begin_run(org_id, ctx=ctx, trigger=trigger)  # a bad team file: not even the pull
    counts: dict[str, Any] = {}
    try:
        pulled = pull(org_id, ctx=ctx, full=full, trigger=trigger, lock_token=token, progress=progress)
        planned = plan(org_id, ctx=ctx, trigger=trigger, lock_token=token, progress=progress)
        counts.update(pull_run=pulled.run_id, plan_run=planned.run_id, plan_run_id=planned.plan_run_id)
        if dry_run:
            diff = preview(org_id, ctx=ctx, plan_run_id=planned.plan_run_id)
            counts.update(dry_run=True, would_change=len(diff.changes))
            summary = RunSummary(run_id, pulled, planned, None, diff)
        else:
            pushed = push(
                org_id,
                ctx=ctx,
                plan_run_id=planned.plan_run_id,
                trigger=trigger,
                lock_token=token,
                progress=progress,
            )
            report = pushed.report
            counts.update(
                push_run=pushed.run_id, pushed=report.done, rejected=report.rejected, parked=report.parked,
                held=pushed.held,
            )
            summary = RunSummary(run_id, pulled, planned, pushed, None)
    except BaseException as exc:
        end_run(org_id, token, run_id, ctx=ctx, error=describe_error(exc), counts=counts)
        raise
    end_run(org_id, token, run_id, ctx=ctx, counts=counts)
    return summary
