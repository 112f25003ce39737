"""One handler per burst of webhook deliveries: a "handler is queued" flag per source.

Shared by the web app (which raises a flag when it queues a handler) and the
handler task (which lowers it), so it sits apart from both and imports neither.
"""

from __future__ import annotations

import threading
from functools import lru_cache

import redis

from sync.settings import get_settings


class PendingFlags:
    """ "A handler is already queued for this source": one task per burst of webhook deliveries.

    Raised (SET NX, with an expiry as a safety net) by the delivery that queues
    the handler; lowered by the handler *before* it reads the queued events, so
    a delivery arriving during the work queues the next handler. Redis when
    configured (shared by every web worker), else in-process.
    """

    def __init__(self, redis_url: str | None, prefix: str, ttl_seconds: int = 3600) -> None:
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
