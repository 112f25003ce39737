"""The store: SQLModel tables, sessions, bulk upsert and migrations.

The caller owns the transaction: functions here take `session=` and never commit.
"""

from sync.store.db import engine_for, make_engine, transaction
from sync.store.models import (
    AccountRow,
    ActivityRow,
    CrmOrg,
    LocationSource,
    OutboxItem,
    OutboxKind,
    OutboxStatus,
    PlanMode,
    PlannedAssignment,
    PlannedVisit,
    PlanRun,
    PulledRow,
    RecordIssue,
    RepRow,
    RunKind,
    RunStatus,
    RunTrigger,
    SyncCursor,
    SyncRun,
    WebhookEvent,
    WebhookSource,
    WebhookStatus,
)
from sync.store.upsert import UpsertReport, upsert_page

__all__ = [
    "AccountRow",
    "ActivityRow",
    "CrmOrg",
    "LocationSource",
    "OutboxItem",
    "OutboxKind",
    "OutboxStatus",
    "PlanMode",
    "PlanRun",
    "PlannedAssignment",
    "PlannedVisit",
    "PulledRow",
    "RecordIssue",
    "RepRow",
    "RunKind",
    "RunStatus",
    "RunTrigger",
    "SyncCursor",
    "SyncRun",
    "UpsertReport",
    "WebhookEvent",
    "WebhookSource",
    "WebhookStatus",
    "engine_for",
    "make_engine",
    "transaction",
    "upsert_page",
]
