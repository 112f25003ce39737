"""The external edges: Salesforce and HubSpot behind one protocol, road travel times, emulators.

Imports nothing of `planner/` or `sync/`.
"""

from connectors.base import (
    AccountRecord,
    ActivityRecord,
    AssignmentChange,
    CRMConnector,
    CRMError,
    DeletedRecord,
    Outcome,
    Page,
    PushResult,
    QuotaExhausted,
    RecordOutcome,
    RepRecord,
    VisitRecord,
)

__all__ = [
    "AccountRecord",
    "ActivityRecord",
    "AssignmentChange",
    "CRMConnector",
    "CRMError",
    "DeletedRecord",
    "Outcome",
    "Page",
    "PushResult",
    "QuotaExhausted",
    "RecordOutcome",
    "RepRecord",
    "VisitRecord",
]
