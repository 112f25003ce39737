"""Territory changes people can live with: forced changes applied, rebalancing proposed and approved,
stable nights, the rolling move budget and the cooldown, stale proposals — against the HubSpot
emulator over real HTTP, on a real PostgreSQL store, reading owners back from the CRM."""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlmodel import Session, col, select

from connectors.hubspot import HubSpotConnector
from sync import pipeline, proposals
from sync.changes import AUTO_APPROVER
from sync.crm import OrgConfig
from sync.decide import approve_proposal
from sync.settings import Settings, load_settings
from sync.store import OutboxItem, OutboxKind, PlannedAssignment, PlanRun, Proposal, ProposalStatus
from sync.store.outbox_payload import AssignmentPayload
from sync.store.plan_summary import PlanRunSummary
from sync.store.schema import upgrade
from sync.store.types import utcnow

from .conftest import FIELD_TEAM, EmulatedCRM

ORG = "hubspot"
APPROVER = "ana@example.com"


@pytest.fixture
def crm(hubspot_crm: Callable[..., EmulatedCRM]) -> EmulatedCRM:
    return hubspot_crm(240, 6, seed=11, metros=1)


def quick_connector(org: OrgConfig, settings: Settings) -> HubSpotConnector:
    assert settings.hubspot_access_token is not None
    return HubSpotConnector(
        settings.hubspot_access_token.get_secret_value(),
        base_url=settings.hubspot_base_url,
        search_per_second=None,
        retry_attempts=3,
        retry_initial_wait=0.02,
        rep_teams=settings.hubspot_rep_team_names,
    )


class Nights:
    """One org's nightly runs on a clock the test sets."""

    def __init__(self, crm: EmulatedCRM, database_url: str, **overrides: Any) -> None:
        server, self.app = crm
        if "policy_file" not in overrides:  # approvals take effect at once (test_transitions.py: dates)
            policy = Path(tempfile.mkdtemp()) / "policy.toml"
            policy.write_text("[transition]\ndays = 0\n")
            overrides["policy_file"] = str(policy)
        settings = load_settings(
            database_url=database_url,
            celery_broker_url=None,
            redis_url=None,
            hubspot_access_token="pat-na1-test",
            hubspot_base_url=server.url,
            plan_seconds=3,
            plan_weeks=1,
            **{**FIELD_TEAM, **overrides},  # the seeded field team (no team: nothing is written)
        )
        upgrade(settings.database_url)
        self.now = utcnow()
        self.ctx = pipeline.Context.from_settings(settings)
        self.ctx.connector_factory = quick_connector
        self.ctx.clock = lambda: self.now

    def run(self, on: datetime | None = None) -> pipeline.RunSummary:
        self.now = on or self.now
        return pipeline.run_all(ORG, ctx=self.ctx)

    def owners(self) -> dict[str, str | None]:
        org = self.app.state.org
        return {c: org.properties_of("companies", c).get("hubspot_owner_id") for c in org.ids("companies")}

    def night(self, summary: pipeline.RunSummary) -> PlanRunSummary:
        with Session(self.ctx.engine) as session:
            plan_run = session.get(PlanRun, summary.plan.plan_run_id)
            assert plan_run is not None
            return plan_run.summary

    def proposal(self, proposal_id: int | None) -> Proposal:
        assert proposal_id is not None
        with Session(self.ctx.engine) as session:
            return proposals.get_proposal(proposal_id, session=session)

    def assignment_rows(self) -> list[OutboxItem]:
        with Session(self.ctx.engine) as session:
            query = select(OutboxItem).where(OutboxItem.kind == OutboxKind.ASSIGNMENT)
            return list(session.exec(query.order_by(col(OutboxItem.id))).all())


def _changed(before: dict[str, str | None], after: dict[str, str | None]) -> set[str]:
    return {c for c in after if before.get(c) != after[c]}


def test_a_second_night_with_no_crm_change_writes_no_owner_change(
    crm: EmulatedCRM, postgres_url: str
) -> None:
    nights = Nights(crm, postgres_url, territory_changes="auto")
    first = nights.run()
    assert nights.night(first).night.proposed > 0, "the seeded book is unbalanced: night 1 rebalances"
    owners = nights.owners()
    rows = len(nights.assignment_rows())

    second = nights.run(nights.now + timedelta(days=1))

    assert nights.owners() == owners
    assert len(nights.assignment_rows()) == rows, "no owner change was even queued"
    decision = nights.night(second).night
    assert (decision.forced, decision.proposed, decision.proposal_id) == (0, 0, None)
    assert second.plan.visits > 0, "call plans are still rebuilt"


def test_a_proposal_writes_nothing_until_approved_and_is_recorded_when_it_is(
    crm: EmulatedCRM, postgres_url: str
) -> None:
    nights = Nights(crm, postgres_url)  # TERRITORY_CHANGES=approve, the default
    first = nights.run()
    proposal = nights.proposal(nights.night(first).night.proposal_id)
    assert proposal.status is ProposalStatus.PENDING and proposal.diff.moves
    owners = nights.owners()
    assert all(owners[m.account_id] == m.from_rep for m in proposal.diff.moves), "nothing written yet"
    # a night later, with no decision, it is still waiting and still not written
    second = nights.run(nights.now + timedelta(days=1))
    assert nights.night(second).night.kept_pending == proposal.id
    assert nights.owners() == owners

    approval = approve_proposal(proposal.id or 0, APPROVER, ctx=nights.ctx)

    after = nights.owners()
    assert all(after[m.account_id] == m.to_rep for m in proposal.diff.moves)
    assert _changed(owners, after) == proposal.diff.accounts()
    assert approval.sent is not None and approval.sent.rejected == 0
    decided = nights.proposal(proposal.id)
    assert (decided.status, decided.decided_by, decided.applied) == (
        ProposalStatus.APPLIED,
        APPROVER,
        len(proposal.diff.moves),
    )
    carried = {r.record_id for r in nights.assignment_rows() if r.payload.proposal_id == proposal.id}  # type: ignore[union-attr]
    assert carried == proposal.diff.accounts(), "every CRM write names the proposal"
    assert proposals.audit_line(decided) == (
        f"owner changed by proposal {proposal.id}, approved by {APPROVER} on {nights.now:%Y-%m-%d}"
    )
    # each rep whose book the approval changed hears about it once, in a task naming the proposal
    moves = proposal.diff.moves
    affected = {m.to_rep for m in moves} | {m.from_rep for m in moves if m.from_rep}
    _server, app = crm
    tasks = [app.state.org.properties_of("tasks", t) for t in app.state.org.ids("tasks")]
    told = [t for t in tasks if f"proposal {proposal.id}" in (t.get("hs_task_body") or "")]
    assert sorted(t["hubspot_owner_id"] for t in told) == sorted(affected)


def test_auto_mode_applies_each_proposal_at_once(crm: EmulatedCRM, postgres_url: str) -> None:
    nights = Nights(crm, postgres_url, territory_changes="auto")
    first = nights.run()
    proposal = nights.proposal(nights.night(first).night.proposal_id)
    assert (proposal.status, proposal.decided_by) == (ProposalStatus.APPLIED, AUTO_APPROVER)
    owners = nights.owners()
    assert all(owners[m.account_id] == m.to_rep for m in proposal.diff.moves)


def test_forced_changes_are_applied_without_approval_with_their_reason(
    crm: EmulatedCRM, postgres_url: str
) -> None:
    nights = Nights(crm, postgres_url)
    before = nights.owners()
    first = nights.run()
    decision = nights.night(first).night
    pending = nights.proposal(decision.proposal_id)
    assert pending.status is ProposalStatus.PENDING
    forced = _changed(before, nights.owners())
    assert len(forced) == decision.forced > 0 and not forced & pending.diff.accounts()
    with Session(nights.ctx.engine) as session:
        planned = session.exec(
            select(PlannedAssignment).where(PlannedAssignment.plan_run_id == first.plan.plan_run_id)
        ).all()
    assert all(p.reason for p in planned if p.account_crm_id in forced), "each with its reason"
    # a new account arrives in the CRM without an owner: the next night gives it one, without asking
    org = nights.app.state.org
    template = org.properties_of("companies", sorted(before)[0])
    fields = (
        "name",
        "zip",
        "city",
        "state",
        "country",
        "tier",
        "potential",
        "effort",
        "latitude",
        "longitude",
    )
    account = org.create("companies", {f: template[f] for f in fields})
    second = nights.run(nights.now + timedelta(days=1))
    assert nights.owners()[account], "an account with no owner is given one by the night itself"
    assert nights.night(second).night.forced >= 1


def test_the_rolling_budget_and_the_cooldown_hold_across_nights(
    crm: EmulatedCRM, postgres_url: str, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(
        "[disruption]\nmax_move_share = 0.08\nwindow_days = 90\ncooldown_days = 180\n[transition]\ndays = 0\n"
    )
    nights = Nights(crm, postgres_url, territory_changes="auto", policy_file=str(policy))
    t0 = nights.now - timedelta(days=200)  # the nights' own dates, not the wall clock, decide
    first = nights.run(t0)
    n1 = nights.night(first).night
    with Session(nights.ctx.engine) as session:
        planned = session.exec(
            select(PlannedAssignment).where(
                PlannedAssignment.plan_run_id == first.plan.plan_run_id,
                col(PlannedAssignment.rep_crm_id).is_not(None),
            )
        ).all()
    budget = math.floor(0.08 * len(planned))
    moved_first = nights.proposal(n1.proposal_id).diff.accounts()
    assert n1.budget_left == budget and 0 < len(moved_first) <= budget

    _drift(nights.app)
    second = nights.run(t0 + timedelta(days=1))
    n2 = nights.night(second).night
    assert n2.budget_left == budget - len(moved_first), "the budget holds over the window, not per run"
    assert n2.cooling == len(moved_first)
    moved_second = nights.proposal(n2.proposal_id).diff.accounts() if n2.proposal_id else set()
    assert len(moved_second) <= n2.budget_left and not moved_second & moved_first

    _drift(nights.app, factor=0.3)
    third = nights.run(t0 + timedelta(days=100))
    n3 = nights.night(third).night
    assert n3.budget_left == budget, "moves older than the window no longer count"
    assert n3.cooling == len(moved_first | moved_second), "but they are still cooling down"
    moved_third = nights.proposal(n3.proposal_id).diff.accounts() if n3.proposal_id else set()
    assert len(moved_third) <= budget and not moved_third & (moved_first | moved_second)


def _drift(app: FastAPI, factor: float = 3.0) -> None:
    """Potentials grow in one part of the map (a rep's book gets heavier)."""
    org = app.state.org
    ids = org.ids("companies")
    for crm_id in ids[: len(ids) // 5]:
        potential = float(org.properties_of("companies", crm_id).get("potential") or 0)
        org.update("companies", crm_id, {"potential": str(round(potential * factor))})


def test_a_stale_proposal_is_re_diffed_on_approval_and_says_what_it_dropped(
    crm: EmulatedCRM, postgres_url: str
) -> None:
    nights = Nights(crm, postgres_url)
    first = nights.run()
    proposal = nights.proposal(nights.night(first).night.proposal_id)
    edited, deleted, *rest = proposal.diff.moves
    org = nights.app.state.org
    someone = next(o for o in org.owner_ids() if o not in (edited.from_rep, edited.to_rep))
    org.update("companies", edited.account_id, {"hubspot_owner_id": someone})  # a manager's own choice
    org.archive("companies", deleted.account_id)
    pipeline.pull(ORG, ctx=nights.ctx)

    approval = approve_proposal(proposal.id or 0, APPROVER, ctx=nights.ctx)

    dropped = {d.account_id: d.why for d in approval.decision.dropped}
    assert dropped == {
        edited.account_id: f"its owner changed in the CRM since the proposal (now {someone})",
        deleted.account_id: "the account was deleted in the CRM",
    }
    owners = nights.owners()
    assert owners[edited.account_id] == someone, "the person's choice stands"
    assert all(owners[m.account_id] == m.to_rep for m in rest)
    decided = nights.proposal(proposal.id)
    assert (decided.applied, decided.dropped) == (len(rest), 2)
    payloads = [r.payload for r in nights.assignment_rows() if isinstance(r.payload, AssignmentPayload)]
    assert {p.account_id for p in payloads if p.proposal_id == proposal.id} == {m.account_id for m in rest}


def test_small_drift_within_the_trigger_leaves_owners_and_still_rebuilds_call_plans(
    crm: EmulatedCRM, postgres_url: str, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    # moves take effect at once, and no open deal holds an account back (test_open_pipeline.py does)
    policy.write_text(
        "[trigger]\nshare_band = 0.5\npotential_cv = 0.5\n"
        "[transition]\ndays = 0\nprotect_pipeline_over = 1e12\n"
    )
    nights = Nights(crm, postgres_url, territory_changes="auto", policy_file=str(policy))
    first = nights.run()
    assert nights.night(first).night.proposed > 0, "the seeded book is far outside even a wide trigger"
    owners = nights.owners()
    _drift(nights.app, factor=1.05)  # a few potentials edited a little

    second = nights.run(nights.now + timedelta(days=1))

    decision = nights.night(second).night
    assert (decision.proposal_id, decision.trigger) == (None, ())
    assert decision.why_no_proposal == "balance is within the trigger: owners stay"
    assert nights.owners() == owners
    assert second.plan.visits > 0


def test_with_no_field_team_a_proposal_cannot_be_approved_and_nothing_is_written(
    crm: EmulatedCRM, postgres_url: str
) -> None:
    nights = Nights(crm, postgres_url, hubspot_rep_teams=None)  # no TEAM_FILE, no HUBSPOT_REP_TEAMS
    owners = nights.owners()
    first = nights.run()
    proposal_id = nights.night(first).night.proposal_id
    assert proposal_id is not None, "the night still plans and proposes"
    with pytest.raises(proposals.NotDecidable, match="HUBSPOT_REP_TEAMS"):
        approve_proposal(proposal_id, APPROVER, ctx=nights.ctx)
    assert nights.proposal(proposal_id).status is ProposalStatus.PENDING
    assert nights.owners() == owners, "nothing reached the CRM"
