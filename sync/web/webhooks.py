"""The CRM webhook routes: HubSpot v3-signed deliveries and Salesforce Outbound Messages.

Every webhook route does the same four things and nothing more (STYLE.md
habit 9): verify the sender, store the raw event under its unique id (a
duplicate or replay is dropped there), enqueue its id, answer 202. The work
happens in a task. A route whose secret is not configured answers 503 and
accepts nothing. Storing and enqueueing go through the process's inbox
(`sync.webhook_inbox`): deliveries that arrive together share one transaction.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import asdict, dataclass
from typing import Annotated, Any
from xml.etree import ElementTree

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse

from connectors.base import CRMKind
from sync.crm import org_of_kind
from sync.settings import Settings
from sync.web.deps import AppSettings, Body, Intake
from sync.web.intake import WebhookIntake, body_within_limit
from sync.webhook_inbox import Delivery

HUBSPOT_MAX_AGE_MS = 5 * 60 * 1000
EVENT_ID_MAX_CHARS = 128  # WebhookEvent.event_id's column
OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"
SOAP_ACK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
    f'<notificationsResponse xmlns="{OUTBOUND_NS}"><Ack>true</Ack></notificationsResponse>'
    "</soapenv:Body></soapenv:Envelope>"
)

router = APIRouter(tags=["webhooks"])


HUBSPOT_PATH = "/webhooks/hubspot"


async def hubspot_webhook(request: Request) -> JSONResponse:
    """The busiest route: a plain Starlette route that `create_app` mounts on the app itself.

    FastAPI's request handling (parameter injection, exit stacks, response serialisation)
    cost about a fifth of the web process's CPU per delivery under bench.webhooks, and
    routing through an included router a fifth of what is left (docs/web.md).
    """
    settings: Settings = request.app.state.settings
    intake: WebhookIntake = request.app.state.intake
    body = await body_within_limit(request)
    secret = settings.hubspot_client_secret
    if secret is None:
        raise intake.refuse("hubspot", "not_configured", 503, "HUBSPOT_CLIENT_SECRET is not set")
    signature = request.headers.get("x-hubspot-signature-v3")
    timestamp = request.headers.get("x-hubspot-request-timestamp")
    if not signature or not timestamp or not timestamp.isdigit():
        raise intake.refuse("hubspot", "unsigned", 401, "missing or malformed signature headers")
    if abs(_now_ms() - int(timestamp)) > HUBSPOT_MAX_AGE_MS:
        raise intake.refuse("hubspot", "stale", 401, "request timestamp is more than 5 minutes old")
    expected = hubspot_v3_signature(
        secret.get_secret_value(), request.method, external_url(request), body, timestamp
    )
    if not hmac.compare_digest(expected, signature):
        raise intake.refuse("hubspot", "bad_signature", 401, "signature does not match")
    try:
        events = hubspot_events(body)
    except ValueError as exc:
        raise intake.refuse("hubspot", "malformed", 400, f"malformed body: {exc}") from None
    receipt = await intake.deliver(Delivery("hubspot", _org_id(settings, CRMKind.HUBSPOT), events))
    return JSONResponse(asdict(receipt), status_code=202)


@router.post("/webhooks/salesforce")
async def salesforce_outbound_message(
    request: Request,
    body: Body,
    settings: AppSettings,
    intake: Intake,
    outbound_secret: Annotated[str | None, Header(alias="X-Outbound-Secret")] = None,
) -> Response:
    secret, org_id = settings.salesforce_outbound_secret, settings.salesforce_org_id
    if secret is None or not org_id:
        raise intake.refuse(
            "salesforce", "not_configured", 503, "SALESFORCE_OUTBOUND_SECRET / SALESFORCE_ORG_ID not set"
        )
    # Outbound Messages cannot carry custom headers: the secret usually rides in the endpoint URL.
    given = outbound_secret or request.query_params.get("secret") or ""
    if not hmac.compare_digest(given.encode(), secret.get_secret_value().encode()):
        raise intake.refuse("salesforce", "bad_secret", 401, "shared secret does not match")
    try:
        message = parse_outbound_message(body)
    except ValueError as exc:
        raise intake.refuse("salesforce", "malformed", 400, f"malformed body: {exc}") from None
    # Salesforce org ids come as 15 or 18 characters; the first 15 identify the org.
    if message.organization_id[:15] != org_id[:15]:
        raise intake.refuse("salesforce", "wrong_org", 401, "message is from another organization")
    events = [(n.id, n.event(message.organization_id)) for n in message.notifications]
    await intake.deliver(Delivery("salesforce", _org_id(settings, CRMKind.SALESFORCE), events))
    return Response(SOAP_ACK, media_type="text/xml")


def _org_id(settings: Settings, kind: CRMKind) -> str | None:
    """Our id of the org a CRM's webhook is about (ops choose org keys; a webhook names only its CRM)."""
    org = org_of_kind(settings, kind)
    return org.id if org is not None else None


def hubspot_events(body: bytes) -> list[tuple[str, dict[str, Any]]]:
    """(event id, event) of a HubSpot delivery: a JSON array of events, each with a storable eventId."""
    payload = json.loads(body)
    if not isinstance(payload, list) or not all(isinstance(e, dict) and "eventId" in e for e in payload):
        raise ValueError("expected a JSON array of events with eventId")
    if any(len(str(e["eventId"])) > EVENT_ID_MAX_CHARS for e in payload):
        # the store keys events by id: one it cannot hold would fail the sender's every retry
        raise ValueError(f"eventId longer than {EVENT_ID_MAX_CHARS} characters")
    return [(str(e["eventId"]), e) for e in payload]


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


@dataclass(frozen=True)
class OutboundNotification:
    id: str
    object: str  # the sObject type, e.g. Account
    record_id: str | None

    def event(self, organization_id: str) -> dict[str, Any]:
        """The stored webhook event of this notification."""
        return {"id": self.id, "object": self.object, "record_id": self.record_id,
                "organization_id": organization_id}


@dataclass(frozen=True)
class OutboundMessage:
    organization_id: str
    notifications: list[OutboundNotification]


def parse_outbound_message(body: bytes) -> OutboundMessage:
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
    found: list[OutboundNotification] = []
    for n in notifications.findall(f"{{{OUTBOUND_NS}}}Notification"):
        nid = n.findtext(f"{{{OUTBOUND_NS}}}Id")
        sobject = n.find(f"{{{OUTBOUND_NS}}}sObject")
        if not nid or sobject is None:
            raise ValueError("a Notification lacks its Id or sObject")
        record_id = next((c.text for c in sobject if c.tag.endswith("}Id")), None)
        xsi_type = sobject.get("{http://www.w3.org/2001/XMLSchema-instance}type", "")
        found.append(OutboundNotification(nid, xsi_type.split(":")[-1], record_id))
    if not found:
        raise ValueError("no Notification elements")
    return OutboundMessage(org, found)
