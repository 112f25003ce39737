"""sObjects: describe (global, basic, full), rows by id and by external id, getUpdated / getDeleted.

- `GET sobjects/`, `GET sobjects/{type}/`, `GET sobjects/{type}/describe`;
- create `POST sobjects/{type}/` (201), read, update `PATCH` (204), delete (204);
- upsert `PATCH sobjects/{type}/{extIdField}/{value}` (201 created / 200 updated);
- `GET sobjects/{type}/updated/?start=&end=` (30-day window) and `/deleted/` (15 days).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import Request
from fastapi.responses import Response

from emulators.salesforce.context import Emulator, rest_route, rest_router
from emulators.salesforce.org import (
    DELETED_WINDOW_DAYS,
    UPDATED_WINDOW_DAYS,
    ApiError,
    SalesforceOrg,
    format_datetime,
)
from emulators.salesforce.render import record_url, render_record
from emulators.salesforce.responses import json_object, json_response
from emulators.salesforce.soql import SoqlError, parse_datetime_literal

COLLECTION_LIMIT = 200

router = rest_router()


@rest_route(router, "/sobjects", methods=["GET"])
async def describe_global(request: Request, version: str, emulator: Emulator) -> Response:
    return json_response(
        200,
        {
            "encoding": "UTF-8",
            "maxBatchSize": COLLECTION_LIMIT,
            "sobjects": [spec.summary(version) for spec in emulator.org.objects.values()],
        },
    )


@rest_route(router, "/sobjects/{sobject}", methods=["GET", "POST"])
async def sobject_root(request: Request, version: str, sobject: str, emulator: Emulator) -> Response:
    spec = emulator.org.sobject_or_404(sobject)
    if request.method == "GET":
        return json_response(200, {"objectDescribe": spec.summary(version), "recentItems": []})
    rid = emulator.org.api_create(spec.name, await json_object(request))
    return json_response(
        201,
        {"id": rid, "success": True, "errors": []},
        headers={"Location": record_url(version, spec.name, rid)},
    )


@rest_route(router, "/sobjects/{sobject}/describe", methods=["GET"])
async def describe(request: Request, version: str, sobject: str, emulator: Emulator) -> Response:
    spec = emulator.org.sobject_or_404(sobject)
    return json_response(200, spec.describe(version, emulator.org.child_relationships(spec.name)))


def replication_window(request: Request, org: SalesforceOrg, days: int) -> tuple[datetime, datetime]:
    """The `start`/`end` of a getUpdated/getDeleted call, checked as Salesforce checks them."""
    try:
        start = parse_datetime_literal(request.query_params.get("start", ""))
        end = parse_datetime_literal(request.query_params.get("end", ""))
    except SoqlError:
        raise ApiError(400, "MALFORMED_QUERY", "start and end must be valid dateTimes") from None
    now = org.clock()
    # Salesforce works in whole minutes here.
    start = start.replace(second=0, microsecond=0)
    end = min(end, now).replace(second=0, microsecond=0)
    if end <= start:
        raise ApiError(400, "INVALID_REPLICATION_DATE", "end date must be after start date")
    if start < now - timedelta(days=days):
        raise ApiError(400, "INVALID_REPLICATION_DATE", f"startDate cannot be more than {days} days ago")
    return start, end


@rest_route(router, "/sobjects/{sobject}/updated", methods=["GET"])
async def updated(request: Request, version: str, sobject: str, emulator: Emulator) -> Response:
    spec = emulator.org.sobject_or_404(sobject)
    start, end = replication_window(request, emulator.org, UPDATED_WINDOW_DAYS)
    ids = emulator.org.updated_ids(spec.name, start, end)
    return json_response(200, {"ids": ids, "latestDateCovered": format_datetime(end)})


@rest_route(router, "/sobjects/{sobject}/deleted", methods=["GET"])
async def deleted(request: Request, version: str, sobject: str, emulator: Emulator) -> Response:
    org = emulator.org
    spec = org.sobject_or_404(sobject)
    start, end = replication_window(request, org, DELETED_WINDOW_DAYS)
    rows = org.deleted_since(spec.name, start, end)
    earliest = org.clock() - timedelta(days=DELETED_WINDOW_DAYS)
    return json_response(
        200,
        {
            "deletedRecords": [{"id": rid, "deletedDate": format_datetime(w)} for rid, w in rows],
            "earliestDateAvailable": format_datetime(earliest),
            "latestDateCovered": format_datetime(end),
        },
    )


@rest_route(router, "/sobjects/{sobject}/{record_id}", methods=["GET", "PATCH", "DELETE"])
async def sobject_row(
    request: Request, version: str, sobject: str, record_id: str, emulator: Emulator
) -> Response:
    org = emulator.org
    spec = org.sobject_or_404(sobject)
    if request.method == "GET":
        fields = request.query_params.get("fields")
        chosen = tuple(f.strip() for f in fields.split(",")) if fields else None
        return json_response(
            200, render_record(org, org.api_get(spec.name, record_id), spec, chosen, version)
        )
    if request.method == "DELETE":
        org.api_delete(spec.name, record_id)
        return Response(status_code=204)
    body = await json_object(request)
    if any(k.lower() == "id" for k in body):
        raise ApiError(400, "INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: Id.", ["Id"])
    org.api_update(spec.name, record_id, body)
    return Response(status_code=204)


@rest_route(router, "/sobjects/{sobject}/{ext_field}/{ext_value}", methods=["GET", "PATCH"])
async def sobject_by_external_id(
    request: Request, version: str, sobject: str, ext_field: str, ext_value: str, emulator: Emulator
) -> Response:
    org = emulator.org
    spec = org.sobject_or_404(sobject)
    if request.method == "GET":
        rec = org.get_by_external_id(spec.name, ext_field, ext_value)
        return json_response(200, render_record(org, rec, spec, None, version))
    body = await json_object(request)
    if request.query_params.get("updateOnly", "").lower() == "true":
        org.get_by_external_id(spec.name, ext_field, ext_value)
    rid, created = org.api_upsert(spec.name, ext_field, ext_value, body)
    return json_response(
        201 if created else 200,
        {"id": rid, "success": True, "errors": [], "created": created},
        headers={"Location": record_url(version, spec.name, rid)} if created else None,
    )
