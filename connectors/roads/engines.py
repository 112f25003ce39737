"""Choosing a road engine by name: the one function the daemon calls to get its travel matrix.

    travel = open_travel(RoutingConfig(engine=RoutingEngine.VALHALLA_LOCAL, tiles=Path("tiles")))

`haversine` (the default) is great-circle km × circuity at a set speed, the
planner's own model, answered here too so that every engine reports the same
way (it never flags a pair); `valhalla-local` routes in-process over tiles
(`VALHALLA_TILES`); `valhalla` and `osrm` ask the servers users already run
(`ROUTING_URL`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from connectors.roads.engine import DEFAULT_MAX_SNAP_M, RoadTravel
from connectors.roads.matrix import BlockLimit, Fallback, RoutedBlock, great_circle_km
from connectors.roads.osrm import DEFAULT_MAX_TABLE_SIZE, OSRMTravel
from connectors.roads.valhalla import DEFAULT_MAX_PAIRS
from connectors.roads.valhalla_http import ValhallaHTTP
from connectors.roads.valhalla_local import DEFAULT_LOCAL_MAX_PAIRS, LocalValhalla


class RoutingEngine(enum.StrEnum):
    HAVERSINE = "haversine"
    VALHALLA_LOCAL = "valhalla-local"
    VALHALLA = "valhalla"
    OSRM = "osrm"


DEFAULT_PROFILE = {
    RoutingEngine.HAVERSINE: "great-circle",
    RoutingEngine.VALHALLA_LOCAL: "auto",
    RoutingEngine.VALHALLA: "auto",
    RoutingEngine.OSRM: "driving",
}


@dataclass(frozen=True, slots=True)
class RoutingConfig:
    """Which engine, where, and how unroutable pairs are costed."""

    engine: RoutingEngine = RoutingEngine.HAVERSINE
    url: str | None = None  # the valhalla and osrm servers
    tiles: Path | None = None  # valhalla-local
    profile: str | None = None  # Valhalla costing (auto, truck, ...) or OSRM profile; None: default
    speed_kmh: float = 50.0  # haversine, and the fallback of unroutable pairs
    circuity: float = 1.3
    fallback_penalty: float = 2.0
    max_snap_m: float = DEFAULT_MAX_SNAP_M
    max_block: int | None = None  # Valhalla: pairs a request; OSRM: its --max-table-size; None: default

    @property
    def fallback(self) -> Fallback:
        return Fallback(speed_kmh=self.speed_kmh, circuity=self.circuity, penalty=self.fallback_penalty)


class GreatCircleTravel(RoadTravel):
    """Great-circle km × circuity at a constant speed: every pair has a 'route', none is flagged."""

    engine = RoutingEngine.HAVERSINE.value

    def __init__(self, speed_kmh: float = 50.0, circuity: float = 1.3) -> None:
        if speed_kmh <= 0 or circuity < 1.0:
            raise ValueError("speed_kmh must be > 0 and circuity >= 1")
        super().__init__(profile=DEFAULT_PROFILE[RoutingEngine.HAVERSINE], limit=BlockLimit())
        self.speed_kmh = speed_kmh
        self.circuity = circuity

    def __repr__(self) -> str:
        return f"GreatCircleTravel(speed_kmh={self.speed_kmh}, circuity={self.circuity})"

    @property
    def data_version(self) -> str:
        return f"{self.speed_kmh:g}kmh-x{self.circuity:g}"

    def _route_block(self, origins: NDArray[np.float64], destinations: NDArray[np.float64]) -> RoutedBlock:
        km = great_circle_km(origins, destinations) * self.circuity
        return RoutedBlock(
            km / self.speed_kmh * 60.0, km, np.zeros(len(origins), bool), np.zeros(len(destinations), bool)
        )


def open_travel(config: RoutingConfig) -> RoadTravel:
    """The travel matrix `config` names; raises ValueError when a setting it needs is missing."""
    profile = config.profile or DEFAULT_PROFILE[config.engine]
    fallback, snap = config.fallback, config.max_snap_m
    if config.engine is RoutingEngine.HAVERSINE:
        return GreatCircleTravel(config.speed_kmh, config.circuity)
    if config.engine is RoutingEngine.VALHALLA_LOCAL:
        if config.tiles is None:
            raise ValueError("the valhalla-local engine needs a tiles directory (VALHALLA_TILES)")
        pairs = config.max_block or DEFAULT_LOCAL_MAX_PAIRS
        return LocalValhalla(
            config.tiles, costing=profile, max_pairs=pairs, fallback=fallback, max_snap_m=snap
        )
    if config.url is None:
        raise ValueError(f"the {config.engine} engine needs the server's URL (ROUTING_URL)")
    if config.engine is RoutingEngine.VALHALLA:
        pairs = config.max_block or DEFAULT_MAX_PAIRS
        return ValhallaHTTP(config.url, costing=profile, max_pairs=pairs, fallback=fallback, max_snap_m=snap)
    size = config.max_block or DEFAULT_MAX_TABLE_SIZE
    return OSRMTravel(config.url, profile=profile, max_table_size=size, fallback=fallback, max_snap_m=snap)
