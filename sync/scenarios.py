"""Scenarios: "what if we had another rep here, or one fewer" as a proposal, without touching the CRM.

`tsync propose` plans the stored snapshot again with the team (or the policy,
or the mode) changed and stores the result as a *scenario* proposal: its moves,
balance before and after, per-rep utilisation and travel. Nothing is pulled
or pushed; a scenario is never approved automatically, and a move to a rep
who exists only in the scenario cannot be applied (approving drops it).
`tsync proposals --compare A B` and the plan page put two proposals side by side.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlmodel import Session, select

import planner
from sync import proposals
from sync.pipeline import Context, default_context
from sync.snapshot import Snapshot, load_snapshot
from sync.store import Proposal, ProposalOrigin, RepRow, transaction
from sync.store.plan_summary import BalanceMetrics
from sync.store.proposal_doc import ProposedMove

NEW_REP_PREFIX = "scenario:"  # the id of a rep who exists only in a scenario


class ScenarioError(ValueError):
    """The scenario cannot be built as asked (an unknown rep, a postal code with no place)."""


@dataclass(frozen=True)
class NewRep:
    email: str
    postal_code: str

    @classmethod
    def parse(cls, text: str) -> NewRep:
        email, _, postal = text.partition(",")
        if not email.strip() or not postal.strip():
            raise ScenarioError(f"--add-rep wants EMAIL,POSTAL_CODE, not {text!r}")
        return cls(email.strip(), postal.strip())


@dataclass(frozen=True)
class ScenarioRequest:
    add_reps: tuple[NewRep, ...] = ()
    remove_reps: tuple[str, ...] = ()  # emails
    policy_file: Path | None = None
    mode: Literal["full", "minimal"] = "minimal"

    def label(self) -> str:
        parts = [f"add {r.email} at {r.postal_code}" for r in self.add_reps]
        parts += [f"remove {e}" for e in self.remove_reps]
        if self.policy_file:
            parts.append(f"policy {self.policy_file.name}")
        return f"scenario ({self.mode}): " + ("; ".join(parts) or "the team as it is")


def propose(org_id: str, request: ScenarioRequest, *, ctx: Context | None = None) -> Proposal:
    """Plan the stored snapshot with the scenario's team and policy; store it as a scenario proposal."""
    ctx = ctx or default_context()
    policy = ctx.policy()
    if request.policy_file:
        policy = planner.Policy.from_toml(request.policy_file.read_text())
    with transaction(ctx.engine) as session:
        snap = load_snapshot(org_id, policy, ctx.plan_window(), session=session)
        reps = scenario_reps(org_id, snap, request, ctx, session=session)
    settings = ctx.settings
    plan = planner.rebalance(
        snap.accounts, reps, policy, mode=request.mode, seed=settings.plan_seed,
        time_limit=settings.plan_seconds, travel=ctx.travel(policy),
    )  # fmt: skip
    with transaction(ctx.engine) as session:
        proposal = proposals.record_proposal(
            org_id, None, moves(plan, snap),
            before=BalanceMetrics.model_validate(plan.before),
            after=BalanceMetrics.model_validate(plan.after),
            origin=ProposalOrigin.SCENARIO, label=request.label(), session=session,
        )  # fmt: skip
        session.expunge(proposal)
    return proposal


def scenario_reps(
    org_id: str, snap: Snapshot, request: ScenarioRequest, ctx: Context, *, session: Session
) -> list[planner.Rep]:
    """Today's reps less the removed ones, plus the new ones at their postal code's centre."""
    by_email = {
        (r.email or "").lower(): r.crm_id
        for r in session.exec(select(RepRow).where(RepRow.org_id == org_id))
        if r.email
    }
    gone = set()
    for email in request.remove_reps:
        if email.lower() not in by_email:
            raise ScenarioError(f"no rep with email {email} in org {org_id}")
        gone.add(by_email[email.lower()])
    reps = [r for r in snap.reps if r.id not in gone]
    for new in request.add_reps:
        point = ctx.geocoder.locate(new.postal_code)
        if point is None:
            raise ScenarioError(f"postal code {new.postal_code} of {new.email}: no place known for it")
        like = reps[0] if reps else planner.Rep(id="", home_lat=0.0, home_lon=0.0)
        reps.append(
            dataclasses.replace(
                like, id=f"{NEW_REP_PREFIX}{new.email}", name=new.email, home_lat=point[0], home_lon=point[1],
                skills=frozenset(), days_off=frozenset(), target_share=1.0, overlay=False,
            )
        )  # fmt: skip
    return reps


def moves(plan: planner.TerritoryPlan, snap: Snapshot) -> list[ProposedMove]:
    by_id = {a.id: a for a in snap.accounts}
    return [
        ProposedMove(
            account_id=m.account_id,
            account_name=by_id[m.account_id].name if m.account_id in by_id else "",
            from_rep=m.from_rep,
            to_rep=m.to_rep,
            reason=m.reason,
            potential=by_id[m.account_id].potential if m.account_id in by_id else 0.0,
        )
        for m in plan.moves
    ]


# --------------------------------------------------------------------------- comparing two


@dataclass(frozen=True)
class Figures:
    """What ops weigh between two proposals, from the proposal's balance after it."""

    proposal_id: int
    label: str
    status: str
    reps: int
    potential_cv: float | None
    workload_cv: float | None
    travel_km: float
    utilisation_mean: float
    utilisation_max: float
    moves: int
    hires_needed: int
    effective_on: str | None

    @classmethod
    def of(cls, p: Proposal) -> Figures:
        assert p.id is not None
        after = p.metrics_after
        loads = after.reps
        utilisation = [r.utilisation for r in loads]
        return cls(
            proposal_id=p.id,
            label=p.label or f"{p.origin.value} proposal",
            status=p.status.value,
            reps=len(loads),
            potential_cv=after.potential.cv,
            workload_cv=after.workload.cv,
            travel_km=sum(r.travel_km for r in loads),
            utilisation_mean=sum(utilisation) / len(utilisation) if utilisation else 0.0,
            utilisation_max=max(utilisation, default=0.0),
            moves=len(p.diff.moves),
            hires_needed=hires_needed(after),
            effective_on=p.effective_on.isoformat() if p.effective_on else None,
        )

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def hires_needed(metrics: BalanceMetrics) -> int:
    """Reps missing for the book's workload to fit the team's capacity (0 when it fits)."""
    capacity = [r.capacity_minutes for r in metrics.reps if r.capacity_minutes > 0]
    if not capacity:
        return 0
    short = sum(r.workload_minutes for r in metrics.reps) - sum(capacity)
    return max(0, math.ceil(short / (sum(capacity) / len(capacity)) - 1e-9))


def compare(first: int, second: int, *, session: Session) -> tuple[Figures, Figures]:
    return (
        Figures.of(proposals.get_proposal(first, session=session)),
        Figures.of(proposals.get_proposal(second, session=session)),
    )


def _num(x: float | None, fmt: str) -> str:
    return "–" if x is None or not math.isfinite(x) else format(x, fmt)


ROWS: tuple[tuple[str, Any], ...] = (
    ("status", lambda f: f.status),
    ("reps", lambda f: str(f.reps)),
    ("potential CV", lambda f: _num(f.potential_cv, ".3f")),
    ("workload CV", lambda f: _num(f.workload_cv, ".3f")),
    ("travel km/yr", lambda f: f"{f.travel_km:,.0f}"),
    ("utilisation mean / max", lambda f: f"{f.utilisation_mean:.0%} / {f.utilisation_max:.0%}"),
    ("moves", lambda f: f"{f.moves:,}"),
    ("hires needed", lambda f: str(f.hires_needed)),
    ("takes effect", lambda f: f.effective_on or "–"),
)


def print_comparison(pair: tuple[Figures, Figures], out: Console) -> None:
    a, b = pair
    table = Table(title=f"proposal {a.proposal_id} beside proposal {b.proposal_id}")
    table.add_column("")
    table.add_column(f"proposal {a.proposal_id}", justify="right")
    table.add_column(f"proposal {b.proposal_id}", justify="right")
    for name, value in ROWS:
        table.add_row(name, value(a), value(b))
    out.print(table)
    for f in pair:
        out.print(f"  {f.proposal_id}: {escape(f.label)}", highlight=False, soft_wrap=True)
