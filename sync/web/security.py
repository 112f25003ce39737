"""Response hardening for every route: security headers and a strict Content-Security-Policy.

Pure ASGI middleware (no per-request objects beyond a header list), because it sits
in front of the webhook fast path too.
"""

from __future__ import annotations

import base64
import hashlib

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP_HEADER = "content-security-policy"


def csp_hash(text: str) -> str:
    """A CSP source allowing exactly this inline <script> or <style> content."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def strict_csp(*, style_hashes: tuple[str, ...] = (), image_hosts: tuple[str, ...] = ()) -> str:
    """No inline script at all; scripts, styles and images from this origin (and `image_hosts`) only."""
    styles = " ".join(("'self'", *style_hashes))
    images = " ".join(("'self'", "data:", *image_hosts))
    return (
        "default-src 'none'; script-src 'self'; "
        f"style-src {styles}; img-src {images}; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


class SecurityHeaders:
    """Adds the security headers to every response; a route may set its own CSP first."""

    def __init__(self, app: ASGIApp, *, csp: str) -> None:
        self.app = app
        self.headers = {
            CSP_HEADER: csp,
            "x-frame-options": "DENY",
            "x-content-type-options": "nosniff",
            "referrer-policy": "same-origin",
            "cross-origin-opener-policy": "same-origin",
            "cache-control": "no-store",
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class MetricsPort:
    """With METRICS_PORT set, that port serves /metrics and nothing else, and the main port no /metrics."""

    def __init__(self, app: ASGIApp, *, port: int, metrics_app: ASGIApp) -> None:
        self.app = app
        self.port = port
        self.metrics_app = metrics_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = scope.get("server")
        on_metrics_port = scope["type"] == "http" and server is not None and server[1] == self.port
        if on_metrics_port:
            await self.metrics_app(scope, receive, send)
        else:
            await self.app(scope, receive, send)
