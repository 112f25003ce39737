"""What an outbox row asks the CRM to do: an assignment, a visit or a rep notice, as one typed payload.

The one place these payloads are defined: `diff` builds them, the `outbox.payload`
column stores them as JSON (the `kind` key tells them apart) and gives them back
typed, and `outbox` turns them into the connector's records.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Discriminator

from connectors.base import AssignmentChange, RepNotice, VisitRecord


class AssignmentPayload(BaseModel):
    """Give an account this owner and territory (None: leave that field alone)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["assignment"] = "assignment"
    account_id: str
    owner_id: str | None
    territory: str | None
    previous_owner_id: str | None = None
    previous_territory: str | None = None
    proposal_id: int | None = None  # the approved proposal this change carries out (None: forced)

    def record_key(self, idempotency_key: str) -> str:
        """The key the connector answers with: an assignment's own idempotency key."""
        return idempotency_key

    def to_change(self, idempotency_key: str) -> AssignmentChange:
        return AssignmentChange(
            key=idempotency_key,
            account_id=self.account_id,
            owner_id=self.owner_id,
            territory=self.territory,
            previous_owner_id=self.previous_owner_id,
            previous_territory=self.previous_territory,
        )


class VisitPayload(BaseModel):
    """Put this visit on the rep's calendar (or withdraw it: `cancelled`), keyed by `visit_key`."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["visit"] = "visit"
    visit_key: str  # the CRM external id: pushing the same key again updates, never duplicates
    account_id: str
    owner_id: str
    start: AwareDatetime
    end: AwareDatetime
    subject: str = ""
    description: str = ""
    location: str = ""  # the account's address
    cancelled: bool = False

    def record_key(self, idempotency_key: str) -> str:
        """The key the connector answers with: the visit's external id."""
        return self.visit_key

    def to_visit(self) -> VisitRecord:
        return VisitRecord(
            key=self.visit_key,
            account_id=self.account_id,
            owner_id=self.owner_id,
            start=self.start,
            end=self.end,
            subject=self.subject,
            description=self.description,
            location=self.location,
            cancelled=self.cancelled,
        )

    def same_visit(self, other: VisitPayload) -> bool:
        """Would pushing `other` after this one change nothing a rep sees?"""
        fields = ("owner_id", "start", "end", "subject", "cancelled")
        return all(getattr(self, f) == getattr(other, f) for f in fields)


class NoticePayload(BaseModel):
    """Tell a rep, in one Task of their own, which accounts their book gained and lost (and why)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["notice"] = "notice"
    notice_key: str  # stored on the CRM Task: sending it again updates that Task
    owner_id: str
    subject: str
    description: str
    due: date  # the changes' effective date

    def record_key(self, idempotency_key: str) -> str:
        """The key the connector answers with: the notice's own key."""
        return self.notice_key

    def to_notice(self) -> RepNotice:
        return RepNotice(
            key=self.notice_key,
            owner_id=self.owner_id,
            subject=self.subject,
            description=self.description,
            due=self.due,
        )


OutboxPayload = Annotated[AssignmentPayload | VisitPayload | NoticePayload, Discriminator("kind")]
