"""HubSpot's streams: one `StreamSpec` per CRM object, built from the portal's `FieldMap`.

Companies, meetings, calls and deals are CRM objects (listed, searched by
`hs_lastmodifieddate`, archived when deleted); engagements need their company
association, and so do deals. Owners are not a CRM object: the owners API has no search and no
archive log, and an archived owner is a deactivated user, not a deletion.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from connectors.base import AccountRecord, FieldMap, Stream, StreamSpec
from connectors.hubspot.records import (
    MODIFIED,
    VISIT_KEY,
    call_record,
    company_record,
    deal_record,
    meeting_record,
    owner_record,
)

OWNERS = "owners"
DEFAULT_FIELD_MAP = FieldMap(
    tier="tier", potential="potential", effort="effort", locked="locked", territory="territory"
)

COMPANY_PROPERTIES = (
    "name", "zip", "country", "industry", "hubspot_owner_id", "latitude", "longitude", MODIFIED,
    "hs_merged_object_ids",
)  # fmt: skip
MEETING_PROPERTIES = (
    "hs_timestamp", "hs_meeting_title", "hs_meeting_start_time", "hs_meeting_end_time",
    "hs_meeting_outcome", "hubspot_owner_id", VISIT_KEY, MODIFIED,
)  # fmt: skip
CALL_PROPERTIES = (
    "hs_timestamp", "hs_call_title", "hs_call_status", "hs_call_duration", "hubspot_owner_id", MODIFIED,
)  # fmt: skip

DEAL_PROPERTIES = (
    "dealname", "amount", "dealstage", "closedate", "hubspot_owner_id", "hs_is_closed", MODIFIED,
    "hs_merged_object_ids",
)  # fmt: skip


def companies(fields: FieldMap) -> StreamSpec[AccountRecord]:
    def mapper(raw: Mapping[str, Any], *, now: datetime) -> AccountRecord:
        return company_record(raw, fields)

    return StreamSpec(
        Stream.ACCOUNTS,
        "companies",
        (*COMPANY_PROPERTIES, *fields.account_fields),
        mapper,
        MODIFIED,
        deletable=True,
    )


OWNER_STREAM = StreamSpec(Stream.REPS, OWNERS, (), owner_record, "updatedAt", deletable=False)
MEETINGS = StreamSpec(
    Stream.ACTIVITIES,
    "meetings",
    MEETING_PROPERTIES,
    meeting_record,
    MODIFIED,
    deletable=True,
    associations=("companies",),
)
CALLS = StreamSpec(
    Stream.ACTIVITIES,
    "calls",
    CALL_PROPERTIES,
    call_record,
    MODIFIED,
    deletable=True,
    associations=("companies",),
)

DEALS = StreamSpec(
    Stream.OPPORTUNITIES,
    "deals",
    DEAL_PROPERTIES,
    deal_record,
    MODIFIED,
    deletable=True,
    associations=("companies",),
)


def hubspot_streams(fields: FieldMap = DEFAULT_FIELD_MAP) -> tuple[StreamSpec[Any], ...]:
    """Every stream of a HubSpot portal, in the order its objects are pulled."""
    return (OWNER_STREAM, companies(fields), MEETINGS, CALLS, DEALS)
