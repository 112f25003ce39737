"""CRM objects one at a time: list, get, create, update, archive under `/crm/v3/objects/{type}`.

List: `limit` <= 100, `after`, `properties` repeated or comma-separated,
`archived` (only archived records), `associations`; `paging` only when more
records exist. Get: `idProperty`, merged ids resolve to the primary. Create:
201, inline `associations`.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import Any

from fastapi import Request
from starlette.responses import JSONResponse, Response

from emulators.hubspot.context import Emulator, crm_route, crm_router
from emulators.hubspot.org import (
    DEFAULT_LIST_PROPERTIES,
    MAX_HISTORY_PAGE,
    HubSpotError,
    ObjectTable,
    StoredObject,
    canonical_type,
)
from emulators.hubspot.responses import json_body, query_bool, query_list

MAX_LIST_LIMIT = 100

router = crm_router()


def list_limit(request: Request) -> int:
    try:
        limit = int(request.query_params.get("limit", "10"))
    except ValueError:
        raise HubSpotError(400, "VALIDATION_ERROR", "limit must be an integer") from None
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise HubSpotError(
            400, "VALIDATION_ERROR", f"limit must be between 1 and {MAX_LIST_LIMIT}; got {limit}"
        )
    return limit


def list_page(table: ObjectTable, archived: bool, start: int, limit: int) -> tuple[list[StoredObject], bool]:
    """Up to `limit` records with ids above `start`, in id order, and whether more follow."""
    pool = table.archived if archived else table.live
    ordered: Iterable[int]
    if archived:
        ordered = (i for i in sorted(map(int, pool)) if i > start)
    else:
        first = bisect.bisect_right(table.id_order, start)
        ordered = (table.id_order[k] for k in range(first, len(table.id_order)))
    page: list[StoredObject] = []
    for i in ordered:
        obj = pool.get(str(i))
        if obj is None:
            continue
        if len(page) == limit:
            return page, True
        page.append(obj)
    return page, False


def with_property_history(shown: dict[str, Any], obj: StoredObject, names: list[str]) -> dict[str, Any]:
    if names:
        shown["propertiesWithHistory"] = obj.history_json(names)
    return shown


@crm_route(router, "/crm/v3/objects/{object_type}", "GET")
async def list_objects(object_type: str, request: Request, emulator: Emulator) -> JSONResponse:
    t = canonical_type(object_type)
    limit = list_limit(request)
    after = request.query_params.get("after")
    start = int(after) if after and after.isdigit() else 0
    names = query_list(request, "properties") or list(DEFAULT_LIST_PROPERTIES[t])
    assoc = query_list(request, "associations")
    with_history = query_list(request, "propertiesWithHistory")
    if with_history:
        limit = min(limit, MAX_HISTORY_PAGE)  # HubSpot's cap on pages that carry history
    with emulator.org.lock:
        page, more = list_page(emulator.org.tables[t], query_bool(request, "archived"), start, limit)
        results = [
            with_property_history(emulator.portal.with_associations(o, names, assoc), o, with_history)
            for o in page
        ]
    body: dict[str, Any] = {"results": results}
    if more and page:
        nxt = page[-1].id
        body["paging"] = {"next": {"after": nxt, "link": str(request.url.include_query_params(after=nxt))}}
    return JSONResponse(body)


@crm_route(router, "/crm/v3/objects/{object_type}/{object_id}", "GET")
async def get_object(object_type: str, object_id: str, request: Request, emulator: Emulator) -> JSONResponse:
    t = canonical_type(object_type)
    names = query_list(request, "properties") or list(DEFAULT_LIST_PROPERTIES[t])
    state, portal = emulator.org, emulator.portal
    with state.lock:
        real_id = portal.resolve_id(t, object_id, request.query_params.get("idProperty"))
        table = state.tables[t]
        obj = table.live.get(real_id)
        if obj is None and query_bool(request, "archived"):
            obj = table.archived.get(real_id)
        if obj is None:
            raise HubSpotError(
                404,
                "OBJECT_NOT_FOUND",
                "Object not found.  objectId are usually numeric.",
                context={"id": [object_id]},
            )
        shown = portal.with_associations(obj, names, query_list(request, "associations"))
        return JSONResponse(with_property_history(shown, obj, query_list(request, "propertiesWithHistory")))


@crm_route(router, "/crm/v3/objects/{object_type}", "POST")
async def create_object(object_type: str, request: Request, emulator: Emulator) -> JSONResponse:
    t = canonical_type(object_type)
    body = await json_body(request)
    state = emulator.org
    with state.lock:
        obj, links = emulator.portal.create_object(t, body or {}, state.now_ms())
        for to_type, to_id in links:
            state.associate(t, obj.id, to_type, to_id)
        return JSONResponse(obj.as_json(list(state.properties[t])), status_code=201)


@crm_route(router, "/crm/v3/objects/{object_type}/{object_id}", "PATCH")
async def update_object(
    object_type: str, object_id: str, request: Request, emulator: Emulator
) -> JSONResponse:
    t = canonical_type(object_type)
    body = await json_body(request)
    state, portal = emulator.org, emulator.portal
    with state.lock:
        real_id = portal.resolve_id(t, object_id, request.query_params.get("idProperty"))
        obj = state._live(t, real_id)
        portal.rejection(t, obj.id)
        props = portal.clean_properties(t, (body or {}).get("properties"))
        state._write(obj, props, state.now_ms())
        return JSONResponse(obj.as_json([*props, *DEFAULT_LIST_PROPERTIES[t]]))


@crm_route(router, "/crm/v3/objects/{object_type}/{object_id}", "DELETE")
async def archive_object(object_type: str, object_id: str, emulator: Emulator) -> Response:
    t = canonical_type(object_type)
    state = emulator.org
    with state.lock:
        obj = state.tables[t].live.get(object_id)
        if obj is not None:
            state._archive(obj, state.now_ms())
    return Response(status_code=204)
