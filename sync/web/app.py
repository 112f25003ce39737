"""The web app factory: shared state on app.state, routers by job, who may reach which.

Public: the CRM webhooks (signed), /health, the sign-in form; /resync takes its
bearer token. Everything else needs a signed-in user (`current_user`, included
with each router), and /metrics too unless METRICS_PORT gives it a port of its own.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote

import kombu.exceptions
import redis.exceptions
import sqlalchemy.exc
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.middleware.trustedhost import TrustedHostMiddleware

from sync.dispatch import submit
from sync.outages import report_outage
from sync.settings import Settings, get_settings
from sync.store import engine_for
from sync.web.auth import Authenticator, SignInRequired, current_user
from sync.web.intake import WebhookIntake
from sync.web.metrics import web_registry
from sync.web.ops import metrics_port_app, metrics_router
from sync.web.ops import router as ops_router
from sync.web.pages import PAGE_CSS_HASH
from sync.web.parked import router as parked_router
from sync.web.plans import router as plans_router
from sync.web.proposals import router as proposals_router
from sync.web.security import MetricsPort, SecurityHeaders, strict_csp
from sync.web.signin import router as signin_router
from sync.web.transitions import router as transitions_router
from sync.web.webhooks import HUBSPOT_PATH, hubspot_webhook
from sync.web.webhooks import router as webhooks_router
from sync.webhook_flags import flags_for
from sync.webhook_inbox import Enqueue, WebhookInbox


def queue_webhook_handler(event_row_id: int, task_id: str) -> object:
    """Queue the `tsync.webhook` task for a stored event (the inbox's default enqueue)."""
    return submit("tsync.webhook", task_id=task_id, event_row_id=event_row_id)


def create_app(settings: Settings | None = None, *, enqueue: Enqueue | None = None) -> FastAPI:
    """The app of `tsync web` (uvicorn's factory)."""
    settings = settings or get_settings()
    engine = engine_for(settings.database_url)
    flags = flags_for(settings.redis_url, settings.celery_queue_prefix)
    inbox = WebhookInbox(engine, flags, enqueue or queue_webhook_handler)
    registry, metrics = web_registry(engine)
    # No interactive docs: they would list every route to a stranger.
    app = FastAPI(
        title="territory-sync",
        version="0.1.0",
        lifespan=_lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.registry = registry
    app.state.metrics = metrics
    app.state.inbox = inbox
    app.state.intake = WebhookIntake(inbox, metrics)
    app.state.auth = Authenticator.from_settings(settings)

    app.router.add_route(HUBSPOT_PATH, hubspot_webhook, methods=["POST"])  # the fast path, first
    app.include_router(webhooks_router)
    app.include_router(ops_router)
    app.include_router(signin_router)
    signed_in = [Depends(current_user)]
    for router in (plans_router, parked_router, proposals_router, transitions_router):
        app.include_router(router, dependencies=signed_in)
    if settings.metrics_port is None:
        app.include_router(metrics_router, dependencies=signed_in)
    app.add_exception_handler(SignInRequired, _sign_in_required)  # type: ignore[arg-type]
    for unreachable in OUTAGES:
        app.add_exception_handler(unreachable, _service_unreachable)

    app.add_middleware(SecurityHeaders, csp=strict_csp(style_hashes=(PAGE_CSS_HASH,)))
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.allowed_host_list)
    if settings.metrics_port is not None:
        app.add_middleware(MetricsPort, port=settings.metrics_port, metrics_app=metrics_port_app(registry))
    return app


async def _sign_in_required(request: Request, exc: SignInRequired) -> Response:
    """A browser asking for a page goes to the sign-in form; anything else gets 401."""
    wants_page = request.method in ("GET", "HEAD") and "text/html" in request.headers.get("accept", "")
    if exc.can_sign_in_here and wants_page:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(here, safe='')}", status_code=303)
    return JSONResponse({"detail": exc.detail}, status_code=401)


# Handled one by one (not as `Exception`, which Starlette would re-raise and log as a traceback).
OUTAGES: tuple[type[Exception], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    redis.exceptions.ConnectionError,
    kombu.exceptions.OperationalError,
)


async def _service_unreachable(request: Request, exc: Exception) -> Response:
    """503 with one line naming the service; logged as one line, the traceback at debug level."""
    line = report_outage(exc, context=f"{request.method} {request.url.path}") or "a service is unreachable"
    return JSONResponse({"detail": line}, status_code=503)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Startup: freeze the started heap out of the cyclic GC; shutdown: close the inbox.

    Every full collection would otherwise scan the ~150,000 objects of a started process
    (the task modules, planner and solvers included): 100–200 ms pauses under load, the
    endpoint's p99 in bench.webhooks. Frozen objects are never scanned again; what is
    created later is collected as usual.
    """
    gc.collect()
    gc.freeze()
    yield
    app.state.inbox.close()
