"""Webhook load: the signed HubSpot endpoint under 2 uvicorn workers, beside a bare 202 endpoint.

    python -m bench.webhooks [--seconds 10] [--concurrency 32] [--duplicates 0.1] [--workers 2]

The load comes from `wrk` (Debian's package) replaying pre-signed deliveries
(a signature stays valid for 5 minutes); without wrk, from a Python client,
which saturates long before the server does (its numbers are a floor).

Both servers run as `uvicorn --workers N` on loopback, measured in the same
run by the same client, so the table's ratio (ours / bare) is what the
verification, the store write and the enqueue cost, whatever the machine's
noise. Deliveries carry one event each; a share of them re-sends an earlier
eventId (HubSpot's at-least-once delivery): none of those may enqueue work.
The store is PostgreSQL on 127.0.0.1 (the deployment at scale), the broker
Redis db 14 with private queue names; both are cleaned up afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import redis
from fastapi import FastAPI, Response

from sync.celery_app import queue_names
from sync.settings import load_settings
from sync.store.schema import upgrade
from sync.web.webhooks import hubspot_v3_signature

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-client-secret"


def delivery_body(event_id: int) -> bytes:
    """One HubSpot propertyChange event, as a delivery's JSON array."""
    event = {
        "eventId": event_id,
        "subscriptionType": "company.propertyChange",
        "objectId": 1000 + event_id,
        "portalId": 1,
        "occurredAt": 0,
        "propertyName": "resync_requested",
        "propertyValue": "true",
        "attemptNumber": 0,
    }
    return json.dumps([event], separators=(",", ":")).encode()


def bare_app() -> FastAPI:
    """The ceiling: a route that reads the body and answers 202, doing nothing else."""
    app = FastAPI()

    @app.post("/webhooks/hubspot", status_code=202)
    async def accept() -> Response:
        return Response(status_code=202)

    return app


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    latencies_ms: list[float]
    errors: int
    fixed: dict[float, float] = field(default_factory=dict)  # percentiles reported by wrk

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def pct(self, q: float) -> float:
        if q in self.fixed:
            return self.fixed[q]
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, int(q * len(data)))] if data else float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(factory: str, port: int, workers: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            factory,
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.post(f"http://127.0.0.1:{port}/webhooks/hubspot", content=b"[]", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{factory} did not start: {proc.stderr.read().decode() if proc.stderr else ''}")


async def load(
    url: str, seconds: float, concurrency: int, duplicate_share: float, seed: int
) -> tuple[Result, int, int]:
    """Send signed deliveries for `seconds`; returns the result, unique events and duplicates sent."""
    rng = random.Random(seed)
    sent_ids: list[int] = []
    next_id = 1
    duplicates = 0
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds

    async def one(client: httpx.AsyncClient) -> None:
        nonlocal next_id, duplicates, errors
        while time.perf_counter() < stop_at:
            if sent_ids and rng.random() < duplicate_share:
                event_id = rng.choice(sent_ids)
                duplicates += 1
            else:
                event_id = next_id
                next_id += 1
                sent_ids.append(event_id)
            body = delivery_body(event_id)
            stamp = str(int(time.time() * 1000))
            headers = {
                "Content-Type": "application/json",
                "X-HubSpot-Request-Timestamp": stamp,
                "X-HubSpot-Signature-v3": hubspot_v3_signature(SECRET, "POST", url, body, stamp),
            }
            started = time.perf_counter()
            try:
                answer = await client.post(url, content=body, headers=headers)
                if answer.status_code != 202:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            latencies.append((time.perf_counter() - started) * 1000)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:
        began = time.perf_counter()
        await asyncio.gather(*(one(client) for _ in range(concurrency)))
        took = time.perf_counter() - began
    return Result(url, len(latencies), took, latencies, errors), len(sent_ids), duplicates


WRK_SCRIPT = """
local requests = {}
local n = 0
local i = 0
local threads = 0
function setup(thread)
  -- each wrk thread starts at its own place in the file, so they do not send the same events
  thread:set("part", threads)
  threads = threads + 1
end
function init(args)
  for line in io.lines(args[1]) do
    local stamp, signature, body = line:match("^(%d+)\t([^\t]+)\t(.*)$")
    n = n + 1
    requests[n] = wrk.format("POST", nil, {
      ["Content-Type"] = "application/json",
      ["X-HubSpot-Request-Timestamp"] = stamp,
      ["X-HubSpot-Signature-v3"] = signature,
    }, body)
  end
  i = math.floor(n * part / 2)
end
function request()
  i = i % n + 1
  return requests[i]
end
"""


def deliveries_file(url: str, path: Path, count: int, duplicate_share: float, seed: int) -> int:
    """Pre-signed deliveries, one per line; returns how many distinct events they carry."""
    rng = random.Random(seed)
    ids: list[int] = []
    stamp = str(int(time.time() * 1000))
    with path.open("w") as out:
        for _ in range(count):
            if ids and rng.random() < duplicate_share:
                event_id = rng.choice(ids)
            else:
                event_id = len(ids) + 1
                ids.append(event_id)
            body = delivery_body(event_id).decode()
            signature = hubspot_v3_signature(SECRET, "POST", url, body.encode(), stamp)
            out.write(f"{stamp}\t{signature}\t{body}\n")
    return len(ids)


def wrk_load(url: str, seconds: float, concurrency: int, requests: Path, workdir: Path) -> Result:
    script = workdir / "deliveries.lua"
    script.write_text(WRK_SCRIPT)
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{concurrency}",
            f"-d{int(seconds)}s",
            "--latency",
            "-s",
            str(script),
            url,
            "--",
            str(requests),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket_errors:
        errors += sum(int(x) for x in socket_errors.groups())

    def percentile(label: str) -> float:
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
        return float(m.group(1)) * scale

    result = Result(url, total, seconds, [], errors)
    result.fixed = {0.5: percentile("50"), 0.99: percentile("99")}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--duplicates", type=float, default=0.1, help="share of deliveries that repeat an event"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--requests", type=int, default=60_000, help="pre-signed deliveries for wrk to cycle")
    args = parser.parse_args()
    use_wrk = shutil.which("wrk") is not None
    workdir = Path(tempfile.mkdtemp(prefix="tsync-webhooks-"))

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True)
    admin.execute(f'CREATE SCHEMA "{schema}"')
    database_url = f"{args.postgres}?options=-csearch_path%3D{schema}"
    prefix = f"bench-{uuid.uuid4().hex[:6]}-"
    env = {
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": args.redis,
        "REDIS_URL": args.redis,
        "CELERY_QUEUE_PREFIX": prefix,
        "HUBSPOT_CLIENT_SECRET": SECRET,
    }
    settings = load_settings(**{k.lower(): v for k, v in env.items()})
    upgrade(settings.database_url)
    broker = redis.Redis.from_url(args.redis)
    rows = []
    try:
        for name, factory in (
            ("bare 202 (ceiling)", "bench.webhooks:bare_app"),
            ("/webhooks/hubspot", "sync.web:create_app"),
        ):
            port = free_port()
            server = start_server(factory, port, args.workers, env)
            try:
                url = f"http://127.0.0.1:{port}/webhooks/hubspot"
                if use_wrk:
                    requests = workdir / f"deliveries-{port}.tsv"
                    unique = deliveries_file(url, requests, args.requests, args.duplicates, seed=1)
                    result = wrk_load(url, args.seconds, args.concurrency, requests, workdir)
                    dups = 0  # counted below from what the store kept
                else:
                    result, unique, dups = asyncio.run(
                        load(url, args.seconds, args.concurrency, args.duplicates, seed=1)
                    )
            finally:
                server.terminate()
                server.wait(10)
            queued = None
            if "sync." in factory:
                queued = sum(int(broker.llen(q)) for q in queue_names(settings))
                with psycopg.connect(
                    f"host=127.0.0.1 user=postgres dbname=postgres options=-csearch_path={schema}"
                ) as conn:
                    row = conn.execute("SELECT count(*) FROM webhook_event").fetchone()
                    unique = int(row[0]) if row else 0
                if use_wrk:
                    dups = result.requests - result.errors - unique  # answered 202, event already known
            rows.append((name, result, unique, dups, queued))
    finally:
        for q in queue_names(settings):
            broker.delete(q)
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')

    ceiling = rows[0][1].rate
    print(
        f"\nwebhook load: {args.workers} uvicorn workers, {args.concurrency} concurrent clients, "
        f"{args.seconds:.0f} s each, {args.duplicates:.0%} duplicate deliveries, loopback, 2-core machine\n"
    )
    header = (
        f"{'endpoint':<22}{'requests':>10}{'req/s':>9}{'vs bare':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'errors':>8}{'dups sent':>11}{'dups enqueued':>15}"
    )
    print(header)
    print("-" * len(header))
    for name, result, unique, dups, queued in rows:
        enqueued = "" if queued is None else f"{max(0, queued - unique)}/{dups}"
        print(
            f"{name:<22}{result.requests:>10}{result.rate:>9.0f}{result.rate / ceiling:>9.2f}"
            f"{result.pct(0.5):>9.1f}{result.pct(0.99):>9.1f}{result.errors:>8}"
            f"{dups if queued is not None else '':>11}{enqueued:>15}"
        )
    ours = rows[1]
    print(
        f"\ndistinct events stored: {ours[2]}; handler tasks queued: {ours[4]} (one per burst per source: "
        f"the queue is not drained here, so the first stays pending); duplicates never queue work"
    )
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
