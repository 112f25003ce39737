"""Road travel times from an OSRM-compatible `/table/v1/{profile}/` service, as a travel matrix.

`OSRMTravel(base_url)` answers `durations(origins, destinations)` (minutes)
and `distances(origins, destinations)` (kilometres) for `(n, 2)` arrays of
(latitude, longitude), which is the planner's `TravelMatrix` protocol,
satisfied structurally: this module never imports `planner/`.

OSRM refuses tables with more than `--max-table-size` locations (100 by
default), so a large matrix is fetched as blocks of at most `max_locations`
coordinates (half origins, half destinations) and stitched together. Each
block asks for durations and distances at once, and the last matrix is kept,
so `durations()` followed by `distances()` for the same points costs one pass.
Pairs OSRM cannot route (`null`) come back as `inf`. 429/5xx answers,
timeouts and connection errors are retried with backoff; any other failure
raises `TravelError` naming OSRM's `code` and `message`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import httpx
import numpy as np
from numpy.typing import ArrayLike, NDArray

from connectors.limits import RetryDecision, transient_retry

TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})


class TravelError(RuntimeError):
    """The travel-time service refused a request (bad coordinates, table too big, ...)."""


class TransientOSRMError(RuntimeError):
    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"OSRM answered {status}")
        self.status = status
        self.retry_after = retry_after


def classify(exc: BaseException) -> RetryDecision:
    if isinstance(exc, TransientOSRMError):
        return RetryDecision(transient=True, retry_after=exc.retry_after)
    if isinstance(exc, httpx.TimeoutException | httpx.TransportError):
        return RetryDecision(transient=True)
    return RetryDecision(transient=False)


def as_points(points: ArrayLike) -> NDArray[np.float64]:
    """An `(n, 2)` float array of (lat, lon); a single pair becomes `(1, 2)`."""
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim == 1 and arr.shape[0] == 2:
        arr = arr.reshape(1, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2) of (lat, lon); got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("points must be finite (lat, lon) pairs")
    return arr


@dataclass(frozen=True)
class TravelTable:
    """Minutes and kilometres between every origin and every destination."""

    minutes: NDArray[np.float64]
    km: NDArray[np.float64]


class OSRMTravel:
    """Driving times and distances from an OSRM table service (see the module docstring)."""

    def __init__(
        self,
        base_url: str,
        *,
        profile: str = "driving",
        max_locations: int = 100,
        timeout: float = 30.0,
        attempts: int = 5,
        initial_wait: float = 0.25,
        client: httpx.Client | None = None,
    ) -> None:
        if max_locations < 2:
            raise ValueError("max_locations must be at least 2 (one origin, one destination)")
        self.base_url = base_url.rstrip("/")
        self.profile = profile
        self.max_locations = max_locations
        self._client = client or httpx.Client(timeout=timeout)
        self._owns_client = client is None
        self._retry = transient_retry(classify, attempts=attempts, initial_wait=initial_wait)
        self._last: tuple[bytes, bytes, TravelTable] | None = None
        self.requests = 0

    def __repr__(self) -> str:
        return f"OSRMTravel({self.base_url!r}, profile={self.profile!r})"

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    # ------------------------------------------------------------------ TravelMatrix

    def durations(self, origins: ArrayLike, destinations: ArrayLike) -> NDArray[np.float64]:
        """Driving minutes, shape (len(origins), len(destinations))."""
        return self.table(origins, destinations).minutes

    def distances(self, origins: ArrayLike, destinations: ArrayLike) -> NDArray[np.float64]:
        """Driving kilometres, shape (len(origins), len(destinations))."""
        return self.table(origins, destinations).km

    # ------------------------------------------------------------------ the table

    def table(self, origins: ArrayLike, destinations: ArrayLike) -> TravelTable:
        src, dst = as_points(origins), as_points(destinations)
        key = (src.tobytes(), dst.tobytes())
        if self._last is not None and self._last[:2] == key:
            return self._last[2]
        minutes = np.empty((len(src), len(dst)), dtype=np.float64)
        km = np.empty_like(minutes)
        block = self.max_locations // 2
        # When there are few destinations, give the spare room to origins (and vice versa).
        dst_block = min(len(dst), block) if len(dst) else 1
        src_block = max(1, self.max_locations - dst_block)
        for i in range(0, len(src), src_block):
            for j in range(0, len(dst), dst_block):
                part = self._block(src[i : i + src_block], dst[j : j + dst_block])
                minutes[i : i + src_block, j : j + dst_block] = part.minutes
                km[i : i + src_block, j : j + dst_block] = part.km
        result = TravelTable(minutes, km)
        self._last = (key[0], key[1], result)
        return result

    def _block(self, src: NDArray[np.float64], dst: NDArray[np.float64]) -> TravelTable:
        points = np.vstack([src, dst])
        coordinates = ";".join(f"{lon:.6f},{lat:.6f}" for lat, lon in points.tolist())
        params = {
            "sources": ";".join(str(i) for i in range(len(src))),
            "destinations": ";".join(str(len(src) + j) for j in range(len(dst))),
            "annotations": "duration,distance",
        }
        url = f"{self.base_url}/table/v1/{self.profile}/{coordinates}"
        body = self._retry(lambda: self._get(url, params))()
        durations = _matrix(body.get("durations"), len(src), len(dst), "durations")
        distances = _matrix(body.get("distances"), len(src), len(dst), "distances")
        return TravelTable(minutes=durations / 60.0, km=distances / 1000.0)

    def _get(self, url: str, params: dict[str, str]) -> dict[str, object]:
        self.requests += 1
        response = self._client.get(url, params=params)
        if response.status_code in TRANSIENT_STATUS:
            hint = response.headers.get("Retry-After")
            raise TransientOSRMError(response.status_code, float(hint) if hint and hint.isdigit() else None)
        try:
            body = response.json()
        except ValueError:
            raise TravelError(f"OSRM answered {response.status_code} without JSON") from None
        if response.status_code != 200 or body.get("code") != "Ok":
            raise TravelError(
                f"OSRM refused the table request: {body.get('code', response.status_code)}: "
                f"{body.get('message', '')}".rstrip(": ")
            )
        return dict(body)


def _matrix(rows: object, n: int, m: int, name: str) -> NDArray[np.float64]:
    if not isinstance(rows, list) or len(rows) != n:
        raise TravelError(f"OSRM answer has no {n}x{m} {name} table")
    out = np.array(
        [[math.inf if v is None else float(v) for v in row] for row in rows], dtype=np.float64
    ).reshape(n, m)
    return out
