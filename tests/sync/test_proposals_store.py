"""Proposals in the store: recorded, superseded, approved with a re-diff, rejected, audited."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from connectors.base import CRMKind
from sync import proposals
from sync.store import AccountRow, CrmOrg, OutboxItem, ProposalStatus, RepRow, transaction
from sync.store.outbox_payload import AssignmentPayload
from sync.store.plan_summary import BalanceMetrics
from sync.store.proposal_doc import ProposedMove

DECIDED = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def _book(engine: Engine) -> None:
    with transaction(engine) as session:
        session.add(CrmOrg(id="acme", kind=CRMKind.SALESFORCE, name="Acme"))
        session.flush()
        for rep in ("005A", "005B"):
            session.add(RepRow(org_id="acme", crm_id=rep, name=f"Rep {rep}"))
        for i in range(3):
            session.add(AccountRow(org_id="acme", crm_id=f"001{i}", name=f"Shop {i}", owner_crm_id="005A"))


def _propose(engine: Engine, accounts: range = range(3)) -> int:
    moves = [
        ProposedMove(account_id=f"001{i}", from_rep="005A", to_rep="005B", reason="balances")
        for i in accounts
    ]
    with transaction(engine) as session:
        p = proposals.record_proposal(
            "acme", None, moves, before=BalanceMetrics(), after=BalanceMetrics(), session=session
        )
        assert p.id is not None
        return p.id


def _queued(engine: Engine) -> list[AssignmentPayload]:
    with transaction(engine) as session:
        rows = session.exec(select(OutboxItem)).all()
        return [r.payload for r in rows if isinstance(r.payload, AssignmentPayload)]


def test_a_proposal_queues_nothing_until_approved_and_every_row_names_it(store: Engine) -> None:
    _book(store)
    pid = _propose(store)
    assert _queued(store) == []
    with transaction(store) as session:
        decision = proposals.approve(pid, "ana@example.com", now=DECIDED, session=session)
    assert decision.applied == ("0010", "0011", "0012") and decision.dropped == ()
    queued = _queued(store)
    assert {q.owner_id for q in queued} == {"005B"} and {q.proposal_id for q in queued} == {pid}
    with transaction(store) as session:
        p = proposals.get_proposal(pid, session=session)
        assert p.status is ProposalStatus.APPLIED and p.decided_by == "ana@example.com"
        assert (
            proposals.audit_line(p)
            == f"owner changed by proposal {pid}, approved by ana@example.com on 2026-12-03"
        )


def test_a_stale_proposal_applies_only_what_still_holds_and_says_what_it_dropped(store: Engine) -> None:
    _book(store)
    pid = _propose(store)
    with transaction(store) as session:
        edited = session.get(AccountRow, ("acme", "0010"))
        gone = session.get(AccountRow, ("acme", "0011"))
        assert edited is not None and gone is not None
        edited.owner_crm_id = "005C"  # a person gave it to someone else
        gone.deleted_at = DECIDED
    with transaction(store) as session:
        decision = proposals.approve(pid, "ana@example.com", now=DECIDED, session=session)
    assert decision.applied == ("0012",)
    assert {d.account_id: d.why for d in decision.dropped} == {
        "0010": "its owner changed in the CRM since the proposal (now 005C)",
        "0011": "the account was deleted in the CRM",
    }
    assert [q.account_id for q in _queued(store)] == ["0012"]


def test_a_newer_proposal_supersedes_the_pending_one_which_can_no_longer_be_approved(store: Engine) -> None:
    _book(store)
    first = _propose(store)
    _propose(store, range(1))
    with transaction(store) as session:
        assert proposals.get_proposal(first, session=session).status is ProposalStatus.SUPERSEDED
        with pytest.raises(proposals.NotDecidable):
            proposals.approve(first, "ana@example.com", session=session)


def test_a_rejection_is_recorded_with_who_and_why_and_writes_nothing(store: Engine) -> None:
    _book(store)
    pid = _propose(store)
    with transaction(store) as session:
        proposals.reject(pid, "ana@example.com", "wait for Q1", now=DECIDED, session=session)
    with transaction(store) as session:
        p = proposals.get_proposal(pid, session=session)
        assert (p.status, p.decided_by, p.decision_reason) == (
            ProposalStatus.REJECTED,
            "ana@example.com",
            "wait for Q1",
        )
    assert _queued(store) == []
