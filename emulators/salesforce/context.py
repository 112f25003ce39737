"""What the Salesforce routes share, kept on `app.state.emulator`, and how REST routes are declared.

`SalesforceEmulator` holds one app's org, fault injector, login rules and
issued sessions; routes receive it as the `Emulator` dependency. REST routes
live under `/services/data/v{version}` (`rest_router()`), answer with and
without a trailing slash (`rest_route`), and refuse calls without a valid
session (`require_session`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request

from emulators.faults import FaultInjector
from emulators.salesforce.bulk import BulkJobs
from emulators.salesforce.fault_style import SalesforceFaultStyle
from emulators.salesforce.org import SalesforceOrg
from emulators.salesforce.responses import InvalidSession

REST_PREFIX = "/services/data/v{version}"
FALLBACK_USER_ID = "005Dn0000000000001AAA"


@dataclass(frozen=True)
class SalesforceOrgCredentials:
    """When given to the app, only these credentials log in (else anything does).

    `password` is the password alone; a SOAP login must send password +
    security token, as Salesforce requires from untrusted networks.
    `refresh_token` is one the org issued earlier (through the web-server
    flow); `jwt_certificate` the PEM certificate (or public key) uploaded to
    the connected app, which verifies JWT bearer assertions.
    """

    username: str
    password: str = field(repr=False)
    security_token: str = field(default="", repr=False)
    consumer_key: str | None = None
    consumer_secret: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    jwt_certificate: str | None = field(default=None, repr=False)


class Sessions:
    """Session ids handed out by logins (checked only when credentials are configured)."""

    def __init__(self) -> None:
        self.issued: set[str] = set()

    def new(self, org_id: str) -> str:
        token = f"{org_id}!AQ{secrets.token_urlsafe(48)}"
        self.issued.add(token)
        return token


@dataclass
class SalesforceEmulator:
    """One emulated org and everything its routes need besides it."""

    org: SalesforceOrg
    injector: FaultInjector
    style: SalesforceFaultStyle
    credentials: SalesforceOrgCredentials | None = None
    sessions: Sessions = field(default_factory=Sessions)
    echo_instance_url: bool = True  # False: logins name a *.my.salesforce.com host instead
    bulk: BulkJobs = field(default_factory=BulkJobs)

    @property
    def api_user_id(self) -> str:
        return self.org.api_user_id or FALLBACK_USER_ID


def emulator_of(request: Request) -> SalesforceEmulator:
    emulator: SalesforceEmulator = request.app.state.emulator
    return emulator


Emulator = Annotated[SalesforceEmulator, Depends(emulator_of)]


def require_session(request: Request, emulator: Emulator) -> None:
    """A bearer token is required; with credentials configured, one a login issued."""
    auth = request.headers.get("authorization", "")
    token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    if not token:
        raise InvalidSession()
    if emulator.credentials is not None and token not in emulator.sessions.issued:
        raise InvalidSession()


def rest_router() -> APIRouter:
    """A router of authenticated REST routes under `/services/data/v{version}`."""
    return APIRouter(prefix=REST_PREFIX, dependencies=[Depends(require_session)])


Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def rest_route(router: APIRouter, *paths: str, methods: list[str]) -> Callable[[Endpoint], Endpoint]:
    """Register an endpoint at each path, with and without a trailing slash, as Salesforce answers both."""

    def register(endpoint: Endpoint) -> Endpoint:
        for path in paths:
            variants = [path] if path.endswith("/") else [path, path + "/"]
            for variant in variants:
                router.add_api_route(variant, endpoint, methods=methods, include_in_schema=False)
        return endpoint

    return register
