"""Real roads: travel matrices from Valhalla (embedded or over HTTP) and OSRM, and tiles from extracts.

Every engine satisfies the planner's `TravelMatrix` protocol structurally and
reports the pairs it could not route (`RoadTravel.unreachable`, `issues()`);
`open_travel(RoutingConfig(...))` picks one by name. Imports nothing of
`planner/` or `sync/`.
"""

from connectors.roads.engine import RoadTravel
from connectors.roads.engines import GreatCircleTravel, RoutingConfig, RoutingEngine, open_travel
from connectors.roads.matrix import (
    Fallback,
    IssueKind,
    PointIssue,
    RoadTable,
    TravelError,
    TravelKey,
    Unreachable,
    great_circle_km,
)
from connectors.roads.osrm import OSRMTravel
from connectors.roads.tiles import (
    TilesError,
    TilesManifest,
    build_tiles,
    helsinki_extract,
    read_manifest,
    tiles_version,
)
from connectors.roads.valhalla_http import ValhallaHTTP
from connectors.roads.valhalla_local import LocalValhalla

__all__ = [
    "Fallback",
    "GreatCircleTravel",
    "IssueKind",
    "LocalValhalla",
    "OSRMTravel",
    "PointIssue",
    "RoadTable",
    "RoadTravel",
    "RoutingConfig",
    "RoutingEngine",
    "TilesError",
    "TilesManifest",
    "TravelError",
    "TravelKey",
    "Unreachable",
    "ValhallaHTTP",
    "build_tiles",
    "great_circle_km",
    "helsinki_extract",
    "open_travel",
    "read_manifest",
    "tiles_version",
]
