"""What the HTTP engines (Valhalla, OSRM) share: naming the server safely, and retrying it.

A routing URL may carry credentials (`https://user:key@host/`, `?api_key=`):
errors and reprs name the server by scheme, host, port and path only.
429 and 5xx answers, timeouts and connection errors are retried with backoff
(`connectors/limits.py`); when the attempts run out, or the server refuses,
one `TravelError` line says which server and why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from connectors.limits import RetryDecision, transient_retry
from connectors.roads.matrix import TravelError

TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})

T = TypeVar("T")


def server_name(kind: str, url: str) -> str:
    """`Valhalla at http://host:8002/base`: no user, password or query string."""
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port else ""
    path = parsed.path.rstrip("/")
    return f"{kind} at {parsed.scheme}://{parsed.host}{port}{path}"


class TransientAnswer(RuntimeError):
    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"answered {status}")
        self.status = status
        self.retry_after = retry_after


def classify(exc: BaseException) -> RetryDecision:
    if isinstance(exc, TransientAnswer):
        return RetryDecision(transient=True, retry_after=exc.retry_after)
    if isinstance(exc, httpx.TimeoutException | httpx.TransportError):
        return RetryDecision(transient=True)
    return RetryDecision(transient=False)


def raise_if_transient(response: httpx.Response) -> None:
    if response.status_code in TRANSIENT_STATUS:
        hint = response.headers.get("Retry-After")
        raise TransientAnswer(response.status_code, float(hint) if hint and hint.isdigit() else None)


def json_body(response: httpx.Response, server: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise TravelError(f"{server} answered {response.status_code} without JSON") from None


class Retrying:
    """Runs calls to one server with the transient-retry policy; gives up with one clear line."""

    def __init__(self, server: str, *, attempts: int, initial_wait: float, max_wait: float = 10.0) -> None:
        self.server = server
        self.attempts = attempts
        self._policy = transient_retry(
            classify, attempts=attempts, initial_wait=initial_wait, max_wait=max_wait
        )

    def __call__(self, call: Callable[[], T]) -> T:
        try:
            return self._policy(call)()
        except TransientAnswer as exc:
            raise TravelError(
                f"{self.server} still answered {exc.status} after {self.attempts} attempts"
            ) from None
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise TravelError(
                f"{self.server} could not be reached after {self.attempts} attempts ({type(exc).__name__})"
            ) from None
