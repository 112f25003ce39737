"""OAuth token endpoints: v1 (until its sunset) and the date-versioned 2026-03 ones.

- `POST /oauth/v1/token` (refresh_token grant), `GET /oauth/v1/access-tokens/{token}`
  (what a token is), `DELETE /oauth/v1/refresh-tokens/{token}`: HubSpot retires
  them on 2027-02-16; an emulator started with `today` past that answers 410
  with a HubSpot error body naming the replacement;
- `POST /oauth/2026-03/token` (form body: `grant_type` refresh_token or
  authorization_code, `client_id`, `client_secret`), `POST
  /oauth/2026-03/token/introspect` (RFC 7662) and `POST /oauth/2026-03/token/revoke`
  (RFC 7009); errors are RFC 6749's `{"error", "error_description"}`.

With `oauth_client` configured, only that client id and secret (and, with
`refresh_token`, only that refresh token) are accepted; tokens issued here
become valid bearer tokens, revoked ones stop working.
"""

from __future__ import annotations

import time
import uuid
from datetime import date
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from emulators.hubspot.context import Emulator, HubSpotEmulator, IssuedToken
from emulators.hubspot.responses import error_body

V1_SUNSET = date(2027, 2, 16)
TOKEN_SECONDS = 1800
SCOPES = "crm.objects.companies.read crm.objects.companies.write crm.objects.deals.read oauth"

router = APIRouter()


async def _form(request: Request) -> dict[str, str]:
    # A form-encoded body, parsed by hand: python-multipart is not a dependency.
    fields = parse_qs((await request.body()).decode("utf-8", "replace"))
    return {k: v[0] for k, v in fields.items() if v}


def _retired(emulator: HubSpotEmulator) -> JSONResponse | None:
    if emulator.today <= V1_SUNSET:
        return None
    body = error_body(
        "GONE",
        f"The v1 OAuth endpoints were retired on {V1_SUNSET.isoformat()}; use POST /oauth/2026-03/token.",
    )
    return JSONResponse(body, status_code=410)


def _issue(emulator: HubSpotEmulator, client_id: str, refresh_token: str) -> IssuedToken:
    issued = IssuedToken(
        access_token=f"emu-oauth-{uuid.uuid4().hex}",
        refresh_token=refresh_token,
        client_id=client_id,
        issued_at=int(time.time()),
    )
    emulator.issue(issued)
    return issued


@router.post("/oauth/v1/token")
async def token_v1(request: Request, emulator: Emulator) -> JSONResponse:
    if (retired := _retired(emulator)) is not None:
        return retired
    form = await _form(request)
    refresh = form.get("refresh_token", "")
    if form.get("grant_type") != "refresh_token" or not emulator.refresh_token_ok(refresh):
        return JSONResponse(
            {
                "status": "BAD_REFRESH_TOKEN",
                "message": "missing or unknown refresh token",
                "correlationId": str(uuid.uuid4()),
            },
            status_code=400,
        )
    issued = _issue(emulator, form.get("client_id", ""), refresh)
    return JSONResponse(
        {
            "token_type": "bearer",
            "refresh_token": refresh,
            "access_token": issued.access_token,
            "expires_in": TOKEN_SECONDS,
        }
    )


@router.get("/oauth/v1/access-tokens/{token}")
async def token_info_v1(token: str, emulator: Emulator) -> JSONResponse:
    if (retired := _retired(emulator)) is not None:
        return retired
    issued = emulator.tokens.get(token)
    if issued is None or token in emulator.revoked:
        return JSONResponse(error_body("OBJECT_NOT_FOUND", "Token not found"), status_code=404)
    return JSONResponse(
        {
            "token": token,
            "hub_id": emulator.hub_id,
            "app_id": 1_000_001,
            "scopes": SCOPES.split(),
            "token_type": "access",
            "user_id": 9_000_001,
            "expires_in": max(0, issued.issued_at + TOKEN_SECONDS - int(time.time())),
        }
    )


@router.delete("/oauth/v1/refresh-tokens/{token}")
async def revoke_v1(token: str, emulator: Emulator) -> Response:
    if (retired := _retired(emulator)) is not None:
        return retired
    emulator.revoke(token)
    return Response(status_code=204)


def oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def _client_error(emulator: HubSpotEmulator, form: dict[str, str]) -> JSONResponse | None:
    if not form.get("client_id") or not form.get("client_secret"):
        return oauth_error("invalid_request", "client_id and client_secret are required in the body")
    if (
        emulator.oauth_client is not None
        and (form["client_id"], form["client_secret"]) != emulator.oauth_client
    ):
        return oauth_error("invalid_client", "client authentication failed", 401)
    return None


@router.post("/oauth/2026-03/token")
async def token(request: Request, emulator: Emulator) -> JSONResponse:
    form = await _form(request)
    grant = form.get("grant_type", "")
    if grant not in ("refresh_token", "authorization_code"):
        return oauth_error("unsupported_grant_type", f"grant_type {grant!r} is not supported")
    if (refused := _client_error(emulator, form)) is not None:
        return refused
    if grant == "refresh_token":
        refresh = form.get("refresh_token", "")
        if not emulator.refresh_token_ok(refresh):
            return oauth_error("invalid_grant", "the refresh token is invalid, expired or revoked")
    else:
        if not form.get("code") or not form.get("redirect_uri"):
            return oauth_error("invalid_request", "code and redirect_uri are required")
        refresh = f"emu-refresh-{uuid.uuid4().hex}"
        emulator.accept_refresh_token(refresh)
    issued = _issue(emulator, form["client_id"], refresh)
    return JSONResponse(
        {
            "access_token": issued.access_token,
            "refresh_token": refresh,
            "expires_in": TOKEN_SECONDS,
            "token_type": "bearer",
            "scope": SCOPES,
            "hub_id": emulator.hub_id,
        }
    )


@router.post("/oauth/2026-03/token/introspect")
async def introspect(request: Request, emulator: Emulator) -> JSONResponse:
    form = await _form(request)
    if (refused := _client_error(emulator, form)) is not None:
        return refused
    presented = form.get("token", "")
    issued = emulator.tokens.get(presented)
    now = int(time.time())
    if presented in emulator.revoked:
        return JSONResponse({"active": False})
    if issued is not None and issued.issued_at + TOKEN_SECONDS > now:
        kind, exp = "access_token", issued.issued_at + TOKEN_SECONDS
    elif emulator.refresh_token_ok(presented) and presented:
        kind, exp = "refresh_token", now + 180 * 86_400
    else:
        return JSONResponse({"active": False})
    return JSONResponse(
        {
            "active": True,
            "client_id": issued.client_id if issued else form["client_id"],
            "token_type": kind,
            "scope": SCOPES,
            "exp": exp,
            "iat": issued.issued_at if issued else now,
            "hub_id": emulator.hub_id,
        }
    )


@router.post("/oauth/2026-03/token/revoke")
async def revoke(request: Request, emulator: Emulator) -> JSONResponse:
    form = await _form(request)
    if (refused := _client_error(emulator, form)) is not None:
        return refused
    emulator.revoke(form.get("token", ""))
    return JSONResponse({})
