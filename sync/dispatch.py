"""Hand work to the queue: Celery when a broker is configured, a background thread when embedded.

Webhook routes must answer at once, so even in embedded mode the work runs
after the response, on one background thread (one at a time, like one worker).
"""

from __future__ import annotations

import logging
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from typing import Any

from sync.settings import get_settings

log = logging.getLogger("territory_sync.dispatch")


@lru_cache(maxsize=1)
def _local_worker() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="tsync-embedded-worker")


_pending: list[Future[Any]] = []


def submit(task_name: str, *, task_id: str | None = None, **kwargs: Any) -> str:
    """Queue a task by name (under `task_id` if given); returns its task id."""
    import sync.tasks  # noqa: F401  (registers the tasks on the app)
    from sync.celery_app import app

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


class PendingFlags:
    """ "A handler is already queued for this source": one task per burst of webhook deliveries.

    Raised (SET NX, with an expiry as a safety net) by the delivery that queues
    the handler; lowered by the handler *before* it reads the queued events, so
    a delivery arriving during the work queues the next handler. Redis when
    configured (shared by every web worker), else in-process.
    """

    def __init__(self, redis_url: str | None, prefix: str, ttl_seconds: int = 3600) -> None:
        import redis

        self._redis = redis.Redis.from_url(redis_url) if redis_url else None
        self._local: set[str] = set()
        self._mutex = threading.Lock()
        self.prefix = f"tsync:{prefix}webhook-pending:"
        self.ttl = ttl_seconds

    def raise_once(self, source: str) -> bool:
        """True if this call raised the flag (and so must queue the handler)."""
        if self._redis is not None:
            return bool(self._redis.set(self.prefix + source, "1", nx=True, ex=self.ttl))
        with self._mutex:
            if source in self._local:
                return False
            self._local.add(source)
            return True

    def lower(self, source: str) -> None:
        if self._redis is not None:
            self._redis.delete(self.prefix + source)
            return
        with self._mutex:
            self._local.discard(source)


@lru_cache(maxsize=4)
def flags_for(redis_url: str | None, prefix: str) -> PendingFlags:
    """One set of flags per Redis and queue prefix, shared by the web app and the handlers."""
    return PendingFlags(redis_url, prefix)


def pending_flags() -> PendingFlags:
    settings = get_settings()
    return flags_for(settings.redis_url, settings.celery_queue_prefix)
