"""Request budgets keep every window within the CRM limit; only transient errors are retried."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from connectors.limits import LocalBudget, RedisBudget, RetryDecision, transient_retry

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
REPO = Path(__file__).resolve().parents[2]


def most_calls_in_any_window(stamps: list[float], window: float) -> int:
    """The largest number of calls that fall inside one half-open window of `window` seconds."""
    stamps = sorted(stamps)
    best = 0
    start = 0
    for end, t in enumerate(stamps):
        while t - stamps[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


@pytest.fixture
def budget_key() -> Iterator[str]:
    key = f"tsync:test:budget:{uuid.uuid4().hex}"
    yield key
    client = redis.Redis.from_url(REDIS_URL)
    client.delete(key)
    client.close()


def test_local_budget_never_exceeds_its_rate_across_threads() -> None:
    budget = LocalBudget(rate=20, per_seconds=0.5)
    stamps: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            budget.acquire()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(stamps) == 40
    assert most_calls_in_any_window(stamps, 0.5) <= 20


def test_local_budget_refuses_a_cost_larger_than_its_burst() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        LocalBudget(rate=10, per_seconds=1).acquire(cost=5)


WORKER = """
import json, sys, time
from connectors.limits import RedisBudget
url, key, calls = sys.argv[1], sys.argv[2], int(sys.argv[3])
budget = RedisBudget(url, key, rate=20, per_seconds=1.0)
stamps = []
for _ in range(calls):
    budget.acquire()
    stamps.append(time.time())
print(json.dumps(stamps))
"""


@pytest.mark.redis
def test_two_worker_processes_sharing_a_redis_budget_stay_within_it(budget_key: str) -> None:
    started = time.monotonic()
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, REDIS_URL, budget_key, "25"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [w.communicate(timeout=60)[0] for w in workers]
    elapsed = time.monotonic() - started
    assert all(w.returncode == 0 for w in workers)
    per_worker = [json.loads(out) for out in outputs]
    stamps = [t for worker in per_worker for t in worker]

    assert len(stamps) == 50
    assert all(len(worker) == 25 for worker in per_worker)
    # Never more than the org's 20 calls in any second, whichever process made them...
    assert most_calls_in_any_window(stamps, 1.0) <= 20
    # ...and the budget is shared, not starved: 50 calls at ≈18/s after a burst of 2.
    assert elapsed < 6.0


@pytest.mark.redis
def test_redis_budget_grants_a_burst_at_once_then_paces(budget_key: str) -> None:
    budget = RedisBudget(REDIS_URL, budget_key, rate=100, per_seconds=10.0)
    started = time.monotonic()
    for _ in range(10):  # the burst: a tenth of the rate
        budget.acquire()
    burst_done = time.monotonic() - started
    budget.acquire()
    paced = time.monotonic() - started - burst_done
    budget.close()

    assert burst_done < 0.5
    assert 0.05 < paced < 0.5  # the refill is 9 tokens/s, so the next call waits ≈0.11 s


def test_a_redis_budget_keeps_pacing_when_redis_is_unreachable() -> None:
    # Nothing listens on port 1: the budget falls back to pacing this process alone.
    budget = RedisBudget("redis://127.0.0.1:1/0", "k", rate=20, per_seconds=1.0)
    stamps = []
    for _ in range(12):
        budget.acquire()
        stamps.append(time.monotonic())
    assert budget.degraded
    assert most_calls_in_any_window(stamps, 1.0) <= 20
    assert stamps[-1] - stamps[0] > 0.4  # 2 at once, then 18 a second


def test_redis_budget_repr_hides_the_redis_password() -> None:
    budget = RedisBudget("redis://user:s3cret@127.0.0.1:6379/15", "k", rate=10, per_seconds=1)
    assert "s3cret" not in repr(budget)


class Flaky(Exception):
    def __init__(self, retry_after: float | None = None) -> None:
        super().__init__("flaky")
        self.retry_after = retry_after


class Refused(Exception):
    pass


def classify(exc: BaseException) -> RetryDecision:
    if isinstance(exc, Flaky):
        return RetryDecision(transient=True, retry_after=exc.retry_after)
    return RetryDecision(transient=False)


def test_transient_failures_are_retried_until_the_call_succeeds() -> None:
    calls: list[int] = []

    @transient_retry(classify, initial_wait=0.001)
    def call() -> str:
        calls.append(1)
        if len(calls) < 4:
            raise Flaky()
        return "ok"

    assert call() == "ok"
    assert len(calls) == 4


def test_a_non_transient_error_is_raised_at_once() -> None:
    calls: list[int] = []

    @transient_retry(classify, initial_wait=0.001)
    def call() -> None:
        calls.append(1)
        raise Refused("no")

    with pytest.raises(Refused):
        call()
    assert len(calls) == 1


def test_the_original_error_surfaces_after_the_last_attempt() -> None:
    calls: list[int] = []

    @transient_retry(classify, attempts=3, initial_wait=0.001)
    def call() -> None:
        calls.append(1)
        raise Flaky()

    with pytest.raises(Flaky):
        call()
    assert len(calls) == 3


def test_retry_after_sent_by_the_crm_is_honoured() -> None:
    stamps: list[float] = []

    @transient_retry(classify, initial_wait=0.001)
    def call() -> str:
        stamps.append(time.monotonic())
        if len(stamps) == 1:
            raise Flaky(retry_after=0.3)
        return "ok"

    assert call() == "ok"
    assert stamps[1] - stamps[0] >= 0.3


def test_retry_after_is_capped_by_max_wait() -> None:
    stamps: list[float] = []

    @transient_retry(classify, max_wait=0.05, initial_wait=0.001)
    def call() -> str:
        stamps.append(time.monotonic())
        if len(stamps) == 1:
            raise Flaky(retry_after=30.0)
        return "ok"

    assert call() == "ok"
    assert stamps[1] - stamps[0] < 1.0
