"""`tsync web`: uvicorn with the app's logging (secrets redacted) and, if set, the metrics port.

Proxy headers are off: uvicorn would otherwise take the client address from
X-Forwarded-For, and the trusted-proxy check needs the real peer. The app reads
forwarded headers itself, and only from TRUSTED_PROXIES.
"""

from __future__ import annotations

import copy
import logging
import re
import socket
from typing import Any, Literal

import uvicorn
from uvicorn.config import LOGGING_CONFIG
from uvicorn.supervisors import Multiprocess

from sync.settings import Settings

FACTORY = "sync.web:create_app"
# Routes whose query string may carry a secret (Salesforce's outbound `?secret=`): never logged.
REDACTED_QUERY_PATHS = re.compile(r"^/(webhooks/|resync\b)")


class RedactWebhookSecrets(logging.Filter):
    """uvicorn's access log line without the query string of a webhook route."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            path, question, _query = args[2].partition("?")
            if question and REDACTED_QUERY_PATHS.match(path):
                record.args = (args[0], args[1], f"{path}?[redacted]", args[3], args[4])
        return True


def log_config(level: str, *, app_loggers: bool = False) -> dict[str, Any]:
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact_webhook_secrets": {"()": RedactWebhookSecrets}}
    config["loggers"]["uvicorn.access"]["filters"] = ["redact_webhook_secrets"]
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        config["loggers"][name]["level"] = level
    if app_loggers:  # our own (the audit trail of sign-ins and decisions among them) to stderr too
        config["loggers"]["territory_sync"] = {"handlers": ["default"], "level": level, "propagate": False}
    return config


def web_config(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int = 1,
    app: Any = FACTORY,
    lifespan: Literal["auto", "on", "off"] = "auto",
    app_loggers: bool = False,
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        lifespan=lifespan,
        factory=app == FACTORY,
        host=host,
        port=port,
        workers=workers,
        log_config=log_config(settings.log_level, app_loggers=app_loggers),
        proxy_headers=False,
        server_header=False,
    )


def bound_sockets(config: uvicorn.Config, metrics_port: int | None) -> list[socket.socket]:
    """The web socket, and the metrics socket on the same interface when METRICS_PORT is set."""
    sockets = [config.bind_socket()]
    if metrics_port is not None:
        metrics = copy.copy(config)
        metrics.port = metrics_port
        sockets.append(metrics.bind_socket())
    return sockets


def serve_web(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """Run the web app in the foreground (Ctrl+C stops it)."""
    config = web_config(settings, host=host, port=port, workers=workers, app_loggers=True)
    sockets = bound_sockets(config, settings.metrics_port)
    if workers > 1:
        Multiprocess(config, sockets=sockets).run()
    else:
        uvicorn.Server(config).run(sockets=sockets)
