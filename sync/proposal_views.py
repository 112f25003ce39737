"""Proposals as people read them: reps by name, each move with its reason, the balance before and after,
the decision and the audit line. The CLI, `--json` and the web pages all show these views."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlmodel import Session, select

from sync import proposals
from sync.store import PlanRun, Proposal, RepRow
from sync.store.plan_summary import BalanceMetrics


@dataclass(frozen=True)
class MoveView:
    account_id: str
    account_name: str
    from_rep: str  # a name (or the id if the CRM has no name for it)
    to_rep: str
    reason: str
    potential: float
    dropped: str  # why approving dropped it ("" : written, or not decided yet)


@dataclass(frozen=True)
class BalanceView:
    potential_cv: float | None
    workload_cv: float | None
    worst_potential: float | None  # largest |potential / fair share − 1| over reps
    worst_workload: float | None

    @classmethod
    def of(cls, m: BalanceMetrics) -> BalanceView:
        return cls(m.potential.cv, m.workload.cv, m.potential.worst_deviation, m.workload.worst_deviation)


@dataclass(frozen=True)
class ProposalView:
    id: int
    org_id: str
    plan_run_id: int | None
    origin: str
    label: str
    status: str
    created_at: datetime
    moves: tuple[MoveView, ...]
    before: BalanceView
    after: BalanceView
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    effective_on: str | None
    applied: int
    dropped: int
    audit: str
    why: tuple[str, ...]  # where balance was past the trigger when it was proposed

    @property
    def pending(self) -> bool:
        return self.status == "pending"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        data["decided_at"] = self.decided_at.isoformat() if self.decided_at else None
        return data


def proposal_view(p: Proposal, *, session: Session) -> ProposalView:
    assert p.id is not None
    names = {r.crm_id: r.name for r in session.exec(select(RepRow).where(RepRow.org_id == p.org_id))}
    dropped = {d.account_id: d.why for d in p.outcome.dropped}
    plan_run = session.get(PlanRun, p.plan_run_id) if p.plan_run_id else None
    moves = tuple(
        MoveView(
            account_id=m.account_id,
            account_name=m.account_name,
            from_rep=names.get(m.from_rep or "") or m.from_rep or "nobody",
            to_rep=names.get(m.to_rep) or m.to_rep,
            reason=m.reason,
            potential=m.potential,
            dropped=dropped.get(m.account_id, ""),
        )
        for m in p.diff.moves
    )
    return ProposalView(
        id=p.id,
        org_id=p.org_id,
        plan_run_id=p.plan_run_id,
        origin=p.origin.value,
        label=p.label,
        status=p.status.value,
        created_at=p.created_at,
        moves=moves,
        before=BalanceView.of(p.metrics_before),
        after=BalanceView.of(p.metrics_after),
        decided_by=p.decided_by,
        decided_at=p.decided_at,
        decision_reason=p.decision_reason,
        effective_on=p.effective_on.isoformat() if p.effective_on else None,
        applied=p.applied,
        dropped=p.dropped,
        audit=proposals.audit_line(p),
        why=plan_run.summary.night.trigger if plan_run is not None else (),
    )


def proposal_views(*, org_id: str | None = None, limit: int = 50, session: Session) -> list[ProposalView]:
    return [
        proposal_view(p, session=session)
        for p in proposals.list_proposals(org_id=org_id, limit=limit, session=session)
    ]


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x * 100:.0f} %"


def _cv(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def print_proposals(views: list[ProposalView], out: Console) -> None:
    table = Table(title="Territory proposals")
    for name in ("id", "org", "status", "made (UTC)", "moves", "potential CV", "decided"):
        table.add_column(name, justify="right" if name in ("id", "moves") else "left")
    for v in views:
        decided = f"{escape(v.decided_by)} {v.decided_at:%Y-%m-%d}" if v.decided_by and v.decided_at else ""
        table.add_row(
            str(v.id),
            escape(v.org_id),
            v.status,
            f"{v.created_at:%Y-%m-%d %H:%M}",
            str(len(v.moves)),
            f"{_cv(v.before.potential_cv)} → {_cv(v.after.potential_cv)}",
            decided,
        )
    out.print(table)
    if not views:
        out.print(
            "No proposals yet: a night proposes a rebalance only when balance crosses the policy's trigger."
        )


def print_proposal(v: ProposalView, out: Console, *, shown: int = 50) -> None:
    """One proposal: its status, balance, each move with its reason, and the audit line."""
    out.print(f"[bold]proposal {v.id}[/] ({escape(v.org_id)}, {v.origin}): {v.status}, {len(v.moves)} moves")
    if v.label:
        out.print(f"  {escape(v.label)}")
    for why in v.why[:10]:
        out.print(f"  proposed because {escape(why)}", highlight=False)
    out.print(
        f"  potential CV {_cv(v.before.potential_cv)} → {_cv(v.after.potential_cv)}, "
        f"workload CV {_cv(v.before.workload_cv)} → {_cv(v.after.workload_cv)}, "
        f"worst rep off its fair potential {_pct(v.before.worst_potential)} → {_pct(v.after.worst_potential)}"
    )
    for m in v.moves[:shown]:
        who = escape(m.account_name or m.account_id)
        line = f"  {who}: {escape(m.from_rep)} → {escape(m.to_rep)}: {escape(m.reason)}"
        if m.dropped:
            line += f" [yellow](dropped: {escape(m.dropped)})[/]"
        out.print(line, highlight=False)
    if len(v.moves) > shown:
        out.print(f"  … and {len(v.moves) - shown} more (use --json for all)")
    out.print(escape(v.audit), highlight=False)
    if v.decision_reason:
        out.print(f"  reason: {escape(v.decision_reason)}", highlight=False)
    if v.status == "applied":
        out.print(f"  {v.applied} move(s) queued for the CRM, {v.dropped} dropped")


def print_waiting(org_id: str, out: Console, *, session: Session) -> None:
    """After a dry run: the proposals it leaves out, since nothing of them is written before approval."""
    for p in proposals.pending(org_id, session=session):
        out.print(
            f"Proposal {p.id} waits for a decision: {len(p.diff.moves)} rebalancing move(s), not written "
            f"until approved (`tsync proposals {p.id}`, `tsync approve {p.id} --by NAME`)."
        )
