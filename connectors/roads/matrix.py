"""What every road engine shares: points, tables, the fallback for unroutable pairs, blocks, reports.

A `RoadTravel` answers the planner's `TravelMatrix` protocol (`durations` in
minutes, `distances` in km, for `(n, 2)` arrays of (lat, lon)) structurally,
without importing `planner/`. An engine only says how to route one block of
origins × destinations under its server's limits (`_route_block`); this base
class splits a matrix into such blocks, stitches them together, keeps the last
table (so `durations()` then `distances()` of the same points costs one pass)
and turns the pairs the engine could not route into data:

- a pair with no route gets a *flagged fallback*, great-circle km × the
  fallback's circuity × its penalty, driven at the fallback's speed, so a plan
  still has a finite cost for it and a report can say it was never driven;
- a point with no drivable road within `max_snap_m` is *unsnapped*: all its
  pairs are flagged (a point 150 km outside the tiles must not be snapped to
  the nearest road of the extract);
- `unreachable` describes the last table by point index, and `issues()` lists
  every point flagged since the engine was opened (or since `clear_issues()`),
  by coordinates, so the daemon can name the accounts behind them.

`key` (engine, profile, data version) is what a matrix cache stores beside
each pair: a rebuilt tile set has a new data version, so its cached pairs no
longer match.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

EARTH_RADIUS_KM = 6371.0088

Point = tuple[float, float]  # (lat, lon) degrees


class TravelError(RuntimeError):
    """A road engine refused a request or could not be reached; the message names the engine."""


def as_points(points: ArrayLike) -> NDArray[np.float64]:
    """An `(n, 2)` float array of finite (lat, lon); a single pair becomes `(1, 2)`."""
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim == 1 and arr.shape[0] == 2:
        arr = arr.reshape(1, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2) of (lat, lon); got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("points must be finite (lat, lon) pairs")
    if np.any(np.abs(arr[:, 0]) > 90.0) or np.any(np.abs(arr[:, 1]) > 180.0):
        raise ValueError("points must be (lat, lon) in degrees: |lat| <= 90, |lon| <= 180")
    return arr


def great_circle_km(origins: ArrayLike, destinations: ArrayLike) -> NDArray[np.float64]:
    """Pairwise haversine distances in km."""
    a = np.radians(as_points(origins))
    b = np.radians(as_points(destinations))
    lat1, lat2 = a[:, 0:1], b[:, 0][None, :]
    dlat = lat2 - lat1
    dlon = b[:, 1][None, :] - a[:, 1:2]
    h = np.sin(dlat / 2.0) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(dlon / 2.0) ** 2
    return np.asarray(2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))))


def grid(rows: object, n: int, m: int) -> NDArray[np.float64]:
    """An n × m JSON table (lists of numbers, `null` where no route) as floats with NaN."""
    if not isinstance(rows, list) or len(rows) != n:
        raise ValueError(f"no {n}x{m} table in the answer")
    cells: list[list[float]] = []
    for row in rows:
        if not isinstance(row, list) or len(row) != m:
            raise ValueError(f"no {n}x{m} table in the answer")
        cells.append([np.nan if v is None else float(v) for v in row])
    return np.array(cells, dtype=np.float64).reshape(n, m)


def decode_polyline6(encoded: str) -> list[Point]:
    """(lat, lon) points of a polyline encoded at 1e-6 precision (Valhalla's route `shape`)."""
    points: list[Point] = []
    index = lat = lon = 0
    while index < len(encoded):
        deltas = []
        for _ in range(2):
            shift = result = 0
            while True:
                byte = ord(encoded[index]) - 63
                index += 1
                result |= (byte & 0x1F) << shift
                shift += 5
                if byte < 0x20:
                    break
            deltas.append(~(result >> 1) if result & 1 else result >> 1)
        lat, lon = lat + deltas[0], lon + deltas[1]
        points.append((lat / 1e6, lon / 1e6))
    return points


@dataclass(frozen=True, slots=True)
class Fallback:
    """The cost given to a pair no road connects: the straight-line model, made dearer by `penalty`."""

    speed_kmh: float = 50.0
    circuity: float = 1.3
    penalty: float = 2.0  # so a plan avoids such pairs when it can, yet stays finite when it cannot

    def __post_init__(self) -> None:
        if self.speed_kmh <= 0 or self.circuity < 1.0 or self.penalty < 1.0:
            raise ValueError("fallback needs speed_kmh > 0, circuity >= 1 and penalty >= 1")

    def km(self, origins: NDArray[np.float64], destinations: NDArray[np.float64]) -> NDArray[np.float64]:
        return great_circle_km(origins, destinations) * self.circuity * self.penalty

    def minutes(self, km: NDArray[np.float64]) -> NDArray[np.float64]:
        return km / self.speed_kmh * 60.0


@dataclass(frozen=True, slots=True)
class TravelKey:
    """What a cached pair was computed with: a different engine, profile or data version misses."""

    engine: str
    profile: str
    data_version: str


@dataclass(frozen=True, slots=True)
class Unreachable:
    """The flagged part of one table, by point index."""

    pairs: int  # flagged (origin, destination) pairs, whatever the cause
    origins: tuple[int, ...]  # snapped origins a missing route is blamed on (see `RoadTable.blamed`)
    destinations: tuple[int, ...]  # snapped destinations a missing route is blamed on
    unsnapped_origins: tuple[int, ...]  # no drivable road within the snap distance
    unsnapped_destinations: tuple[int, ...]

    def __bool__(self) -> bool:
        return self.pairs > 0


def _indices(mask: NDArray[np.bool_]) -> tuple[int, ...]:
    return tuple(int(i) for i in np.flatnonzero(mask))


@dataclass(frozen=True)
class RoadTable:
    """Minutes and km between every origin and destination; `flagged` marks fallback pairs."""

    minutes: NDArray[np.float64]
    km: NDArray[np.float64]
    flagged: NDArray[np.bool_]
    unsnapped_origins: NDArray[np.bool_]
    unsnapped_destinations: NDArray[np.bool_]

    @property
    def no_route(self) -> NDArray[np.bool_]:
        """Flagged pairs between two points on the road network: the network has no path."""
        snapped = ~self.unsnapped_origins[:, None] & ~self.unsnapped_destinations[None, :]
        return np.asarray(self.flagged & snapped)

    def blamed(self) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        """(origins, destinations) a missing route is laid at: the end whose row or column misses more.

        A point no car can leave misses its whole row, and the destinations it
        fails to reach are not at fault; a point nothing reaches misses its
        whole column. Where the shares tie, both ends are named.
        """
        no_route = self.no_route
        snapped = ~self.unsnapped_origins[:, None] & ~self.unsnapped_destinations[None, :]
        out_share = no_route.sum(axis=1) / np.maximum(snapped.sum(axis=1), 1)
        in_share = no_route.sum(axis=0) / np.maximum(snapped.sum(axis=0), 1)
        blame_origin = no_route & (out_share[:, None] >= in_share[None, :])
        blame_destination = no_route & (in_share[None, :] >= out_share[:, None])
        return blame_origin.any(axis=1), blame_destination.any(axis=0)

    @property
    def unreachable(self) -> Unreachable:
        origins, destinations = self.blamed()
        return Unreachable(
            pairs=int(self.flagged.sum()),
            origins=_indices(origins),
            destinations=_indices(destinations),
            unsnapped_origins=_indices(self.unsnapped_origins),
            unsnapped_destinations=_indices(self.unsnapped_destinations),
        )


class IssueKind(enum.StrEnum):
    NO_ROAD_NEARBY = "no_road_nearby"  # unsnapped: every pair of the point is a fallback
    NO_ROUTE = "no_route"  # on the road network, but some pairs have no route (one-way, closed streets)


def record_point_issues(
    issues: dict[Point, IssueKind], src: NDArray[np.float64], dst: NDArray[np.float64], table: RoadTable
) -> None:
    """Add what `table` found unroutable to `issues`, by point; the worst kind of a point is kept."""
    found = table.unreachable
    for points, indices, kind in (
        (src, found.unsnapped_origins, IssueKind.NO_ROAD_NEARBY),
        (dst, found.unsnapped_destinations, IssueKind.NO_ROAD_NEARBY),
        (src, found.origins, IssueKind.NO_ROUTE),
        (dst, found.destinations, IssueKind.NO_ROUTE),
    ):
        for i in indices:
            at = (float(points[i, 0]), float(points[i, 1]))
            # A point with no road nearby stays reported as such, whatever else is learnt of it.
            if issues.get(at) is not IssueKind.NO_ROAD_NEARBY:
                issues[at] = kind


@dataclass(frozen=True, slots=True)
class PointIssue:
    lat: float
    lon: float
    kind: IssueKind


@dataclass(frozen=True, slots=True)
class RoutedBlock:
    """What an engine answers for one block: NaN where it found no route, plus unsnapped points."""

    minutes: NDArray[np.float64]
    km: NDArray[np.float64]
    unsnapped_origins: NDArray[np.bool_]
    unsnapped_destinations: NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class BlockLimit:
    """How big one request may be: OSRM counts locations, Valhalla counts pairs."""

    max_locations: int | None = None  # origins + destinations of one request
    max_pairs: int | None = None  # origins × destinations of one request

    def __post_init__(self) -> None:
        if self.max_locations is not None and self.max_locations < 2:
            raise ValueError("max_locations must be at least 2 (one origin, one destination)")
        if self.max_pairs is not None and self.max_pairs < 1:
            raise ValueError("max_pairs must be at least 1")

    def shape(self, n: int, m: int, *, same_points: bool = False) -> tuple[int, int]:
        """The largest (origins, destinations) block of an n × m matrix one request may carry."""
        rows, cols = max(n, 1), max(m, 1)
        if self.max_locations is not None and not (same_points and n <= self.max_locations):
            # Identical origins and destinations that fit are sent once, as one set of locations.
            limit = self.max_locations
            rows, cols = _fewest_requests(rows, cols, lambda c: limit - c, limit - 1)
        if self.max_pairs is not None:
            pairs = self.max_pairs
            rows, cols = _fewest_requests(rows, cols, lambda c: pairs // c, pairs)
        return rows, cols


def _fewest_requests(n: int, m: int, rows_beside: Callable[[int], int], widest: int) -> tuple[int, int]:
    """The (rows, cols) block that covers n × m in the fewest requests; `rows_beside(cols)` is the limit."""
    best = (n, m)
    fewest: int | None = None
    for cols in range(1, min(m, widest) + 1):
        rows = min(n, rows_beside(cols))
        if rows < 1:
            break
        count = math.ceil(n / rows) * math.ceil(m / cols)
        if fewest is None or count < fewest:
            best, fewest = (rows, cols), count
    return best
