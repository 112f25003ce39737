"""OAuth: `POST /oauth/v1/token` with the refresh_token grant, for connectors that renew expired tokens."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from emulators.hubspot.context import Emulator

router = APIRouter()


@router.post("/oauth/v1/token")
async def oauth_token(request: Request, emulator: Emulator) -> JSONResponse:
    # A form-encoded body, parsed by hand: python-multipart is not a dependency.
    fields = parse_qs((await request.body()).decode("utf-8", "replace"))
    form = {k: v[0] for k, v in fields.items() if v}
    if form.get("grant_type") != "refresh_token" or not form.get("refresh_token"):
        return JSONResponse(
            {
                "status": "BAD_REFRESH_TOKEN",
                "message": "missing or unknown refresh token",
                "correlationId": str(uuid.uuid4()),
            },
            status_code=400,
        )
    token = f"emu-oauth-{uuid.uuid4().hex}"
    emulator.issue_token(token)
    return JSONResponse(
        {
            "token_type": "bearer",
            "refresh_token": str(form.get("refresh_token")),
            "access_token": token,
            "expires_in": 1800,
        }
    )
