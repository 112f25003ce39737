"""What a stored webhook event makes the daemon do (called by the `tsync.webhook` task).

CRM events re-pull what changed (the incremental pull picks up the touched
records and their activities): one handler takes every queued event of its
source, so a burst of deliveries costs one pull; it lowers the source's
pending flag before reading them, so a delivery arriving meanwhile queues the
next handler. An ops resync pulls one scope or runs the whole pipeline, for
its own event only. Handling an event twice does nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlmodel import col, func, select

from sync import pipeline
from sync.crm import configured_orgs, org_of_kind
from sync.pipeline import Context, default_context
from sync.store import WebhookEvent, transaction
from sync.webhook_flags import pending_flags


def handle(event_row_id: int, *, ctx: Context | None = None) -> dict[str, Any]:
    ctx = ctx or default_context()
    with transaction(ctx.engine) as session:
        event = session.get(WebhookEvent, event_row_id)
        if event is None:
            return {"skipped": event_row_id}
        source, org_id, payload, status = event.source, event.org_id, dict(event.payload), event.status
    if source in ("hubspot", "salesforce"):
        return _repull(source, ctx)
    if status != "queued":
        return {"skipped": event_row_id}
    done: dict[str, Any] = {"event": event_row_id, "source": source}
    orgs = [org_id] if org_id else [o.id for o in configured_orgs(ctx.settings)]
    scope = payload.get("scope", "full")
    for org in orgs:
        if scope == "full":
            done[org] = pipeline.run_all(org, ctx=ctx, full=True, trigger="resync").run_id
        else:
            done[org] = pipeline.pull(org, ctx=ctx, streams=(scope,), trigger="resync").run_id
    _mark_processed(ctx, WebhookEvent.id == event_row_id)
    return done


def _repull(source: str, ctx: Context) -> dict[str, Any]:
    pending_flags().lower(source)  # from here on, a new delivery queues the next handler
    with transaction(ctx.engine) as session:
        last = session.exec(
            select(func.max(WebhookEvent.id)).where(
                WebhookEvent.source == source, WebhookEvent.status == "queued"
            )
        ).one()
    if last is None:
        return {"source": source, "skipped": "nothing queued"}
    org = org_of_kind(ctx.settings, source)  # a webhook names its CRM, not our id for the org
    if org is None:
        _mark_processed(ctx, (col(WebhookEvent.source) == source) & (col(WebhookEvent.id) <= last))
        return {"source": source, "skipped": f"no {source} org is configured"}
    summary = pipeline.pull(org.id, ctx=ctx, streams=("accounts", "activities"), trigger="webhook")
    _mark_processed(ctx, (col(WebhookEvent.source) == source) & (col(WebhookEvent.id) <= last))
    return {"source": source, "pull_run": summary.run_id, "up_to_event": last}


def _mark_processed(ctx: Context, which: Any) -> None:
    with transaction(ctx.engine) as session:
        session.execute(
            update(WebhookEvent).where(which, col(WebhookEvent.status) == "queued").values(status="processed")
        )
