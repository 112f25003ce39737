"""The store's tables: what was pulled, what was planned, what must be pushed, and run history.

CRM records are keyed by `(org_id, crm_id)` and keep the raw CRM payload as
JSON beside the normalised columns, so a mapping bug can be fixed and
replayed without re-pulling. Deleted or merged records are marked with
`deleted_at`, never removed: the next plan must know they are gone.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from sync.store.types import UTCDateTime, json_type, utcnow


def _ts(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def _created() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


def _json(default: Any = dict) -> Any:
    return Field(default_factory=default, sa_column=Column(json_type(), nullable=False))


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"  # finished, but some records were rejected or quarantined
    FAILED = "failed"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a sender; a crash leaves it here to be resent (idempotent)
    DONE = "done"
    RETRY = "retry"  # rejected or transient; sent again after `next_attempt_at`
    PARKED = "parked"  # gave up after max attempts; needs a human (`tsync outbox retry`)
    SUPERSEDED = "superseded"  # a newer plan replaced this change before it was sent


class CrmOrg(SQLModel, table=True):
    """One connected CRM org (a Salesforce org or a HubSpot portal)."""

    __tablename__ = "crm_org"

    id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=16)  # "salesforce" | "hubspot"
    name: str = Field(default="", max_length=200)
    created_at: datetime = _created()


class AccountRow(SQLModel, table=True):
    __tablename__ = "account"

    org_id: str = Field(primary_key=True, foreign_key="crm_org.id", max_length=64)
    crm_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(default="", max_length=300)
    lat: float | None = None
    lon: float | None = None
    location_source: str = Field(default="crm", max_length=16)  # crm | postal | none
    postal_code: str | None = Field(default=None, max_length=32)
    country: str | None = Field(default=None, max_length=64)
    tier: str | None = Field(default=None, max_length=16)
    potential: float | None = None
    effort: float | None = None
    industry: str | None = Field(default=None, max_length=120)
    owner_crm_id: str | None = Field(default=None, max_length=64)
    territory: str | None = Field(default=None, max_length=120)
    locked: bool = False
    crm_modified_at: datetime | None = _ts()
    deleted_at: datetime | None = _ts()
    merged_into: str | None = Field(default=None, max_length=64)
    pulled_at: datetime = _created()
    raw: dict[str, Any] = _json()


class RepRow(SQLModel, table=True):
    __tablename__ = "rep"

    org_id: str = Field(primary_key=True, foreign_key="crm_org.id", max_length=64)
    crm_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, max_length=200)
    active: bool = True
    home_lat: float | None = None
    home_lon: float | None = None
    home_postal_code: str | None = Field(default=None, max_length=32)
    crm_modified_at: datetime | None = _ts()
    deleted_at: datetime | None = _ts()
    merged_into: str | None = Field(default=None, max_length=64)
    pulled_at: datetime = _created()
    raw: dict[str, Any] = _json()


class ActivityRow(SQLModel, table=True):
    __tablename__ = "activity"
    __table_args__ = (Index("ix_activity_account", "org_id", "account_crm_id"),)

    org_id: str = Field(primary_key=True, foreign_key="crm_org.id", max_length=64)
    crm_id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=16)
    account_crm_id: str | None = Field(default=None, max_length=64)
    owner_crm_id: str | None = Field(default=None, max_length=64)
    started_at: datetime | None = _ts()
    ended_at: datetime | None = _ts()
    subject: str = Field(default="", max_length=300)
    completed: bool = False
    external_id: str | None = Field(default=None, max_length=128)
    crm_modified_at: datetime | None = _ts()
    deleted_at: datetime | None = _ts()
    merged_into: str | None = Field(default=None, max_length=64)
    pulled_at: datetime = _created()
    raw: dict[str, Any] = _json()


class SyncCursor(SQLModel, table=True):
    """Where the next incremental pull of one stream starts (opaque to the store)."""

    __tablename__ = "sync_cursor"

    org_id: str = Field(primary_key=True, foreign_key="crm_org.id", max_length=64)
    stream: str = Field(primary_key=True, max_length=32)  # accounts | reps | activities
    cursor: str = Field(default="")
    updated_at: datetime = _created()


class SyncRun(SQLModel, table=True):
    """One pull, plan, push or full run, as shown by `tsync runs`."""

    __tablename__ = "sync_run"

    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(foreign_key="crm_org.id", max_length=64, index=True)
    kind: str = Field(max_length=16)  # pull | plan | push | run
    trigger: str = Field(default="manual", max_length=32)  # nightly | webhook | manual | resync
    status: str = Field(default=RunStatus.RUNNING, max_length=16)
    started_at: datetime = _created()
    finished_at: datetime | None = _ts()
    counts: dict[str, Any] = _json()  # records pulled/pushed/rejected, api calls, retries
    error_summary: str | None = None


class RecordIssue(SQLModel, table=True):
    """A record that could not be used as the CRM sent it: reported by id, never dropped."""

    __tablename__ = "record_issue"
    __table_args__ = (Index("ix_record_issue_run", "sync_run_id"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(foreign_key="crm_org.id", max_length=64)
    sync_run_id: int | None = Field(default=None, foreign_key="sync_run.id")
    stream: str = Field(max_length=32)
    crm_id: str = Field(max_length=64)
    problem: str
    created_at: datetime = _created()


class PlanRun(SQLModel, table=True):
    __tablename__ = "plan_run"

    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(foreign_key="crm_org.id", max_length=64, index=True)
    sync_run_id: int | None = Field(default=None, foreign_key="sync_run.id")
    created_at: datetime = _created()
    mode: str = Field(default="minimal", max_length=16)
    seed: int = 0
    inputs_fingerprint: str = Field(default="", max_length=64)
    status: str = Field(default=RunStatus.RUNNING, max_length=16)
    metrics_before: dict[str, Any] = _json()
    metrics_after: dict[str, Any] = _json()
    summary: dict[str, Any] = _json()  # moves, unassigned, locks from human edits, coverage


class PlannedAssignment(SQLModel, table=True):
    __tablename__ = "planned_assignment"

    plan_run_id: int = Field(primary_key=True, foreign_key="plan_run.id")
    account_crm_id: str = Field(primary_key=True, max_length=64)
    rep_crm_id: str | None = Field(default=None, max_length=64)  # None: unassigned
    territory: str | None = Field(default=None, max_length=120)
    previous_rep_crm_id: str | None = Field(default=None, max_length=64)
    moved: bool = False
    reason: str | None = None


class PlannedVisit(SQLModel, table=True):
    __tablename__ = "planned_visit"
    __table_args__ = (UniqueConstraint("plan_run_id", "visit_key"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_run_id: int = Field(foreign_key="plan_run.id", index=True)
    visit_key: str = Field(max_length=128)  # stable across plans: the CRM external id
    rep_crm_id: str = Field(max_length=64)
    account_crm_id: str = Field(max_length=64)
    visit_date: date
    sequence: int
    starts_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ends_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    drive_minutes_before: float = 0.0


class OutboxItem(SQLModel, table=True):
    """One record change to send to the CRM, exactly once."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status", "org_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(foreign_key="crm_org.id", max_length=64)
    plan_run_id: int | None = Field(default=None, foreign_key="plan_run.id")
    idempotency_key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=16)  # assignment | visit
    record_id: str = Field(max_length=128)  # account id or visit key
    payload: dict[str, Any] = _json()
    status: str = Field(default=OutboxStatus.PENDING, max_length=16)
    attempts: int = 0
    last_error: str | None = None
    last_error_code: str | None = Field(default=None, max_length=80)
    crm_record_id: str | None = Field(default=None, max_length=64)
    next_attempt_at: datetime | None = _ts()
    created_at: datetime = _created()
    updated_at: datetime = _created()


class WebhookEvent(SQLModel, table=True):
    """A received webhook delivery; the unique key drops duplicates and replays."""

    __tablename__ = "webhook_event"
    __table_args__ = (UniqueConstraint("source", "event_id"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=16)  # hubspot | salesforce | ops
    event_id: str = Field(max_length=128)
    org_id: str | None = Field(default=None, max_length=64)
    received_at: datetime = _created()
    payload: dict[str, Any] = _json()
    status: str = Field(default="queued", max_length=16)  # queued | processed | failed
    task_id: str | None = Field(default=None, max_length=64)
