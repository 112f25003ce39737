"""What a stored plan would change in the CRM: outbox changes plus a per-rep account of them.

The plan is compared with the CRM's last known state (the store, as of the
last pull) *and* with what we already pushed but have not pulled back yet, so
nothing is written twice. Completed visits, and planned visits a rep moved
in the CRM, are never overwritten; accounts a human re-assigned are left alone.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from sync.notices import Move, rep_notices
from sync.outbox import Change
from sync.store import (
    AccountRow,
    ActivityRow,
    OutboxItem,
    OutboxKind,
    OutboxStatus,
    PlannedAssignment,
    PlannedVisit,
    PlanRun,
    RepRow,
)
from sync.store.outbox_payload import AssignmentPayload, VisitPayload
from sync.store.plan_summary import BalanceMetrics, KeptAccount, PlanRunSummary, RepPipeline
from sync.visit_text import AccountLabel, visit_description, visit_subject

P = TypeVar("P", AssignmentPayload, VisitPayload)


@dataclass(frozen=True)
class AccountChange:
    account_id: str
    name: str
    other_rep: str | None  # lost: where it goes; gained: where it came from
    reason: str
    effective: date | None = None  # when the change takes effect (None: at once, the run's date)


@dataclass
class RepDiff:
    rep_id: str
    name: str
    gained: list[AccountChange] = field(default_factory=list)
    lost: list[AccountChange] = field(default_factory=list)
    workload_before: float = 0.0
    workload_after: float = 0.0
    drive_minutes_before: float = 0.0
    drive_minutes_after: float = 0.0
    visits_added: int = 0
    visits_removed: int = 0
    visits_moved: int = 0
    pipeline_before: RepPipeline = field(default_factory=RepPipeline)
    pipeline_after: RepPipeline = field(default_factory=RepPipeline)

    @property
    def changed(self) -> bool:
        return bool(
            self.gained or self.lost or self.visits_added or self.visits_removed or self.visits_moved
        )

    @property
    def workload_hours(self) -> tuple[float, float]:
        """Before and after, in hours per year to one decimal."""
        return round(self.workload_before / 60, 1), round(self.workload_after / 60, 1)

    @property
    def drive_hours(self) -> tuple[float, float]:
        return round(self.drive_minutes_before / 60, 1), round(self.drive_minutes_after / 60, 1)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rep_id": self.rep_id,
            "name": self.name,
            "gained": [dataclasses.asdict(c) for c in self.gained],
            "lost": [dataclasses.asdict(c) for c in self.lost],
            "workload_hours_before": self.workload_hours[0],
            "workload_hours_after": self.workload_hours[1],
            "drive_hours_before": self.drive_hours[0],
            "drive_hours_after": self.drive_hours[1],
            "visits_added": self.visits_added,
            "visits_removed": self.visits_removed,
            "visits_moved": self.visits_moved,
            "open_pipeline_before": self.pipeline_before.amount,
            "open_pipeline_after": self.pipeline_after.amount,
        }


@dataclass
class PlanDiff:
    plan_run_id: int
    changes: list[Change]
    reps: dict[str, RepDiff]
    left_alone: list[str]  # human edits and moved visits we will not overwrite
    notes: list[str] = field(default_factory=list)  # about the push as a whole (no field team defined)
    kept: tuple[KeptAccount, ...] = ()  # left with their rep for an open deal

    @property
    def assignment_changes(self) -> int:
        return sum(1 for c in self.changes if c.kind is OutboxKind.ASSIGNMENT)

    @property
    def visit_changes(self) -> int:
        return sum(1 for c in self.changes if c.kind is OutboxKind.VISIT)

    @property
    def notices(self) -> int:
        return sum(1 for c in self.changes if c.kind is OutboxKind.NOTICE)

    def sorted_reps(self) -> list[RepDiff]:
        return sorted(self.reps.values(), key=lambda r: r.rep_id)

    def as_dict(self) -> dict[str, Any]:
        return {
            "plan_run_id": self.plan_run_id,
            "assignment_changes": self.assignment_changes,
            "visit_changes": self.visit_changes,
            "rep_notices": self.notices,
            "reps": [r.as_dict() for r in self.sorted_reps()],
            "left_alone": self.left_alone,
            "notes": self.notes,
            "kept": [k.model_dump(mode="json") for k in self.kept],
        }


@dataclass
class Ledger:
    """The per-rep account of a diff as it is worked out, and what it leaves to people."""

    rep_names: Mapping[str, str]
    reps: dict[str, RepDiff] = field(default_factory=dict)
    left_alone: list[str] = field(default_factory=list)

    def rep(self, rep_id: str) -> RepDiff:
        if rep_id not in self.reps:
            self.reps[rep_id] = RepDiff(rep_id=rep_id, name=self.rep_names.get(rep_id, rep_id))
        return self.reps[rep_id]

    def workloads(self, before: BalanceMetrics, after: BalanceMetrics) -> None:
        for load in before.reps:
            r = self.rep(load.rep_id)
            r.workload_before, r.drive_minutes_before = load.workload_minutes, load.drive_minutes
        for load in after.reps:
            r = self.rep(load.rep_id)
            r.workload_after, r.drive_minutes_after = load.workload_minutes, load.drive_minutes

    def pipelines(self, summary: PlanRunSummary) -> None:
        for rep_id, before in summary.pipeline_before.items():
            self.rep(rep_id).pipeline_before = before
        for rep_id, after in summary.pipeline_after.items():
            self.rep(rep_id).pipeline_after = after


def _latest_done(org_id: str, payload_type: type[P], *, session: Session) -> dict[str, P]:
    """Per record, the payload we last pushed successfully."""
    kind = OutboxKind.ASSIGNMENT if payload_type is AssignmentPayload else OutboxKind.VISIT
    rows = session.exec(
        select(OutboxItem)
        .where(OutboxItem.org_id == org_id, OutboxItem.kind == kind, OutboxItem.status == OutboxStatus.DONE)
        .order_by(col(OutboxItem.updated_at), col(OutboxItem.id))
    ).all()
    return {r.record_id: r.payload for r in rows if isinstance(r.payload, payload_type)}


def diff_plan(org_id: str, plan_run: PlanRun, *, session: Session) -> PlanDiff:
    assert plan_run.id is not None
    rep_rows = session.exec(select(RepRow).where(RepRow.org_id == org_id)).all()
    ledger = Ledger(rep_names={r.crm_id: r.name for r in rep_rows})
    ledger.workloads(plan_run.metrics_before, plan_run.metrics_after)
    ledger.pipelines(plan_run.summary)
    changes = _assignment_changes(org_id, plan_run, ledger, session=session)
    changes.extend(_visit_changes(org_id, plan_run.id, plan_run.summary, ledger, session=session))
    changes.extend(_notices(plan_run, ledger, {r.crm_id for r in rep_rows if r.active and not r.deleted_at}))
    return PlanDiff(
        plan_run_id=plan_run.id,
        changes=changes,
        reps=ledger.reps,
        left_alone=ledger.left_alone,
        kept=plan_run.summary.kept,
    )


# --------------------------------------------------------------------------- assignments


def _assignment_changes(org_id: str, plan_run: PlanRun, ledger: Ledger, *, session: Session) -> list[Change]:
    """Owner and territory changes the CRM does not hold yet (and that we have not pushed)."""
    run_id = plan_run.id
    accounts = {
        a.crm_id: a for a in session.exec(select(AccountRow).where(AccountRow.org_id == org_id)).all()
    }
    human_locked = {e.account_id for e in plan_run.summary.human_edits}
    pushed = _latest_done(org_id, AssignmentPayload, session=session)
    changes: list[Change] = []
    for pa in session.exec(select(PlannedAssignment).where(PlannedAssignment.plan_run_id == run_id)).all():
        account = accounts.get(pa.account_crm_id)
        if account is None or account.deleted_at is not None or pa.rep_crm_id is None:
            continue
        if pa.account_crm_id in human_locked:
            ledger.left_alone.append(f"account {pa.account_crm_id}: changed by a person in the CRM")
            continue
        if (account.owner_crm_id, account.territory) == (pa.rep_crm_id, pa.territory):
            continue
        last = pushed.get(pa.account_crm_id)
        if last is not None and (last.owner_id, last.territory) == (pa.rep_crm_id, pa.territory):
            continue  # already pushed; the next pull will show it
        payload = AssignmentPayload(
            account_id=pa.account_crm_id,
            owner_id=pa.rep_crm_id,
            territory=pa.territory,
            previous_owner_id=account.owner_crm_id,
            previous_territory=account.territory,
        )
        changes.append(Change(pa.account_crm_id, f"{run_id}:assignment:{pa.account_crm_id}", payload))
        if pa.rep_crm_id != account.owner_crm_id:
            _record_move(ledger, pa, account)
    return changes


def _notices(plan_run: PlanRun, ledger: Ledger, active: set[str]) -> list[Change]:
    """One Task for each active rep whose book the plan's owner changes touch."""
    gained = [(rep_id, c) for rep_id, rep in sorted(ledger.reps.items()) for c in rep.gained]
    moves = [Move(c.account_id, c.name, c.other_rep, rep_id, c.reason) for rep_id, c in gained]
    dated = {c.account_id: c.effective for _, c in gained if c.effective}
    on = plan_run.created_at.date()
    return rep_notices(
        str(plan_run.id), moves, ledger.rep_names, active=active, effective=on, effective_on=dated
    )


def _record_move(ledger: Ledger, pa: PlannedAssignment, account: AccountRow) -> None:
    assert pa.rep_crm_id is not None
    reason = pa.reason or "rebalanced"
    ledger.rep(pa.rep_crm_id).gained.append(
        AccountChange(pa.account_crm_id, account.name, account.owner_crm_id, reason)
    )
    if account.owner_crm_id:
        ledger.rep(account.owner_crm_id).lost.append(
            AccountChange(pa.account_crm_id, account.name, pa.rep_crm_id, reason)
        )


# --------------------------------------------------------------------------- visits


@dataclass(frozen=True)
class VisitsKnown:
    """Our visits as the CRM showed them at the last pull, and as we last pushed them."""

    in_crm: Mapping[str, ActivityRow]  # by external id
    pushed: Mapping[str, VisitPayload]  # by visit key

    @classmethod
    def load(cls, org_id: str, *, session: Session) -> VisitsKnown:
        in_crm: dict[str, ActivityRow] = {}
        for a in session.exec(
            select(ActivityRow).where(
                ActivityRow.org_id == org_id,
                col(ActivityRow.external_id).is_not(None),
                col(ActivityRow.deleted_at).is_(None),
            )
        ).all():
            assert a.external_id is not None
            in_crm[a.external_id] = a
        return cls(in_crm, _latest_done(org_id, VisitPayload, session=session))

    def moved_by_a_person(self, key: str) -> bool:
        crm, last = self.in_crm.get(key), self.pushed.get(key)
        if crm is None or last is None or crm.started_at is None:
            return False
        return crm.started_at != last.start or crm.owner_crm_id != last.owner_id

    def still_open(self) -> set[str]:
        """Keys of our visits that are neither done nor withdrawn."""
        return {k for k, a in self.in_crm.items() if not a.completed} | {
            k for k, p in self.pushed.items() if not p.cancelled and k not in self.in_crm
        }


def _visit_changes(
    org_id: str, run_id: int, summary: PlanRunSummary, ledger: Ledger, *, session: Session
) -> list[Change]:
    # The plan looks a quarter ahead; only its first weeks go to the CRM (PLAN_WEEKS).
    push_until = summary.push_until
    every = session.exec(select(PlannedVisit).where(PlannedVisit.plan_run_id == run_id)).all()
    planned = {v.visit_key: v for v in every if push_until is None or v.starts_at < push_until}
    known = VisitsKnown.load(org_id, session=session)
    calendar = VisitCalendar.load(org_id, summary, every, session=session)
    return [
        *_planned_visit_changes(run_id, planned, known, ledger, calendar),
        *_withdrawals(run_id, summary, planned, known, ledger),
    ]


@dataclass(frozen=True)
class VisitCalendar:
    """What a visit's calendar entry needs beyond its own row: names, addresses, its day, the zone."""

    labels: Mapping[str, AccountLabel]
    days: Mapping[tuple[str, date], list[PlannedVisit]]  # (rep, date) -> the day's stops
    zones: Mapping[str, ZoneInfo]

    @classmethod
    def load(
        cls, org_id: str, summary: PlanRunSummary, visits: Sequence[PlannedVisit], *, session: Session
    ) -> VisitCalendar:
        wanted = {v.account_crm_id for v in visits}
        rows = session.exec(
            select(AccountRow.crm_id, AccountRow.name, AccountRow.address).where(AccountRow.org_id == org_id)
        ).all()
        labels = {i: AccountLabel(n, a or "") for i, n, a in rows if i in wanted}
        days: dict[tuple[str, date], list[PlannedVisit]] = defaultdict(list)
        for v in visits:
            days[(v.rep_crm_id, v.visit_date)].append(v)
        zones = {rep: ZoneInfo(r.time_zone) for rep, r in summary.reps.items() if r.time_zone}
        return cls(labels, days, zones)

    def payload(self, v: PlannedVisit, run_id: int) -> VisitPayload:
        label = self.labels.get(v.account_crm_id)
        zone = self.zones.get(v.rep_crm_id, ZoneInfo("UTC"))
        day = self.days.get((v.rep_crm_id, v.visit_date), [v])
        return VisitPayload(
            visit_key=v.visit_key,
            account_id=v.account_crm_id,
            owner_id=v.rep_crm_id,
            start=v.starts_at,
            end=v.ends_at,
            subject=visit_subject(v.visit_key, v.account_crm_id, label),
            description=visit_description(v, day, self.labels, zone, run_id),
            location=label.address if label else "",
        )


def _planned_visit_changes(
    run_id: int, planned: Mapping[str, PlannedVisit], known: VisitsKnown, ledger: Ledger,
    calendar: VisitCalendar,
) -> list[Change]:
    """Planned visits the CRM does not show as planned yet: new ones, and ones the plan moved."""
    changes: list[Change] = []
    for key, v in sorted(planned.items()):
        payload = calendar.payload(v, run_id)
        crm = known.in_crm.get(key)
        if crm is not None and crm.completed:
            continue
        if known.moved_by_a_person(key):
            ledger.left_alone.append(f"visit {key}: moved in the CRM by a person")
            continue
        last = known.pushed.get(key)
        in_step = crm is not None and crm.started_at == v.starts_at and crm.owner_crm_id == v.rep_crm_id
        if in_step and not _our_subject_is_stale(crm, last, payload):
            continue
        if last is not None and last.same_visit(payload):
            continue
        changes.append(Change(key, f"{run_id}:visit:{key}", payload))
        if crm is None and last is None:
            ledger.rep(v.rep_crm_id).visits_added += 1
        elif not in_step:
            ledger.rep(v.rep_crm_id).visits_moved += 1
    return changes


def _our_subject_is_stale(crm: ActivityRow | None, last: VisitPayload | None, new: VisitPayload) -> bool:
    """The CRM still shows the subject we wrote, and ours has changed (a renamed account, or an entry
    from before subjects named the account); a subject a person edited is left alone."""
    if crm is None or crm.subject == new.subject:
        return False
    return last is None or crm.subject == last.subject


def _withdrawals(
    run_id: int,
    summary: PlanRunSummary,
    planned: Mapping[str, PlannedVisit],
    known: VisitsKnown,
    ledger: Ledger,
) -> list[Change]:
    """Our open visits the new plan no longer has: withdraw them, unless done or moved by a person."""
    changes: list[Change] = []
    for key in sorted(known.still_open() - planned.keys()):
        crm, last = known.in_crm.get(key), known.pushed.get(key)
        start: datetime | None = crm.started_at if crm is not None else (last.start if last else None)
        if start is None or (summary.horizon_start is not None and start < summary.horizon_start):
            continue  # in the past or before this plan's horizon: history, not ours to change
        if summary.push_until is not None and start >= summary.push_until:
            continue  # beyond the pushed weeks: left for a later night
        if last is not None and last.cancelled:
            continue
        if known.moved_by_a_person(key):
            ledger.left_alone.append(f"visit {key}: moved in the CRM by a person")
            continue
        withdrawal = _withdrawal(key, start, crm, last)
        if withdrawal is None:
            continue
        changes.append(Change(key, f"{run_id}:cancel:{key}", withdrawal))
        ledger.rep(withdrawal.owner_id).visits_removed += 1
    return changes


def _withdrawal(
    key: str, start: datetime, crm: ActivityRow | None, last: VisitPayload | None
) -> VisitPayload | None:
    """The cancelled copy of a visit, from what the CRM showed or else what we pushed."""
    owner = crm.owner_crm_id if crm is not None else (last.owner_id if last else None)
    account = crm.account_crm_id if crm is not None else (last.account_id if last else None)
    if owner is None or account is None:
        return None
    end = crm.ended_at if crm is not None and crm.ended_at else start
    return VisitPayload(
        visit_key=key,
        account_id=account,
        owner_id=owner,
        start=start,
        end=end,
        subject=crm.subject if crm is not None else f"Visit: {account}",
        cancelled=True,
    )
