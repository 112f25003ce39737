"""sObject Collections: create, update, delete, read and upsert up to 200 records per call.

`POST|PATCH|DELETE composite/sobjects`, read `GET|POST composite/sobjects/{type}`,
upsert `PATCH composite/sobjects/{type}/{extIdField}`. HTTP 200 even when some
records fail: one `{id, success, errors[statusCode, message, fields]}` per
record, in request order; `allOrNone` rolls every change back on any failure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from emulators.salesforce.context import Emulator, rest_route, rest_router
from emulators.salesforce.org import ApiError, SalesforceOrg
from emulators.salesforce.render import render_record
from emulators.salesforce.responses import json_body, json_object, json_response
from emulators.salesforce.routes.sobjects import COLLECTION_LIMIT
from emulators.salesforce.schema import FieldSpec

MAX_READ_IDS = 2000
_TOO_MANY = "record limit reached. cannot submit more than 200 records into this call"
_ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and "
    "the request was using AllOrNone header",
    "fields": [],
}

router = rest_router()


def collection_records(body: Any) -> tuple[list[dict[str, Any]], bool]:
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body must have a records list")
    records = body["records"]
    if len(records) > COLLECTION_LIMIT:
        raise ApiError(400, "EXCEEDED_ID_LIMIT", _TOO_MANY)
    if not all(isinstance(r, dict) for r in records):
        raise ApiError(400, "JSON_PARSER_ERROR", "Each record must be a JSON object")
    return records, bool(body.get("allOrNone", False))


def _id_in(item: Any) -> str | None:
    if isinstance(item, dict):
        value = item.get("id") or item.get("Id")
        return str(value) if value else None
    return None


def _failure(item: Any, exc: ApiError) -> dict[str, Any]:
    return {
        "id": _id_in(item),
        "success": False,
        "errors": [{"statusCode": exc.code, "message": exc.message, "fields": exc.fields}],
    }


def run_collection(
    org: SalesforceOrg, items: list[Any], apply: Callable[[Any], dict[str, Any]], all_or_none: bool
) -> Response:
    """Apply each item; per-record results; `allOrNone` undoes everything on any failure."""
    results: list[dict[str, Any]] = []
    failed = False
    with org.undo_scope() as undo:
        for item in items:
            try:
                results.append({"success": True, "errors": [], **apply(item)})
            except ApiError as exc:
                failed = True
                results.append(_failure(item, exc))
        if all_or_none and failed:
            undo()
    if all_or_none and failed:
        results = [
            r if not r["success"] else {"id": None, "success": False, "errors": [_ROLLED_BACK]}
            for r in results
        ]
    # Keys in Salesforce's order: id, success, errors (+ created for upserts).
    ordered = []
    for r in results:
        item = {"id": r.get("id"), "success": r["success"], "errors": r["errors"]}
        if "created" in r:
            item["created"] = r["created"]
        ordered.append(item)
    return json_response(200, ordered)


def type_of(org: SalesforceOrg, record: dict[str, Any]) -> str:
    attrs = record.get("attributes")
    if not isinstance(attrs, dict) or not attrs.get("type"):
        raise ApiError(400, "INVALID_TYPE", "Each record must have attributes.type", ["attributes"])
    return org.sobject_or_404(str(attrs["type"])).name


def _delete_collection(request: Request, org: SalesforceOrg) -> Response:
    ids = [i for i in request.query_params.get("ids", "").split(",") if i]
    if len(ids) > COLLECTION_LIMIT:
        raise ApiError(400, "EXCEEDED_ID_LIMIT", _TOO_MANY)
    all_or_none = request.query_params.get("allOrNone", "false").lower() == "true"

    def delete_one(rid: str) -> dict[str, Any]:
        sobject = org.object_of_id(rid)
        if sobject is None:
            raise ApiError(400, "MALFORMED_ID", f"malformed id {rid}")
        org.api_delete(sobject, rid)
        return {"id": org.normalise_id(rid)}

    return run_collection(org, ids, delete_one, all_or_none)


@rest_route(router, "/composite/sobjects", methods=["POST", "PATCH", "DELETE"])
async def collections(request: Request, version: str, emulator: Emulator) -> Response:
    org = emulator.org
    if request.method == "DELETE":
        return _delete_collection(request, org)
    records, all_or_none = collection_records(await json_body(request))
    if request.method == "POST":

        def create_one(rec: dict[str, Any]) -> dict[str, Any]:
            if rec.get("id") or rec.get("Id"):
                raise ApiError(400, "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
            fields = {k: v for k, v in rec.items() if k != "attributes"}
            return {"id": org.api_create(type_of(org, rec), fields)}

        return run_collection(org, records, create_one, all_or_none)

    def update_one(rec: dict[str, Any]) -> dict[str, Any]:
        rid = rec.get("id") or rec.get("Id")
        if not rid:
            raise ApiError(400, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
        fields = {k: v for k, v in rec.items() if k not in ("attributes", "id", "Id")}
        org.api_update(type_of(org, rec), str(rid), fields)
        return {"id": org.normalise_id(str(rid))}

    return run_collection(org, records, update_one, all_or_none)


@rest_route(router, "/composite/sobjects/{sobject}", methods=["GET", "POST"])
async def collection_read(request: Request, version: str, sobject: str, emulator: Emulator) -> Response:
    org = emulator.org
    spec = org.sobject_or_404(sobject)
    if request.method == "GET":
        ids = [i for i in request.query_params.get("ids", "").split(",") if i]
        fields_param = request.query_params.get("fields", "")
    else:
        body = await json_object(request)
        ids = list(body.get("ids") or [])
        fields_param = ",".join(body.get("fields") or [])
    if len(ids) > MAX_READ_IDS:
        raise ApiError(400, "EXCEEDED_ID_LIMIT", "too many ids, the limit is 2000")
    fields = tuple(f.strip() for f in fields_param.split(",") if f.strip())
    if not fields:
        raise ApiError(400, "MALFORMED_QUERY", "fields is required")
    for f in fields:
        org.field_spec_of_path(spec, f)
    out: list[dict[str, Any] | None] = []
    for rid in ids:
        rec = org.get(spec.name, rid)
        out.append(
            None if rec is None or rec.get("IsDeleted") else render_record(org, rec, spec, fields, version)
        )
    return json_response(200, out)


def _external_id_field(spec_name: str, field: FieldSpec | None, ext_field: str) -> FieldSpec:
    if field is None or not (field.external_id or field.type == "id"):
        raise ApiError(
            400,
            "INVALID_FIELD",
            f"Field name provided, {ext_field} is not an External ID or indexed field for {spec_name}",
        )
    return field


@rest_route(router, "/composite/sobjects/{sobject}/{ext_field}", methods=["PATCH"])
async def collection_upsert(
    request: Request, version: str, sobject: str, ext_field: str, emulator: Emulator
) -> Response:
    org = emulator.org
    spec = org.sobject_or_404(sobject)
    records, all_or_none = collection_records(await json_body(request))
    ext_spec = _external_id_field(spec.name, spec.field(ext_field), ext_field)

    def upsert_one(rec: dict[str, Any]) -> dict[str, Any]:
        if type_of(org, rec) != spec.name:
            raise ApiError(400, "INVALID_TYPE", f"Record type must be {spec.name}")
        value = next((v for k, v in rec.items() if k.lower() == ext_spec.name.lower()), None)
        if value in (None, ""):
            raise ApiError(400, "MISSING_ARGUMENT", f"{ext_spec.name} not specified", [ext_spec.name])
        fields = {k: v for k, v in rec.items() if k != "attributes"}
        rid, created = org.api_upsert(spec.name, ext_spec.name, str(value), fields)
        return {"id": rid, "created": created}

    return run_collection(org, records, upsert_one, all_or_none)
