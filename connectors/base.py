"""The one protocol every CRM implements, the CRM-neutral records it speaks, and its streams.

Connectors turn each CRM's shapes into these records (timestamps in UTC,
ids as strings) and hide every quirk behind `CRMConnector`. Nothing here
imports a CRM SDK: only each CRM's `client` module does.

A `Stream` is a neutral kind of record (reps, accounts, activities, opportunities). Each CRM
declares, in its own `streams` module, one `StreamSpec` per CRM object that
feeds a stream: the object, the fields read, the mapper to the neutral record,
the cursor field and whether deletions are reported. Activities are fed by two
objects in both CRMs (Events and Tasks; meetings and calls). `FieldMap` names
the CRM fields that hold the planner's account attributes; a connector builds
its specs from the map it is given, so an org with its own fields needs a map,
not code.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Generic, Literal, Protocol, TypeVar, overload, runtime_checkable


class CRMKind(StrEnum):
    """Which CRM an org is: decides the connector, never derived from an org's id."""

    SALESFORCE = "salesforce"
    HUBSPOT = "hubspot"


def as_utc(value: datetime) -> datetime:
    """Normalise a datetime to aware UTC; naive values are taken as UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


# --------------------------------------------------------------------------- pulled records


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """An account (Salesforce) or company (HubSpot), as the CRM holds it."""

    crm_id: str
    name: str
    modified_at: datetime
    lat: float | None = None
    lon: float | None = None
    postal_code: str | None = None
    country: str | None = None
    tier: str | None = None  # as the CRM spells it; the store decides what is unknown
    potential: float | None = None
    effort: float | None = None
    industry: str | None = None
    owner_id: str | None = None
    territory: str | None = None
    locked: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RepRecord:
    """A Salesforce User or HubSpot owner who can own accounts."""

    crm_id: str
    name: str
    modified_at: datetime
    email: str | None = None
    active: bool = True
    home_lat: float | None = None
    home_lon: float | None = None
    home_postal_code: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


class ActivityKind(StrEnum):
    EVENT = "event"  # Salesforce Event
    TASK = "task"  # Salesforce Task
    MEETING = "meeting"  # HubSpot meeting
    CALL = "call"  # HubSpot call


@dataclass(frozen=True, slots=True)
class ActivityRecord:
    """Something a rep did (or will do) at an account: Events/Tasks, meetings/calls."""

    crm_id: str
    kind: ActivityKind
    modified_at: datetime
    account_id: str | None = None
    owner_id: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    subject: str = ""
    completed: bool = False
    external_id: str | None = None  # set when the activity is one of our planned visits
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OpportunityRecord:
    """A Salesforce Opportunity or HubSpot deal: pipeline at an account, open until it closes."""

    crm_id: str
    name: str
    modified_at: datetime
    amount: float | None = None
    stage: str = ""  # as the CRM names it (a StageName, a dealstage id)
    close_date: date | None = None
    owner_id: str | None = None
    account_id: str | None = None
    is_closed: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeletedRecord:
    """A record the CRM deleted or merged away since the cursor."""

    crm_id: str
    deleted_at: datetime
    merged_into: str | None = None


PulledRecord = AccountRecord | RepRecord | ActivityRecord | OpportunityRecord

R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


@dataclass(frozen=True, slots=True)
class Page(Generic[R]):
    """One page of a pull. Store it, then save `cursor`: a crash resumes after this page.

    `cursor` is opaque to callers (the connector encodes what it needs, e.g.
    the boundary timestamp and the ids already seen at it).
    """

    records: Sequence[R]
    deleted: Sequence[DeletedRecord]
    cursor: str


# --------------------------------------------------------------------------- streams


class Stream(StrEnum):
    """A neutral stream of pulled records; each has its own cursor in the store."""

    REPS = "reps"  # RepRecord
    ACCOUNTS = "accounts"  # AccountRecord
    ACTIVITIES = "activities"  # ActivityRecord
    OPPORTUNITIES = "opportunities"  # OpportunityRecord


STREAM_RECORDS: Mapping[Stream, type[PulledRecord]] = {
    Stream.REPS: RepRecord,
    Stream.ACCOUNTS: AccountRecord,
    Stream.ACTIVITIES: ActivityRecord,
    Stream.OPPORTUNITIES: OpportunityRecord,
}


class RecordMapper(Protocol[R_co]):
    """One raw CRM record to its neutral record; `now` is when the pull began."""

    def __call__(self, raw: Mapping[str, Any], /, *, now: datetime) -> R_co: ...


@dataclass(frozen=True)
class StreamSpec(Generic[R]):
    """One CRM object feeding a neutral stream, declared once per CRM (see each `streams` module)."""

    stream: Stream
    crm_object: str  # "Account", "Event"; "companies", "meetings"
    fields: tuple[str, ...]  # what the pull asks the CRM for
    mapper: RecordMapper[R]
    cursor_field: str  # the change timestamp incremental pulls page by (>= the cursor)
    deletable: bool  # deleted/merged records are reported as `DeletedRecord`s
    associations: tuple[str, ...] = ()  # objects whose ids the mapper needs (HubSpot associations)


@dataclass(frozen=True)
class FieldMap:
    """Which CRM field holds each planner attribute of an account, and which one gets the territory.

    Each CRM's `streams` module has its default (today's custom fields); a
    connector given another map reads and writes those fields instead. None:
    the org has no such field (the planner's default applies).
    """

    tier: str | None
    potential: str | None
    effort: str | None
    locked: str | None
    territory: str  # read, and written back by assignments

    @property
    def account_fields(self) -> tuple[str, ...]:
        """The mapped fields, in a stable order, for a pull's field list."""
        named = (self.tier, self.potential, self.effort, self.territory, self.locked)
        return tuple(dict.fromkeys(f for f in named if f))


def streams_of(specs: Sequence[StreamSpec[Any]]) -> frozenset[Stream]:
    return frozenset(s.stream for s in specs)


def specs_for(specs: Sequence[StreamSpec[Any]], stream: Stream) -> tuple[StreamSpec[Any], ...]:
    """The specs feeding `stream`, in declaration order; a stream the CRM lacks is a caller's bug."""
    chosen = tuple(s for s in specs if s.stream is Stream(stream))
    if not chosen:
        raise ValueError(f"this connector has no {stream} stream")
    return chosen


# --------------------------------------------------------------------------- pushed records


@dataclass(frozen=True, slots=True)
class AssignmentChange:
    """Give an account a new owner and/or territory in the CRM."""

    key: str  # idempotency key: the same change pushed twice is applied once
    account_id: str
    owner_id: str | None
    territory: str | None
    previous_owner_id: str | None = None
    previous_territory: str | None = None


@dataclass(frozen=True, slots=True)
class VisitRecord:
    """A planned visit, written as a Salesforce Event or a HubSpot meeting.

    `key` is the external id stored on the CRM record; pushing it again updates
    the same record instead of creating another. `cancelled` withdraws a visit
    an earlier plan pushed.
    """

    key: str
    account_id: str
    owner_id: str
    start: datetime
    end: datetime
    subject: str
    description: str = ""
    cancelled: bool = False


@dataclass(frozen=True, slots=True)
class RepNotice:
    """A note to one rep (a Salesforce Task, a HubSpot task) about a change to their book.

    `key` is stored on the CRM record (the external id our visits use), so sending
    the same notice again updates that Task instead of creating another.
    """

    key: str
    owner_id: str
    subject: str
    description: str
    due: date


class Outcome(StrEnum):
    DONE = "done"
    REJECTED = "rejected"  # the CRM refused this record; retrying unchanged will not help
    RETRY = "retry"  # a transient failure; send again later


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    key: str
    outcome: Outcome
    crm_id: str | None = None
    error_code: str | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class PushResult:
    """One outcome per record pushed, in the order they were given."""

    outcomes: Sequence[RecordOutcome]
    api_calls: int = 0

    def with_outcome(self, outcome: Outcome) -> list[RecordOutcome]:
        return [o for o in self.outcomes if o.outcome is outcome]

    @property
    def done(self) -> list[RecordOutcome]:
        return self.with_outcome(Outcome.DONE)

    @property
    def rejected(self) -> list[RecordOutcome]:
        return self.with_outcome(Outcome.REJECTED)

    @property
    def to_retry(self) -> list[RecordOutcome]:
        return self.with_outcome(Outcome.RETRY)


# --------------------------------------------------------------------------- the protocol


class CRMError(Exception):
    """A CRM problem a run cannot work around (bad credentials, quota guard tripped)."""


class QuotaExhausted(CRMError):
    """The run stopped itself before burning the org's daily API allowance."""


class CRMAPIError(CRMError):
    """An error answer from a CRM's API: HTTP status, the CRM's own error code, its message."""

    crm = "CRM"

    def __init__(self, status: int, code: str | None, message: str) -> None:
        said = f"{self.crm} answered {status} {code}" if code else f"{self.crm} answered {status}"
        super().__init__(f"{said}: {message}")
        self.status = status
        self.code = code
        self.message = message


@runtime_checkable
class CRMConnector(Protocol):
    @property
    def kind(self) -> CRMKind:
        """Which CRM this connector speaks to."""
        ...

    @property
    def streams(self) -> frozenset[Stream]:
        """The streams this connector can pull."""
        ...

    @overload
    def pull(
        self, stream: Literal[Stream.ACCOUNTS], since: str | None, *, full: bool = False
    ) -> Iterator[Page[AccountRecord]]: ...

    @overload
    def pull(
        self, stream: Literal[Stream.REPS], since: str | None, *, full: bool = False
    ) -> Iterator[Page[RepRecord]]: ...

    @overload
    def pull(
        self, stream: Literal[Stream.ACTIVITIES], since: str | None, *, full: bool = False
    ) -> Iterator[Page[ActivityRecord]]: ...

    @overload
    def pull(
        self, stream: Literal[Stream.OPPORTUNITIES], since: str | None, *, full: bool = False
    ) -> Iterator[Page[OpportunityRecord]]: ...

    @overload
    def pull(self, stream: Stream, since: str | None, *, full: bool = False) -> Iterator[Page[Any]]: ...

    def pull(self, stream: Stream, since: str | None, *, full: bool = False) -> Iterator[Page[Any]]:
        """Records of `stream` changed at or after the cursor (all of them with `full`), deletions
        included; each page's `cursor` resumes after it. Records are `STREAM_RECORDS[stream]`."""
        ...

    def push_assignments(self, changes: Sequence[AssignmentChange]) -> PushResult: ...

    def push_visits(self, visits: Sequence[VisitRecord]) -> PushResult: ...

    def push_notices(self, notices: Sequence[RepNotice]) -> PushResult:
        """One Task per notice, owned by its rep, upserted by the notice's key."""
        ...

    @property
    def api_calls(self) -> int:
        """HTTP calls made to the CRM by this connector so far."""
        ...

    @property
    def retries(self) -> int:
        """Calls sent again after a transient failure (429, 5xx, timeouts) so far."""
        ...

    def close(self) -> None: ...
