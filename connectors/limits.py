"""How hard a connector may lean on a CRM: request budgets and retries of transient failures.

A `RequestBudget` is asked before every API call (`acquire()` blocks until the
call is allowed). `LocalBudget` shares one budget between the threads of a
process; `RedisBudget` keeps the bucket in Redis so every worker process that
talks to the same org draws from one budget, and adding workers never turns
into 429 storms.

Both are token buckets shaped so that **no window of `per_seconds` ever sees
more than `rate` calls**, which is how CRMs count (HubSpot: 100 per rolling
10 s): the bucket holds `burst` tokens (default a tenth of `rate`) and refills
at `(rate - burst) / per_seconds`, so a full burst plus a window of refill is
exactly `rate`. The sustained throughput is therefore `rate - burst` per
window, the price of never tripping the CRM's own limiter.

`transient_retry(classify)` is the tenacity policy both CRM clients wrap their
calls in: each client supplies `classify(exc) -> RetryDecision` (it alone knows
its SDK's exceptions); transient errors are retried with exponential backoff
and full jitter, honouring `Retry-After` when the CRM sends one; anything else
is re-raised at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, Protocol, TypeVar, runtime_checkable

import redis
from tenacity import (
    RetryCallState,
    retry,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


@runtime_checkable
class RequestBudget(Protocol):
    def acquire(self, cost: int = 1) -> None:
        """Block until `cost` calls may be made, then record them as made."""
        ...


@dataclass(frozen=True, slots=True)
class BucketShape:
    """Capacity and refill of a token bucket that never allows more than `rate` per window."""

    capacity: float
    refill_per_second: float

    @classmethod
    def for_limit(cls, rate: float, per_seconds: float, burst: float | None) -> BucketShape:
        if rate <= 0 or per_seconds <= 0:
            raise ValueError("rate and per_seconds must be positive")
        if burst is None:
            burst = max(1.0, rate / 10.0)
        if not 0 < burst < rate:
            # A burst as large as the rate would leave nothing to refill within the window.
            raise ValueError(f"burst must be in (0, rate); got burst={burst}, rate={rate}")
        return cls(capacity=burst, refill_per_second=(rate - burst) / per_seconds)

    def check_cost(self, cost: int) -> None:
        if cost < 1:
            raise ValueError("cost must be at least 1")
        if cost > self.capacity:
            raise ValueError(f"cost {cost} exceeds the bucket's burst of {self.capacity:g}")


class LocalBudget:
    """A token bucket shared by the threads of one process."""

    def __init__(self, rate: float, per_seconds: float, *, burst: float | None = None) -> None:
        self.rate = rate
        self.per_seconds = per_seconds
        self._shape = BucketShape.for_limit(rate, per_seconds, burst)
        self._tokens = self._shape.capacity
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self, cost: int = 1) -> None:
        self._shape.check_cost(cost)
        while True:
            with self._lock:
                now = time.monotonic()
                self._tokens = min(
                    self._shape.capacity,
                    self._tokens + (now - self._stamp) * self._shape.refill_per_second,
                )
                self._stamp = now
                if self._tokens >= cost:
                    self._tokens -= cost
                    return
                wait = (cost - self._tokens) / self._shape.refill_per_second
            time.sleep(wait)

    def __repr__(self) -> str:
        return f"LocalBudget(rate={self.rate:g}, per_seconds={self.per_seconds:g})"


# Take `cost` tokens if the bucket holds them, else say how many ms until it will.
# The clock is Redis's own TIME so workers on different hosts agree on it; the
# wait is returned as a string because Redis truncates Lua numbers to integers.
TAKE_TOKENS_LUA = """
local capacity = tonumber(ARGV[1])
local refill_per_ms = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local ttl_ms = tonumber(ARGV[4])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1])
local stamp = tonumber(state[2])
if tokens == nil or stamp == nil then
  tokens = capacity
  stamp = now
end
tokens = math.min(capacity, tokens + math.max(0, now - stamp) * refill_per_ms)
local wait_ms = 0
if tokens >= cost then
  tokens = tokens - cost
else
  wait_ms = (cost - tokens) / refill_per_ms
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
redis.call('PEXPIRE', KEYS[1], ttl_ms)
return tostring(wait_ms)
"""


REDIS_TIMEOUT_S = 2.0


class RedisBudget:
    """A token bucket in Redis, shared by every process that uses the same `key`.

    Use one key per CRM org (e.g. `tsync:budget:hubspot:<portal id>`). The
    bucket expires from Redis once it has been idle long enough to refill.

    While Redis cannot be reached, each process paces itself with a local
    bucket of the same shape (logged once), so a Redis restart slows a sync
    down to per-process budgets instead of failing it; the shared bucket is
    used again as soon as Redis answers.
    """

    def __init__(
        self,
        redis_url: str,
        key: str,
        rate: float,
        per_seconds: float,
        *,
        burst: float | None = None,
    ) -> None:
        self.key = key
        self.rate = rate
        self.per_seconds = per_seconds
        self._shape = BucketShape.for_limit(rate, per_seconds, burst)
        self._redis = redis.Redis.from_url(
            redis_url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
        )
        self._take = self._redis.register_script(TAKE_TOKENS_LUA)
        full_refill_s = self._shape.capacity / self._shape.refill_per_second
        self._ttl_ms = int(max(full_refill_s, per_seconds) * 1000) + 1000
        self._fallback = LocalBudget(rate, per_seconds, burst=self._shape.capacity)
        self._degraded = False

    @property
    def degraded(self) -> bool:
        """True while Redis is unreachable and this process paces itself alone."""
        return self._degraded

    def acquire(self, cost: int = 1) -> None:
        self._shape.check_cost(cost)
        refill_per_ms = self._shape.refill_per_second / 1000.0
        while True:
            try:
                answer = self._take(
                    keys=[self.key],
                    args=[self._shape.capacity, repr(refill_per_ms), cost, self._ttl_ms],
                )
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                if not self._degraded:
                    log.warning(
                        "request budget %s: Redis unreachable (%s); pacing this process alone",
                        self.key,
                        type(exc).__name__,
                    )
                    self._degraded = True
                self._fallback.acquire(cost)
                return
            if self._degraded:
                log.info("request budget %s: Redis is back; sharing the budget again", self.key)
                self._degraded = False
            wait_ms = float(answer)
            if wait_ms <= 0:
                return
            time.sleep(wait_ms / 1000.0)

    def close(self) -> None:
        self._redis.close()

    def __repr__(self) -> str:
        # The URL may carry a Redis password: keep it out of reprs and logs.
        return f"RedisBudget(key={self.key!r}, rate={self.rate:g}, per_seconds={self.per_seconds:g})"


# --------------------------------------------------------------------------- retries


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """What a CRM client says about a failed call: try again (after how long), or give up."""

    transient: bool
    retry_after: float | None = None


def transient_retry(
    classify: Callable[[BaseException], RetryDecision],
    *,
    attempts: int = 8,
    max_wait: float = 60.0,
    initial_wait: float = 0.25,
    on_retry: Callable[[], None] | None = None,
) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """A decorator that retries transient failures as `classify` judges them.

    Waits grow exponentially from `initial_wait` with full jitter, capped at
    `max_wait`; a `Retry-After` the CRM sent is honoured instead (capped too).
    After `attempts` tries, or at the first non-transient error, the original
    exception is raised (never a tenacity wrapper). `on_retry` is told of each
    retry, so run history can show how rough the CRM was.
    """
    backoff = wait_random_exponential(multiplier=initial_wait, max=max_wait)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if exc is not None:
            hint = classify(exc).retry_after
            if hint is not None:
                return min(max(hint, 0.0), max_wait)
        return float(backoff(state))

    def log_retry(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        sleep = state.next_action.sleep if state.next_action else 0.0
        # Only the exception type: SDK messages can echo request bodies or headers.
        log.info(
            "transient %s on attempt %d; retrying in %.2fs",
            type(exc).__name__,
            state.attempt_number,
            sleep,
        )
        if on_retry is not None:
            on_retry()

    def is_transient(exc: BaseException) -> bool:
        return classify(exc).transient

    return retry(
        retry=retry_if_exception(is_transient),
        wait=wait,
        stop=stop_after_attempt(attempts),
        before_sleep=log_retry,
        reraise=True,
    )
