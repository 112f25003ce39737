"""Webhook intake shared by the routes: refuse with a counted reason, or deliver to the inbox."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException, Request

from sync.web.metrics import WebhookMetrics
from sync.webhook_inbox import Delivery, Receipt, Refused, WebhookInbox


@dataclass(frozen=True)
class WebhookIntake:
    inbox: WebhookInbox
    metrics: WebhookMetrics

    def refuse(self, source: str, reason: str, status: int, detail: str) -> HTTPException:
        """The error to raise, counted under its source and reason."""
        self.metrics.rejected.labels(source, reason).inc()
        return HTTPException(status, detail)

    async def deliver(self, delivery: Delivery) -> Receipt:
        """Store and queue through the process's inbox (group commit); count what happened."""
        try:
            receipt = await self.inbox.deliver(delivery)
        except Refused as exc:
            raise self.refuse(delivery.source, exc.reason, 503, f"{exc.detail}; retry") from None
        self.metrics.accepted.labels(delivery.source).inc(receipt.accepted)
        self.metrics.duplicates.labels(delivery.source).inc(receipt.duplicates)
        return receipt


def _source(request: Request) -> str:
    path = request.url.path
    return path.rsplit("/", 1)[-1] if path.startswith("/webhooks/") else "ops"


async def body_within_limit(request: Request) -> bytes:
    """The raw body, refused with 413 past WEBHOOK_MAX_BODY_BYTES (declared or actual)."""
    limit: int = request.app.state.settings.webhook_max_body_bytes
    intake: WebhookIntake = request.app.state.intake
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise intake.refuse(_source(request), "oversized", 413, f"body larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise intake.refuse(_source(request), "oversized", 413, f"body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
