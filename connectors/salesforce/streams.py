"""Salesforce's streams: one `StreamSpec` per sObject, built from the org's `FieldMap`.

Every sObject is read with `queryAll` ordered by `SystemModstamp, Id`;
Users are deactivated, never deleted, so their stream reports no deletions.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from connectors.base import AccountRecord, ActivityRecord, FieldMap, RepRecord, Stream, StreamSpec
from connectors.salesforce.records import (
    VISIT_KEY_FIELD,
    account_from_salesforce,
    event_from_salesforce,
    opportunity_from_salesforce,
    rep_from_salesforce,
    task_from_salesforce,
)

CURSOR_FIELD = "SystemModstamp"
DEFAULT_FIELD_MAP = FieldMap(
    tier="Tier__c", potential="Potential__c", effort="Effort__c", locked="Locked__c", territory="Territory__c"
)

ACCOUNT_FIELDS = (
    "Id", "Name", "BillingLatitude", "BillingLongitude", "BillingPostalCode", "BillingCountry",
    "Industry", "OwnerId", "SystemModstamp", "LastModifiedDate", "IsDeleted", "MasterRecordId",
)  # fmt: skip
USER_FIELDS = (
    "Id", "Name", "Email", "IsActive", "Latitude", "Longitude", "PostalCode", "SystemModstamp",
)  # fmt: skip
EVENT_FIELDS = (
    "Id", "Subject", "WhatId", "OwnerId", "StartDateTime", "EndDateTime", "Description",
    VISIT_KEY_FIELD, "SystemModstamp", "IsDeleted",
)  # fmt: skip
TASK_FIELDS = (
    "Id", "Subject", "WhatId", "OwnerId", "ActivityDate", "Status", "SystemModstamp", "IsDeleted",
)  # fmt: skip

OPPORTUNITY_FIELDS = (
    "Id", "Name", "Amount", "StageName", "CloseDate", "IsClosed", "OwnerId", "AccountId",
    "SystemModstamp", "IsDeleted",
)  # fmt: skip


def accounts(fields: FieldMap) -> StreamSpec[AccountRecord]:
    def mapper(raw: Mapping[str, Any], *, now: datetime) -> AccountRecord:
        return account_from_salesforce(raw, fields)

    return StreamSpec(
        Stream.ACCOUNTS,
        "Account",
        (*ACCOUNT_FIELDS, *fields.account_fields),
        mapper,
        CURSOR_FIELD,
        deletable=True,
    )


def _user(raw: Mapping[str, Any], *, now: datetime) -> RepRecord:
    return rep_from_salesforce(raw)


def _task(raw: Mapping[str, Any], *, now: datetime) -> ActivityRecord:
    return task_from_salesforce(raw)


USERS = StreamSpec(Stream.REPS, "User", USER_FIELDS, _user, CURSOR_FIELD, deletable=False)
EVENTS = StreamSpec(
    Stream.ACTIVITIES, "Event", EVENT_FIELDS, event_from_salesforce, CURSOR_FIELD, deletable=True
)
TASKS = StreamSpec(Stream.ACTIVITIES, "Task", TASK_FIELDS, _task, CURSOR_FIELD, deletable=True)
OPPORTUNITIES = StreamSpec(
    Stream.OPPORTUNITIES,
    "Opportunity",
    OPPORTUNITY_FIELDS,
    opportunity_from_salesforce,
    CURSOR_FIELD,
    deletable=True,
)


def salesforce_streams(fields: FieldMap = DEFAULT_FIELD_MAP) -> tuple[StreamSpec[Any], ...]:
    """Every stream of a Salesforce org, in the order its objects are pulled."""
    return (USERS, accounts(fields), EVENTS, TASKS, OPPORTUNITIES)
