"""The one protocol every CRM implements, and the CRM-neutral records it speaks.

Connectors turn each CRM's shapes into these records (timestamps in UTC,
ids as strings) and hide every quirk behind `CRMConnector`. Nothing here
imports a CRM SDK: only each CRM's `client` module does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Generic, Literal, Protocol, TypeVar, runtime_checkable

CRMKind = Literal["salesforce", "hubspot"]


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


ActivityKind = Literal["event", "task", "meeting", "call"]


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
class DeletedRecord:
    """A record the CRM deleted or merged away since the cursor."""

    crm_id: str
    deleted_at: datetime
    merged_into: str | None = None


R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Page(Generic[R]):
    """One page of a pull. Store it, then save `cursor`: a crash resumes after this page.

    `cursor` is opaque to callers (the connector encodes what it needs, e.g.
    the boundary timestamp and the ids already seen at it).
    """

    records: Sequence[R]
    deleted: Sequence[DeletedRecord]
    cursor: str


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


@runtime_checkable
class CRMConnector(Protocol):
    @property
    def kind(self) -> CRMKind:
        """Which CRM this connector speaks to."""
        ...

    def pull_accounts(self, since: str | None, *, full: bool = False) -> Iterator[Page[AccountRecord]]:
        """Accounts changed at or after the cursor (all of them with `full`), deletions included."""
        ...

    def pull_reps(self, since: str | None, *, full: bool = False) -> Iterator[Page[RepRecord]]: ...

    def pull_activities(self, since: str | None, *, full: bool = False) -> Iterator[Page[ActivityRecord]]: ...

    def push_assignments(self, changes: Sequence[AssignmentChange]) -> PushResult: ...

    def push_visits(self, visits: Sequence[VisitRecord]) -> PushResult: ...

    @property
    def api_calls(self) -> int:
        """HTTP calls made to the CRM by this connector so far."""
        ...

    @property
    def retries(self) -> int:
        """Calls sent again after a transient failure (429, 5xx, timeouts) so far."""
        ...

    def close(self) -> None: ...
