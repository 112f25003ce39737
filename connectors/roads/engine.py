"""`RoadTravel`: the planner's `TravelMatrix` over any road engine (see `connectors/roads/matrix.py`)."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
from numpy.typing import ArrayLike, NDArray

from connectors.roads.matrix import (
    BlockLimit,
    Fallback,
    IssueKind,
    Point,
    PointIssue,
    RoadTable,
    RoutedBlock,
    TravelKey,
    Unreachable,
    as_points,
    record_point_issues,
)

DEFAULT_MAX_SNAP_M = 2_000.0


class RoadTravel(ABC):
    """Minutes and km by road; subclasses route one block under their server's limits."""

    engine: str = ""

    def __init__(
        self,
        *,
        profile: str,
        limit: BlockLimit,
        fallback: Fallback | None = None,
        max_snap_m: float = DEFAULT_MAX_SNAP_M,
    ) -> None:
        if max_snap_m <= 0:
            raise ValueError("max_snap_m must be positive")
        self.profile = profile
        self.limit = limit
        self.fallback = fallback or Fallback()
        self.max_snap_m = max_snap_m
        self._last: tuple[bytes, bytes, RoadTable] | None = None
        self._issues: dict[Point, IssueKind] = {}

    # ------------------------------------------------------------------ what subclasses say

    @property
    @abstractmethod
    def data_version(self) -> str:
        """Names the road data the engine answers from; it changes when the data is rebuilt."""

    @abstractmethod
    def _route_block(self, origins: NDArray[np.float64], destinations: NDArray[np.float64]) -> RoutedBlock:
        """Route one block that fits `self.limit`: NaN where there is no route."""

    def close(self) -> None:  # noqa: B027 (engines without connections have nothing to release)
        """Release connections or the embedded router."""

    def route_shape(self, stops: ArrayLike) -> tuple[Point, ...] | None:
        """The road geometry of a drive through `stops` in order; None where the engine gives none."""
        return None

    # ------------------------------------------------------------------ TravelMatrix

    def durations(self, origins: ArrayLike, destinations: ArrayLike) -> NDArray[np.float64]:
        """Driving minutes, shape (len(origins), len(destinations)); fallback pairs are flagged."""
        return self.table(origins, destinations).minutes

    def distances(self, origins: ArrayLike, destinations: ArrayLike) -> NDArray[np.float64]:
        """Driving km, shape (len(origins), len(destinations)); fallback pairs are flagged."""
        return self.table(origins, destinations).km

    # ------------------------------------------------------------------ the table and its report

    @property
    def key(self) -> TravelKey:
        return TravelKey(self.engine, self.profile, self.data_version)

    @property
    def unreachable(self) -> Unreachable:
        """The flagged pairs and points of the last table (empty before the first)."""
        if self._last is None:
            return Unreachable(0, (), (), (), ())
        return self._last[2].unreachable

    def issues(self) -> tuple[PointIssue, ...]:
        """Every point flagged since the engine was opened (or since `clear_issues`), worst kind kept."""
        return tuple(PointIssue(lat, lon, kind) for (lat, lon), kind in sorted(self._issues.items()))

    def clear_issues(self) -> None:
        self._issues.clear()

    def table(self, origins: ArrayLike, destinations: ArrayLike) -> RoadTable:
        src, dst = as_points(origins), as_points(destinations)
        key = (src.tobytes(), dst.tobytes())
        if self._last is not None and self._last[:2] == key:
            return self._last[2]
        routed = self._route_all(src, dst)
        result = self._with_fallback(src, dst, routed)
        self._record_issues(src, dst, result)
        self._last = (key[0], key[1], result)
        return result

    def _route_all(self, src: NDArray[np.float64], dst: NDArray[np.float64]) -> RoutedBlock:
        n, m = len(src), len(dst)
        minutes = np.full((n, m), np.nan)
        km = np.full((n, m), np.nan)
        lost_src = np.zeros(n, dtype=bool)
        lost_dst = np.zeros(m, dtype=bool)
        if n == 0 or m == 0:
            return RoutedBlock(minutes, km, lost_src, lost_dst)
        rows, cols = self.limit.shape(n, m, same_points=np.array_equal(src, dst))
        for i in range(0, n, rows):
            for j in range(0, m, cols):
                part = self._route_block(src[i : i + rows], dst[j : j + cols])
                minutes[i : i + rows, j : j + cols] = part.minutes
                km[i : i + rows, j : j + cols] = part.km
                lost_src[i : i + rows] |= part.unsnapped_origins
                lost_dst[j : j + cols] |= part.unsnapped_destinations
        return RoutedBlock(minutes, km, lost_src, lost_dst)

    def _with_fallback(
        self, src: NDArray[np.float64], dst: NDArray[np.float64], routed: RoutedBlock
    ) -> RoadTable:
        minutes, km = routed.minutes.copy(), routed.km.copy()
        minutes[routed.unsnapped_origins, :] = np.nan
        minutes[:, routed.unsnapped_destinations] = np.nan
        same_place = np.all(src[:, None, :] == dst[None, :, :], axis=2)
        missing = ~np.isfinite(minutes) | ~np.isfinite(km)
        # A point is where it is, road or no road: staying put costs nothing and is not flagged.
        minutes[missing & same_place] = 0.0
        km[missing & same_place] = 0.0
        flagged = missing & ~same_place
        if flagged.any():
            fallback_km = self.fallback.km(src, dst)
            km[flagged] = fallback_km[flagged]
            minutes[flagged] = self.fallback.minutes(fallback_km)[flagged]
        return RoadTable(minutes, km, flagged, routed.unsnapped_origins, routed.unsnapped_destinations)

    def _record_issues(self, src: NDArray[np.float64], dst: NDArray[np.float64], table: RoadTable) -> None:
        record_point_issues(self._issues, src, dst, table)
