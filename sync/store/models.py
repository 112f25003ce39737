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

from connectors.base import ActivityKind, CRMKind, Stream
from sync.store.outbox_payload import AssignmentPayload, NoticePayload, OutboxPayload, VisitPayload
from sync.store.plan_summary import BalanceMetrics, PlanRunSummary
from sync.store.proposal_doc import ProposalDiff, ProposalOutcome
from sync.store.types import JSONDocument, StrEnumColumn, TypedJSON, UTCDateTime, utcnow

# Columns are built per table (a SQLAlchemy Column belongs to one table), so the shared ones are
# declared by type (`sa_type`), never as a `sa_column` in a base class.


def _ts() -> Any:
    return Field(default=None, sa_type=UTCDateTime)


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def _json() -> Any:
    return Field(default_factory=dict, sa_type=JSONDocument, nullable=False)


def _document(schema: Any, default: Any = None) -> Any:
    column: Column[Any] = Column(TypedJSON(schema), nullable=False)
    return Field(sa_column=column) if default is None else Field(default_factory=default, sa_column=column)


def _enum(enum: type[StrEnum], default: StrEnum | None = None, *, length: int = 16) -> Any:
    column: Column[Any] = Column(StrEnumColumn(enum, length), nullable=False)
    return Field(sa_column=column) if default is None else Field(default=default, sa_column=column)


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


class RunKind(StrEnum):
    PULL = "pull"
    PLAN = "plan"
    PUSH = "push"
    RUN = "run"  # a whole pull -> plan -> push, holding the org for all three


class RunTrigger(StrEnum):
    MANUAL = "manual"  # the CLI or a direct call
    NIGHTLY = "nightly"
    WEBHOOK = "webhook"  # a CRM said something changed
    RESYNC = "resync"  # ops asked (`POST /resync`, `tsync resync`)
    DEMO = "demo"


class PlanMode(StrEnum):
    MINIMAL = "minimal"  # the nightly rebalance: as few moves as balance allows
    FULL = "full"  # a clean redesign


class LocationSource(StrEnum):
    CRM = "crm"  # the CRM's own coordinates
    POSTAL = "postal"  # the postal code's centre (approximate)
    NONE = "none"  # not placed: kept out of routing


class OutboxKind(StrEnum):
    ASSIGNMENT = "assignment"  # an account's owner and territory
    VISIT = "visit"  # a planned visit (Event / meeting), or its withdrawal
    NOTICE = "notice"  # a Task telling a rep which accounts their book gained and lost


class ProposalStatus(StrEnum):
    PENDING = "pending"  # waiting for an approver; nothing of it is in the CRM
    APPROVED = "approved"  # decided; its moves are being queued
    REJECTED = "rejected"
    APPLIED = "applied"  # its moves that still held are queued for the CRM
    SUPERSEDED = "superseded"  # a newer proposal replaced it before anyone decided


class ProposalOrigin(StrEnum):
    NIGHTLY = "nightly"  # the nightly run's rebalance
    SCENARIO = "scenario"  # a what-if (`tsync propose`): never applied by itself


class WebhookSource(StrEnum):
    HUBSPOT = "hubspot"
    SALESFORCE = "salesforce"
    OPS = "ops"  # POST /resync


class WebhookStatus(StrEnum):
    QUEUED = "queued"
    PROCESSED = "processed"
    FAILED = "failed"


class CrmOrg(SQLModel, table=True):
    """One connected CRM org (a Salesforce org or a HubSpot portal)."""

    __tablename__ = "crm_org"

    id: str = Field(primary_key=True, max_length=64)
    kind: CRMKind = _enum(CRMKind)
    name: str = Field(default="", max_length=200)
    created_at: datetime = _created()


class PulledRow(SQLModel):
    """The columns every pulled record's row has: its key, when the CRM last changed it, whether it
    is gone (deleted, or merged into another), when we pulled it, and the CRM's raw payload."""

    org_id: str = Field(primary_key=True, foreign_key="crm_org.id", max_length=64)
    crm_id: str = Field(primary_key=True, max_length=64)
    crm_modified_at: datetime | None = _ts()
    deleted_at: datetime | None = _ts()
    merged_into: str | None = Field(default=None, max_length=64)
    pulled_at: datetime = _created()
    raw: dict[str, Any] = _json()


# Each pulled table comes in a family (as in the FastAPI full-stack template): `PulledX` is a row as
# intake builds it (validated, cheap to make), `XRow(PulledX, table=True)` the table it is stored in.


class PulledAccount(PulledRow):
    name: str = Field(default="", max_length=300)
    lat: float | None = None
    lon: float | None = None
    location_source: LocationSource = LocationSource.CRM
    postal_code: str | None = Field(default=None, max_length=32)
    country: str | None = Field(default=None, max_length=64)
    tier: str | None = Field(default=None, max_length=16)
    potential: float | None = None
    effort: float | None = None
    industry: str | None = Field(default=None, max_length=120)
    owner_crm_id: str | None = Field(default=None, max_length=64)
    territory: str | None = Field(default=None, max_length=120)
    locked: bool = False
    skills: str | None = Field(default=None, max_length=1000)  # ";"-separated, sorted
    visit_windows: str | None = Field(default=None, max_length=500)  # standing windows, as parsed
    address: str | None = Field(default=None, max_length=300)


class AccountRow(PulledAccount, table=True):
    __tablename__ = "account"

    location_source: LocationSource = _enum(LocationSource, LocationSource.CRM)


class PulledRep(PulledRow):
    name: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, max_length=200)
    active: bool = True
    home_lat: float | None = None
    home_lon: float | None = None
    home_postal_code: str | None = Field(default=None, max_length=32)
    time_zone: str | None = Field(default=None, max_length=64)
    on_crm_team: bool | None = None  # by SALESFORCE_REP_FILTER / HUBSPOT_REP_TEAMS; None: no rule set


class RepRow(PulledRep, table=True):
    __tablename__ = "rep"


class PulledActivity(PulledRow):
    kind: ActivityKind
    account_crm_id: str | None = Field(default=None, max_length=64)
    owner_crm_id: str | None = Field(default=None, max_length=64)
    started_at: datetime | None = _ts()
    ended_at: datetime | None = _ts()
    subject: str = Field(default="", max_length=300)
    completed: bool = False
    external_id: str | None = Field(default=None, max_length=128)


class ActivityRow(PulledActivity, table=True):
    __tablename__ = "activity"
    __table_args__ = (Index("ix_activity_account", "org_id", "account_crm_id"),)

    kind: ActivityKind = _enum(ActivityKind)


class PulledOpportunity(PulledRow):
    name: str = Field(default="", max_length=300)
    amount: float | None = None
    stage: str = Field(default="", max_length=120)
    close_date: date | None = None
    owner_crm_id: str | None = Field(default=None, max_length=64)
    account_crm_id: str | None = Field(default=None, max_length=64)
    is_closed: bool = False


class OpportunityRow(PulledOpportunity, table=True):
    __tablename__ = "opportunity"
    __table_args__ = (Index("ix_opportunity_account", "org_id", "account_crm_id"),)


class SyncCursor(SQLModel, table=True):
    """Where the next incremental pull of one stream starts (opaque to the store)."""

    __tablename__ = "sync_cursor"

    org_id: str = Field(primary_key=True, foreign_key="crm_org.id", max_length=64)
    stream: Stream = Field(sa_column=Column(StrEnumColumn(Stream, 32), primary_key=True))
    cursor: str = Field(default="")
    updated_at: datetime = _created()


class SyncRun(SQLModel, table=True):
    """One pull, plan, push or full run, as shown by `tsync runs`."""

    __tablename__ = "sync_run"

    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(foreign_key="crm_org.id", max_length=64, index=True)
    kind: RunKind = _enum(RunKind)
    trigger: RunTrigger = _enum(RunTrigger, RunTrigger.MANUAL, length=32)
    status: RunStatus = _enum(RunStatus, RunStatus.RUNNING)
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
    stream: Stream = _enum(Stream, length=32)
    crm_id: str = Field(max_length=64)
    problem: str
    created_at: datetime = _created()


class PlanRun(SQLModel, table=True):
    __tablename__ = "plan_run"

    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(foreign_key="crm_org.id", max_length=64, index=True)
    sync_run_id: int | None = Field(default=None, foreign_key="sync_run.id")
    created_at: datetime = _created()
    mode: PlanMode = _enum(PlanMode, PlanMode.MINIMAL)
    seed: int = 0
    inputs_fingerprint: str = Field(default="", max_length=64)
    status: RunStatus = _enum(RunStatus, RunStatus.RUNNING)
    metrics_before: BalanceMetrics = _document(BalanceMetrics, BalanceMetrics)
    metrics_after: BalanceMetrics = _document(BalanceMetrics, BalanceMetrics)
    summary: PlanRunSummary = _document(PlanRunSummary, PlanRunSummary)


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
    starts_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    ends_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    drive_minutes_before: float = 0.0
    # for the rep's calendar entry: the account's tier and cadence, and its visit before this one
    tier: str | None = Field(default=None, max_length=16)
    visits_per_year: float | None = None
    last_visit: date | None = None


class Proposal(SQLModel, table=True):
    """A rebalance of territories a person approves or rejects: never in the CRM before approval."""

    __tablename__ = "proposal"
    __table_args__ = (Index("ix_proposal_org_status", "org_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(foreign_key="crm_org.id", max_length=64)
    plan_run_id: int | None = Field(default=None, foreign_key="plan_run.id")
    origin: ProposalOrigin = _enum(ProposalOrigin, ProposalOrigin.NIGHTLY)
    label: str = Field(default="", max_length=300)  # a scenario's description
    status: ProposalStatus = _enum(ProposalStatus, ProposalStatus.PENDING)
    created_at: datetime = _created()
    inputs_fingerprint: str = Field(default="", max_length=64)  # the snapshot it was planned from
    diff: ProposalDiff = _document(ProposalDiff, ProposalDiff)
    metrics_before: BalanceMetrics = _document(BalanceMetrics, BalanceMetrics)
    metrics_after: BalanceMetrics = _document(BalanceMetrics, BalanceMetrics)
    decided_by: str | None = Field(default=None, max_length=200)
    decided_at: datetime | None = _ts()
    decision_reason: str | None = None
    effective_on: date | None = None  # when the approved moves take effect (None: at once)
    applied_at: datetime | None = _ts()
    applied: int = 0  # moves queued for the CRM on approval
    dropped: int = 0  # moves that no longer held
    outcome: ProposalOutcome = _document(ProposalOutcome, ProposalOutcome)


class OutboxItem(SQLModel, table=True):
    """One record change to send to the CRM, exactly once."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status", "org_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(foreign_key="crm_org.id", max_length=64)
    plan_run_id: int | None = Field(default=None, foreign_key="plan_run.id")
    idempotency_key: str = Field(max_length=200, unique=True)
    kind: OutboxKind = _enum(OutboxKind)
    record_id: str = Field(max_length=128)  # account id, visit key or notice key
    payload: AssignmentPayload | VisitPayload | NoticePayload = _document(OutboxPayload)
    status: OutboxStatus = _enum(OutboxStatus, OutboxStatus.PENDING)
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
    source: WebhookSource = _enum(WebhookSource)
    event_id: str = Field(max_length=128)
    org_id: str | None = Field(default=None, max_length=64)
    received_at: datetime = _created()
    payload: dict[str, Any] = _json()
    status: WebhookStatus = _enum(WebhookStatus, WebhookStatus.QUEUED)
    task_id: str | None = Field(default=None, max_length=64)


class TravelPair(SQLModel, table=True):
    """One origin → destination pair a road engine answered, kept so the next run need not ask again.

    Keyed by what answered (engine, profile, data version: rebuilt tiles have a new
    one, so their pairs miss) and the two points, rounded to 1e-5 degrees (about a metre).
    `minutes`/`km` are null where the engine found no route: the fallback is applied on
    reading, so a changed fallback penalty needs no new routing.
    """

    __tablename__ = "travel_pair"

    engine: str = Field(primary_key=True, max_length=32)
    profile: str = Field(primary_key=True, max_length=64)
    data_version: str = Field(primary_key=True, max_length=128)
    origin: str = Field(primary_key=True, max_length=24)  # "lat,lon" with 5 decimals
    destination: str = Field(primary_key=True, max_length=24)
    minutes: float | None = None
    km: float | None = None
    origin_off_road: bool = False  # no drivable road within the snap distance of the origin
    destination_off_road: bool = False
    created_at: datetime = _created()
