"""Owners: `GET /crm/v3/owners/` (with or without the slash; `email`, `after`, `limit` <= 500,
`archived`) and `GET /crm/v3/owners/{id}` (`idProperty=userId`). Inactive users are archived owners."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.responses import JSONResponse

from emulators.hubspot.context import Emulator, crm_route, crm_router
from emulators.hubspot.org import HubSpotError
from emulators.hubspot.responses import query_bool

MAX_OWNERS_LIMIT = 500

router = crm_router()


def owners_page(request: Request, emulator: Emulator) -> JSONResponse:
    try:
        limit = int(request.query_params.get("limit", "100"))
    except ValueError:
        raise HubSpotError(400, "VALIDATION_ERROR", "limit must be an integer") from None
    if not 1 <= limit <= MAX_OWNERS_LIMIT:
        raise HubSpotError(400, "VALIDATION_ERROR", f"limit must be between 1 and {MAX_OWNERS_LIMIT}")
    after = int(request.query_params.get("after") or 0)
    archived = query_bool(request, "archived")
    email = request.query_params.get("email")
    state = emulator.org
    with state.lock:
        owners = sorted(
            (
                o
                for o in state.owners.values()
                if o.archived == archived and int(o.id) > after and (email is None or o.email == email)
            ),
            key=lambda o: int(o.id),
        )
    body: dict[str, Any] = {"results": [o.as_json() for o in owners[:limit]]}
    if len(owners) > limit:
        nxt = owners[limit - 1].id
        body["paging"] = {"next": {"after": nxt, "link": f"/crm/v3/owners/?after={nxt}"}}
    return JSONResponse(body)


@crm_route(router, "/crm/v3/owners/", "GET")
async def list_owners_slash(request: Request, emulator: Emulator) -> JSONResponse:
    return owners_page(request, emulator)


@crm_route(router, "/crm/v3/owners", "GET")
async def list_owners(request: Request, emulator: Emulator) -> JSONResponse:
    return owners_page(request, emulator)


@crm_route(router, "/crm/v3/owners/{owner_id}", "GET")
async def get_owner(owner_id: str, request: Request, emulator: Emulator) -> JSONResponse:
    by_user = request.query_params.get("idProperty") == "userId"
    archived = query_bool(request, "archived")
    with emulator.org.lock:
        for o in emulator.org.owners.values():
            key = str(o.user_id) if by_user else o.id
            if key == owner_id and (archived or not o.archived):
                return JSONResponse(o.as_json())
    raise HubSpotError(404, "OBJECT_NOT_FOUND", f"Owner {owner_id} not found")
