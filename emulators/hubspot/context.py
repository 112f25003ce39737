"""What the HubSpot routes share, kept on `app.state.emulator`, and the bearer-token check.

Routes receive the `HubSpotEmulator` as the `Emulator` dependency; CRM routes
come from `crm_router()`, whose every route requires a bearer token (with
`access_token` configured, that token or one the OAuth endpoint issued).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request

from emulators.faults import FaultInjector
from emulators.hubspot.limits import SearchRateLimiter
from emulators.hubspot.org import HubSpotError, HubSpotOrg
from emulators.hubspot.portal import Portal

MISSING_AUTH = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """An access token the OAuth endpoints handed out, and the refresh token it came from."""

    access_token: str
    refresh_token: str
    client_id: str
    issued_at: int  # epoch seconds


@dataclass
class HubSpotEmulator:
    """One emulated portal and everything its routes need besides it."""

    org: HubSpotOrg
    portal: Portal
    injector: FaultInjector
    searches: SearchRateLimiter
    valid_tokens: set[str] | None = None  # None: any bearer token is accepted
    today: date = field(
        default_factory=date.today
    )  # the portal's date (OAuth v1 is retired after 2027-02-16)
    oauth_client: tuple[str, str] | None = None  # (client id, secret); None: any client
    refresh_tokens: set[str] | None = None  # None: any non-empty refresh token
    tokens: dict[str, IssuedToken] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    hub_id: int = 62_515

    def issue(self, issued: IssuedToken) -> None:
        self.tokens[issued.access_token] = issued
        if self.valid_tokens is not None:
            self.valid_tokens.add(issued.access_token)

    def refresh_token_ok(self, token: str) -> bool:
        if not token or token in self.revoked:
            return False
        return self.refresh_tokens is None or token in self.refresh_tokens

    def accept_refresh_token(self, token: str) -> None:
        if self.refresh_tokens is not None:
            self.refresh_tokens.add(token)

    def revoke(self, token: str) -> None:
        """Revoke a refresh token (and the access tokens issued from it) or one access token."""
        self.revoked.add(token)
        for issued in self.tokens.values():
            if issued.refresh_token == token:
                self.revoked.add(issued.access_token)


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
    if token in emulator.revoked or (
        emulator.valid_tokens is not None and token not in emulator.valid_tokens
    ):
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


# HubSpot's date-versioned paths (`/crm/objects/2026-09/companies`) beside the numeric ones.
DATE_VERSIONS = ("2026-03", "2026-09")
_DATED_PREFIXES = {
    "/crm/v3/objects": "/crm/objects/{api_version}",
    "/crm/v4/objects": "/crm/objects/{api_version}",
    "/crm/v3/properties": "/crm/properties/{api_version}",
    "/crm/v3/owners": "/crm/owners/{api_version}",
    "/crm/v4/associations": "/crm/associations/{api_version}",
    "/crm/v3/schemas": "/crm/schemas/{api_version}",
}


def date_version(api_version: str) -> None:
    """A date-versioned path names a version HubSpot has released (else: no such route)."""
    if api_version not in DATE_VERSIONS:
        raise HubSpotError(
            404, "OBJECT_NOT_FOUND", f"Unknown API version {api_version}; use one of {DATE_VERSIONS}"
        )


def dated_path(path: str) -> str | None:
    """The date-versioned twin of a `/crm/v3` or `/crm/v4` path, if HubSpot has one."""
    for numeric, dated in _DATED_PREFIXES.items():
        if path == numeric or path.startswith(numeric + "/"):
            return dated + path[len(numeric) :]
    return None


Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def crm_route(router: APIRouter, path: str, method: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
    """Register an endpoint at its numeric path and at its date-versioned twin."""

    def register(endpoint: Endpoint) -> Endpoint:
        router.add_api_route(path, endpoint, methods=[method], **options)
        dated = dated_path(path)
        if dated is not None:
            versioned = [Depends(date_version)]
            router.add_api_route(dated, endpoint, methods=[method], dependencies=versioned, **options)
        return endpoint

    return register
