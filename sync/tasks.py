"""Celery tasks: each takes ids, calls one `sync.pipeline` function, and is safe to run twice.

A whole run is a chain `pull -> plan -> push -> finish` holding the org's
lock token, so pulls and pushes run on the `sync` queue and planning on the
`planner` queue, scaling apart. A stage that finds the org busy retries later.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from celery import chain

from sync import pipeline, webhook_actions
from sync.celery_app import app, queue_names
from sync.locks import OrgBusy
from sync.outages import ServiceUnreachable, report_outage
from sync.pipeline import NotConfigured

MAX_BUSY_RETRIES = 20
T = TypeVar("T")


def _retry_when_busy(task: Any, exc: OrgBusy) -> Any:
    """Try again later when another run holds the org. Transient CRM errors are retried inside the
    connectors and record-level rejections live in the outbox, so this is the only retry here.

    The countdown stays under the broker's visibility timeout: a message held longer than that
    would be delivered again while it waits.
    """
    visibility = pipeline.default_context().settings.celery_visibility_timeout
    countdown = min(5 * 2**task.request.retries, 600, max(1, visibility // 2))
    return task.retry(exc=exc, countdown=countdown, max_retries=MAX_BUSY_RETRIES)


def retried_while_busy(task_body: Callable[..., T]) -> Callable[..., T]:
    """Turn `OrgBusy` from a bound task's body into a later retry of that task, and a service that
    cannot be reached into one logged line (`ServiceUnreachable` is in every task's `throws`, so the
    worker logs it without a traceback; the traceback is at debug level)."""

    @functools.wraps(task_body)
    def body(self: Any, *args: Any, **kwargs: Any) -> T:
        try:
            return task_body(self, *args, **kwargs)
        except OrgBusy as exc:
            raise _retry_when_busy(self, exc) from exc
        except Exception as exc:
            line = report_outage(exc, context=self.name)
            if line is None:
                raise
            raise ServiceUnreachable(line) from None

    return body


@app.task(name="tsync.run", bind=True, throws=(ServiceUnreachable,))
@retried_while_busy
def run_org(self: Any, org_id: str, trigger: str = "manual", full: bool = False) -> dict[str, Any]:
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


@app.task(name="tsync.pull", bind=True, throws=(ServiceUnreachable,))
@retried_while_busy
def pull_org(
    self: Any,
    org_id: str,
    trigger: str = "manual",
    full: bool = False,
    streams: list[str] | None = None,
    lock_token: str | None = None,
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"streams": tuple(streams)} if streams else {}
    summary = pipeline.pull(org_id, full=full, trigger=trigger, lock_token=lock_token, **kwargs)
    return {"run_id": summary.run_id, **summary.counts}


@app.task(name="tsync.plan", bind=True, throws=(ServiceUnreachable,))
@retried_while_busy
def plan_org(
    self: Any, org_id: str, trigger: str = "manual", lock_token: str | None = None
) -> dict[str, Any]:
    summary = pipeline.plan(org_id, trigger=trigger, lock_token=lock_token)
    return {"run_id": summary.run_id, "plan_run_id": summary.plan_run_id}


@app.task(name="tsync.push", bind=True, throws=(ServiceUnreachable,))
@retried_while_busy
def push_org(
    self: Any, org_id: str, trigger: str = "manual", lock_token: str | None = None
) -> dict[str, Any]:
    summary = pipeline.push(org_id, trigger=trigger, lock_token=lock_token)
    return {"run_id": summary.run_id, "done": summary.report.done, "rejected": summary.report.rejected}


@app.task(name="tsync.finish")
def finish_run(org_id: str, token: str, run_id: int) -> None:
    pipeline.end_run(org_id, token, run_id)


@app.task(name="tsync.fail")
def fail_run(org_id: str, token: str, run_id: int) -> None:
    pipeline.end_run(org_id, token, run_id, error="a stage of the run failed: see the stage runs")


@app.task(name="tsync.webhook", bind=True, throws=(ServiceUnreachable,))
@retried_while_busy  # a run is under way: its pull may miss this change, so pull after it
def handle_webhook_event(self: Any, event_row_id: int) -> dict[str, Any]:
    """Act on one stored webhook event (re-pull what it touched, or run what ops asked for)."""
    try:
        return webhook_actions.handle(event_row_id)
    except NotConfigured as exc:
        return {"ignored": str(exc)}
