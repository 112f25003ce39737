"""Transitions: an approved move waits for its date, with a joint handoff visit on both reps' calendars.

Nights of the real pipeline against the HubSpot emulator over HTTP, the
daemon's clock set to each night; what the CRM holds is read back from it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from rich.console import Console
from sqlmodel import Session, col, select

from sync import pipeline, proposals
from sync.handoff_visits import HANDOFF_KEY_MARK
from sync.settings import load_settings
from sync.snapshot import VISIT_KEY_PREFIX
from sync.store import (
    AccountRow,
    OutboxItem,
    OutboxKind,
    PlannedAssignment,
    PlannedVisit,
    PlanRun,
    ProposalOrigin,
    ProposalStatus,
)
from sync.store.plan_summary import BalanceMetrics
from sync.store.proposal_doc import ProposedMove
from sync.store.schema import upgrade
from sync.transitions import held_views, print_held

from .conftest import FIELD_TEAM, EmulatedCRM

ORG = "hubspot"
DAYS = 7
APPROVED_ON = datetime(2031, 3, 3, 2, 0, tzinfo=UTC)  # a Monday night; effective the next Monday
EFFECTIVE = APPROVED_ON.date() + timedelta(days=DAYS)


@pytest.fixture
def crm(hubspot_crm: Callable[..., EmulatedCRM]) -> EmulatedCRM:
    return hubspot_crm(120, 4, seed=5, metros=1)


@pytest.fixture
def nights(crm: EmulatedCRM, postgres_url: str, tmp_path: Path) -> Callable[[datetime], pipeline.RunSummary]:
    """Run one night of the daemon at a given time; the same store and CRM every night."""
    server, _app = crm
    policy = tmp_path / "policy.toml"
    policy.write_text(f"[transition]\ndays = {DAYS}\n")
    settings = load_settings(
        **FIELD_TEAM,
        database_url=postgres_url, celery_broker_url=None, redis_url=None,
        hubspot_access_token="pat-na1-test", hubspot_base_url=server.url,
        plan_seconds=2, plan_weeks=2, plan_horizon_weeks=3, policy_file=str(policy),
    )  # fmt: skip
    upgrade(settings.database_url)
    ctx = pipeline.Context.from_settings(settings)

    def night(at: datetime) -> pipeline.RunSummary:
        ctx.clock = lambda: at
        return pipeline.run_all(ORG, ctx=ctx)

    night.ctx = ctx  # type: ignore[attr-defined]
    return night


def owner_in_crm(app: FastAPI, account_id: str) -> str | None:
    value = app.state.org.properties_of("companies", account_id).get("hubspot_owner_id")
    return str(value) if value else None


def handoff_meetings(app: FastAPI, account_id: str) -> list[tuple[str, str]]:
    """(owner, start) of each handoff meeting the CRM holds for the account."""
    portal = app.state.org
    out = []
    for m in portal.ids("meetings"):
        props = portal.properties_of("meetings", m)
        key = str(props.get("territory_sync_visit_key") or "")
        if key.startswith(f"{VISIT_KEY_PREFIX}{account_id}-") and HANDOFF_KEY_MARK in key:
            out.append((str(props.get("hubspot_owner_id")), str(props.get("hs_timestamp"))))
    return sorted(out)


def approve_a_move(ctx: pipeline.Context) -> tuple[int, str, str, str]:
    """A person approves moving one account to another rep: (proposal id, account, from, to)."""
    with Session(ctx.engine) as session:
        plan_run = session.exec(select(PlanRun).order_by(col(PlanRun.id).desc())).first()
        assert plan_run is not None
        visited = session.exec(
            select(PlannedVisit)
            .where(PlannedVisit.plan_run_id == plan_run.id)
            .order_by(col(PlannedVisit.visit_key))
        ).all()
        owners = {a.crm_id: a.owner_crm_id for a in session.exec(select(AccountRow))}
        moving = next(v for v in visited if owners.get(v.account_crm_id) == v.rep_crm_id)
        account, from_rep = moving.account_crm_id, moving.rep_crm_id
        to_rep = next(v.rep_crm_id for v in visited if v.rep_crm_id != from_rep)
        move = ProposedMove(account_id=account, from_rep=from_rep, to_rep=to_rep)
        proposal = proposals.record_proposal(
            ORG, plan_run.id, [move],
            before=BalanceMetrics(), after=BalanceMetrics(), origin=ProposalOrigin.SCENARIO, session=session,
        )  # fmt: skip
        assert proposal.id is not None
        decision = proposals.approve(
            proposal.id, "ana@example.com", now=APPROVED_ON, transition_days=ctx.policy().transition.days,
            session=session,
        )  # fmt: skip
        session.commit()
        assert decision.queued == 0 and decision.status is ProposalStatus.APPROVED
        return proposal.id, account, from_rep, to_rep


def rows_of(
    ctx: pipeline.Context, proposal_id: int, kind: OutboxKind = OutboxKind.ASSIGNMENT
) -> list[OutboxItem]:
    with Session(ctx.engine) as session:
        return list(session.exec(
            select(OutboxItem).where(
                col(OutboxItem.idempotency_key).startswith(f"proposal{proposal_id}:"), OutboxItem.kind == kind
            )
        ).all())  # fmt: skip


def planned_reps_of(ctx: pipeline.Context, plan_run_id: int, account_id: str) -> dict[str, list[date]]:
    with Session(ctx.engine) as session:
        visits = session.exec(
            select(PlannedVisit).where(PlannedVisit.plan_run_id == plan_run_id,
                                       PlannedVisit.account_crm_id == account_id)
        ).all()  # fmt: skip
    out: dict[str, list[date]] = {}
    for v in visits:
        out.setdefault(v.rep_crm_id, []).append(v.visit_date)
    return out


def test_an_approved_move_lands_on_its_transition_date_with_a_handoff_visit_on_both_calendars_before_it(
    nights: Callable[[datetime], pipeline.RunSummary], crm: EmulatedCRM
) -> None:
    _server, app = crm
    ctx: pipeline.Context = nights.ctx  # type: ignore[attr-defined]
    nights(APPROVED_ON - timedelta(days=1))
    proposal_id, account, outgoing, incoming = approve_a_move(ctx)

    night = nights(APPROVED_ON + timedelta(days=1))  # the week before the date
    assert owner_in_crm(app, account) == outgoing  # approved, but not in effect yet
    assert rows_of(ctx, proposal_id) == []
    notices = rows_of(ctx, proposal_id, OutboxKind.NOTICE)  # both reps told at approval, with the date
    assert sorted(n.payload.owner_id for n in notices) == sorted([outgoing, incoming])  # type: ignore[union-attr]
    assert all(EFFECTIVE.isoformat() in n.payload.description for n in notices)  # type: ignore[union-attr]
    meetings = handoff_meetings(app, account)
    assert sorted(owner for owner, _ in meetings) == sorted([outgoing, incoming])
    assert meetings[0][1] == meetings[1][1]  # the same time on both calendars
    assert datetime.fromisoformat(meetings[0][1].replace("Z", "+00:00")).date() < EFFECTIVE
    with Session(ctx.engine) as session:
        (held,) = held_views(ORG, session=session)
    assert (held.account_id, held.effective_on) == (account, EFFECTIVE.isoformat())
    assert held.handoff_at is not None and held.handoff_at[:16] == meetings[0][1][:16]
    shown = Console(record=True, width=160)
    print_held([held], shown)
    assert f"on {EFFECTIVE.isoformat()} (proposal {proposal_id}); handoff visit" in shown.export_text()
    covering = planned_reps_of(ctx, night.plan.plan_run_id, account)
    assert all(d < EFFECTIVE for d in covering[outgoing])
    handoff_day = datetime.fromisoformat(meetings[0][1].replace("Z", "+00:00")).date()
    assert all(d >= EFFECTIVE for d in covering[incoming] if d != handoff_day)

    nights(datetime.combine(EFFECTIVE, APPROVED_ON.timetz()))  # the date comes
    assert owner_in_crm(app, account) == incoming
    after = nights(datetime.combine(EFFECTIVE + timedelta(days=1), APPROVED_ON.timetz()))
    covering = planned_reps_of(ctx, after.plan.plan_run_id, account)
    assert outgoing not in covering  # the new rep's plan covers it from now on
    with Session(ctx.engine) as session:
        assigned = session.exec(
            select(PlannedAssignment.rep_crm_id).where(
                PlannedAssignment.plan_run_id == after.plan.plan_run_id,
                PlannedAssignment.account_crm_id == account,
            )
        ).one()
        assert assigned == incoming
        keys = session.exec(
            select(PlannedVisit.visit_key).where(PlannedVisit.plan_run_id == after.plan.plan_run_id)
        )
        assert not any(HANDOFF_KEY_MARK in k for k in keys)  # no handoff after the date


def test_a_held_change_is_written_once(
    nights: Callable[[datetime], pipeline.RunSummary], crm: EmulatedCRM
) -> None:
    _server, app = crm
    ctx: pipeline.Context = nights.ctx  # type: ignore[attr-defined]
    nights(APPROVED_ON - timedelta(days=1))
    proposal_id, account, _outgoing, incoming = approve_a_move(ctx)
    for day in (DAYS, DAYS + 1, DAYS + 2):
        nights(APPROVED_ON + timedelta(days=day))
    rows = rows_of(ctx, proposal_id)
    assert [(r.record_id, r.status) for r in rows] == [(account, "done")]
    assert owner_in_crm(app, account) == incoming
    with Session(ctx.engine) as session:
        assert proposals.get_proposal(proposal_id, session=session).status is ProposalStatus.APPLIED
