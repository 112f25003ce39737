"""The store: SQLModel tables, sessions, bulk upsert and migrations.

The caller owns the transaction: functions here take `session=` and never commit.
"""

from sync.store.db import engine_for, make_engine, transaction
from sync.store.models import (
    AccountRow,
    ActivityRow,
    CrmOrg,
    OutboxItem,
    OutboxStatus,
    PlannedAssignment,
    PlannedVisit,
    PlanRun,
    RecordIssue,
    RepRow,
    RunStatus,
    SyncCursor,
    SyncRun,
    WebhookEvent,
)
from sync.store.upsert import UpsertReport, upsert_page

__all__ = [
    "AccountRow",
    "ActivityRow",
    "CrmOrg",
    "OutboxItem",
    "OutboxStatus",
    "PlanRun",
    "PlannedAssignment",
    "PlannedVisit",
    "RecordIssue",
    "RepRow",
    "RunStatus",
    "SyncCursor",
    "SyncRun",
    "UpsertReport",
    "WebhookEvent",
    "engine_for",
    "make_engine",
    "transaction",
    "upsert_page",
]
