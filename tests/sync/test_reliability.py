"""Crashes, outages and restarts with real Celery worker processes, real Redis and PostgreSQL.

The CRM is the HubSpot emulator served from this test process over loopback;
workers are separate `celery worker` processes killed with SIGKILL, the way a
machine or container dies. Each test asserts on what the CRM ends up holding
and what the store says, never on how the code got there.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import insert
from sqlmodel import Session, col, func, select

from emulators.faults import FaultConfig
from emulators.server import RunningServer
from sync import pipeline
from sync.celery_app import app as celery_app
from sync.celery_app import reconfigure
from sync.settings import Settings, load_settings
from sync.store import (
    AccountRow,
    OutboxItem,
    OutboxKind,
    OutboxStatus,
    PlanMode,
    PlannedAssignment,
    PlanRun,
    RunStatus,
    SyncRun,
)
from sync.store.schema import upgrade

from .conftest import EmulatedCRM

ORG = "hubspot"
ROOT = Path(__file__).resolve().parents[2]


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


class Worker:
    """A `celery worker` process for this test's queues, killable like a dying machine."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        prefix = self.env["CELERY_QUEUE_PREFIX"]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "sync.celery_app",
                    "worker",
                    "-Q",
                    f"{prefix}sync,{prefix}planner",
                    "-P",
                    "solo",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "-l",
                    "INFO",
                    "-n",
                    f"w{uuid.uuid4().hex[:6]}@%h",
                ],
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def crm(hubspot_crm: Callable[..., EmulatedCRM]) -> EmulatedCRM:
    return hubspot_crm(5000, 10, seed=21, imperfect_share=0.0)


@pytest.fixture
def stack(
    crm: tuple[RunningServer, FastAPI], postgres_url: str, redis_url: str, tmp_path: Path
) -> Iterator[Callable[..., tuple[Settings, Callable[[], Worker]]]]:
    """Settings shared by this process and its workers, and a factory of worker processes."""
    workers: list[Worker] = []

    def make(broker_url: str = redis_url, **extra: str) -> tuple[Settings, Callable[[], Worker]]:
        server, _app = crm
        env = {
            "DATABASE_URL": postgres_url,
            "CELERY_BROKER_URL": broker_url,
            "REDIS_URL": broker_url,
            "CELERY_QUEUE_PREFIX": f"r{uuid.uuid4().hex[:8]}-",
            "CELERY_VISIBILITY_TIMEOUT": "4",
            "ORG_LOCK_SECONDS": "15",
            "HUBSPOT_ACCESS_TOKEN": "pat-na1-reliability",
            "HUBSPOT_BASE_URL": server.url,
            "HUBSPOT_REQUESTS_PER_10S": "100000",
            "PLAN_SECONDS": "3",
            "PLAN_WEEKS": "1",
            **extra,
        }
        settings = load_settings(**{k.lower(): v for k, v in env.items()})
        upgrade(settings.database_url)
        reconfigure(settings)
        worker_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}

        def new_worker() -> Worker:
            worker = Worker(worker_env, tmp_path / "worker.log").start()
            workers.append(worker)
            return worker

        return settings, new_worker

    yield make
    for worker in workers:
        worker.stop()
    reconfigure(load_settings(database_url="sqlite://", celery_broker_url=None))


def ctx_for(settings: Settings) -> pipeline.Context:
    return pipeline.Context.from_settings(settings)


def count(settings: Settings, model: Any, *where: Any) -> int:
    with Session(ctx_for(settings).engine) as session:
        return int(session.exec(select(func.count()).select_from(model).where(*where)).one())


def plan_every_account_to_another_rep(settings: Settings) -> int:
    """A stored plan that moves every account: the push it makes is one change per account."""
    ctx = ctx_for(settings)
    pipeline.pull(ORG, ctx=ctx, streams=("reps", "accounts"))
    with Session(ctx.engine) as session:
        accounts = session.exec(select(AccountRow).order_by(col(AccountRow.crm_id))).all()
        reps = sorted({a.owner_crm_id for a in accounts if a.owner_crm_id})
        plan_run = PlanRun(org_id=ORG, mode=PlanMode.FULL, status=RunStatus.SUCCEEDED)
        session.add(plan_run)
        session.flush()
        rows = []
        for i, a in enumerate(accounts):
            rep = (
                reps[(reps.index(a.owner_crm_id) + 1) % len(reps)]
                if a.owner_crm_id in reps
                else reps[i % len(reps)]
            )
            rows.append(
                {
                    "plan_run_id": plan_run.id,
                    "account_crm_id": a.crm_id,
                    "rep_crm_id": rep,
                    "territory": f"T-{rep}",
                    "previous_rep_crm_id": a.owner_crm_id,
                    "moved": True,
                    "reason": "test plan",
                }
            )
        session.execute(insert(PlannedAssignment), rows)
        session.commit()
        assert plan_run.id is not None
        return plan_run.id


def test_a_worker_killed_mid_push_resumes_and_applies_every_change_exactly_once(
    stack: Callable[..., tuple[Settings, Callable[[], Worker]]], crm: tuple[RunningServer, FastAPI]
) -> None:
    _server, app = crm
    settings, new_worker = stack()
    plan_run_id = plan_every_account_to_another_rep(settings)
    app.state.faults.configure(FaultConfig(latency_ms=60))
    worker = new_worker()
    celery_app.send_task(
        "tsync.push", kwargs={"org_id": ORG, "trigger": "manual"}, queue=settings.celery_queue_prefix + "sync"
    )

    assignment = col(OutboxItem.kind) == OutboxKind.ASSIGNMENT
    done = col(OutboxItem.status) == OutboxStatus.DONE
    wait_for(lambda: count(settings, OutboxItem, assignment & done) >= 600, 120, "the push under way")
    worker.kill()
    done_at_kill = count(settings, OutboxItem, col(OutboxItem.status) == OutboxStatus.DONE)
    assert done_at_kill < 5000, "the push finished before the kill: make the emulator slower"

    new_worker()
    wait_for(
        lambda: count(settings, OutboxItem, assignment & done) == 5000,
        180,
        "the restarted worker to finish the push",
    )
    assert count(settings, OutboxItem, assignment) == 5000  # one row per change, none doubled
    # A redelivered task may run again once the work is done: it must find nothing left to do.
    # Settled = nothing running across more than a visibility timeout (4 s), when copies reappear.
    def settled() -> bool:
        if count(settings, SyncRun, col(SyncRun.status) == "running"):
            return False
        time.sleep(6)
        return count(settings, SyncRun, col(SyncRun.status) == "running") == 0

    wait_for(settled, 90, "runs to settle")
    with Session(ctx_for(settings).engine) as session:
        planned = session.exec(
            select(PlannedAssignment).where(PlannedAssignment.plan_run_id == plan_run_id)
        ).all()
        runs = session.exec(select(SyncRun).where(SyncRun.kind == "push").order_by(col(SyncRun.id))).all()
    for p in planned:
        props = app.state.org.properties_of("companies", p.account_crm_id)
        assert (props["hubspot_owner_id"], props["territory"]) == (p.rep_crm_id, p.territory)
    # and one notice to each rep whose book changed, none doubled
    reps = {p.rep_crm_id for p in planned} | {p.previous_rep_crm_id for p in planned if p.previous_rep_crm_id}
    notices = col(OutboxItem.kind) == OutboxKind.NOTICE
    assert count(settings, OutboxItem, notices & done) == count(settings, OutboxItem, notices) == len(reps)
    assert app.state.org.count("tasks") == len(reps)
    updates = app.state.faults.stats()["routes"].get("POST /crm/v3/objects/{object_type}/batch/update", 0)
    assert 50 <= updates <= 50 + 2  # at most the one chunk that was in flight is sent again
    killed, resumed, *again = runs
    assert killed.status == "failed" and "interrupted" in (killed.error_summary or "")
    assert resumed.status == "succeeded"
    assert done_at_kill + resumed.counts["pushed"] <= 5000 + len(reps) + 200
    assert all(r.status == "succeeded" and r.counts.get("pushed", 0) == 0 for r in again), [
        (r.id, r.status, r.counts, r.error_summary) for r in runs
    ]


def test_a_worker_killed_between_pull_pages_resumes_from_the_checkpoint(
    stack: Callable[..., tuple[Settings, Callable[[], Worker]]], crm: tuple[RunningServer, FastAPI]
) -> None:
    _server, app = crm
    settings, new_worker = stack()
    app.state.faults.configure(FaultConfig(latency_ms=150))
    worker = new_worker()
    celery_app.send_task(
        "tsync.pull",
        kwargs={"org_id": ORG, "streams": ["accounts"]},
        queue=settings.celery_queue_prefix + "sync",
    )
    wait_for(lambda: count(settings, AccountRow) >= 1000, 120, "some pages to be stored")
    worker.kill()
    stored_at_kill = count(settings, AccountRow)
    assert stored_at_kill < 5000
    listed_before = app.state.faults.stats()["routes"].get("GET /crm/v3/objects/{object_type}", 0)

    new_worker()
    wait_for(
        lambda: (
            count(settings, SyncRun, col(SyncRun.kind) == "pull", col(SyncRun.status) == "succeeded") == 1
        ),
        180,
        "the redelivered pull to finish",
    )
    assert count(settings, AccountRow) == app.state.org.count("companies") == 5000
    listed_after = app.state.faults.stats()["routes"].get("GET /crm/v3/objects/{object_type}", 0)
    # The re-run lists only what it had not stored: 50 pages in all, plus the page in flight,
    # plus one listing of archived companies per pull run (the same route).
    assert listed_after <= 50 + 1 + 2
    assert listed_after - listed_before <= (5000 - stored_at_kill) // 100 + 2


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs the redis-server binary")
def test_redis_restarted_mid_run_the_run_still_completes(
    stack: Callable[..., tuple[Settings, Callable[[], Worker]]],
    crm: tuple[RunningServer, FastAPI],
    tmp_path: Path,
) -> None:
    _server, app = crm
    port = _free_port()
    redis_dir = tmp_path / "redis"
    redis_dir.mkdir()

    def start_redis() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--dir",
                str(redis_dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: _redis_up(port), 20, "redis to start")
        return proc

    redis_proc = start_redis()
    try:
        settings, new_worker = stack(broker_url=f"redis://127.0.0.1:{port}/0")
        app.state.faults.configure(FaultConfig(latency_ms=60))
        new_worker()
        celery_app.send_task(
            "tsync.run",
            kwargs={"org_id": ORG, "trigger": "manual"},
            queue=settings.celery_queue_prefix + "sync",
        )
        wait_for(lambda: count(settings, AccountRow) >= 500, 120, "the run's pull to be under way")
        redis_proc.kill()  # Redis dies mid-run...
        redis_proc.wait(10)
        time.sleep(1.0)
        redis_proc = start_redis()  # ...and comes back with its append-only file
        wait_for(
            lambda: (
                count(settings, SyncRun, col(SyncRun.kind) == "run", col(SyncRun.status) == "succeeded") >= 1
            ),
            240,
            "the run to complete after the Redis restart",
        )
        assert count(settings, AccountRow) == 5000
        assert count(settings, SyncRun, col(SyncRun.kind) == "push", col(SyncRun.status) == "succeeded") >= 1
        assert count(settings, OutboxItem, col(OutboxItem.status) != OutboxStatus.DONE) == 0
    finally:
        redis_proc.kill()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _redis_up(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(port=port, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False
