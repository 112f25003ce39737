"""The web app: signed CRM webhooks, the ops resync trigger, health and metrics.

Every webhook route does the same four things and nothing more (STYLE.md
habit 9): verify the sender, store the raw event under its unique id (a
duplicate or replay is dropped there), enqueue its id, answer 202. The work
happens in a task. A route whose secret is not configured answers 503 and
accepts nothing. Storing and enqueueing go through the process's inbox
(`sync.webhook_inbox`): deliveries that arrive together share one transaction.
"""

from __future__ import annotations

import base64
import gc
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any
from xml.etree import ElementTree

from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import Engine, func, text
from sqlmodel import Session, select

from sync.settings import Settings, get_settings
from sync.store import SyncRun, engine_for
from sync.webhook_inbox import Delivery, Enqueue, Refused, WebhookInbox

HUBSPOT_MAX_AGE_MS = 5 * 60 * 1000
EVENT_ID_MAX_CHARS = 128  # WebhookEvent.event_id's column
OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"
SOAP_ACK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
    f'<notificationsResponse xmlns="{OUTBOUND_NS}"><Ack>true</Ack></notificationsResponse>'
    "</soapenv:Body></soapenv:Envelope>"
)


def _default_enqueue(event_row_id: int, task_id: str) -> object:
    from sync.dispatch import submit

    return submit("tsync.webhook", task_id=task_id, event_row_id=event_row_id)


class WebhookMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.accepted = Counter(
            "tsync_webhook_events_accepted",
            "Webhook events stored and enqueued",
            ["source"],
            registry=registry,
        )
        self.duplicates = Counter(
            "tsync_webhook_events_duplicate",
            "Webhook events dropped as duplicates",
            ["source"],
            registry=registry,
        )
        self.rejected = Counter(
            "tsync_webhook_requests_rejected",
            "Webhook requests refused",
            ["source", "reason"],
            registry=registry,
        )


class StoreCollector:
    """Run history and record counts, read from the store at scrape time (shared by all processes)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Any:
        runs = GaugeMetricFamily(
            "tsync_runs", "Runs in the history by kind and status", labels=["kind", "status"]
        )
        records = GaugeMetricFamily(
            "tsync_records", "Records moved by the recorded runs", labels=["org", "what"]
        )
        with Session(self.engine) as session:
            for kind, status, n in session.exec(
                select(SyncRun.kind, SyncRun.status, func.count()).group_by(SyncRun.kind, SyncRun.status)
            ).all():
                runs.add_metric([kind, status], n)
            totals: dict[tuple[str, str], float] = {}
            for org, counts in session.exec(
                select(SyncRun.org_id, SyncRun.counts).where(SyncRun.kind != "run")
            ):
                for what in ("accounts", "reps", "activities", "pushed", "rejected", "parked", "api_calls"):
                    if isinstance(counts.get(what), (int, float)):
                        totals[(org, what)] = totals.get((org, what), 0) + counts[what]
            for (org, what), value in sorted(totals.items()):
                records.add_metric([org, what], value)
        yield runs
        yield records


async def body_within_limit(request: Request) -> bytes:
    """The raw body, refused with 413 past WEBHOOK_MAX_BODY_BYTES (declared or actual)."""
    limit = request.app.state.settings.webhook_max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        request.app.state.metrics.rejected.labels(_source(request), "oversized").inc()
        raise HTTPException(413, f"body larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            request.app.state.metrics.rejected.labels(_source(request), "oversized").inc()
            raise HTTPException(413, f"body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _source(request: Request) -> str:
    path = request.url.path
    return path.rsplit("/", 1)[-1] if path.startswith("/webhooks/") else "ops"


Body = Annotated[bytes, Depends(body_within_limit)]


def create_app(settings: Settings | None = None, *, enqueue: Enqueue | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = engine_for(settings.database_url)
    enqueue = enqueue or _default_enqueue
    from sync.dispatch import flags_for

    inbox = WebhookInbox(engine, flags_for(settings.redis_url, settings.celery_queue_prefix), enqueue)
    registry = CollectorRegistry()
    metrics = WebhookMetrics(registry)
    registry.register(StoreCollector(engine))
    app = FastAPI(title="territory-sync", version="0.1.0", lifespan=_lifespan(enqueue))
    app.state.settings = settings
    app.state.engine = engine
    app.state.metrics = metrics
    app.state.inbox = inbox

    def refuse(source: str, reason: str, status: int, detail: str) -> HTTPException:
        metrics.rejected.labels(source, reason).inc()
        return HTTPException(status, detail)

    async def deliver(delivery: Delivery) -> dict[str, Any]:
        """Store and queue through the process's inbox (group commit); count what happened."""
        try:
            receipt = await inbox.deliver(delivery)
        except Refused as exc:
            raise refuse(delivery.source, exc.reason, 503, f"{exc.detail}; retry") from None
        metrics.accepted.labels(delivery.source).inc(receipt.accepted)
        metrics.duplicates.labels(delivery.source).inc(receipt.duplicates)
        return {
            "accepted": receipt.accepted,
            "duplicates": receipt.duplicates,
            "queued_handler": receipt.queued_handler,
        }

    async def hubspot_webhook(request: Request) -> JSONResponse:
        """The busiest route, mounted as a plain Starlette route (so not in the OpenAPI schema).

        FastAPI's request handling (parameter injection, exit stacks, response serialisation)
        cost about a fifth of the web process's CPU per delivery under bench.webhooks.
        """
        body = await body_within_limit(request)
        secret = settings.hubspot_client_secret
        if secret is None:
            raise refuse("hubspot", "not_configured", 503, "HUBSPOT_CLIENT_SECRET is not set")
        signature = request.headers.get("x-hubspot-signature-v3")
        timestamp = request.headers.get("x-hubspot-request-timestamp")
        if not signature or not timestamp or not timestamp.isdigit():
            raise refuse("hubspot", "unsigned", 401, "missing or malformed signature headers")
        if abs(_now_ms() - int(timestamp)) > HUBSPOT_MAX_AGE_MS:
            raise refuse("hubspot", "stale", 401, "request timestamp is more than 5 minutes old")
        expected = hubspot_v3_signature(
            secret.get_secret_value(), request.method, external_url(request), body, timestamp
        )
        if not hmac.compare_digest(expected, signature):
            raise refuse("hubspot", "bad_signature", 401, "signature does not match")
        try:
            payload = json.loads(body)
            if not isinstance(payload, list) or not all(
                isinstance(e, dict) and "eventId" in e for e in payload
            ):
                raise ValueError("expected a JSON array of events with eventId")
            if any(len(str(e["eventId"])) > EVENT_ID_MAX_CHARS for e in payload):
                # the store keys events by id: one it cannot hold would fail the sender's every retry
                raise ValueError(f"eventId longer than {EVENT_ID_MAX_CHARS} characters")
        except ValueError as exc:
            raise refuse("hubspot", "malformed", 400, f"malformed body: {exc}") from None
        answer = await deliver(Delivery("hubspot", "hubspot", [(str(e["eventId"]), e) for e in payload]))
        return JSONResponse(answer, status_code=202)

    app.router.add_route("/webhooks/hubspot", hubspot_webhook, methods=["POST"])

    @app.post("/webhooks/salesforce")
    async def salesforce_outbound_message(
        request: Request,
        body: Body,
        outbound_secret: Annotated[str | None, Header(alias="X-Outbound-Secret")] = None,
    ) -> Response:
        secret, org_id = settings.salesforce_outbound_secret, settings.salesforce_org_id
        if secret is None or not org_id:
            raise refuse(
                "salesforce", "not_configured", 503, "SALESFORCE_OUTBOUND_SECRET / SALESFORCE_ORG_ID not set"
            )
        # Outbound Messages cannot carry custom headers: the secret usually rides in the endpoint URL.
        given = outbound_secret or request.query_params.get("secret") or ""
        if not hmac.compare_digest(given.encode(), secret.get_secret_value().encode()):
            raise refuse("salesforce", "bad_secret", 401, "shared secret does not match")
        try:
            message = parse_outbound_message(body)
        except ValueError as exc:
            raise refuse("salesforce", "malformed", 400, f"malformed body: {exc}") from None
        # Salesforce org ids come as 15 or 18 characters; the first 15 identify the org.
        if message["organization_id"][:15] != org_id[:15]:
            raise refuse("salesforce", "wrong_org", 401, "message is from another organization")
        events = [
            (n["id"], {**n, "organization_id": message["organization_id"]}) for n in message["notifications"]
        ]
        await deliver(Delivery("salesforce", "salesforce", events))
        return Response(SOAP_ACK, media_type="text/xml")

    @app.post("/resync", status_code=202)
    async def resync(body: Body, authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
        token = settings.resync_token
        if token is None:
            raise refuse("ops", "not_configured", 503, "RESYNC_TOKEN is not set")
        given = (authorization or "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
            raise refuse("ops", "bad_token", 401, "bearer token does not match")
        try:
            request_body = json.loads(body) if body.strip() else {}
            if not isinstance(request_body, dict):
                raise ValueError("expected a JSON object")
            scope = request_body.get("scope", "full")
            if scope not in ("full", "accounts", "activities"):
                raise ValueError("scope must be full, accounts or activities")
            org = request_body.get("org")
            if org is not None and not isinstance(org, str):
                raise ValueError("org must be a string")
        except ValueError as exc:
            raise refuse("ops", "malformed", 400, f"malformed body: {exc}") from None
        event = (uuid.uuid4().hex, {"org": org, "scope": scope})
        # Each resync asks for its own work (an org, a scope): never folded into another.
        return await deliver(Delivery("ops", org, [event], debounce=False))

    @app.get("/health")
    def health() -> JSONResponse:
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

    @app.get("/plans/latest", response_class=HTMLResponse)
    def latest_plan(org: str | None = None, rep: str | None = None) -> HTMLResponse:
        return plan_html(None, org, rep)

    @app.get("/plans/{plan_run_id}", response_class=HTMLResponse)
    def one_plan(plan_run_id: int, rep: str | None = None) -> HTMLResponse:
        return plan_html(plan_run_id, None, rep)

    def plan_html(plan_run_id: int | None, org: str | None, rep: str | None) -> HTMLResponse:
        from sync.views import load_plan_view, plan_page

        try:
            view = load_plan_view(engine, plan_run_id=plan_run_id, org_id=org, route_rep=rep)
        except LookupError as exc:
            raise HTTPException(404, str(exc)) from None
        return HTMLResponse(plan_page(view, asset_prefix="/static/leaflet"))

    @app.get("/static/leaflet/{name}")
    def leaflet_asset(name: str) -> Response:
        from sync.views import leaflet_assets

        js, css = leaflet_assets()
        if name == "leaflet.js":
            return Response(js, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})
        if name == "leaflet.css":
            return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=86400"})
        raise HTTPException(404, "no such asset")

    @app.get("/metrics")
    def prometheus_metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(registry).decode(), media_type=CONTENT_TYPE_LATEST)

    return app


def _lifespan(enqueue: Enqueue) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Startup: load what the first delivery would load, then freeze the heap out of the cyclic GC.

    Without it the first enqueue imports the task modules (pipeline, planner, solvers) with the
    event loop blocked for about a second, and every full collection scans the ~150,000 objects
    of a started process: 100–200 ms pauses under load, the endpoint's p99 in bench.webhooks.
    Frozen objects are never scanned again; what is created later is collected as usual.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if enqueue is _default_enqueue:
            import sync.tasks  # noqa: F401  (registers the tasks the first delivery queues)
        gc.collect()
        gc.freeze()
        yield
        app.state.inbox.close()

    return lifespan


def _broker_health(url: str) -> str:
    try:
        if url.startswith(("redis://", "rediss://")):
            import redis

            redis.Redis.from_url(url, socket_connect_timeout=2).ping()
            return "ok"
        from kombu import Connection

        with Connection(url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1)
        return "ok"
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"


def _now_ms() -> int:
    return int(time.time() * 1000)


def external_url(request: Request) -> str:
    """The URL as the sender called it, rebuilt behind a proxy from X-Forwarded-Proto/Host."""
    url = request.url
    proto = request.headers.get("x-forwarded-proto")
    host = request.headers.get("x-forwarded-host")
    if proto:
        url = url.replace(scheme=proto.split(",")[0].strip())
    if host:
        url = url.replace(netloc=host.split(",")[0].strip())
    return str(url)


def hubspot_v3_signature(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """base64(HMAC-SHA256(secret, method + uri + body + timestamp)), as HubSpot signs v3 requests."""
    message = method.encode() + uri.encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def parse_outbound_message(body: bytes) -> dict[str, Any]:
    """Organization id and notifications (id, object type, record id) of an Outbound Message."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise ValueError(f"not XML ({exc})") from None
    notifications = root.find(f".//{{{OUTBOUND_NS}}}notifications")
    if notifications is None:
        raise ValueError("no <notifications> element")
    org = notifications.findtext(f"{{{OUTBOUND_NS}}}OrganizationId")
    if not org:
        raise ValueError("no OrganizationId")
    found = []
    for n in notifications.findall(f"{{{OUTBOUND_NS}}}Notification"):
        nid = n.findtext(f"{{{OUTBOUND_NS}}}Id")
        sobject = n.find(f"{{{OUTBOUND_NS}}}sObject")
        if not nid or sobject is None:
            raise ValueError("a Notification lacks its Id or sObject")
        record_id = next((c.text for c in sobject if c.tag.endswith("}Id")), None)
        xsi_type = sobject.get("{http://www.w3.org/2001/XMLSchema-instance}type", "")
        found.append({"id": nid, "object": xsi_type.split(":")[-1], "record_id": record_id})
    if not found:
        raise ValueError("no Notification elements")
    return {"organization_id": org, "notifications": found}
