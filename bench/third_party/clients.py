"""Install the third-party clients from their registries into bench-out, and run each one unpatched.

Each run returns a `ClientRun`: what the client read, what the emulator holds,
and the calls it made by kind (login, REST, Bulk 2.0, Bulk 1.0, HubSpot CRM).
Python clients reach the emulators through `network.connect_proxy` over TLS;
jsforce takes a login URL and talks plain HTTP.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

PYTHON_CLIENTS = {
    "tap-salesforce": "tap-salesforce==2.8.1",
    "airbyte-source-salesforce": "airbyte-source-salesforce==2.10.3",
    "meltano-tap-hubspot": "meltano-tap-hubspot==0.10.1",
}
JSFORCE = "jsforce@3.10.26"


@dataclass
class ClientRun:
    client: str
    covers: str
    records: int
    expected: int
    calls: Counter[str] = field(default_factory=Counter)
    ok: bool = False
    note: str = ""


def install(root: Path) -> dict[str, str]:
    """One venv per Python client and a node folder for jsforce (kept between runs); returns failures."""
    root.mkdir(parents=True, exist_ok=True)

    def python_client(name: str, spec: str) -> tuple[str, str]:
        venv = root / name
        if (venv / ".installed").exists():
            return name, ""
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check"]
        done = subprocess.run([*pip, spec], capture_output=True, text=True)
        if done.returncode != 0:
            return name, done.stderr.strip().splitlines()[-1] if done.stderr else "pip failed"
        (venv / ".installed").touch()
        return name, ""

    def node_client() -> tuple[str, str]:
        node = root / "node"
        if (node / ".installed").exists():
            return "jsforce", ""
        node.mkdir(exist_ok=True)
        # jsforce 3.10 asks for undici 8, which needs Node 22 (zstd); this machine has Node 20, where
        # undici 7 (same API) runs: an install-time override, jsforce itself is as published.
        package = {"name": "bench-third-party", "private": True, "overrides": {"undici": "^7"}}
        (node / "package.json").write_text(json.dumps(package) + "\n")
        done = subprocess.run(
            ["npm", "install", "--silent", JSFORCE], cwd=node, capture_output=True, text=True
        )
        if done.returncode != 0:
            return "jsforce", done.stderr.strip().splitlines()[-1] if done.stderr else "npm failed"
        (node / ".installed").touch()
        return "jsforce", ""

    jobs: list[Callable[[], tuple[str, str]]] = [
        *[lambda n=n, s=s: python_client(n, s) for n, s in PYTHON_CLIENTS.items()],
        node_client,
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda job: job(), jobs))
    return {name: error for name, error in results if error}


def proxied_env(proxy_port: int, ca: Path) -> dict[str, str]:
    """The environment a client sees: HTTPS through the proxy, trusting only the bench CA."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(
        HTTPS_PROXY=f"http://127.0.0.1:{proxy_port}",
        https_proxy=f"http://127.0.0.1:{proxy_port}",
        REQUESTS_CA_BUNDLE=str(ca),
        SSL_CERT_FILE=str(ca),
        CURL_CA_BUNDLE=str(ca),
        NO_PROXY="",
    )
    return env


def run(
    cmd: list[str], env: Mapping[str, str], cwd: Path, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run one client command; its output is also kept in `cwd` (`<command>.out` / `.err`) to read later."""
    done = subprocess.run(cmd, env=dict(env), cwd=cwd, capture_output=True, text=True, timeout=timeout)
    stem = "-".join([Path(cmd[0]).name, *[a for a in cmd[1:2] if not a.startswith("/")]])
    (cwd / f"{stem}.out").write_text(done.stdout)
    (cwd / f"{stem}.err").write_text(done.stderr)
    return done


def trust_ca(venv: Path, ca: Path) -> None:
    """Add the bench CA to the venv's certifi bundle: clients that call `Session.send` directly
    (the Singer SDK does) use that bundle whatever `REQUESTS_CA_BUNDLE` says."""
    pem = ca.read_text()
    for bundle in venv.glob("lib/python*/site-packages/certifi/cacert.pem"):
        text = bundle.read_text()
        if pem not in text:
            bundle.write_text(text.rstrip("\n") + "\n" + pem)


def singer_records(stdout: str, stream: str) -> int:
    """RECORD messages of one stream in a Singer tap's (or an Airbyte source's) output."""
    count = 0
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        message: dict[str, Any] = json.loads(line)
        if message.get("type") == "RECORD":
            record = message.get("record", {})
            if message.get("stream") == stream or record.get("stream") == stream:
                count += 1
    return count


def select_streams(catalog: dict[str, Any], wanted: set[str]) -> dict[str, Any]:
    """A Singer catalog with only `wanted` streams selected (every field of each, by default)."""
    chosen = [s for s in catalog["streams"] if s["tap_stream_id"] in wanted or s.get("stream") in wanted]
    for stream in chosen:
        for entry in stream.get("metadata", []):
            if entry.get("breadcrumb") == []:
                entry["metadata"]["selected"] = True
    return {"streams": chosen}


def last_error(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
    return lines[-1][:200] if lines else f"exit {done.returncode}"
