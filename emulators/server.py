"""Serve an emulator app with uvicorn: on a free loopback port in a thread, or in the foreground.

    with serve(create_salesforce_app(org)) as running:
        ...  # point a client at running.url ("http://127.0.0.1:54321")

The socket is bound before the server starts, so the port is known and free
without a race, and `serve` returns only once uvicorn is accepting calls.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

_START_TIMEOUT_S = 20.0


@dataclass(frozen=True, slots=True)
class RunningServer:
    host: str
    port: int
    scheme: str = "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def _config(
    app: ASGIApp, host: str, port: int, log_level: str, tls: tuple[str, str] | None = None
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        # Tests open and close many clients; do not keep idle sockets around for long.
        timeout_keep_alive=30,
        ssl_certfile=tls[0] if tls else None,
        ssl_keyfile=tls[1] if tls else None,
    )


@contextmanager
def serve(
    app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0, tls: tuple[str, str] | None = None
) -> Iterator[RunningServer]:
    """Run `app` in a background thread until the block exits; over HTTPS with `tls=(certfile, keyfile)`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(_config(app, host, bound_port, "warning", tls))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"emulator:{bound_port}", daemon=True
    )
    thread.start()
    try:
        waited = 0.0
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError(f"emulator on port {bound_port} failed to start")
            if waited > _START_TIMEOUT_S:
                raise RuntimeError(f"emulator on port {bound_port} did not start in time")
            thread.join(0.01)
            waited += 0.01
        yield RunningServer(host=host, port=bound_port, scheme="https" if tls else "http")
    finally:
        server.should_exit = True
        thread.join(10.0)
        sock.close()


def serve_forever(app: ASGIApp, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run `app` in the foreground until interrupted (for `tsync emulator`)."""
    uvicorn.Server(_config(app, host, port, "info")).run()
