"""A plan's results into the store: the plan run with its summary, its assignments and its visits.

`pipeline.plan` solves; this module records, in the caller's transaction, what
the solve decided: the problems it found (by record id), one `PlanRun` whose
summary and balance documents are typed (`sync/store/plan_summary.py`), one
`PlannedAssignment` per account and one `PlannedVisit` per dated stop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlmodel import Session

import planner
from connectors.base import Stream
from sync.handoff_visits import visit_key
from sync.open_pipeline import kept_accounts
from sync.plan_window import PlanWindow
from sync.runs import RecordProblem, RunRecorder
from sync.snapshot import VISIT_KEY_PREFIX, Snapshot
from sync.store import PlanMode, PlannedAssignment, PlannedVisit, PlanRun, RunStatus
from sync.store.plan_summary import (
    BalanceMetrics,
    CoveragePlanRecord,
    FrequencyCutRecord,
    OutOfBandRep,
    PlannedRep,
    PlanRunSummary,
    RepCoverage,
    RoadsSummary,
    SolverOutcome,
    UnassignedAccount,
)


@dataclass(frozen=True)
class SolvedPlan:
    """What the planner returned for one snapshot."""

    territories: planner.TerritoryPlan
    call_plans: Mapping[str, planner.CallPlan]
    road_problems: tuple[RecordProblem, ...] = ()  # reps off road, legs timed on the fallback
    roads: RoadsSummary = field(default_factory=RoadsSummary)

    @property
    def visits(self) -> int:
        return sum(len(day.visits) for plan in self.call_plans.values() for day in plan.days)

    def visits_before(self, day: date) -> int:
        return sum(len(d.visits) for plan in self.call_plans.values() for d in plan.days if d.date < day)


def territory_for_rep(rep_name: str, rep_id: str) -> str:
    """The territory value written to the CRM: a territory carries its rep's name (or id)."""
    return rep_name or rep_id


def store_plan(
    org_id: str,
    snap: Snapshot,
    solved: SolvedPlan,
    run: RunRecorder,
    window: PlanWindow,
    *,
    mode: str,
    seed: int,
    session: Session,
) -> PlanRun:
    """Record the plan in the caller's transaction; returns the flushed plan run (with its id)."""
    _report_problems(org_id, snap, solved, run, session=session)
    plan_run = PlanRun(
        org_id=org_id,
        sync_run_id=run.run_id,
        mode=PlanMode(mode),
        seed=seed,
        inputs_fingerprint=snap.fingerprint,
        status=RunStatus.SUCCEEDED,
        metrics_before=BalanceMetrics.model_validate(solved.territories.before),
        metrics_after=BalanceMetrics.model_validate(solved.territories.after),
        summary=plan_summary(snap, solved, window),
    )
    session.add(plan_run)
    session.flush()
    assert plan_run.id is not None
    assignments = _assignment_rows(plan_run.id, snap, solved.territories)
    if assignments:
        session.execute(insert(PlannedAssignment), assignments)
    visits = _visit_rows(plan_run.id, solved.call_plans, window)
    if visits:
        session.execute(insert(PlannedVisit), visits)
    return plan_run


def plan_summary(snap: Snapshot, solved: SolvedPlan, window: PlanWindow) -> PlanRunSummary:
    plan = solved.territories
    return PlanRunSummary(
        horizon_start=window.at(window.start),
        push_until=window.at(window.last_pushed_day),
        moves=len(plan.moves),
        moved_share=plan.moved_share,
        moved_potential_share=plan.moved_potential_share,
        unassigned=tuple(UnassignedAccount.model_validate(u) for u in plan.unassigned),
        extra_reps_needed=plan.extra_reps_needed,
        over_capacity=tuple(plan.over_capacity),
        out_of_band=tuple(OutOfBandRep.model_validate(o) for o in plan.out_of_band),
        human_edits=snap.human_edits,
        solver=SolverOutcome(
            status=plan.status, seconds=plan.seconds, lower_bound_travel_km=plan.lower_bound_travel_km
        ),
        coverage={rep: RepCoverage.model_validate(cp.coverage) for rep, cp in solved.call_plans.items()},
        reps={r.id: _planned_rep(r, solved.call_plans.get(r.id), window) for r in snap.reps},
        coverage_plan=coverage_plan_record(plan.coverage_plan),
        roads=solved.roads,
        kept=kept_accounts(
            snap.protected, snap.current_owner, plan.assignments, {a.id: a.name for a in snap.accounts}
        ),
        pipeline_before=snap.pipeline.by_rep(snap.current_owner),
        pipeline_after=snap.pipeline.by_rep(plan.assignments),
    )


def _planned_rep(rep: planner.Rep, call_plan: planner.CallPlan | None, window: PlanWindow) -> PlannedRep:
    """The rep as maps show it; its zone is its call plan's, else the org's (the window's) zone."""
    zone = (call_plan.time_zone if call_plan is not None else rep.time_zone) or window.zone.key
    return PlannedRep(name=rep.name, home_lat=rep.home_lat, home_lon=rep.home_lon, time_zone=zone)


def coverage_plan_record(coverage: planner.CoveragePlan | None) -> CoveragePlanRecord | None:
    if coverage is None:
        return None
    cuts = tuple(FrequencyCutRecord.model_validate(c) for c in coverage.cuts)
    return CoveragePlanRecord(
        summary=coverage.summary(), cuts=cuts, workload_before=coverage.workload_before,
        workload_after=coverage.workload_after, capacity=coverage.capacity, fits=coverage.fits,
        order=coverage.order,
    )


def _report_problems(
    org_id: str, snap: Snapshot, solved: SolvedPlan, run: RunRecorder, *, session: Session
) -> None:
    """What the snapshot could not use, and what the plan could not place, by record id."""
    for problem in (*snap.issues, *solved.road_problems):
        run.issue(org_id, problem, session=session)
    for u in solved.territories.unassigned:
        unassigned = RecordProblem(Stream.ACCOUNTS, u.account_id, f"not assigned: {u.reason}")
        run.issue(org_id, unassigned, session=session)
    for cp in solved.call_plans.values():
        for miss in cp.coverage.unplannable:
            unplanned = f"{miss.visits} visit(s) not planned: {miss.reason}"
            run.issue(org_id, RecordProblem(Stream.ACCOUNTS, miss.account_id, unplanned), session=session)


def _assignment_rows(
    plan_run_id: int, snap: Snapshot, territories: planner.TerritoryPlan
) -> list[dict[str, Any]]:
    """One row per account of the snapshot (bulk insert values: the table's own column names)."""
    reasons = {m.account_id: m.reason for m in territories.moves}
    rows = []
    for account in snap.accounts:
        rep_id = territories.assignments.get(account.id)
        territory = territory_for_rep(snap.rep_names.get(rep_id, ""), rep_id) if rep_id else None
        rows.append(
            {
                "plan_run_id": plan_run_id,
                "account_crm_id": account.id,
                "rep_crm_id": rep_id,
                "territory": territory,
                "previous_rep_crm_id": snap.current_owner.get(account.id),
                "moved": account.id in reasons,
                "reason": reasons.get(account.id),
            }
        )
    return rows


def _visit_rows(
    plan_run_id: int, call_plans: Mapping[str, planner.CallPlan], window: PlanWindow
) -> list[dict[str, Any]]:
    """One row per dated stop, in route order, with the drive that leads to it, timed in the rep's zone."""
    rows = []
    for rep_id, cp in call_plans.items():
        zone = _zone_of(cp, window)
        for day in cp.days:
            previous = day.leave
            for seq, visit in enumerate(day.visits, start=1):
                rows.append(
                    {
                        "plan_run_id": plan_run_id,
                        "visit_key": visit_key(VISIT_KEY_PREFIX, rep_id, visit, day.date),
                        "rep_crm_id": rep_id,
                        "account_crm_id": visit.account_id,
                        "visit_date": day.date,
                        "sequence": seq,
                        "starts_at": window.at(day.date, visit.arrive, zone),
                        "ends_at": window.at(day.date, visit.depart, zone),
                        "drive_minutes_before": float(max(0, visit.arrive - previous)),
                        "tier": visit.tier or None,
                        "visits_per_year": visit.visits_per_year or None,
                        "last_visit": visit.last_visit,
                    }
                )
                previous = visit.depart
    return rows


def _zone_of(call_plan: planner.CallPlan | None, window: PlanWindow) -> ZoneInfo:
    """The zone a call plan's minutes are in: the rep's (or the policy's), else the org's."""
    if call_plan is not None and call_plan.time_zone:
        return ZoneInfo(call_plan.time_zone)
    return window.zone
