"""What a stored webhook event makes the daemon do (called by the `tsync.webhook` task).

CRM events re-pull what changed (the incremental pull picks up the touched
records and their activities); an ops resync pulls one scope or runs the whole
pipeline. All queued events of the source are marked processed together, so a
burst of deliveries costs one pull, and handling an event twice does nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlmodel import col

from sync import pipeline
from sync.crm import configured_orgs
from sync.pipeline import Context, default_context
from sync.store import WebhookEvent, transaction


def handle(event_row_id: int, *, ctx: Context | None = None) -> dict[str, Any]:
    ctx = ctx or default_context()
    with transaction(ctx.engine) as session:
        event = session.get(WebhookEvent, event_row_id)
        if event is None or event.status != "queued":
            return {"skipped": event_row_id}
        source, org_id, payload, received = event.source, event.org_id, dict(event.payload), event.received_at
    done: dict[str, Any] = {"event": event_row_id, "source": source}
    if source in ("hubspot", "salesforce"):
        summary = pipeline.pull(source, ctx=ctx, streams=("accounts", "activities"), trigger="webhook")
        done["pull_run"] = summary.run_id
    else:
        orgs = [org_id] if org_id else [o.id for o in configured_orgs(ctx.settings)]
        scope = payload.get("scope", "full")
        for org in orgs:
            if scope == "full":
                done[org] = pipeline.run_all(org, ctx=ctx, full=True, trigger="resync").run_id
            else:
                done[org] = pipeline.pull(org, ctx=ctx, streams=(scope,), trigger="resync").run_id
    with transaction(ctx.engine) as session:
        session.execute(
            update(WebhookEvent)
            .where(
                col(WebhookEvent.source) == source,
                col(WebhookEvent.status) == "queued",
                col(WebhookEvent.received_at) <= received,
            )
            .values(status="processed")
        )
    return done
