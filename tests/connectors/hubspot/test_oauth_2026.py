"""Token renewal on HubSpot's OAuth 2026-03 endpoint, and v1 only as a fallback before its sunset."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime

import httpx
import pytest
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from connectors.base import CRMError, Page, Stream
from connectors.hubspot import HubSpotConnector, HubSpotOAuthRefresh
from connectors.hubspot.versions import v1_fallback_allowed
from emulators.faults import FaultConfig
from emulators.hubspot import create_hubspot_app
from emulators.seed import SeedOrg
from emulators.server import serve

CLIENT = ("client-1", "client-secret-value")
REFRESH = "refresh-token-value"
V1_TOKEN = "POST /oauth/v1/token"
TOKEN_2026 = "POST /oauth/2026-03/token"
BEFORE_SUNSET = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
SUNSET_DAY = datetime(2027, 2, 16, 9, 0, tzinfo=UTC)


class WithoutOAuth2026:
    """A portal (or proxy in front of it) that does not serve the 2026-03 OAuth endpoints yet."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/oauth/2026-03/"):
            body = {"status": "error", "message": "Not found", "category": "OBJECT_NOT_FOUND"}
            await JSONResponse(body, status_code=404)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def portal_app(seed_org: SeedOrg, *, today: date | None = None, refresh_token: str = REFRESH) -> ASGIApp:
    """A portal whose first token expires after a few calls, and which renews only our app's tokens."""
    return create_hubspot_app(
        seed_org,
        access_token="pat-expiring",
        faults=FaultConfig(session_expiry_after=2),
        search_per_second=None,
        today=today,
        oauth_client=CLIENT,
        refresh_token=refresh_token,
    )


def connector_for(url: str, *, clock: datetime = BEFORE_SUNSET, refresh: str = REFRESH) -> HubSpotConnector:
    return HubSpotConnector(
        "pat-expiring",
        base_url=url,
        oauth=HubSpotOAuthRefresh(CLIENT[0], CLIENT[1], refresh),
        search_per_second=None,
        retry_initial_wait=0.01,
        clock=lambda: clock,
    )


def drain(pages: Iterator[Page]) -> list:  # type: ignore[type-arg]
    return [r for page in pages for r in page.records]


def routes(url: str) -> Counter[str]:
    return Counter(httpx.get(f"{url}/__emulator/stats").json()["routes"])


def test_an_expired_token_is_renewed_on_the_2026_03_endpoint_even_where_v1_is_retired(
    seed_org: SeedOrg,
) -> None:
    with serve(portal_app(seed_org, today=date(2027, 3, 1))) as running:
        connector = connector_for(running.url, clock=datetime(2027, 3, 1, tzinfo=UTC))
        companies = drain(connector.pull(Stream.ACCOUNTS, None))
        calls = routes(running.url)
    assert len(companies) == len({c.crm_id for c in companies}) == 300
    assert calls[TOKEN_2026] >= 1 and calls[V1_TOKEN] == 0


def test_a_refused_refresh_token_stops_with_the_rfc_6749_error_and_never_tries_v1(
    seed_org: SeedOrg,
) -> None:
    with serve(portal_app(seed_org, refresh_token="the-only-valid-one")) as running:
        connector = connector_for(running.url)
        with pytest.raises(CRMError) as caught:
            drain(connector.pull(Stream.ACCOUNTS, None))
        calls = routes(running.url)
    assert "invalid_grant" in str(caught.value)
    assert REFRESH not in str(caught.value) and CLIENT[1] not in str(caught.value)
    assert calls[TOKEN_2026] == 1 and calls[V1_TOKEN] == 0


def test_before_the_sunset_a_portal_without_the_2026_03_endpoint_is_renewed_through_v1(
    seed_org: SeedOrg,
) -> None:
    with serve(WithoutOAuth2026(portal_app(seed_org))) as running:
        connector = connector_for(running.url, clock=BEFORE_SUNSET)
        companies = drain(connector.pull(Stream.ACCOUNTS, None))
        calls = routes(running.url)
    assert len({c.crm_id for c in companies}) == 300
    assert calls[V1_TOKEN] >= 1


def test_from_the_sunset_day_on_v1_is_never_tried(seed_org: SeedOrg) -> None:
    with serve(WithoutOAuth2026(portal_app(seed_org))) as running:
        connector = connector_for(running.url, clock=SUNSET_DAY)
        with pytest.raises(CRMError, match="retired on 2027-02-16"):
            drain(connector.pull(Stream.ACCOUNTS, None))
        calls = routes(running.url)
    assert calls[V1_TOKEN] == 0


def test_v1_may_be_used_strictly_before_2027_02_16() -> None:
    assert v1_fallback_allowed(date(2027, 2, 15))
    assert not v1_fallback_allowed(date(2027, 2, 16))
    assert not v1_fallback_allowed(date(2028, 1, 1))
