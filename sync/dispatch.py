"""Hand work to the queue: Celery when a broker is configured, a background thread when embedded.

Webhook routes must answer at once, so even in embedded mode the work runs
after the response, on one background thread (one at a time, like one worker).
"""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from typing import Any

import sync.tasks  # noqa: F401  (registers every task that `submit` may be given)
from sync.celery_app import app
from sync.settings import get_settings

log = logging.getLogger("territory_sync.dispatch")


@lru_cache(maxsize=1)
def _local_worker() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="tsync-embedded-worker")


_pending: list[Future[Any]] = []


def submit(task_name: str, *, task_id: str | None = None, **kwargs: Any) -> str:
    """Queue a task by name (under `task_id` if given); returns its task id."""
    task = app.tasks[task_name]
    if get_settings().embedded:
        task_id = task_id or uuid.uuid4().hex
        future = _local_worker().submit(task.apply, kwargs=kwargs, task_id=task_id)
        future.add_done_callback(_log_failure)
        _pending.append(future)
        return task_id
    return str(task.apply_async(kwargs=kwargs, task_id=task_id).id)


def wait_for_local_work(timeout: float | None = None) -> None:
    """Block until the embedded worker has finished what it was given (tests, shutdown)."""
    while _pending:
        _pending.pop(0).result(timeout=timeout)


def _log_failure(future: Future[Any]) -> None:
    exc = future.exception()
    if exc is not None:
        log.error("embedded task failed: %s: %s", type(exc).__name__, exc)
