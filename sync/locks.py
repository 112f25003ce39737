"""One pipeline per org at a time: a Redis lock with expiry, or an in-process lock when embedded.

The lock has an owner token so the stages of one run (pull, plan, push: maybe
different tasks on different workers) can extend and release it, and it
expires, so a worker killed mid-run never blocks the org for good.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

import redis
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

# A Redis restart (or failover) takes seconds: ride it out rather than fail a run that holds the lock.
_through_redis_restarts = retry(
    retry=retry_if_exception_type((redis.ConnectionError, redis.TimeoutError)),
    wait=wait_fixed(0.5),
    stop=stop_after_delay(60),
    reraise=True,
)


class OrgBusy(RuntimeError):
    """Another run of this org holds the lock: try again later."""


class LockLost(RuntimeError):
    """The run's lock expired or was taken over: this run must stop, not retry."""


class Heartbeat:
    """Extends a held lock every third of its lifetime while long work (a solver) runs.

    The thread dies with the process, so a killed worker still frees the org.
    """

    def __init__(self, lock: OrgLock, org_id: str, token: str, ttl_seconds: float) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat,
            args=(lock, org_id, token, max(0.5, ttl_seconds / 3)),
            daemon=True,
            name=f"tsync-lock-{org_id}",
        )

    def _beat(self, lock: OrgLock, org_id: str, token: str, every: float) -> None:
        while not self._stop.wait(every):
            try:
                if not lock.extend(org_id, token):
                    return  # lost: the stage notices at its next checkpoint
            except Exception:  # a Redis outage outlasting the retries: keep beating
                continue

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class OrgLock(Protocol):
    def acquire(self, org_id: str, token: str) -> bool: ...

    def extend(self, org_id: str, token: str) -> bool: ...

    def release(self, org_id: str, token: str) -> None: ...


_EXTEND = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class RedisOrgLock:
    def __init__(self, redis_url: str, ttl_seconds: float, *, prefix: str = "tsync:lock:org:") -> None:
        self.client = redis.Redis.from_url(redis_url)
        self.ttl_ms = int(ttl_seconds * 1000)
        self.prefix = prefix
        self._extend = self.client.register_script(_EXTEND)
        self._release = self.client.register_script(_RELEASE)

    @_through_redis_restarts
    def acquire(self, org_id: str, token: str) -> bool:
        key = self.prefix + org_id
        if self.client.set(key, token, nx=True, px=self.ttl_ms):
            return True
        return bool(self.client.get(key) == token.encode())  # re-entrant for the same run

    @_through_redis_restarts
    def extend(self, org_id: str, token: str) -> bool:
        return bool(self._extend(keys=[self.prefix + org_id], args=[token, self.ttl_ms]))

    @_through_redis_restarts
    def release(self, org_id: str, token: str) -> None:
        self._release(keys=[self.prefix + org_id], args=[token])

    def holder(self, org_id: str) -> str | None:
        value = self.client.get(self.prefix + org_id)
        return value.decode() if isinstance(value, bytes) else None


class LocalOrgLock:
    """The embedded mode's lock: one process, so a dict under a mutex is enough."""

    def __init__(self, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self._held: dict[str, tuple[str, float]] = {}
        self._mutex = threading.Lock()

    def acquire(self, org_id: str, token: str) -> bool:
        with self._mutex:
            held = self._held.get(org_id)
            if held and held[0] != token and held[1] > time.monotonic():
                return False
            self._held[org_id] = (token, time.monotonic() + self.ttl)
            return True

    def extend(self, org_id: str, token: str) -> bool:
        with self._mutex:
            held = self._held.get(org_id)
            if not held or held[0] != token:
                return False
            self._held[org_id] = (token, time.monotonic() + self.ttl)
            return True

    def release(self, org_id: str, token: str) -> None:
        with self._mutex:
            if self._held.get(org_id, ("",))[0] == token:
                del self._held[org_id]
