"""A consistent view of one org for the planner: store rows in, planner dataclasses out.

Also where "a human edit in the CRM wins" is decided: an account whose owner
or territory in the CRM differs from what we last pushed, changed after that
push, is locked to the CRM's value and listed in the run report.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from connectors.base import Stream
from planner import Account, Policy, Rep, TimeWindow
from sync.open_pipeline import OpenDeal, OpenPipeline, load_open_pipeline, weigh_accounts
from sync.plan_window import PlanWindow
from sync.runs import RecordProblem
from sync.store import AccountRow, ActivityRow, LocationSource, OutboxItem, OutboxKind, OutboxStatus, RepRow
from sync.store.outbox_payload import AssignmentPayload
from sync.store.plan_summary import HumanEdit

VISIT_KEY_PREFIX = "ts-"  # external ids of the visits territory-sync writes


@dataclass(frozen=True)
class CompletedVisitRow:
    account_id: str
    on: date


@dataclass(frozen=True)
class Snapshot:
    accounts: tuple[Account, ...]
    reps: tuple[Rep, ...]
    completed: tuple[CompletedVisitRow, ...]
    current_owner: Mapping[str, str | None]
    current_territory: Mapping[str, str | None]
    rep_names: Mapping[str, str]
    human_edits: tuple[HumanEdit, ...]
    issues: tuple[RecordProblem, ...]
    fingerprint: str
    pipeline: OpenPipeline = field(default_factory=OpenPipeline)
    protected: Mapping[str, OpenDeal] = field(default_factory=dict)  # kept for this open deal


@dataclass(frozen=True)
class PushedAssignment:
    """The last assignment we successfully pushed for an account, and when."""

    at: datetime
    payload: AssignmentPayload


@dataclass(frozen=True)
class OpenVisits:
    """Future visits not yet done: ours are fixed appointments, others count as booked."""

    appointments: Mapping[str, list[TimeWindow]]
    booked: list[CompletedVisitRow]


@dataclass
class AccountsView:
    """The accounts as the planner sees them, and what reading them found."""

    accounts: list[Account] = field(default_factory=list)
    books: dict[str, list[AccountRow]] = field(default_factory=lambda: defaultdict(list))  # by owner
    human_edits: list[HumanEdit] = field(default_factory=list)
    issues: list[RecordProblem] = field(default_factory=list)


def last_pushed_assignments(org_id: str, *, session: Session) -> dict[str, PushedAssignment]:
    """Per account, when we last successfully pushed an assignment and what it was."""
    rows = session.exec(
        select(OutboxItem)
        .where(OutboxItem.org_id == org_id, OutboxItem.kind == OutboxKind.ASSIGNMENT)
        .where(OutboxItem.status == OutboxStatus.DONE)
        .order_by(col(OutboxItem.updated_at))
    ).all()
    return {
        row.record_id: PushedAssignment(row.updated_at, row.payload)
        for row in rows
        if isinstance(row.payload, AssignmentPayload)
    }


def load_snapshot(
    org_id: str, policy: Policy, window: PlanWindow, *, session: Session, history_days: int = 365
) -> Snapshot:
    """Accounts, reps and visits of one org as of the last pull.

    Our own visits still open in the CRM come back as fixed appointments, so the
    near-term plan a rep already sees stays put; visits people booked themselves
    count toward frequency like completed ones.
    """
    rep_rows = session.exec(
        select(RepRow).where(RepRow.org_id == org_id, col(RepRow.deleted_at).is_(None))
    ).all()
    account_rows = session.exec(
        select(AccountRow)
        .where(AccountRow.org_id == org_id, col(AccountRow.deleted_at).is_(None))
        .order_by(col(AccountRow.crm_id))
    ).all()
    active_reps = {r.crm_id: r for r in rep_rows if r.active}
    open_visits = _open_visits(
        org_id, session=session, zone=window.zone, after=window.today, until=window.end
    )
    view = _accounts(
        account_rows, policy, active_reps, last_pushed_assignments(org_id, session=session), open_visits
    )
    reps = _reps(active_reps, view)
    pipeline = load_open_pipeline(org_id, session=session, today=window.today)
    view.accounts, protected = weigh_accounts(view.accounts, pipeline, policy)
    completed = [
        *_completed_visits(
            org_id, session=session, since=window.today - timedelta(days=history_days), today=window.today
        ),
        *open_visits.booked,
    ]
    return Snapshot(
        accounts=tuple(view.accounts),
        reps=tuple(reps),
        completed=tuple(sorted(completed, key=lambda c: (c.account_id, c.on))),
        current_owner={a.crm_id: a.owner_crm_id for a in account_rows},
        current_territory={a.crm_id: a.territory for a in account_rows},
        rep_names={r.crm_id: r.name for r in rep_rows},
        human_edits=tuple(view.human_edits),
        issues=tuple(view.issues),
        fingerprint=_fingerprint(view.accounts, reps, completed, policy),
        pipeline=pipeline,
        protected=protected,
    )


def _accounts(
    rows: Sequence[AccountRow],
    policy: Policy,
    active_reps: Mapping[str, RepRow],
    pushed: Mapping[str, PushedAssignment],
    open_visits: OpenVisits,
) -> AccountsView:
    """Each stored account as a planner `Account`: tier checked, owner checked, human edits locked."""
    view = AccountsView()
    for row in rows:
        tier = row.tier
        if tier is not None and tier not in policy.tiers:
            unknown = f"unknown tier {tier!r}: planned as {policy.default_tier}"
            view.issues.append(RecordProblem(Stream.ACCOUNTS, row.crm_id, unknown))
            tier = None
        owner = row.owner_crm_id
        if owner is not None and owner not in active_reps:
            gone = f"owner {owner} is inactive or unknown: to be reassigned"
            view.issues.append(RecordProblem(Stream.ACCOUNTS, row.crm_id, gone))
            owner = None
        locked = row.locked
        edits = _human_edits(row, pushed.get(row.crm_id))
        if edits:
            view.human_edits.extend(edits)
            locked = owner is not None  # a human's choice stands, as long as its owner can work it
        if owner is not None:
            view.books[owner].append(row)
        view.accounts.append(
            Account(
                id=row.crm_id,
                lat=row.lat,
                lon=row.lon,
                tier=tier or policy.default_tier,
                potential=row.potential or 0.0,
                effort=row.effort or 1.0,
                name=row.name,
                segment=row.industry,
                current_rep=owner,
                locked=locked,
                approximate_location=row.location_source is LocationSource.POSTAL,
                windows=tuple(open_visits.appointments.get(row.crm_id, ())),
            )
        )
    return view


def _reps(active_reps: Mapping[str, RepRow], view: AccountsView) -> list[Rep]:
    """Each active rep at home; a rep with no home is placed at the centre of its book, or left out."""
    reps: list[Rep] = []
    for rep_id, rep_row in sorted(active_reps.items()):
        lat, lon = rep_row.home_lat, rep_row.home_lon
        if lat is None or lon is None:
            placed = [
                (a.lat, a.lon) for a in view.books.get(rep_id, []) if a.lat is not None and a.lon is not None
            ]
            if not placed:
                unplaced = "no home location and no located accounts: not planned"
                view.issues.append(RecordProblem(Stream.REPS, rep_id, unplaced))
                continue
            # Best available guess: the centre of the book the rep works today.
            lat = sum(p[0] for p in placed) / len(placed)
            lon = sum(p[1] for p in placed) / len(placed)
            guessed = "no home location: using the centre of the current book"
            view.issues.append(RecordProblem(Stream.REPS, rep_id, guessed))
        reps.append(Rep(id=rep_id, home_lat=lat, home_lon=lon, name=rep_row.name))
    return reps


def _completed_visits(org_id: str, *, session: Session, since: date, today: date) -> list[CompletedVisitRow]:
    """Visits done at an account between `since` and today (they count toward its frequency)."""
    completed: list[CompletedVisitRow] = []
    for a in session.exec(
        select(ActivityRow).where(
            ActivityRow.org_id == org_id,
            col(ActivityRow.deleted_at).is_(None),
            col(ActivityRow.account_crm_id).is_not(None),
            col(ActivityRow.completed).is_(True),
        )
    ).all():
        when = a.ended_at or a.started_at
        if a.account_crm_id is not None and when is not None and since <= when.date() <= today:
            completed.append(CompletedVisitRow(account_id=a.account_crm_id, on=when.date()))
    return completed


def _open_visits(org_id: str, *, session: Session, zone: ZoneInfo, after: date, until: date) -> OpenVisits:
    """Future, not-yet-done visits in the CRM: ours become fixed appointments, others count as booked."""
    appointments: dict[str, list[TimeWindow]] = defaultdict(list)
    booked: list[CompletedVisitRow] = []
    for a in session.exec(
        select(ActivityRow).where(
            ActivityRow.org_id == org_id,
            col(ActivityRow.deleted_at).is_(None),
            col(ActivityRow.completed).is_(False),
            col(ActivityRow.account_crm_id).is_not(None),
            col(ActivityRow.started_at).is_not(None),
        )
    ).all():
        assert a.started_at is not None and a.account_crm_id is not None
        local = a.started_at.astimezone(zone)
        if not after < local.date() < until:
            continue
        if a.external_id and a.external_id.startswith(VISIT_KEY_PREFIX):
            minute = local.hour * 60 + local.minute
            appointments[a.account_crm_id].append(TimeWindow(minute, minute, on=local.date()))
        else:
            booked.append(CompletedVisitRow(account_id=a.account_crm_id, on=local.date()))
    return OpenVisits(appointments, booked)


def _human_edits(row: AccountRow, last: PushedAssignment | None) -> list[HumanEdit]:
    if last is None or row.crm_modified_at is None or row.crm_modified_at <= last.at:
        return []
    pushed = last.payload
    edits = []
    if pushed.owner_id != row.owner_crm_id:
        edits.append(
            HumanEdit(
                account_id=row.crm_id, field="owner", pushed=pushed.owner_id, crm_value=row.owner_crm_id
            )
        )
    if pushed.territory != row.territory:
        edits.append(
            HumanEdit(
                account_id=row.crm_id, field="territory", pushed=pushed.territory, crm_value=row.territory
            )
        )
    return edits


def _fingerprint(
    accounts: list[Account], reps: list[Rep], completed: list[CompletedVisitRow], policy: Policy
) -> str:
    digest = hashlib.sha256()
    for item in (accounts, reps, completed):
        digest.update(json.dumps([repr(x) for x in item]).encode())
    digest.update(repr(policy).encode())
    return digest.hexdigest()
