"""Fault injection and call accounting shared by both CRM emulators.

Each emulator app is wrapped by `EmulatorMiddleware`, which for every API
call (anything outside `/__emulator/`):

1. counts it, total and per route template (`"GET /crm/v3/objects/companies"`);
2. adds the configured latency;
3. answers with the CRM's own "over budget" response once the request
   budget of the current window is spent (Salesforce 403
   `REQUEST_LIMIT_EXCEEDED`, HubSpot 429), a 500/503 for the configured share
   of calls, or the CRM's 401 once a session/token has been used more than
   `session_expiry_after` times;
4. otherwise lets the call through and adds the CRM's usage headers.

The CRM supplies how those answers look through a `CRMFaultStyle`. Which
record ids a write must reject (and with what message) is configured here
too; the CRM app asks `FaultInjector.rejection_for(record_id)` while it
processes a batch, so one record fails and the rest succeed.

Control routes, mounted by `mount_control_routes`, are never counted nor faulted:

- `GET  /__emulator/faults`  the current `FaultConfig` as JSON;
- `POST /__emulator/faults`  replace it (body: a `FaultConfig`, missing fields default);
- `GET  /__emulator/stats`   `{"total": n, "routes": {"GET /path-template": n}}`;
- `POST /__emulator/reset`   clear counters, sessions and faults.

Random decisions come from one `random.Random(config.seed)`, so the same
sequence of calls meets the same faults.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, Field
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTROL_PREFIX = "/__emulator"


class FaultConfig(BaseModel):
    """What an emulator does wrong on purpose. The defaults do nothing wrong."""

    request_budget: int | None = Field(
        None, ge=0, description="API calls allowed per window; None = unlimited"
    )
    budget_window_seconds: float = Field(
        10.0, gt=0, description="length of the budget window (Salesforce: a day, HubSpot: 10 s)"
    )
    error_share: float = Field(0.0, ge=0.0, le=1.0, description="share of calls answered 500/503")
    latency_ms: float = Field(0.0, ge=0.0, description="added to every API call")
    session_expiry_after: int | None = Field(
        None, ge=1, description="a session/token expires after this many calls (401)"
    )
    reject_ids: dict[str, str] = Field(
        default_factory=dict, description="record id -> validation message for writes"
    )
    seed: int = 0


@dataclass(frozen=True, slots=True)
class BudgetState:
    """Calls used in the current window, and the budget (None when unlimited)."""

    used: int
    limit: int | None
    window_seconds: float
    window_remaining_seconds: float
    calls_since_reset: int = 0  # every counted call, whatever the window


class CRMFaultStyle(Protocol):
    """How one CRM words the answers the middleware gives on its behalf."""

    def is_api_call(self, path: str) -> bool:
        """False for calls that neither spend the budget nor get faults (e.g. login)."""
        ...

    def session_of(self, headers: dict[str, str]) -> str | None:
        """The session/token a call uses (None: no session to expire)."""
        ...

    def over_budget(self, state: BudgetState) -> Response: ...

    def server_error(self, status: int) -> Response: ...

    def session_expired(self) -> Response: ...

    def usage_headers(self, state: BudgetState) -> dict[str, str]:
        """Headers added to every counted response (e.g. `Sforce-Limit-Info`)."""
        ...


class FaultInjector:
    """Counts calls and decides, deterministically per seed, which ones fail."""

    def __init__(self, config: FaultConfig | None = None, *, clock: Callable[[], float] = time.monotonic):
        self._lock = threading.Lock()
        self._clock = clock
        self._routes: Counter[str] = Counter()
        self._total = 0
        self._session_calls: Counter[str] = Counter()
        self._expired: set[str] = set()
        self.configure(config or FaultConfig())

    # --- configuration

    @property
    def config(self) -> FaultConfig:
        return self._config

    def configure(self, config: FaultConfig) -> None:
        """Replace the fault configuration; the budget window starts afresh."""
        with self._lock:
            self._config = config
            self._rng = random.Random(config.seed)
            self._window_start = self._clock()
            self._window_used = 0

    def reset(self) -> None:
        """Clear counters, sessions and faults."""
        with self._lock:
            self._routes.clear()
            self._total = 0
            self._session_calls.clear()
            self._expired.clear()
        self.configure(FaultConfig())

    # --- accounting

    def count(self, route: str) -> None:
        with self._lock:
            self._total += 1
            self._routes[route] += 1

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"total": self._total, "routes": dict(sorted(self._routes.items()))}

    def budget_state(self) -> BudgetState:
        with self._lock:
            self._roll_window()
            return self._state()

    def _roll_window(self) -> None:
        now = self._clock()
        window = self._config.budget_window_seconds
        if now - self._window_start >= window:
            # Align to whole windows so a quiet spell does not shift the boundary.
            self._window_start += window * ((now - self._window_start) // window)
            self._window_used = 0

    def _state(self) -> BudgetState:
        window = self._config.budget_window_seconds
        return BudgetState(
            used=self._window_used,
            limit=self._config.request_budget,
            window_seconds=window,
            window_remaining_seconds=max(0.0, self._window_start + window - self._clock()),
            calls_since_reset=self._total,
        )

    # --- decisions

    def decide(self, session: str | None) -> tuple[str | None, BudgetState]:
        """Spend one call of budget and say which fault, if any, answers it.

        Returns ("over_budget" | "server_error" | "session_expired" | None, state).
        """
        with self._lock:
            self._roll_window()
            cfg = self._config
            if cfg.request_budget is not None and self._window_used >= cfg.request_budget:
                return "over_budget", self._state()
            self._window_used += 1
            if session is not None and cfg.session_expiry_after is not None:
                if session in self._expired:
                    return "session_expired", self._state()
                self._session_calls[session] += 1
                if self._session_calls[session] > cfg.session_expiry_after:
                    self._expired.add(session)
                    return "session_expired", self._state()
            if cfg.error_share > 0 and self._rng.random() < cfg.error_share:
                return "server_error", self._state()
            return None, self._state()

    def server_error_status(self) -> int:
        with self._lock:
            return 503 if self._rng.random() < 0.5 else 500

    def rejection_for(self, record_id: str | None) -> str | None:
        """The validation message a write of this record must fail with, if configured."""
        if record_id is None:
            return None
        return self._config.reject_ids.get(record_id)


def route_template(app: ASGIApp, scope: Scope) -> str:
    """`"METHOD /path/{param}"` of the route that will serve this call (or its raw path)."""
    routes = getattr(getattr(app, "router", None), "routes", None) or getattr(app, "routes", [])
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return f"{scope['method']} {route.path}"
    return f"{scope['method']} {scope['path']}"


class EmulatorMiddleware:
    """ASGI middleware applying a `FaultInjector` in the words of a `CRMFaultStyle`."""

    def __init__(self, app: ASGIApp, *, injector: FaultInjector, style: CRMFaultStyle, root: FastAPI):
        self.app = app
        self.injector = injector
        self.style = style
        self.root = root

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        self.injector.count(route_template(self.root, scope))
        latency = self.injector.config.latency_ms
        if latency > 0:
            await asyncio.sleep(latency / 1000.0)
        if not self.style.is_api_call(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        fault, state = self.injector.decide(self.style.session_of(headers))
        if fault is not None:
            if fault == "over_budget":
                response = self.style.over_budget(state)
            elif fault == "session_expired":
                response = self.style.session_expired()
            else:
                response = self.style.server_error(self.injector.server_error_status())
            await response(scope, receive, send)
            return
        extra = [
            (k.lower().encode("latin-1"), v.encode("latin-1"))
            for k, v in self.style.usage_headers(state).items()
        ]

        async def send_with_usage(message: Message) -> None:
            if message["type"] == "http.response.start" and extra:
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_usage)


def mount_routers(app: FastAPI, *routers: APIRouter) -> None:
    """Add each router's routes to the app as plain routes, in order.

    Not `include_router`: FastAPI keeps an included router as one opaque
    route, and `route_template` needs each route's own path template to name
    a call. Routes built by an `APIRouter` already carry its prefix and
    dependencies.
    """
    for router in routers:
        app.router.routes.extend(router.routes)


def install_faults(app: FastAPI, style: CRMFaultStyle, config: FaultConfig | None = None) -> FaultInjector:
    """Wrap `app` with the fault middleware and mount the control routes; returns the injector.

    The injector is also reachable as `app.state.faults`.
    """
    injector = FaultInjector(config)
    app.state.faults = injector
    app.add_middleware(EmulatorMiddleware, injector=injector, style=style, root=app)
    mount_control_routes(app, injector)
    return injector


def mount_control_routes(app: FastAPI, injector: FaultInjector) -> None:
    router = APIRouter(prefix=CONTROL_PREFIX, tags=["emulator"])

    @router.get("/faults")
    async def get_faults() -> FaultConfig:
        return injector.config

    @router.post("/faults")
    async def set_faults(config: FaultConfig) -> FaultConfig:
        injector.configure(config)
        return injector.config

    @router.get("/stats")
    async def get_stats() -> dict[str, Any]:
        return injector.stats()

    @router.post("/reset")
    async def reset() -> dict[str, Any]:
        injector.reset()
        return injector.stats()

    app.include_router(router)
