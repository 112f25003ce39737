"""Third-party clients, unpatched, against the emulators: `python -m bench.third_party`.

Installs Singer's tap-salesforce, Airbyte's Salesforce source and Meltano's
HubSpot tap from PyPI (one venv each) and jsforce from npm into
`bench-out/third_party/` (kept for the next run), serves a seeded org from
both emulators, and runs each client's own login, discovery and read. The
Python clients hard-code `login.salesforce.com` / `api.hubapi.com`, so they
reach the emulators' HTTPS listeners through a local CONNECT proxy that
trusts a throwaway CA (`network.py`); nothing in them is patched.

The table: per client and path, the records read against the records the
emulator holds (the ratio must be 1.00), and the calls it made by kind.
Not part of `make test`: installing the four clients takes minutes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from bench.third_party.clients import (
    HERE,
    PYTHON_CLIENTS,
    ClientRun,
    install,
    last_error,
    proxied_env,
    run,
    select_streams,
    singer_records,
    trust_ca,
)
from bench.third_party.network import Certificates, connect_proxy, make_certificates
from emulators.hubspot import create_hubspot_app
from emulators.salesforce import SalesforceOrgCredentials, create_salesforce_app
from emulators.seed import SeedOrg, generate_org
from emulators.server import serve

CLIENT_ID, CLIENT_SECRET, REFRESH = "3MVG9.bench", "bench-secret", "5Aep861.bench-refresh"
SF_CREDS = SalesforceOrgCredentials(
    username="ops@acme.example",
    password="pw",
    security_token="TOKEN",
    consumer_key=CLIENT_ID,
    consumer_secret=CLIENT_SECRET,
    refresh_token=REFRESH,
)


@dataclass
class Stage:
    """Where the clients run and what they run against."""

    root: Path
    org: SeedOrg
    salesforce: FastAPI
    hubspot: FastAPI
    certs: Certificates
    proxy_port: int
    plain_salesforce_url: str

    def calls(self, before: dict[str, Counter[str]]) -> Counter[str]:
        """Calls served since `before`, by kind."""
        now = self.snapshot()
        out: Counter[str] = Counter()
        for crm in now:
            for route, n in (now[crm] - before[crm]).items():
                out[_kind(route)] += n
        return out

    def snapshot(self) -> dict[str, Counter[str]]:
        return {
            "salesforce": Counter(self.salesforce.state.faults.stats()["routes"]),
            "hubspot": Counter(self.hubspot.state.faults.stats()["routes"]),
        }


def _kind(route: str) -> str:
    if "oauth" in route or "Soap" in route or route.endswith("/id/{org_id}/{user_id}"):
        return "login"
    if "/jobs/" in route:
        return "bulk2"
    if "/services/async" in route:
        return "bulk1"
    if "describe" in route or route.endswith("/sobjects/") or route.endswith("/sobjects"):
        return "describe"
    if "/query" in route:
        return "rest"
    if "/crm/" in route:
        return "crm"
    return "other"


def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))
    return path


def tap_salesforce(stage: Stage, api_type: str) -> ClientRun:
    venv, work = stage.root / "tap-salesforce", stage.root / f"work-tap-salesforce-{api_type}"
    work.mkdir(exist_ok=True)
    config = _write(
        work / "config.json",
        {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": REFRESH,
            "start_date": "2015-01-01T00:00:00Z",
            "api_type": api_type,
            "select_fields_by_default": True,
            "is_sandbox": False,
        },
    )
    env = proxied_env(stage.proxy_port, stage.certs.ca)
    before = stage.snapshot()
    result = ClientRun(
        "tap-salesforce",
        f"refresh-token login, discovery, Account via {api_type}",
        0,
        len(stage.org.accounts),
    )
    tap = str(venv / "bin" / "tap-salesforce")
    found = run([tap, "--config", str(config), "--discover"], env, work)
    if found.returncode != 0:
        result.note = "discover: " + last_error(found)
        return result
    catalog = _write(work / "catalog.json", select_streams(json.loads(found.stdout), {"Account"}))
    synced = run([tap, "--config", str(config), "--properties", str(catalog)], env, work)
    result.calls = stage.calls(before)
    result.records = singer_records(synced.stdout, "Account")
    result.ok = synced.returncode == 0 and result.records == result.expected
    result.note = "" if synced.returncode == 0 else "sync: " + last_error(synced)
    return result


def airbyte_salesforce(stage: Stage, force_bulk: bool) -> ClientRun:
    venv = stage.root / "airbyte-source-salesforce"
    work = stage.root / f"work-airbyte-{'bulk' if force_bulk else 'rest'}"
    work.mkdir(exist_ok=True)
    config = _write(
        work / "config.json",
        {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": REFRESH,
            "start_date": "2015-01-01T00:00:00Z",
            "is_sandbox": False,
            "force_use_bulk_api": force_bulk,
            "streams_criteria": [{"criteria": "exacts", "value": "Account"}],
        },
    )
    env = proxied_env(stage.proxy_port, stage.certs.ca)
    path = (
        "Bulk 2.0 (forced; compound fields left out)" if force_bulk else "REST (Account has compound fields)"
    )
    result = ClientRun(
        "airbyte source-salesforce",
        f"refresh-token login, discover, Account via {path}",
        0,
        len(stage.org.accounts),
    )
    source = str(venv / "bin" / "source-salesforce")
    before = stage.snapshot()
    found = run([source, "discover", "--config", str(config)], env, work)
    streams = [
        s
        for line in found.stdout.splitlines()
        if line.startswith("{") and json.loads(line).get("type") == "CATALOG"
        for s in json.loads(line)["catalog"]["streams"]
    ]
    if not streams:
        result.note = "discover: " + last_error(found)
        return result
    configured = {
        "streams": [
            {"stream": s, "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}
            for s in streams
            if s["name"] == "Account"
        ]
    }
    catalog = _write(work / "catalog.json", configured)
    read = run([source, "read", "--config", str(config), "--catalog", str(catalog)], env, work)
    result.calls = stage.calls(before)
    result.records = singer_records(read.stdout, "Account")
    result.ok = read.returncode == 0 and result.records == result.expected
    result.note = "" if result.ok else "read: " + last_error(read)
    return result


def meltano_hubspot(stage: Stage) -> ClientRun:
    venv, work = stage.root / "meltano-tap-hubspot", stage.root / "work-tap-hubspot"
    work.mkdir(exist_ok=True)
    config = _write(
        work / "config.json",
        {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": REFRESH,
            "start_date": "2015-01-01T00:00:00Z",
        },
    )
    env = proxied_env(stage.proxy_port, stage.certs.ca)
    expected = len(stage.org.accounts) + len(stage.org.opportunities)
    result = ClientRun(
        "meltano tap-hubspot",
        "OAuth v1 refresh, properties discovery, companies + deals + owners",
        0,
        expected,
    )
    tap = str(venv / "bin" / "tap-hubspot")
    before = stage.snapshot()
    found = run([tap, "--config", str(config), "--discover"], env, work)
    if found.returncode != 0:
        result.note = "discover: " + last_error(found)
        return result
    catalog = _write(
        work / "catalog.json", select_streams(json.loads(found.stdout), {"companies", "deals", "owners"})
    )
    synced = run([tap, "--config", str(config), "--catalog", str(catalog)], env, work)
    result.calls = stage.calls(before)
    result.records = singer_records(synced.stdout, "companies") + singer_records(synced.stdout, "deals")
    owners = singer_records(synced.stdout, "owners")
    result.ok = synced.returncode == 0 and result.records == expected and owners > 0
    result.note = f"owners {owners}" if synced.returncode == 0 else "sync: " + last_error(synced)
    return result


def jsforce(stage: Stage) -> ClientRun:
    node = stage.root / "node"
    script = node / "jsforce_run.js"
    shutil.copy(HERE / "jsforce_run.js", script)
    n = len(stage.org.accounts)
    result = ClientRun(
        "jsforce",
        "SOAP login, query + autoFetch, describe, Bulk 2.0 query, limits, OAuth refresh, identity",
        0,
        2 * n,
    )
    before = stage.snapshot()
    args = [
        "node",
        str(script),
        stage.plain_salesforce_url,
        SF_CREDS.username,
        SF_CREDS.password + SF_CREDS.security_token,
        CLIENT_ID,
        CLIENT_SECRET,
        REFRESH,
    ]
    done = run(args, {"PATH": "/usr/bin:/bin:/usr/local/bin", "NODE_PATH": str(node / "node_modules")}, node)
    result.calls = stage.calls(before)
    if done.returncode != 0:
        result.note = last_error(done)
        return result
    out = json.loads(done.stdout.strip().splitlines()[-1])
    result.records = int(out["rest_records"]) + int(out["bulk2_records"])
    result.ok = (
        result.records == result.expected and out["count"] == n and out["contacts"] == len(stage.org.contacts)
    )
    result.note = f"limits keys {out['limits_keys']}, describe fields {out['describe_fields']}"
    return result


def print_table(runs: list[ClientRun], failures: dict[str, str]) -> None:
    head = "calls: login/describe/rest/bulk2/bulk1/crm"
    print(f"{'client':26} {'covers':70} {'read/held':>11} {'ratio':>6}  {head:42} ok")
    for r in runs:
        ratio = r.records / r.expected if r.expected else 0.0
        c = r.calls
        calls = f"{c['login']}/{c['describe']}/{c['rest']}/{c['bulk2']}/{c['bulk1']}/{c['crm']}"
        held = f"{r.records}/{r.expected}"
        verdict = "yes" if r.ok else "NO"
        print(f"{r.client:26} {r.covers[:70]:70} {held:>11} {ratio:6.2f}  {calls:42} {verdict}  {r.note}")
    for name, error in failures.items():
        print(f"{name:26} not installed: {error}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=3_000)
    parser.add_argument("--out", type=Path, default=Path("bench-out/third_party"))
    parser.add_argument("--only", action="append", help="tap-salesforce, airbyte, tap-hubspot, jsforce")
    args = parser.parse_args()
    root = args.out.resolve()
    started = time.perf_counter()
    failures = install(root)
    print(f"clients ready in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    org = generate_org(args.accounts, 20, seed=7, staff=True)
    sf_app = create_salesforce_app(org, credentials=SF_CREDS)
    hs_app = create_hubspot_app(
        org, oauth_client=(CLIENT_ID, CLIENT_SECRET), refresh_token=REFRESH, search_per_second=None
    )
    certs = make_certificates(root / "tls")
    for name in PYTHON_CLIENTS:
        trust_ca(root / name, certs.ca)
    tls = (str(certs.cert), str(certs.key))
    with ExitStack() as stack:
        sf_tls = stack.enter_context(serve(sf_app, tls=tls))
        sf_plain = stack.enter_context(serve(sf_app))
        hs_tls = stack.enter_context(serve(hs_app, tls=tls))
        routes = {"*.salesforce.com": sf_tls.port, "api.hubapi.com": hs_tls.port}
        proxy_port = stack.enter_context(connect_proxy(routes))
        stage = Stage(root, org, sf_app, hs_app, certs, proxy_port, sf_plain.url)
        scenarios: list[tuple[str, Callable[[], ClientRun]]] = [
            ("tap-salesforce", lambda: tap_salesforce(stage, "REST")),
            ("tap-salesforce", lambda: tap_salesforce(stage, "BULK")),
            ("airbyte", lambda: airbyte_salesforce(stage, force_bulk=False)),
            ("airbyte", lambda: airbyte_salesforce(stage, force_bulk=True)),
            ("tap-hubspot", lambda: meltano_hubspot(stage)),
            ("jsforce", lambda: jsforce(stage)),
        ]
        installed_for = {
            "tap-salesforce": "tap-salesforce",
            "airbyte": "airbyte-source-salesforce",
            "tap-hubspot": "meltano-tap-hubspot",
            "jsforce": "jsforce",
        }
        runs = [
            scenario()
            for key, scenario in scenarios
            if (not args.only or key in args.only) and installed_for[key] not in failures
        ]
    print_table(runs, failures)
    return 0 if all(r.ok for r in runs) and not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
