"""A service that cannot be reached is one line naming it, not a traceback.

`outage_of(exc)` recognises a connection failure of the store, the broker, Redis
or a CRM (anywhere in the exception's chain) and says it in one line, URLs masked.
The CLI, the web app and the Celery tasks print that line; the traceback goes to
the debug log only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import kombu.exceptions
import psycopg
import redis.exceptions
import requests.exceptions
import sqlalchemy.exc
import urllib3.exceptions

from sync.settings import mask_url

log = logging.getLogger("territory_sync.outages")
MAX_REASON_CHARS = 200

# The exception types that mean "could not reach it", by the service they belong to.
_SERVICES: tuple[tuple[str, tuple[type[BaseException], ...]], ...] = (
    (
        "the database",
        (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, psycopg.OperationalError),
    ),
    ("the queue broker", (kombu.exceptions.OperationalError,)),
    ("Redis", (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)),
    (
        "the CRM",
        (
            requests.exceptions.ConnectionError,
            requests.exceptions.Timeout,
            urllib3.exceptions.MaxRetryError,
            urllib3.exceptions.NewConnectionError,
            httpx.ConnectError,
            httpx.ConnectTimeout,
            httpx.ReadTimeout,
        ),
    ),
)


class ServiceUnreachable(Exception):
    """Raised instead of a connection failure where only its one line should be logged (Celery)."""


@dataclass(frozen=True)
class Outage:
    service: str
    reason: str

    def line(self, context: str = "") -> str:
        where = f" ({context})" if context else ""
        return f"cannot reach {self.service}{where}: {self.reason}"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _reason(exc: BaseException) -> str:
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.orig is not None:
        exc = exc.orig  # without SQLAlchemy's statement and background link
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = mask_url(text)
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "…"


def outage_of(exc: BaseException) -> Outage | None:
    """The unreachable service behind `exc`, or None if it is not a connection failure."""
    for link in _chain(exc):
        for service, kinds in _SERVICES:
            if isinstance(link, kinds):
                return Outage(service, _reason(link))
    return None


def describe_outage(exc: BaseException, context: str = "") -> str | None:
    """The one line of the outage behind `exc` (its traceback logged at debug), or None if not one."""
    outage = outage_of(exc)
    if outage is None:
        return None
    line = outage.line(context)
    log.debug("traceback of: %s", line, exc_info=exc)
    return line


def report_outage(exc: BaseException, context: str = "") -> str | None:
    """`describe_outage`, and the line logged as a warning (web app, workers)."""
    line = describe_outage(exc, context)
    if line is not None:
        log.warning("%s", line)
    return line
