"""How Salesforce words the answers the shared fault middleware gives on its behalf."""

from __future__ import annotations

import secrets

from starlette.responses import Response

from emulators.faults import BudgetState
from emulators.salesforce.responses import error_list

DEFAULT_DAILY_LIMIT = 100_000


class SalesforceFaultStyle:
    """Budget, server and session faults as Salesforce words them."""

    def __init__(self, default_limit: int = DEFAULT_DAILY_LIMIT):
        self.default_limit = default_limit

    def is_api_call(self, path: str) -> bool:
        return path.startswith("/services/data")

    def session_of(self, headers: dict[str, str]) -> str | None:
        auth = headers.get("authorization", "")
        return auth[7:].strip() if auth.lower().startswith("bearer ") else None

    def over_budget(self, state: BudgetState) -> Response:
        # A day-long window is the org's daily allowance; a short one stands for the
        # concurrent-request limit, Salesforce's nearest thing to a 429 (same code).
        if state.window_seconds >= 86_400:
            return error_list(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        return error_list(403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.")

    def server_error(self, status: int) -> Response:
        if status == 503:
            return error_list(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable, try again later.")
        return error_list(
            status,
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact support: "
            f"{secrets.randbelow(10**9)}-{secrets.randbelow(10**5)} (-{secrets.randbelow(10**9)})",
        )

    def session_expired(self) -> Response:
        return error_list(401, "INVALID_SESSION_ID", "Session expired or invalid")

    def daily_usage(self, state: BudgetState) -> tuple[int, int]:
        """(used, max) of the org's daily allowance: the budget when it is a daily one."""
        if state.limit is not None and state.window_seconds >= 86_400:
            return state.used, state.limit
        return state.calls_since_reset, self.default_limit

    def usage_headers(self, state: BudgetState) -> dict[str, str]:
        used, limit = self.daily_usage(state)
        return {"Sforce-Limit-Info": f"api-usage={used}/{limit}"}
