"""`OSRMTravel`: an OSRM server's `/table/v1/{profile}/` service, as a travel matrix.

`osrm-routed --max-table-size N` (100 by default) refuses a table of more
than N² origin × destination pairs ("TooBig"), so a large matrix is fetched in
blocks of at most `max_table_size`² pairs and 2 × `max_table_size` coordinates
(they travel in the URL; identical origins and destinations are sent once).
Each block asks for durations and distances at once. OSRM's own
`fallback_speed` is not used: unroutable pairs get the same flagged fallback
as on every engine. OSRM snaps every point to its nearest road however far away it is, so a
point whose snap is farther than `max_snap_m` is treated as having no road
nearby. The data version is the table's `data_version` (set by
`osrm-extract --data_version`), or the one given, or `unversioned`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import numpy as np
from numpy.typing import ArrayLike, NDArray

from connectors.roads.engine import RoadTravel
from connectors.roads.http import Retrying, json_body, raise_if_transient, server_name
from connectors.roads.matrix import (
    BlockLimit,
    Fallback,
    Point,
    RoutedBlock,
    TravelError,
    as_points,
    decode_polyline6,
    grid,
)

UNVERSIONED = "unversioned"
DEFAULT_MAX_TABLE_SIZE = 100  # osrm-routed --max-table-size by default


class OSRMTravel(RoadTravel):
    """Drive minutes and km from an OSRM table service at `base_url`."""

    engine = "osrm"

    def __init__(
        self,
        base_url: str,
        *,
        profile: str = "driving",
        max_table_size: int = DEFAULT_MAX_TABLE_SIZE,
        fallback: Fallback | None = None,
        max_snap_m: float = 2_000.0,
        data_version: str | None = None,
        timeout: float = 30.0,
        attempts: int = 5,
        initial_wait: float = 0.25,
        client: httpx.Client | None = None,
    ) -> None:
        super().__init__(
            profile=profile,
            limit=BlockLimit(max_pairs=max_table_size**2, max_locations=2 * max_table_size),
            fallback=fallback,
            max_snap_m=max_snap_m,
        )
        self.base_url = base_url.rstrip("/")
        self._server = server_name("OSRM", self.base_url)
        self._client = client or httpx.Client(timeout=timeout)
        self._owns_client = client is None
        self._retrying = Retrying(self._server, attempts=attempts, initial_wait=initial_wait)
        self._given_version = data_version
        self._seen_version: str | None = None
        self.requests = 0

    def __repr__(self) -> str:
        return f"OSRMTravel({self._server!r}, profile={self.profile!r})"

    @property
    def data_version(self) -> str:
        """The version given, else the one the last table reported, else `unversioned`."""
        return self._given_version or self._seen_version or UNVERSIONED

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def _route_block(self, origins: NDArray[np.float64], destinations: NDArray[np.float64]) -> RoutedBlock:
        points, index = np.unique(np.vstack([origins, destinations]), axis=0, return_inverse=True)
        index = index.reshape(-1)
        src, dst = index[: len(origins)], index[len(origins) :]
        if len(points) == 1:  # OSRM wants two coordinates at least: a point to itself is sent twice
            points = np.vstack([points, points])
        coordinates = ";".join(f"{lon:.6f},{lat:.6f}" for lat, lon in points.tolist())
        params = {
            "sources": ";".join(str(i) for i in src),
            "destinations": ";".join(str(j) for j in dst),
            "annotations": "duration,distance",
        }
        url = f"{self.base_url}/table/v1/{self.profile}/{coordinates}"
        body = self._retrying(lambda: self._get(url, params))
        n, m = len(origins), len(destinations)
        try:
            seconds, metres = grid(body.get("durations"), n, m), grid(body.get("distances"), n, m)
        except ValueError as exc:
            raise TravelError(f"{self._server} answered the table request oddly: {exc}") from None
        version = body.get("data_version")
        if isinstance(version, str) and version:
            self._seen_version = version
        return RoutedBlock(
            minutes=seconds / 60.0,
            km=metres / 1000.0,
            unsnapped_origins=self._far_snaps(body.get("sources"), n),
            unsnapped_destinations=self._far_snaps(body.get("destinations"), m),
        )

    def route_shape(self, stops: ArrayLike) -> tuple[Point, ...] | None:
        """The road geometry of a drive through `stops` in order (OSRM's `route`), None if none."""
        points = as_points(stops)
        if len(points) < 2:
            return None
        coordinates = ";".join(f"{lon:.6f},{lat:.6f}" for lat, lon in points.tolist())
        url = f"{self.base_url}/route/v1/{self.profile}/{coordinates}"
        try:
            body = self._retrying(lambda: self._get(url, {"overview": "full", "geometries": "polyline6"}))
            if self._far_snaps(body.get("waypoints"), len(points)).any():
                return None  # OSRM snaps anything to some road: a stop that far off has no drive
        except TravelError:
            return None  # no route: the map draws straight legs
        routes = body.get("routes")
        first = routes[0] if isinstance(routes, list) and routes else None
        geometry = first.get("geometry") if isinstance(first, Mapping) else None
        if not isinstance(geometry, str) or not geometry:
            return None
        return tuple(decode_polyline6(geometry))

    def _far_snaps(self, waypoints: object, count: int) -> NDArray[np.bool_]:
        """Which waypoints OSRM snapped farther than `max_snap_m` from where they were asked."""
        if not isinstance(waypoints, list) or len(waypoints) != count:
            raise TravelError(f"{self._server} answered a table without its {count} waypoints")
        snaps = [w.get("distance") if isinstance(w, Mapping) else None for w in waypoints]
        return np.array([d is None or float(d) > self.max_snap_m for d in snaps], dtype=bool)

    def _get(self, url: str, params: dict[str, str]) -> dict[str, Any]:
        self.requests += 1
        response = self._client.get(url, params=params)
        raise_if_transient(response)
        body = json_body(response, self._server)
        if response.status_code != 200 or not isinstance(body, dict) or body.get("code") != "Ok":
            code = body.get("code", response.status_code) if isinstance(body, dict) else response.status_code
            message = body.get("message", "") if isinstance(body, dict) else ""
            raise TravelError(f"{self._server} refused the table request: {code}: {message}".rstrip(": "))
        return body
