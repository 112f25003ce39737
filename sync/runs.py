"""Run history: every pull, plan, push and full run is a `SyncRun` row with counts and errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from connectors.base import CRMKind, Stream
from sync.store import (
    CrmOrg,
    OutboxItem,
    OutboxStatus,
    RecordIssue,
    RunKind,
    RunStatus,
    RunTrigger,
    SyncRun,
    transaction,
)
from sync.store.types import utcnow


@dataclass(frozen=True)
class RecordProblem:
    """A record that could not be used as the CRM sent it, reported by id (never dropped)."""

    stream: Stream
    crm_id: str
    problem: str


def ensure_org(org_id: str, kind: CRMKind, name: str, *, session: Session) -> CrmOrg:
    org = session.get(CrmOrg, org_id)
    if org is None:
        org = CrmOrg(id=org_id, kind=kind, name=name)
        session.add(org)
        session.flush()
    return org


class RunRecorder:
    """Counts and issues of one run, written as the run goes so a crash leaves a trace."""

    def __init__(self, engine: Engine, run_id: int) -> None:
        self.engine = engine
        self.run_id = run_id
        self.counts: dict[str, Any] = {}

    def add(self, **counts: int) -> None:
        for key, value in counts.items():
            self.counts[key] = int(self.counts.get(key, 0)) + value

    def set(self, **values: Any) -> None:
        self.counts.update(values)

    def issue(self, org_id: str, found: RecordProblem, *, session: Session) -> None:
        session.add(
            RecordIssue(
                org_id=org_id,
                sync_run_id=self.run_id,
                stream=found.stream,
                crm_id=found.crm_id,
                problem=found.problem,
            )
        )
        self.add(issues=1)

    def save(self, *, session: Session) -> None:
        run = session.get(SyncRun, self.run_id)
        if run is not None:
            run.counts = dict(self.counts)
            session.add(run)


def open_run(
    engine: Engine, org_id: str, kind: RunKind, *, trigger: RunTrigger | str = RunTrigger.MANUAL
) -> int:
    """Open a run's history row; `trigger` may come as its value (tasks pass strings)."""
    with transaction(engine) as session:
        run = SyncRun(org_id=org_id, kind=kind, trigger=RunTrigger(trigger), status=RunStatus.RUNNING)
        session.add(run)
        session.flush()
        assert run.id is not None
        return run.id


def close_run(
    engine: Engine,
    run_id: int,
    status: RunStatus,
    error: str | None = None,
    counts: dict[str, Any] | None = None,
) -> None:
    with transaction(engine) as session:
        run = session.get(SyncRun, run_id)
        if run is None:
            return
        run.status = status
        run.finished_at = utcnow()
        if counts is not None:
            run.counts = dict(counts)
        run.error_summary = error
        session.add(run)


@contextmanager
def recorded_run(
    engine: Engine, org_id: str, kind: RunKind, *, trigger: RunTrigger | str = RunTrigger.MANUAL
) -> Iterator[RunRecorder]:
    """Open a run row, yield its recorder, close it as succeeded, partial or failed."""
    recorder = RunRecorder(engine, open_run(engine, org_id, kind, trigger=trigger))
    try:
        yield recorder
    except BaseException as exc:
        close_run(engine, recorder.run_id, RunStatus.FAILED, describe_error(exc), recorder.counts)
        raise
    partial = recorder.counts.get("rejected") or recorder.counts.get("parked")
    close_run(
        engine, recorder.run_id, RunStatus.PARTIAL if partial else RunStatus.SUCCEEDED, None, recorder.counts
    )


def mark_interrupted(engine: Engine, org_id: str) -> int:
    """Close runs of the org still marked running: called by whoever just took the org's lock
    afresh, so their worker must have died mid-run."""
    with transaction(engine) as session:
        result = session.execute(
            update(SyncRun)
            .where(col(SyncRun.org_id) == org_id, col(SyncRun.status) == RunStatus.RUNNING)
            .values(
                status=RunStatus.FAILED,
                finished_at=utcnow(),
                error_summary="interrupted: its worker stopped before the run finished",
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def describe_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def recent_runs(engine: Engine, *, org_id: str | None = None, limit: int = 20) -> list[SyncRun]:
    with transaction(engine) as session:
        query = select(SyncRun).order_by(col(SyncRun.id).desc()).limit(limit)
        if org_id:
            query = query.where(SyncRun.org_id == org_id)
        return list(session.exec(query).all())


@dataclass(frozen=True)
class RunDetail:
    """One run, the records it reported, and its org's changes parked for a human."""

    run: SyncRun
    issues: list[RecordIssue]
    parked: list[OutboxItem]

    def as_dict(self) -> dict[str, Any]:
        return {
            "run": self.run.model_dump(mode="json"),
            "issues": [{"stream": i.stream, "crm_id": i.crm_id, "problem": i.problem} for i in self.issues],
            "parked": [
                {"id": p.id, "record": p.record_id, "code": p.last_error_code, "message": p.last_error}
                for p in self.parked
            ],
        }


def run_detail(engine: Engine, run_id: int) -> RunDetail | None:
    with transaction(engine) as session:
        run = session.get(SyncRun, run_id)
        if run is None:
            return None
        issues = session.exec(select(RecordIssue).where(RecordIssue.sync_run_id == run_id)).all()
        parked = session.exec(
            select(OutboxItem).where(
                OutboxItem.org_id == run.org_id, OutboxItem.status == OutboxStatus.PARKED
            )
        ).all()
        return RunDetail(run, list(issues), list(parked))
