"""Ops routes: the bearer-token resync trigger, health of the store and broker, Prometheus metrics."""

from __future__ import annotations

import hmac
import json
import uuid
from dataclasses import asdict
from typing import Annotated, Any, Literal

import redis
from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from kombu import Connection
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.routing import Route

from sync.web.deps import AppSettings, Body, Intake, MetricsRegistry, StoreEngine
from sync.webhook_inbox import Delivery

RESYNC_SCOPES = ("full", "accounts", "activities")

router = APIRouter(tags=["ops"])


@router.post("/resync", status_code=202)
async def resync(
    body: Body,
    settings: AppSettings,
    intake: Intake,
    authorization: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    token = settings.resync_token
    if token is None:
        raise intake.refuse("ops", "not_configured", 503, "RESYNC_TOKEN is not set")
    given = (authorization or "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
        raise intake.refuse("ops", "bad_token", 401, "bearer token does not match")
    try:
        org, scope = _resync_request(body)
    except ValueError as exc:
        raise intake.refuse("ops", "malformed", 400, f"malformed body: {exc}") from None
    event = (uuid.uuid4().hex, {"org": org, "scope": scope})
    # Each resync asks for its own work (an org, a scope): never folded into another.
    return asdict(await intake.deliver(Delivery("ops", org, [event], debounce=False)))


def _resync_request(body: bytes) -> tuple[str | None, Literal["full", "accounts", "activities"]]:
    """(org or None for every org, scope) from a resync body: `{"org": ..., "scope": ...}`, or empty."""
    request_body = json.loads(body) if body.strip() else {}
    if not isinstance(request_body, dict):
        raise ValueError("expected a JSON object")
    scope = request_body.get("scope", "full")
    if scope not in RESYNC_SCOPES:
        raise ValueError("scope must be full, accounts or activities")
    org = request_body.get("org")
    if org is not None and not isinstance(org, str):
        raise ValueError("org must be a string")
    return org, scope


@router.get("/health")
def health(settings: AppSettings, engine: StoreEngine) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # health reports, it does not crash
        checks["database"] = f"unreachable: {type(exc).__name__}"
    if settings.celery_broker_url:
        checks["broker"] = _broker_health(settings.celery_broker_url)
    else:
        checks["broker"] = "embedded (in-process)"
    ok = all(v == "ok" or v.startswith("embedded") for v in checks.values())
    return JSONResponse({"status": "ok" if ok else "degraded", **checks}, status_code=200 if ok else 503)


def _broker_health(url: str) -> str:
    try:
        if url.startswith(("redis://", "rediss://")):
            redis.Redis.from_url(url, socket_connect_timeout=2).ping()
            return "ok"
        with Connection(url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1)
        return "ok"
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"


metrics_router = APIRouter(tags=["ops"])  # behind the login, unless METRICS_PORT gives it a port


@metrics_router.get("/metrics")
def prometheus_metrics(registry: MetricsRegistry) -> PlainTextResponse:
    return metrics_response(registry)


def metrics_response(registry: CollectorRegistry) -> PlainTextResponse:
    return PlainTextResponse(generate_latest(registry).decode(), media_type=CONTENT_TYPE_LATEST)


def metrics_port_app(registry: CollectorRegistry) -> Starlette:
    """What METRICS_PORT serves: /metrics, without a login (keep the port off the internet)."""

    async def scrape(request: Request) -> PlainTextResponse:
        return metrics_response(registry)

    return Starlette(routes=[Route("/metrics", scrape, methods=["GET"])])
