"""The external edges: Salesforce and HubSpot behind one protocol, and road travel times.

Imports nothing of `planner/` or `sync/`.
"""

from connectors.base import (
    AccountRecord,
    ActivityKind,
    ActivityRecord,
    AssignmentChange,
    CRMAPIError,
    CRMConnector,
    CRMError,
    CRMKind,
    DeletedRecord,
    FieldMap,
    FieldMapError,
    Outcome,
    Page,
    PushResult,
    QuotaExhausted,
    RecordOutcome,
    RepRecord,
    Stream,
    StreamSpec,
    VisitRecord,
)

__all__ = [
    "AccountRecord",
    "ActivityKind",
    "ActivityRecord",
    "AssignmentChange",
    "CRMAPIError",
    "CRMConnector",
    "CRMError",
    "CRMKind",
    "DeletedRecord",
    "FieldMap",
    "FieldMapError",
    "Outcome",
    "Page",
    "PushResult",
    "QuotaExhausted",
    "RecordOutcome",
    "RepRecord",
    "Stream",
    "StreamSpec",
    "VisitRecord",
]
