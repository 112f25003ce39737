"""Properties and property groups under `/crm/v3/properties/{type}`: list, read, create.

Create answers 201, or 409 `OBJECT_ALREADY_EXISTS` for a name in use; names
are lowercase letters, digits and underscores; the group must exist.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from starlette.responses import JSONResponse

from emulators.hubspot.context import Emulator, crm_route, crm_router
from emulators.hubspot.org import TYPE_IDS, HubSpotError, PropertyDef, canonical_type
from emulators.hubspot.responses import json_body

PROPERTY_TYPES = ("string", "number", "date", "datetime", "enumeration", "bool")

router = crm_router()


@crm_route(router, "/crm/v3/properties/{object_type}", "GET")
async def list_properties(object_type: str, emulator: Emulator) -> JSONResponse:
    t = canonical_type(object_type)
    with emulator.org.lock:
        return JSONResponse({"results": [p.as_json() for p in emulator.org.properties[t].values()]})


@crm_route(router, "/crm/v3/properties/{object_type}/groups", "GET")
async def list_groups(object_type: str, emulator: Emulator) -> JSONResponse:
    t = canonical_type(object_type)
    with emulator.org.lock:
        return JSONResponse({"results": list(emulator.org.groups[t].values())})


@crm_route(router, "/crm/v3/properties/{object_type}/groups", "POST")
async def create_group(object_type: str, request: Request, emulator: Emulator) -> JSONResponse:
    t = canonical_type(object_type)
    body = await json_body(request) or {}
    name = str(body.get("name", ""))
    if not name:
        raise HubSpotError(400, "VALIDATION_ERROR", "name is required")
    state = emulator.org
    with state.lock:
        if name in state.groups[t]:
            raise HubSpotError(
                409, "OBJECT_ALREADY_EXISTS", f"A property group named '{name}' already exists."
            )
        group = {
            "name": name,
            "label": str(body.get("label", name)),
            "displayOrder": int(body.get("displayOrder", -1)),
            "archived": False,
        }
        state.groups[t][name] = group
    return JSONResponse(group, status_code=201)


@crm_route(router, "/crm/v3/properties/{object_type}/{name}", "GET")
async def get_property(object_type: str, name: str, emulator: Emulator) -> JSONResponse:
    t = canonical_type(object_type)
    with emulator.org.lock:
        prop = emulator.org.properties[t].get(name)
        if prop is None:
            raise HubSpotError(
                404,
                "OBJECT_NOT_FOUND",
                f"Unable to find property {name} for object type {TYPE_IDS[t]}",
            )
        return JSONResponse(prop.as_json())


def validate_property_body(body: dict[str, Any]) -> str:
    """The new property's name, once the body has what HubSpot requires."""
    missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)]
    if missing:
        raise HubSpotError(400, "VALIDATION_ERROR", f"Missing required fields: {', '.join(missing)}")
    name = str(body["name"])
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise HubSpotError(
            400,
            "VALIDATION_ERROR",
            f"Property name '{name}' must be lowercase letters, digits and underscores",
        )
    if body["type"] not in PROPERTY_TYPES:
        raise HubSpotError(400, "VALIDATION_ERROR", f"Invalid property type {body['type']}")
    return name


@crm_route(router, "/crm/v3/properties/{object_type}", "POST")
async def create_property(object_type: str, request: Request, emulator: Emulator) -> JSONResponse:
    t = canonical_type(object_type)
    body = await json_body(request) or {}
    name = validate_property_body(body)
    state = emulator.org
    with state.lock:
        if name in state.properties[t]:
            raise HubSpotError(
                409,
                "OBJECT_ALREADY_EXISTS",
                f"A property named '{name}' already exists.",
                context={"name": [name]},
            )
        if body["groupName"] not in state.groups[t]:
            raise HubSpotError(400, "VALIDATION_ERROR", f"Property group {body['groupName']} does not exist.")
        prop = PropertyDef(
            name=name,
            label=str(body["label"]),
            type=str(body["type"]),
            field_type=str(body["fieldType"]),
            group_name=str(body["groupName"]),
            hubspot_defined=False,
            has_unique_value=bool(body.get("hasUniqueValue", False)),
            description=str(body.get("description") or ""),
            options=tuple(body.get("options") or ()),
            created_ms=state.now_ms(),
        )
        state.properties[t][name] = prop
    return JSONResponse(prop.as_json(), status_code=201)
