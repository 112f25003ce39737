"""Batch object calls, at most 100 inputs each, under `/crm/v3/objects/{type}/batch/`.

`read` (207 for missing ids), `create` (201; the whole batch fails on a bad
input, 409 on a unique-value clash), `update` (400 for the whole batch on a
validation error, 207 for missing ids), `upsert` by a unique property (`new`
per result), `archive` (204).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.responses import JSONResponse, Response

from emulators.hubspot.context import Emulator, crm_route, crm_router
from emulators.hubspot.org import (
    DEFAULT_LIST_PROPERTIES,
    MAX_HISTORY_PAGE,
    HubSpotError,
    HubSpotOrg,
    StoredObject,
    canonical_type,
)
from emulators.hubspot.portal import Portal
from emulators.hubspot.responses import batch_answer, batch_inputs, json_body, query_bool

router = crm_router()


def not_found_error(verb: str, object_type: str, ids: list[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    return [
        {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": f"Could not {verb} some {object_type[:-1].upper()} objects, they may be "
            "deleted or not exist. Check that ids are valid.",
            "context": {"ids": ids},
        }
    ]


@crm_route(router, "/crm/v3/objects/{object_type}/batch/read", "POST")
async def batch_read(object_type: str, request: Request, emulator: Emulator) -> JSONResponse:
    t = canonical_type(object_type)
    body = await json_body(request)
    inputs = batch_inputs(body)
    names = body.get("properties") or list(DEFAULT_LIST_PROPERTIES[t])
    with_history = list(body.get("propertiesWithHistory") or [])
    if with_history and len(inputs) > MAX_HISTORY_PAGE:
        raise HubSpotError(
            400,
            "VALIDATION_ERROR",
            f"Batch reads with propertiesWithHistory take at most {MAX_HISTORY_PAGE} inputs; "
            f"got {len(inputs)}.",
        )
    id_property = body.get("idProperty")
    archived = query_bool(request, "archived")
    state = emulator.org
    started = state.now_ms()
    results, missing = [], []
    with state.lock:
        table = state.tables[t]
        for item in inputs:
            raw = str(item.get("id", ""))
            try:
                real_id = emulator.portal.resolve_id(t, raw, id_property)
            except HubSpotError:
                missing.append(raw)
                continue
            obj = (table.archived if archived else table.live).get(real_id)
            if obj is None:
                missing.append(raw)
            else:
                shown = obj.as_json(names)
                if with_history:
                    shown["propertiesWithHistory"] = obj.history_json(with_history)
                results.append(shown)
    return batch_answer(results, started, not_found_error("get", t, missing), 200)


def check_batch_unique(state: HubSpotOrg, object_type: str, cleaned: list[dict[str, str | None]]) -> None:
    """A unique value used twice in the batch, or already held by a record, fails the batch (409)."""
    seen: dict[str, set[str]] = {}
    for props in cleaned:
        for name in state._unique_props(object_type):
            v = props.get(name)
            if v:
                if v in seen.setdefault(name, set()):
                    raise HubSpotError(
                        409, "CONFLICT", f"Duplicate values for unique property {name} in batch: {v}"
                    )
                seen[name].add(v)
        state._check_unique(object_type, props, None)


@crm_route(router, "/crm/v3/objects/{object_type}/batch/create", "POST")
async def batch_create(object_type: str, request: Request, emulator: Emulator) -> JSONResponse:
    t = canonical_type(object_type)
    inputs = batch_inputs(await json_body(request))
    state, portal = emulator.org, emulator.portal
    with state.lock:
        started = state.now_ms()
        # Validate everything first: one bad input fails the whole batch, as in HubSpot.
        check_batch_unique(state, t, [portal.clean_properties(t, i.get("properties")) for i in inputs])
        created = []
        for item in inputs:
            obj, links = portal.create_object(t, item, started)
            for to_type, to_id in links:
                state.associate(t, obj.id, to_type, to_id)
            created.append(obj)
        names = list(state.properties[t])
        results = [o.as_json(names) for o in created]
    return batch_answer(results, started, [], 201)


def plan_updates(
    portal: Portal, object_type: str, inputs: list[dict[str, Any]]
) -> tuple[list[tuple[StoredObject, dict[str, str | None]]], list[str]]:
    """Validate every update before writing any: the planned writes, and the ids not found."""
    state = portal.org
    plan: list[tuple[StoredObject, dict[str, str | None]]] = []
    missing = []
    for item in inputs:
        raw = str(item.get("id", ""))
        try:
            real_id = portal.resolve_id(object_type, raw, item.get("idProperty"))
        except HubSpotError as exc:
            if exc.status != 404:
                raise
            real_id = ""  # an unknown idProperty value: reported as missing below
        obj = state.tables[object_type].live.get(real_id)
        props = portal.clean_properties(object_type, item.get("properties"))
        if obj is None:
            missing.append(raw)
            continue
        portal.rejection(object_type, obj.id)
        state._check_unique(object_type, props, obj.id)
        plan.append((obj, props))
    return plan, missing


@crm_route(router, "/crm/v3/objects/{object_type}/batch/update", "POST")
async def batch_update(object_type: str, request: Request, emulator: Emulator) -> JSONResponse:
    t = canonical_type(object_type)
    inputs = batch_inputs(await json_body(request))
    ids = [str(i.get("id", "")) for i in inputs]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise HubSpotError(400, "VALIDATION_ERROR", f"Duplicate IDs found in batch input: {dupes}")
    state = emulator.org
    with state.lock:
        started = state.now_ms()
        plan, missing = plan_updates(emulator.portal, t, inputs)
        for obj, props in plan:
            state._write(obj, props, started)
        results = [o.as_json([*p, *DEFAULT_LIST_PROPERTIES[t]]) for o, p in plan]
    return batch_answer(results, started, not_found_error("update", t, missing), 200)


UpsertPlan = list[tuple[StoredObject | None, dict[str, str | None], str, str]]


def plan_upserts(portal: Portal, object_type: str, inputs: list[dict[str, Any]]) -> UpsertPlan:
    """Each input's record (None: to create), properties, id property and key; all validated first."""
    state = portal.org
    plan: UpsertPlan = []
    for item in inputs:
        id_property = str(item.get("idProperty") or "")
        key = str(item.get("id", ""))
        prop = state.properties[object_type].get(id_property)
        if prop is None or not prop.has_unique_value:
            raise HubSpotError(
                400,
                "VALIDATION_ERROR",
                f"Upsert needs idProperty to be a unique-value property of {object_type}; "
                f"{id_property!r} is not",
            )
        props = portal.clean_properties(object_type, item.get("properties"))
        props[id_property] = key
        holder = state.tables[object_type].unique.get(id_property, {}).get(key)
        obj = state.tables[object_type].live.get(holder) if holder else None
        portal.rejection(object_type, obj.id if obj else key)
        plan.append((obj, props, id_property, key))
    keys = [(p[2], p[3]) for p in plan]
    if len(set(keys)) != len(keys):
        raise HubSpotError(400, "VALIDATION_ERROR", "Duplicate id values found in batch upsert input")
    return plan


@crm_route(router, "/crm/v3/objects/{object_type}/batch/upsert", "POST")
async def batch_upsert(object_type: str, request: Request, emulator: Emulator) -> JSONResponse:
    t = canonical_type(object_type)
    inputs = batch_inputs(await json_body(request))
    state = emulator.org
    with state.lock:
        started = state.now_ms()
        plan = plan_upserts(emulator.portal, t, inputs)
        results = []
        names = list(state.properties[t])
        for obj, props, _, _ in plan:
            if obj is None:
                new = state._insert(t, props, started, started)
                results.append({**new.as_json(names), "new": True})
            else:
                state._write(obj, props, started)
                results.append({**obj.as_json(names), "new": False})
    return batch_answer(results, started, [], 200)


@crm_route(router, "/crm/v3/objects/{object_type}/batch/archive", "POST")
async def batch_archive(object_type: str, request: Request, emulator: Emulator) -> Response:
    t = canonical_type(object_type)
    inputs = batch_inputs(await json_body(request))
    state = emulator.org
    with state.lock:
        ms = state.now_ms()
        for item in inputs:
            obj = state.tables[t].live.get(str(item.get("id", "")))
            if obj is not None:
                state._archive(obj, ms)
    return Response(status_code=204)
