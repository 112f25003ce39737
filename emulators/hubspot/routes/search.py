"""`POST /crm/v3/objects/{type}/search`, behind search's own per-second limit (429 `SECONDLY`).

The search itself (filter groups, sorts, paging, the 10,000-result cap) is
`emulators.hubspot.search.run_search`.
"""

from __future__ import annotations

from fastapi import Request
from starlette.responses import JSONResponse

from emulators.hubspot.context import Emulator, Token, crm_route, crm_router
from emulators.hubspot.limits import search_rate_limited
from emulators.hubspot.org import canonical_type
from emulators.hubspot.responses import json_body
from emulators.hubspot.search import run_search

router = crm_router()


@crm_route(router, "/crm/v3/objects/{object_type}/search", "POST")
async def search(object_type: str, request: Request, emulator: Emulator, token: Token) -> JSONResponse:
    t = canonical_type(object_type)
    if not emulator.searches.allow(token):
        return search_rate_limited()
    body = await json_body(request)
    return JSONResponse(run_search(emulator.org, t, body or {}))
