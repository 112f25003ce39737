"""A consistent view of one org for the planner: store rows in, planner dataclasses out.

Also where "a human edit in the CRM wins" is decided: an account whose owner
or territory in the CRM differs from what we last pushed, changed after that
push, is locked to the CRM's value and listed in the run report.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from connectors.base import Stream
from planner import Account, Policy, Rep, TimeWindow
from sync.runs import RecordProblem
from sync.store import AccountRow, ActivityRow, OutboxItem, OutboxStatus, RepRow

VISIT_KEY_PREFIX = "ts-"  # external ids of the visits territory-sync writes


@dataclass(frozen=True)
class HumanEdit:
    account_id: str
    field: str  # owner | territory
    pushed: str | None
    crm_value: str | None


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


def last_pushed_assignments(
    org_id: str, *, session: Session
) -> dict[str, tuple[datetime, dict[str, object]]]:
    """Per account, when we last successfully pushed an assignment and what it was."""
    rows = session.exec(
        select(OutboxItem)
        .where(OutboxItem.org_id == org_id, OutboxItem.kind == "assignment")
        .where(OutboxItem.status == OutboxStatus.DONE)
        .order_by(col(OutboxItem.updated_at))
    ).all()
    return {row.record_id: (row.updated_at, row.payload) for row in rows}


def load_snapshot(
    org_id: str,
    policy: Policy,
    *,
    session: Session,
    today: date,
    zone: ZoneInfo = ZoneInfo("UTC"),
    horizon_days: int = 91,
    history_days: int = 365,
) -> Snapshot:
    """Accounts, reps and visits of one org as of the last pull.

    Our own visits still open in the CRM come back as fixed appointments, so the
    near-term plan a rep already sees stays put; visits people booked themselves
    count toward frequency like completed ones.
    """
    issues: list[RecordProblem] = []
    rep_rows = session.exec(
        select(RepRow).where(RepRow.org_id == org_id, col(RepRow.deleted_at).is_(None))
    ).all()
    account_rows = session.exec(
        select(AccountRow)
        .where(AccountRow.org_id == org_id, col(AccountRow.deleted_at).is_(None))
        .order_by(col(AccountRow.crm_id))
    ).all()
    active_reps = {r.crm_id: r for r in rep_rows if r.active}
    pushed = last_pushed_assignments(org_id, session=session)

    appointments, booked = _open_visits(
        org_id, session=session, zone=zone, after=today, until=today + timedelta(days=horizon_days)
    )
    human_edits: list[HumanEdit] = []
    accounts: list[Account] = []
    books: dict[str, list[AccountRow]] = defaultdict(list)
    for row in account_rows:
        tier = row.tier
        if tier is not None and tier not in policy.tiers:
            unknown = f"unknown tier {tier!r}: planned as {policy.default_tier}"
            issues.append(RecordProblem(Stream.ACCOUNTS, row.crm_id, unknown))
            tier = None
        owner = row.owner_crm_id
        if owner is not None and owner not in active_reps:
            gone = f"owner {owner} is inactive or unknown: to be reassigned"
            issues.append(RecordProblem(Stream.ACCOUNTS, row.crm_id, gone))
            owner = None
        locked = row.locked
        edit = _human_edit(row, pushed.get(row.crm_id))
        if edit:
            human_edits.extend(edit)
            locked = owner is not None  # a human's choice stands, as long as its owner can work it
        if owner is not None:
            books[owner].append(row)
        accounts.append(
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
                approximate_location=row.location_source == "postal",
                windows=tuple(appointments.get(row.crm_id, ())),
            )
        )

    reps: list[Rep] = []
    for rep_id, rep_row in sorted(active_reps.items()):
        lat, lon = rep_row.home_lat, rep_row.home_lon
        if lat is None or lon is None:
            placed = [a for a in books.get(rep_id, []) if a.lat is not None and a.lon is not None]
            if not placed:
                unplaced = "no home location and no located accounts: not planned"
                issues.append(RecordProblem(Stream.REPS, rep_id, unplaced))
                continue
            # Best available guess: the centre of the book the rep works today.
            lat = sum(a.lat for a in placed if a.lat is not None) / len(placed)
            lon = sum(a.lon for a in placed if a.lon is not None) / len(placed)
            guessed = "no home location: using the centre of the current book"
            issues.append(RecordProblem(Stream.REPS, rep_id, guessed))
        reps.append(Rep(id=rep_id, home_lat=lat, home_lon=lon, name=rep_row.name))

    since = today - timedelta(days=history_days)
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
    completed.extend(booked)

    return Snapshot(
        accounts=tuple(accounts),
        reps=tuple(reps),
        completed=tuple(sorted(completed, key=lambda c: (c.account_id, c.on))),
        current_owner={a.crm_id: a.owner_crm_id for a in account_rows},
        current_territory={a.crm_id: a.territory for a in account_rows},
        rep_names={r.crm_id: r.name for r in rep_rows},
        human_edits=tuple(human_edits),
        issues=tuple(issues),
        fingerprint=_fingerprint(accounts, reps, completed, policy),
    )


def _open_visits(
    org_id: str, *, session: Session, zone: ZoneInfo, after: date, until: date
) -> tuple[dict[str, list[TimeWindow]], list[CompletedVisitRow]]:
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
    return appointments, booked


def _human_edit(row: AccountRow, last: tuple[datetime, dict[str, object]] | None) -> list[HumanEdit]:
    if last is None or row.crm_modified_at is None:
        return []
    pushed_at, payload = last
    if row.crm_modified_at <= pushed_at:
        return []
    edits = []
    if payload.get("owner_id") != row.owner_crm_id:
        edits.append(HumanEdit(row.crm_id, "owner", _str(payload.get("owner_id")), row.owner_crm_id))
    if payload.get("territory") != row.territory:
        edits.append(HumanEdit(row.crm_id, "territory", _str(payload.get("territory")), row.territory))
    return edits


def _str(value: object) -> str | None:
    return None if value is None else str(value)


def _fingerprint(
    accounts: list[Account], reps: list[Rep], completed: list[CompletedVisitRow], policy: Policy
) -> str:
    digest = hashlib.sha256()
    for item in (accounts, reps, completed):
        digest.update(json.dumps([repr(x) for x in item]).encode())
    digest.update(repr(policy).encode())
    return digest.hexdigest()
