"""What the HubSpot routes share, kept on `app.state.emulator`, and the bearer-token check.

Routes receive the `HubSpotEmulator` as the `Emulator` dependency; CRM routes
come from `crm_router()`, whose every route requires a bearer token (with
`access_token` configured, that token or one the OAuth endpoint issued).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from emulators.faults import FaultInjector
from emulators.hubspot.limits import SearchRateLimiter
from emulators.hubspot.org import HubSpotError, HubSpotOrg
from emulators.hubspot.portal import Portal

MISSING_AUTH = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


@dataclass
class HubSpotEmulator:
    """One emulated portal and everything its routes need besides it."""

    org: HubSpotOrg
    portal: Portal
    injector: FaultInjector
    searches: SearchRateLimiter
    valid_tokens: set[str] | None = None  # None: any bearer token is accepted

    def issue_token(self, token: str) -> None:
        if self.valid_tokens is not None:
            self.valid_tokens.add(token)


def emulator_of(request: Request) -> HubSpotEmulator:
    emulator: HubSpotEmulator = request.app.state.emulator
    return emulator


Emulator = Annotated[HubSpotEmulator, Depends(emulator_of)]


def bearer(request: Request, emulator: Emulator) -> str:
    """The call's bearer token, or HubSpot's 401."""
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("bearer ") or not auth[7:].strip():
        raise HubSpotError(401, "INVALID_AUTHENTICATION", MISSING_AUTH)
    token = auth[7:].strip()
    if emulator.valid_tokens is not None and token not in emulator.valid_tokens:
        raise HubSpotError(
            401,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. The access token provided is not valid.",
        )
    return token


Token = Annotated[str, Depends(bearer)]


def crm_router() -> APIRouter:
    """A router whose routes all require a bearer token."""
    return APIRouter(dependencies=[Depends(bearer)])
