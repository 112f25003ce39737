"""What a stored plan would change in the CRM: outbox changes plus a per-rep account of them.

The plan is compared with the CRM's last known state (the store, as of the
last pull) *and* with what we already pushed but have not pulled back yet, so
nothing is written twice. Completed visits, and planned visits a rep moved
in the CRM, are never overwritten; accounts a human re-assigned are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from sync.outbox import Change
from sync.store import (
    AccountRow,
    ActivityRow,
    OutboxItem,
    OutboxStatus,
    PlannedAssignment,
    PlannedVisit,
    PlanRun,
    RepRow,
)


@dataclass(frozen=True)
class AccountChange:
    account_id: str
    name: str
    other_rep: str | None  # lost: where it goes; gained: where it came from
    reason: str


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

    def as_dict(self) -> dict[str, Any]:
        return {
            "rep_id": self.rep_id,
            "name": self.name,
            "gained": [c.__dict__ for c in self.gained],
            "lost": [c.__dict__ for c in self.lost],
            "workload_hours_before": round(self.workload_before / 60, 1),
            "workload_hours_after": round(self.workload_after / 60, 1),
            "drive_hours_before": round(self.drive_minutes_before / 60, 1),
            "drive_hours_after": round(self.drive_minutes_after / 60, 1),
            "visits_added": self.visits_added,
            "visits_removed": self.visits_removed,
            "visits_moved": self.visits_moved,
        }


@dataclass
class PlanDiff:
    plan_run_id: int
    changes: list[Change]
    reps: dict[str, RepDiff]
    left_alone: list[str]  # human edits and moved visits we will not overwrite

    @property
    def assignment_changes(self) -> int:
        return sum(1 for c in self.changes if c.kind == "assignment")

    @property
    def visit_changes(self) -> int:
        return sum(1 for c in self.changes if c.kind == "visit")

    def as_dict(self) -> dict[str, Any]:
        return {
            "plan_run_id": self.plan_run_id,
            "assignment_changes": self.assignment_changes,
            "visit_changes": self.visit_changes,
            "reps": [r.as_dict() for r in sorted(self.reps.values(), key=lambda r: r.rep_id)],
            "left_alone": self.left_alone,
        }


def _latest_done(org_id: str, kind: str, *, session: Session) -> dict[str, dict[str, Any]]:
    rows = session.exec(
        select(OutboxItem)
        .where(OutboxItem.org_id == org_id, OutboxItem.kind == kind, OutboxItem.status == OutboxStatus.DONE)
        .order_by(col(OutboxItem.updated_at), col(OutboxItem.id))
    ).all()
    return {r.record_id: r.payload for r in rows}


def diff_plan(org_id: str, plan_run: PlanRun, *, session: Session) -> PlanDiff:
    assert plan_run.id is not None
    run_id = plan_run.id
    accounts = {
        a.crm_id: a for a in session.exec(select(AccountRow).where(AccountRow.org_id == org_id)).all()
    }
    rep_names = {r.crm_id: r.name for r in session.exec(select(RepRow).where(RepRow.org_id == org_id)).all()}
    human_locked = {e["account_id"] for e in plan_run.summary.get("human_edits", [])}
    reps: dict[str, RepDiff] = {}

    def rep(rep_id: str) -> RepDiff:
        if rep_id not in reps:
            reps[rep_id] = RepDiff(rep_id=rep_id, name=rep_names.get(rep_id, rep_id))
        return reps[rep_id]

    for load in plan_run.metrics_before.get("reps", []):
        r = rep(load["rep_id"])
        r.workload_before, r.drive_minutes_before = load["workload_minutes"], load["drive_minutes"]
    for load in plan_run.metrics_after.get("reps", []):
        r = rep(load["rep_id"])
        r.workload_after, r.drive_minutes_after = load["workload_minutes"], load["drive_minutes"]

    changes: list[Change] = []
    left_alone: list[str] = []
    pushed_assignments = _latest_done(org_id, "assignment", session=session)
    for pa in session.exec(select(PlannedAssignment).where(PlannedAssignment.plan_run_id == run_id)).all():
        account = accounts.get(pa.account_crm_id)
        if account is None or account.deleted_at is not None or pa.rep_crm_id is None:
            continue
        if pa.account_crm_id in human_locked:
            left_alone.append(f"account {pa.account_crm_id}: changed by a person in the CRM")
            continue
        target = {"owner_id": pa.rep_crm_id, "territory": pa.territory}
        if (account.owner_crm_id, account.territory) == (pa.rep_crm_id, pa.territory):
            continue
        last = pushed_assignments.get(pa.account_crm_id)
        if last is not None and {k: last.get(k) for k in target} == target:
            continue  # already pushed; the next pull will show it
        changes.append(
            Change(
                kind="assignment",
                record_id=pa.account_crm_id,
                key=f"{run_id}:assignment:{pa.account_crm_id}",
                payload={
                    "account_id": pa.account_crm_id,
                    **target,
                    "previous_owner_id": account.owner_crm_id,
                    "previous_territory": account.territory,
                },
            )
        )
        if pa.rep_crm_id != account.owner_crm_id:
            reason = pa.reason or "rebalanced"
            rep(pa.rep_crm_id).gained.append(
                AccountChange(pa.account_crm_id, account.name, account.owner_crm_id, reason)
            )
            if account.owner_crm_id:
                rep(account.owner_crm_id).lost.append(
                    AccountChange(pa.account_crm_id, account.name, pa.rep_crm_id, reason)
                )

    changes.extend(_visit_changes(org_id, run_id, plan_run, rep, left_alone, session=session))
    return PlanDiff(plan_run_id=run_id, changes=changes, reps=reps, left_alone=left_alone)


def _visit_changes(
    org_id: str,
    run_id: int,
    plan_run: PlanRun,
    rep: Any,
    left_alone: list[str],
    *,
    session: Session,
) -> list[Change]:
    horizon_start = (
        datetime.fromisoformat(plan_run.summary["horizon_start"])
        if plan_run.summary.get("horizon_start")
        else None
    )
    push_until = (
        datetime.fromisoformat(plan_run.summary["push_until"]) if plan_run.summary.get("push_until") else None
    )
    # The plan looks a quarter ahead; only its first weeks go to the CRM (PLAN_WEEKS).
    planned = {
        v.visit_key: v
        for v in session.exec(select(PlannedVisit).where(PlannedVisit.plan_run_id == run_id)).all()
        if push_until is None or v.starts_at < push_until
    }
    pushed = _latest_done(org_id, "visit", session=session)
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

    def moved_by_a_person(key: str) -> bool:
        crm, last = in_crm.get(key), pushed.get(key)
        if crm is None or last is None or crm.started_at is None:
            return False
        return crm.started_at != datetime.fromisoformat(last["start"]) or crm.owner_crm_id != last["owner_id"]

    changes: list[Change] = []
    for key, v in sorted(planned.items()):
        payload = {
            "visit_key": key,
            "account_id": v.account_crm_id,
            "owner_id": v.rep_crm_id,
            "start": v.starts_at.isoformat(),
            "end": v.ends_at.isoformat(),
            "subject": f"Visit: {v.account_crm_id}",
            "description": f"Planned by territory-sync (plan run {run_id}), stop {v.sequence} of the day",
            "cancelled": False,
        }
        crm = in_crm.get(key)
        if crm is not None and crm.completed:
            continue
        if moved_by_a_person(key):
            left_alone.append(f"visit {key}: moved in the CRM by a person")
            continue
        if crm is not None and crm.started_at == v.starts_at and crm.owner_crm_id == v.rep_crm_id:
            continue
        last = pushed.get(key)
        if last is not None and _same_visit(last, payload):
            continue
        changes.append(Change("visit", key, f"{run_id}:visit:{key}", payload))
        if crm is None and last is None:
            rep(v.rep_crm_id).visits_added += 1
        else:
            rep(v.rep_crm_id).visits_moved += 1

    # Our open visits the new plan no longer has: withdraw them, unless done or moved by a person.
    open_keys = {k for k, a in in_crm.items() if not a.completed} | {
        k for k, p in pushed.items() if not p.get("cancelled") and k not in in_crm
    }
    for key in sorted(open_keys - planned.keys()):
        crm = in_crm.get(key)
        last = pushed.get(key)
        start = (
            crm.started_at if crm is not None else (datetime.fromisoformat(last["start"]) if last else None)
        )
        if start is None or (horizon_start is not None and start < horizon_start):
            continue  # in the past or before this plan's horizon: history, not ours to change
        if push_until is not None and start >= push_until:
            continue  # beyond the pushed weeks: left for a later night
        if last is not None and last.get("cancelled"):
            continue
        if moved_by_a_person(key):
            left_alone.append(f"visit {key}: moved in the CRM by a person")
            continue
        owner = crm.owner_crm_id if crm is not None else (last or {}).get("owner_id")
        account = crm.account_crm_id if crm is not None else (last or {}).get("account_id")
        if owner is None or account is None:
            continue
        end = crm.ended_at if crm is not None and crm.ended_at else start
        changes.append(
            Change(
                "visit",
                key,
                f"{run_id}:cancel:{key}",
                {
                    "visit_key": key,
                    "account_id": account,
                    "owner_id": owner,
                    "start": start.isoformat(),
                    "end": end.isoformat(),
                    "subject": crm.subject if crm is not None else f"Visit: {account}",
                    "cancelled": True,
                },
            )
        )
        rep(owner).visits_removed += 1
    return changes


def _same_visit(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(a.get(k) == b.get(k) for k in ("owner_id", "start", "end", "cancelled"))
