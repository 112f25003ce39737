"""Moved to `connectors.roads.osrm`; this name stays until the daemon imports the new package."""

from connectors.roads.matrix import TravelError
from connectors.roads.osrm import OSRMTravel

__all__ = ["OSRMTravel", "TravelError"]
