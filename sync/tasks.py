"""Celery tasks: each takes ids, calls one `sync.pipeline` function, and is safe to run twice.

A whole run is a chain `pull -> plan -> push -> finish` holding the org's
lock token, so pulls and pushes run on the `sync` queue and planning on the
`planner` queue, scaling apart. A stage that finds the org busy retries later.
"""

from __future__ import annotations

from typing import Any

from celery import chain

from sync import pipeline
from sync.celery_app import app, queue_names
from sync.locks import OrgBusy
from sync.pipeline import NotConfigured

# OrgBusy is the only error worth retrying at this level: transient CRM errors are
# retried inside the connectors, and record-level rejections live in the outbox.
RETRY = {"autoretry_for": (OrgBusy,), "retry_backoff": 5, "retry_backoff_max": 600, "max_retries": 20}


@app.task(name="tsync.run")
def run_org(org_id: str, trigger: str = "manual", full: bool = False) -> dict[str, Any]:
    """Start a full run of one org as a chain of stage tasks."""
    token, run_id = pipeline.begin_run(org_id, trigger=trigger)
    sync_q, planner_q = queue_names(pipeline.default_context().settings)
    stages = chain(
        pull_org.si(org_id, trigger=trigger, full=full, lock_token=token).set(queue=sync_q),
        plan_org.si(org_id, trigger=trigger, lock_token=token).set(queue=planner_q),
        push_org.si(org_id, trigger=trigger, lock_token=token).set(queue=sync_q),
        finish_run.si(org_id, token, run_id).set(queue=sync_q),
    )
    stages.apply_async(link_error=fail_run.si(org_id, token, run_id).set(queue=sync_q))
    return {"org_id": org_id, "run_id": run_id}


@app.task(name="tsync.pull", **RETRY)
def pull_org(
    org_id: str,
    trigger: str = "manual",
    full: bool = False,
    streams: list[str] | None = None,
    lock_token: str | None = None,
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"streams": tuple(streams)} if streams else {}
    summary = pipeline.pull(org_id, full=full, trigger=trigger, lock_token=lock_token, **kwargs)
    return {"run_id": summary.run_id, **summary.counts}


@app.task(name="tsync.plan", **RETRY)
def plan_org(org_id: str, trigger: str = "manual", lock_token: str | None = None) -> dict[str, Any]:
    summary = pipeline.plan(org_id, trigger=trigger, lock_token=lock_token)
    return {"run_id": summary.run_id, "plan_run_id": summary.plan_run_id}


@app.task(name="tsync.push", **RETRY)
def push_org(org_id: str, trigger: str = "manual", lock_token: str | None = None) -> dict[str, Any]:
    summary = pipeline.push(org_id, trigger=trigger, lock_token=lock_token)
    return {"run_id": summary.run_id, "done": summary.report.done, "rejected": summary.report.rejected}


@app.task(name="tsync.finish")
def finish_run(org_id: str, token: str, run_id: int) -> None:
    pipeline.end_run(org_id, token, run_id)


@app.task(name="tsync.fail")
def fail_run(org_id: str, token: str, run_id: int) -> None:
    pipeline.end_run(org_id, token, run_id, error="a stage of the run failed: see the stage runs")


@app.task(name="tsync.webhook")
def handle_webhook_event(event_row_id: int) -> dict[str, Any]:
    """Act on one stored webhook event (re-pull what it touched, or run what ops asked for)."""
    from sync import webhook_actions

    try:
        return webhook_actions.handle(event_row_id)
    except NotConfigured as exc:
        return {"ignored": str(exc)}
