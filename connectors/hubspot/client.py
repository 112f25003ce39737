"""The only module that imports hubspot-api-client: the calls we make, retries, token renewal.

`HubSpotClient` wraps one `hubspot.HubSpot` and exposes exactly the calls the
connector needs, each returning the decoded JSON body. Every HTTP attempt:

- first takes a token from the portal's shared `RequestBudget` (and, for
  search, from the search API's own per-second pace);
- is counted in `api_calls`;
- is retried by `transient_retry` when `classify` says it is transient (429,
  5xx, timeouts, connection resets), honouring `Retry-After` when sent;
- on a 401 `EXPIRED_AUTHENTICATION` renews the access token through the OAuth
  refresh grant on `POST /oauth/2026-03/token`, when the connector was given
  `HubSpotOAuthRefresh`, and tries once more; without it the run stops with a
  `CRMError`. The SDK's `/oauth/v1/token` is tried only when the new endpoint
  is not served (no RFC 6749 answer) and only before v1's sunset, 2027-02-16.

With `api_version` set to a date-versioned release (`2026-03`, `2026-09`)
every CRM call goes to its dated path (`/crm/objects/2026-09/companies`):
the SDK builds v3/v4 paths, and `_versioned_api_factory` rewrites them, the
one place that knows (see `versions.py`).

Responses are read with `_preload_content=False` and decoded as plain JSON:
the SDK's model deserialisation costs ~50 ms per 100-record page, five times
the HTTP call itself. Error answers become `HubSpotAPIError` (status,
category, message) so the connector never sees SDK exception classes.
Tokens never appear in reprs, logs or exception messages.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import urllib3
from hubspot import HubSpot
from hubspot.discovery.discovery_base import DiscoveryBase

from connectors.base import CRMAPIError, CRMError
from connectors.hubspot.versions import (
    OAUTH_TOKEN_PATH,
    OAUTH_V1_SUNSET,
    HubSpotApiVersion,
    v1_fallback_allowed,
    versioned_path,
)
from connectors.limits import RequestBudget, RetryDecision, transient_retry

log = logging.getLogger(__name__)

BATCH_SIZE = 100
LIST_LIMIT = 100
SEARCH_LIMIT = 200
ASSOCIATION_READ_LIMIT = 1000
TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
T = TypeVar("T")


@dataclass(frozen=True)
class HubSpotOAuthRefresh:
    """OAuth app credentials to renew an expired access token (refresh_token grant)."""

    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)


class HubSpotAPIError(CRMAPIError):
    """A non-2xx answer from HubSpot; `code` is its error `category`, plus the parts we act on."""

    crm = "HubSpot"

    def __init__(
        self,
        status: int,
        *,
        category: str | None = None,
        message: str = "",
        policy: str | None = None,
        retry_after: float | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(status, category, message)
        self.policy = policy
        self.retry_after = retry_after
        self.body: Mapping[str, Any] = body or {}

    @property
    def expired_token(self) -> bool:
        return self.status == 401 and self.code == "EXPIRED_AUTHENTICATION"


def classify(exc: BaseException) -> RetryDecision:
    """Which HubSpot failures are worth another try, and after how long."""
    if isinstance(exc, HubSpotAPIError):
        if exc.status == 429:
            # The search limit is per second; the burst limit gets backoff unless told.
            hint = (
                exc.retry_after
                if exc.retry_after is not None
                else (1.0 if exc.policy == "SECONDLY" else None)
            )
            return RetryDecision(transient=True, retry_after=hint)
        return RetryDecision(transient=exc.status in TRANSIENT_STATUS)
    if isinstance(exc, urllib3.exceptions.HTTPError | ConnectionError | TimeoutError | socket.timeout):
        return RetryDecision(transient=True)
    return RetryDecision(transient=False)


def _api_error(exc: Any) -> HubSpotAPIError:
    """Turn any SDK `ApiException` (each API package has its own class) into ours."""
    status = int(getattr(exc, "status", 0) or 0)
    raw = getattr(exc, "body", None)
    headers = getattr(exc, "headers", None) or {}
    try:
        body = json.loads(raw) if raw else {}
    except (ValueError, TypeError):
        body = {}
    if not isinstance(body, dict):
        body = {}
    retry_after: float | None = None
    hint = headers.get("Retry-After") if hasattr(headers, "get") else None
    if hint:
        try:
            retry_after = float(hint)
        except ValueError:
            retry_after = None
    return HubSpotAPIError(
        status,
        category=body.get("category") or body.get("errorType") or body.get("error"),
        message=str(body.get("message") or body.get("error_description") or getattr(exc, "reason", "") or ""),
        policy=body.get("policyName"),
        retry_after=retry_after,
        body=body,
    )


def _is_sdk_error(exc: BaseException) -> bool:
    # Every generated package defines its own ApiException; they share the name and module layout.
    return type(exc).__module__.startswith("hubspot.") and hasattr(exc, "status")


def _versioned_api_factory(version: HubSpotApiVersion) -> Callable[[Any, str, dict[str, Any]], Any]:
    """An SDK `api_factory` whose API clients call the date-versioned twin of each path."""

    def factory(api_client_package: Any, api_name: str, config: dict[str, Any]) -> Any:
        api = DiscoveryBase._default_api_factory(api_client_package, api_name, config)
        call_api = api.api_client.call_api

        def call_versioned(resource_path: str, *args: Any, **kwargs: Any) -> Any:
            return call_api(versioned_path(resource_path, version), *args, **kwargs)

        api.api_client.call_api = call_versioned
        return api

    return factory


def _utc_today() -> date:
    return datetime.now(UTC).date()


@dataclass(frozen=True)
class Answer:
    """A decoded 2xx answer: status, JSON body, and the server's clock (epoch ms) if sent."""

    status: int
    body: Any
    server_ms: int | None


class HubSpotClient:
    """The HubSpot calls territory-sync makes, each budgeted, counted and retried."""

    def __init__(
        self,
        access_token: str,
        *,
        base_url: str | None = None,
        budget: RequestBudget | None = None,
        search_budget: RequestBudget | None = None,
        oauth: HubSpotOAuthRefresh | None = None,
        attempts: int = 8,
        initial_wait: float = 0.25,
        max_wait: float = 60.0,
        timeout: float = 60.0,
        api_version: HubSpotApiVersion = HubSpotApiVersion.V3,
        today: Callable[[], date] = _utc_today,
    ) -> None:
        self._host = base_url.rstrip("/") if base_url else None
        self.api_version = api_version
        self._today = today
        self._token = access_token
        self._budget = budget
        self._search_budget = search_budget
        self._oauth = oauth
        self._timeout = (10.0, timeout)
        self._retry: Callable[[Callable[[], Answer]], Callable[[], Answer]] = transient_retry(
            classify,
            attempts=attempts,
            initial_wait=initial_wait,
            max_wait=max_wait,
            on_retry=self._count_retry,
        )
        self.api_calls = 0
        self.retries = 0
        self._sdk = self._build(access_token)

    def _count_retry(self) -> None:
        self.retries += 1

    def _build(self, token: str) -> HubSpot:
        options: dict[str, Any] = {"access_token": token}
        if self._host:
            options["host"] = self._host
        if self.api_version is not HubSpotApiVersion.V3:
            options["api_factory"] = _versioned_api_factory(self.api_version)
        return HubSpot(**options)

    def __repr__(self) -> str:
        host = self._host or "https://api.hubapi.com"
        return f"HubSpotClient(host={host!r}, api_version={self.api_version.value!r})"

    # ------------------------------------------------------------------ plumbing

    def _attempt(self, send: Callable[[HubSpot], Any], *, search: bool) -> Answer:
        if self._budget is not None:
            self._budget.acquire()
        if search and self._search_budget is not None:
            self._search_budget.acquire()
        self.api_calls += 1
        try:
            response = send(self._sdk)
        except Exception as exc:
            if _is_sdk_error(exc):
                raise _api_error(exc) from None
            raise
        try:
            raw = response.data
            server_ms = None
            date = response.headers.get("Date")
            if date:
                server_ms = int(parsedate_to_datetime(date).timestamp() * 1000)
            return Answer(response.status, json.loads(raw) if raw else None, server_ms)
        finally:
            response.release_conn()

    def call(self, send: Callable[[HubSpot], Any], *, search: bool = False) -> Answer:
        """Run one SDK call (`send(sdk)` with `_preload_content=False`) with all the rules above."""
        attempt = self._retry(lambda: self._attempt(send, search=search))
        try:
            return attempt()
        except HubSpotAPIError as exc:
            if not exc.expired_token:
                raise
        self._renew_token()
        try:
            return attempt()
        except HubSpotAPIError as exc:
            if exc.status == 401:
                raise CRMError(
                    f"HubSpot refused the renewed access token ({exc.code or 'INVALID_AUTHENTICATION'})"
                ) from None
            raise

    def _renew_token(self) -> None:
        if self._oauth is None:
            raise CRMError(
                "HubSpot access token expired (EXPIRED_AUTHENTICATION) and no OAuth refresh "
                "credentials were given; issue a new token or configure the OAuth app"
            )
        log.info("HubSpot access token expired; renewing it with the refresh token")
        try:
            body = self._refresh_2026_03(self._oauth)
        except HubSpotAPIError as exc:
            if "error" in exc.body:  # an RFC 6749 answer: the endpoint judged our credentials
                raise CRMError(f"HubSpot refused the token refresh ({exc.code}: {exc.message})") from None
            body = self._refresh_v1_before_sunset(self._oauth, exc)
        token = (body or {}).get("access_token")
        if not token:
            raise CRMError("HubSpot's OAuth refresh answered without an access token")
        rotated = (body or {}).get("refresh_token")
        if rotated and rotated != self._oauth.refresh_token:
            self._oauth = replace(self._oauth, refresh_token=str(rotated))
        self._token = str(token)
        self._sdk = self._build(self._token)

    def _refresh_2026_03(self, oauth: HubSpotOAuthRefresh) -> Any:
        """The refresh_token grant on `POST /oauth/2026-03/token`, credentials in the form body."""
        form = [
            ("grant_type", "refresh_token"),
            ("client_id", oauth.client_id),
            ("client_secret", oauth.client_secret),
            ("refresh_token", oauth.refresh_token),
        ]
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        return self._retry(
            lambda: self._attempt(
                lambda sdk: sdk.oauth.tokens_api.api_client.call_api(
                    OAUTH_TOKEN_PATH,
                    "POST",
                    header_params=dict(headers),
                    post_params=list(form),
                    response_types_map={},
                    auth_settings=[],
                    _preload_content=False,
                    _request_timeout=self._timeout,
                ),
                search=False,
            )
        )().body

    def _refresh_v1_before_sunset(self, oauth: HubSpotOAuthRefresh, failure: HubSpotAPIError) -> Any:
        """The SDK's `POST /oauth/v1/token`, only while HubSpot still serves it."""
        if not v1_fallback_allowed(self._today()):
            raise CRMError(
                f"HubSpot's {OAUTH_TOKEN_PATH} answered {failure.status} and OAuth v1 was retired on "
                f"{OAUTH_V1_SUNSET.isoformat()}; the access token cannot be renewed"
            )
        log.warning(
            "HubSpot's %s answered %s; renewing through OAuth v1, which HubSpot retires on %s",
            OAUTH_TOKEN_PATH,
            failure.status,
            OAUTH_V1_SUNSET.isoformat(),
        )
        return self._retry(
            lambda: self._attempt(
                lambda sdk: sdk.oauth.tokens_api.create(
                    grant_type="refresh_token",
                    client_id=oauth.client_id,
                    client_secret=oauth.client_secret,
                    refresh_token=oauth.refresh_token,
                    _preload_content=False,
                    _request_timeout=self._timeout,
                ),
                search=False,
            )
        )().body

    # ------------------------------------------------------------------ the calls

    def list_page(
        self,
        object_type: str,
        *,
        properties: Sequence[str],
        after: str | None = None,
        archived: bool = False,
        associations: Sequence[str] = (),
    ) -> Answer:
        kwargs: dict[str, Any] = {
            "limit": LIST_LIMIT,
            "properties": list(properties),
            "archived": archived,
            "_preload_content": False,
            "_request_timeout": self._timeout,
        }
        if after:
            kwargs["after"] = after
        if associations:
            kwargs["associations"] = list(associations)
        return self.call(lambda sdk: sdk.crm.objects.basic_api.get_page(object_type, **kwargs))

    def search(self, object_type: str, request: Mapping[str, Any]) -> Answer:
        return self.call(
            lambda sdk: sdk.crm.objects.search_api.do_search(
                object_type, dict(request), _preload_content=False, _request_timeout=self._timeout
            ),
            search=True,
        )

    def batch_update(self, object_type: str, inputs: Sequence[Mapping[str, Any]]) -> Answer:
        body = {"inputs": list(inputs)}
        return self.call(
            lambda sdk: sdk.crm.objects.batch_api.update(
                object_type, body, _preload_content=False, _request_timeout=self._timeout
            )
        )

    def batch_create(self, object_type: str, inputs: Sequence[Mapping[str, Any]]) -> Answer:
        body = {"inputs": list(inputs)}
        return self.call(
            lambda sdk: sdk.crm.objects.batch_api.create(
                object_type, body, _preload_content=False, _request_timeout=self._timeout
            )
        )

    def batch_upsert(self, object_type: str, inputs: Sequence[Mapping[str, Any]]) -> Answer:
        body = {"inputs": list(inputs)}
        return self.call(
            lambda sdk: sdk.crm.objects.batch_api.upsert(
                object_type, body, _preload_content=False, _request_timeout=self._timeout
            )
        )

    def batch_archive(self, object_type: str, ids: Sequence[str]) -> Answer:
        body = {"inputs": [{"id": i} for i in ids]}
        return self.call(
            lambda sdk: sdk.crm.objects.batch_api.archive(
                object_type, body, _preload_content=False, _request_timeout=self._timeout
            )
        )

    def associate_default(self, from_type: str, to_type: str, pairs: Sequence[tuple[str, str]]) -> Answer:
        body = {"inputs": [{"from": {"id": a}, "to": {"id": b}} for a, b in pairs]}
        return self.call(
            lambda sdk: sdk.crm.associations.v4.batch_api.create_default(
                from_type, to_type, body, _preload_content=False, _request_timeout=self._timeout
            )
        )

    def read_associations(self, from_type: str, to_type: str, ids: Sequence[str]) -> Answer:
        body = {"inputs": [{"id": i} for i in ids]}
        return self.call(
            lambda sdk: sdk.crm.associations.v4.batch_api.get_page(
                from_type, to_type, body, _preload_content=False, _request_timeout=self._timeout
            )
        )

    def owners_page(self, *, after: str | None, archived: bool) -> Answer:
        kwargs: dict[str, Any] = {
            "limit": 500,
            "archived": archived,
            "_preload_content": False,
            "_request_timeout": self._timeout,
        }
        if after:
            kwargs["after"] = after
        return self.call(lambda sdk: sdk.crm.owners.owners_api.get_page(**kwargs))

    def get_property(self, object_type: str, name: str) -> Answer | None:
        """The property's definition, or None when the portal does not have it."""
        try:
            return self.call(
                lambda sdk: sdk.crm.properties.core_api.get_by_name(
                    object_type, name, _preload_content=False, _request_timeout=self._timeout
                )
            )
        except HubSpotAPIError as exc:
            if exc.status == 404:
                return None
            raise

    def list_properties(self, object_type: str) -> Answer:
        """Every property of an object type, as the API user sees them (`results`)."""
        return self.call(
            lambda sdk: sdk.crm.properties.core_api.get_all(
                object_type, _preload_content=False, _request_timeout=self._timeout
            )
        )

    def create_property(self, object_type: str, spec: Mapping[str, Any]) -> Answer:
        return self.call(
            lambda sdk: sdk.crm.properties.core_api.create(
                object_type, dict(spec), _preload_content=False, _request_timeout=self._timeout
            )
        )
