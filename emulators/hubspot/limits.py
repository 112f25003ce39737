"""HubSpot's rate limits: the burst budget's answers (through the shared faults) and search's own."""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque

from starlette.responses import JSONResponse, Response

from emulators.faults import BudgetState
from emulators.hubspot.responses import error_body

DAILY_LIMIT = 250_000
DEFAULT_BURST = 190
SEARCH_PER_SECOND = 5


class HubSpotFaultStyle:
    """How HubSpot words over-budget, server-error and expired-token answers."""

    def is_api_call(self, path: str) -> bool:
        return path.startswith("/crm/")

    def session_of(self, headers: dict[str, str]) -> str | None:
        auth = headers.get("authorization", "")
        return auth[7:] if auth.lower().startswith("bearer ") else None

    def usage_headers(self, state: BudgetState) -> dict[str, str]:
        limit = state.limit if state.limit is not None else DEFAULT_BURST
        return {
            "X-HubSpot-RateLimit-Max": str(limit),
            "X-HubSpot-RateLimit-Remaining": str(max(0, limit - state.used)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(state.window_seconds * 1000)),
            "X-HubSpot-RateLimit-Daily": str(DAILY_LIMIT),
            "X-HubSpot-RateLimit-Daily-Remaining": str(DAILY_LIMIT - state.used),
        }

    def over_budget(self, state: BudgetState) -> Response:
        body = {
            "status": "error",
            "message": "You have reached your ten_secondly_rolling limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": str(uuid.uuid4()),
            "policyName": "TEN_SECONDLY_ROLLING",
            "groupName": "api-calls-ten-secondly",
        }
        headers = self.usage_headers(state)
        headers["X-HubSpot-RateLimit-Remaining"] = "0"
        return JSONResponse(body, status_code=429, headers=headers)

    def server_error(self, status: int) -> Response:
        message = "internal error" if status == 500 else "Service Unavailable"
        return JSONResponse(error_body("INTERNAL_ERROR", message), status_code=status)

    def session_expired(self) -> Response:
        return JSONResponse(
            error_body(
                "EXPIRED_AUTHENTICATION",
                "The OAuth token used to make this call expired 1 second(s) ago.",
            ),
            status_code=401,
        )


class SearchRateLimiter:
    """HubSpot's separate limit on search calls: `per_second` per token, rolling."""

    def __init__(self, per_second: int | None) -> None:
        self.per_second = per_second
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, token: str) -> bool:
        if self.per_second is None:
            return True
        now = time.monotonic()
        with self._lock:
            calls = self._calls.setdefault(token, deque())
            while calls and now - calls[0] >= 1.0:
                calls.popleft()
            if len(calls) >= self.per_second:
                return False
            calls.append(now)
            return True


def search_rate_limited() -> JSONResponse:
    return JSONResponse(
        {
            "status": "error",
            "message": "You have reached your secondly limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": str(uuid.uuid4()),
            "policyName": "SECONDLY",
            "groupName": "search",
        },
        status_code=429,
    )
