"""`GET /crm/v3/schemas`: the portal's custom object schemas (it has none), so generic taps can discover."""

from __future__ import annotations

from starlette.responses import JSONResponse

from emulators.hubspot.context import crm_route, crm_router
from emulators.hubspot.org import HubSpotError

router = crm_router()


@crm_route(router, "/crm/v3/schemas", "GET")
async def list_schemas() -> JSONResponse:
    return JSONResponse({"results": []})


@crm_route(router, "/crm/v3/schemas/{object_type}", "GET")
async def get_schema(object_type: str) -> JSONResponse:
    raise HubSpotError(404, "OBJECT_NOT_FOUND", f"Unable to find a custom object schema for {object_type}")
