"""Valhalla's matrix (`sources_to_targets`), shared by the embedded router and the HTTP client.

Both speak the same JSON: a request of sources and targets, each with a
`search_cutoff` (metres) so a point far from every road is refused rather than
snapped to a road kilometres away; an answer in Valhalla's concise form
(`verbose: false`: `durations` in seconds and `distances` in km, `null` where
no route exists) or, from older servers, the verbose list of rows. One point
with no road within the cutoff makes Valhalla refuse the whole request (error
171); then `locate` finds which points those are, and the matrix is asked
again without them.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from connectors.roads.engine import RoadTravel
from connectors.roads.matrix import Point, RoutedBlock, TravelError, as_points, decode_polyline6, grid

NO_SUITABLE_EDGES = 171  # "No suitable edges near location"
NO_PATH = 442  # "No path could be found for input": a block in which no pair has a route
DEFAULT_MAX_PAIRS = 2_500  # valhalla_build_config's service_limits.auto.max_matrix_location_pairs
LOCATE_CHUNK = 20  # service_limits.<costing>.max_locations by default, which `locate` obeys
ROUTE_CHUNK = 20  # the same limit, for a route's locations


class ValhallaRefusal(Exception):
    """Valhalla answered a request with an error (`code` 0 when it gave none)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}" if code else message)
        self.code = code
        self.message = message


def locations(points: NDArray[np.float64], search_cutoff_m: float) -> list[dict[str, float]]:
    return [{"lat": lat, "lon": lon, "search_cutoff": search_cutoff_m} for lat, lon in points.tolist()]


def matrix_request(
    origins: NDArray[np.float64], destinations: NDArray[np.float64], costing: str, search_cutoff_m: float
) -> dict[str, Any]:
    return {
        "sources": locations(origins, search_cutoff_m),
        "targets": locations(destinations, search_cutoff_m),
        "costing": costing,
        "units": "kilometers",
        "verbose": False,
    }


def parse_matrix(body: Mapping[str, Any], n: int, m: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(minutes, km) of an n × m answer, NaN where Valhalla found no route."""
    table = body.get("sources_to_targets")
    if isinstance(table, Mapping):
        seconds = grid(table.get("durations"), n, m)
        km = grid(table.get("distances"), n, m)
    elif isinstance(table, list) and len(table) == n:
        rows: list[Any] = [row if isinstance(row, list) else [] for row in table]
        seconds = grid([[_cell(c, "time") for c in row] for row in rows], n, m)
        km = grid([[_cell(c, "distance") for c in row] for row in rows], n, m)
    else:
        raise ValueError(f"no {n}x{m} sources_to_targets in the answer")
    if body.get("units", "kilometers") not in ("kilometers", "km"):
        raise ValueError(f"distances are in {body.get('units')}, not kilometres")
    return seconds / 60.0, km


def _cell(cell: object, name: str) -> object:
    return cell.get(name) if isinstance(cell, Mapping) else None


def unlocated(answer: object, count: int) -> NDArray[np.bool_]:
    """Which of `count` locations a `locate` answer found no edge for."""
    if not isinstance(answer, list) or len(answer) != count:
        raise ValueError(f"no {count} locations in the locate answer")
    return np.array([not (isinstance(a, Mapping) and a.get("edges")) for a in answer], dtype=bool)


class ValhallaMatrix(RoadTravel):
    """A Valhalla matrix engine; subclasses send one action (`sources_to_targets`, `locate`)."""

    @property
    @abstractmethod
    def server(self) -> str:
        """Names the engine in errors (no credentials)."""

    @abstractmethod
    def _call(self, action: str, request: dict[str, Any]) -> Any:
        """Valhalla's parsed JSON answer to `action`; raises `ValhallaRefusal` when it refuses."""

    def _route_block(self, origins: NDArray[np.float64], destinations: NDArray[np.float64]) -> RoutedBlock:
        n, m = len(origins), len(destinations)
        try:
            return self._route_located(origins, destinations)
        except ValhallaRefusal as refusal:
            if refusal.code == NO_PATH:  # every pair unroutable: data, not an error
                return RoutedBlock(np.full((n, m), np.nan), np.full((n, m), np.nan), *_nobody(n, m))
            if refusal.code != NO_SUITABLE_EDGES:
                raise TravelError(f"{self.server} refused the matrix request: {refusal}") from None
        lost_src, lost_dst = self._unlocated(origins), self._unlocated(destinations)
        minutes, km = np.full((n, m), np.nan), np.full((n, m), np.nan)
        keep_src, keep_dst = np.flatnonzero(~lost_src), np.flatnonzero(~lost_dst)
        if len(keep_src) and len(keep_dst):
            try:
                inner = self._route_located(origins[keep_src], destinations[keep_dst])
                minutes[np.ix_(keep_src, keep_dst)] = inner.minutes
                km[np.ix_(keep_src, keep_dst)] = inner.km
            except ValhallaRefusal as refusal:
                if refusal.code != NO_PATH:  # no path among the located ones leaves them NaN
                    raise TravelError(f"{self.server} refused the matrix request: {refusal}") from None
        return RoutedBlock(minutes, km, lost_src, lost_dst)

    def _route_located(self, origins: NDArray[np.float64], destinations: NDArray[np.float64]) -> RoutedBlock:
        n, m = len(origins), len(destinations)
        request = matrix_request(origins, destinations, self.profile, self.max_snap_m)
        body = self._call("sources_to_targets", request)
        try:
            minutes, km = parse_matrix(body, n, m)
        except ValueError as exc:
            raise TravelError(f"{self.server} answered the matrix request oddly: {exc}") from None
        return RoutedBlock(minutes, km, np.zeros(n, dtype=bool), np.zeros(m, dtype=bool))

    def route_shape(self, stops: ArrayLike) -> tuple[Point, ...] | None:
        """The road geometry of a drive through `stops` in order (Valhalla's `route`), None if none."""
        points = as_points(stops)
        if len(points) < 2:
            return None
        shape: list[Point] = []
        # A route takes at most ROUTE_CHUNK locations: longer days are asked in overlapping parts.
        for start in range(0, len(points) - 1, ROUTE_CHUNK - 1):
            part = points[start : start + ROUTE_CHUNK]
            request = {
                "locations": locations(part, self.max_snap_m),
                "costing": self.profile,
                "directions_type": "none",
            }
            try:
                answer = self._call("route", request)
            except ValhallaRefusal:
                return None  # no route (or a stop off the roads): the map draws straight legs
            legs = answer.get("trip", {}).get("legs", []) if isinstance(answer, Mapping) else []
            for leg in legs:
                shape.extend(decode_polyline6(str(leg.get("shape", ""))))
        return tuple(shape) or None

    def _unlocated(self, points: NDArray[np.float64]) -> NDArray[np.bool_]:
        lost = np.zeros(len(points), dtype=bool)
        for i in range(0, len(points), LOCATE_CHUNK):
            chunk = points[i : i + LOCATE_CHUNK]
            request = {"locations": locations(chunk, self.max_snap_m), "costing": self.profile}
            try:
                lost[i : i + LOCATE_CHUNK] = unlocated(self._call("locate", request), len(chunk))
            except ValhallaRefusal as refusal:
                raise TravelError(f"{self.server} refused the locate request: {refusal}") from None
            except ValueError as exc:
                raise TravelError(f"{self.server} answered the locate request oddly: {exc}") from None
        return lost


def refusal_from(body: object, status: int) -> ValhallaRefusal:
    """The refusal an HTTP error body carries (`error_code`, `error`), or the bare status."""
    if isinstance(body, Mapping):
        code = body.get("error_code")
        return ValhallaRefusal(
            int(code) if isinstance(code, int) else 0, str(body.get("error") or f"HTTP {status}")
        )
    return ValhallaRefusal(0, f"HTTP {status}")


def refusal_code(message: str) -> int:
    """The error code of an embedded router's message (it raises with the text only)."""
    if "No suitable edges" in message:
        return NO_SUITABLE_EDGES
    return NO_PATH if "No path could be found" in message else 0


def _nobody(n: int, m: int) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    return np.zeros(n, dtype=bool), np.zeros(m, dtype=bool)
