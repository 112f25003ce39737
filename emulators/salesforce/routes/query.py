"""SOQL: `GET query/?q=` and `queryAll/?q=` (soft-deleted rows too), paged by `nextRecordsUrl`.

Pages hold 2,000 records unless `Sforce-Query-Options: batchSize=N` asks for
between 200 and 2,000; the next page is `query/{locator}-{offset}`. The SOQL
subset is in `emulators/salesforce/soql.py`, its execution in `org.py`.
"""

from __future__ import annotations

import re
import time
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from emulators.salesforce.aggregates import aggregate_records, child_rows
from emulators.salesforce.context import Emulator, rest_route, rest_router
from emulators.salesforce.org import ChildRows, QueryCursor, SalesforceOrg
from emulators.salesforce.render import render_record
from emulators.salesforce.responses import error_list, json_response
from emulators.salesforce.schema import ObjectSpec
from emulators.salesforce.soql import SoqlError, parse_soql

DEFAULT_BATCH_SIZE = 2000
MIN_BATCH_SIZE = 200

router = rest_router()


def query_page(
    org: SalesforceOrg,
    version: str,
    kind: str,
    locator: str,
    cursor: QueryCursor,
    start: int,
    spec: ObjectSpec,
) -> Response:
    page = org.page(cursor, start, spec)
    end = start + cursor.batch_size
    body: dict[str, Any] = {"totalSize": len(cursor.ids), "done": end >= len(cursor.ids)}
    if not body["done"]:
        body["nextRecordsUrl"] = f"/services/data/v{version}/{kind}/{locator}-{end}"
    else:
        org.cursors.pop(locator, None)
    body["records"] = [render_record(org, rec, spec, cursor.fields, version) for rec in page]
    for child in cursor.children:
        for rec, out in zip(page, body["records"], strict=True):
            out[child.relationship] = _child_block(org, child, rec["Id"], version)
    return json_response(200, body)


def _child_block(org: SalesforceOrg, child: ChildRows, parent_id: str, version: str) -> dict[str, Any] | None:
    """A parent's child records as a nested query result (null when it has none, as Salesforce says)."""
    ids = child.by_parent.get(parent_id)
    if not ids:
        return None
    rows = org.tables[child.spec.name.lower()].rows
    records = [render_record(org, rows[i], child.spec, child.fields, version) for i in ids if i in rows]
    return {"totalSize": len(records), "done": True, "records": records}


def batch_size_of(request: Request) -> int:
    options = request.headers.get("sforce-query-options", "")
    m = re.search(r"batchSize=(\d+)", options)
    if not m:
        return DEFAULT_BATCH_SIZE
    return max(MIN_BATCH_SIZE, min(DEFAULT_BATCH_SIZE, int(m.group(1))))


def run_query(request: Request, org: SalesforceOrg, version: str, include_deleted: bool) -> Response:
    soql = request.query_params.get("q")
    if not soql:
        return error_list(400, "MALFORMED_QUERY", "A query string has to be specified")
    try:
        query = parse_soql(soql)
    except SoqlError as exc:
        return error_list(400, "MALFORMED_QUERY", f"\n{soql}\n{exc}")
    if query.is_aggregate:
        rows = aggregate_records(org, query, include_deleted=include_deleted)
        return json_response(200, {"totalSize": len(rows), "done": True, "records": rows})
    spec, ids = org.run_query(query, include_deleted=include_deleted)
    if query.count_only:
        return json_response(200, {"totalSize": len(ids), "done": True, "records": []})
    kind = "queryAll" if include_deleted else "query"
    fields = tuple(path if "." in path else org.field_spec_of_path(spec, path).name for path in query.fields)
    children = tuple(child_rows(org, spec, sub, include_deleted=include_deleted) for sub in query.subqueries)
    cursor = QueryCursor(spec.name, fields, ids, batch_size_of(request), include_deleted, children=children)
    if len(ids) <= cursor.batch_size:
        return query_page(org, version, kind, "", cursor, 0, spec)
    locator = org.open_cursor(cursor, time.monotonic())
    return query_page(org, version, kind, locator, cursor, 0, spec)


@rest_route(router, "/query", methods=["GET"])
async def query(request: Request, version: str, emulator: Emulator) -> Response:
    return run_query(request, emulator.org, version, include_deleted=False)


@rest_route(router, "/queryAll", methods=["GET"])
async def query_all(request: Request, version: str, emulator: Emulator) -> Response:
    return run_query(request, emulator.org, version, include_deleted=True)


@rest_route(router, "/query/{locator}", "/queryAll/{locator}", methods=["GET"])
async def query_more(request: Request, version: str, locator: str, emulator: Emulator) -> Response:
    org = emulator.org
    kind = "queryAll" if "/queryAll/" in request.url.path else "query"
    cursor_id, _, offset = locator.rpartition("-")
    cursor = org.cursors.get(cursor_id)
    if cursor is None or not offset.isdigit():
        return error_list(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    cursor.last_used = time.monotonic()
    return query_page(org, version, kind, cursor_id, cursor, int(offset), org.objects[cursor.sobject.lower()])
