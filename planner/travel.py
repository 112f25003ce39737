"""Travel between points: the `TravelMatrix` protocol and the default haversine provider.

Points are `(n, 2)` arrays of (latitude, longitude) in degrees. A real-roads
provider (the OSRM table client in `connectors/`) satisfies the same protocol
structurally, without importing this module.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

EARTH_RADIUS_KM = 6371.0088


@runtime_checkable
class TravelMatrix(Protocol):
    def durations(self, origins: ArrayLike, destinations: ArrayLike) -> NDArray[np.float64]:
        """Driving minutes, shape (len(origins), len(destinations))."""
        ...

    def distances(self, origins: ArrayLike, destinations: ArrayLike) -> NDArray[np.float64]:
        """Driving kilometres, shape (len(origins), len(destinations))."""
        ...


def as_points(points: ArrayLike) -> NDArray[np.float64]:
    """Coerce to a float `(n, 2)` array of (lat, lon) degrees."""
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim == 1 and arr.shape[0] == 2:
        arr = arr.reshape(1, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2) of (lat, lon); got {arr.shape}")
    return arr


def great_circle_km(origins: ArrayLike, destinations: ArrayLike) -> NDArray[np.float64]:
    """Pairwise haversine distances in km, vectorised over both point sets."""
    a = np.radians(as_points(origins))
    b = np.radians(as_points(destinations))
    lat1 = a[:, 0:1]
    lat2 = b[:, 0][None, :]
    dlat = lat2 - lat1
    dlon = b[:, 1][None, :] - a[:, 1:2]
    h = np.sin(dlat / 2.0) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(dlon / 2.0) ** 2
    return np.asarray(2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))))


class HaversineTravel:
    """Great-circle distance × a circuity factor, driven at a constant speed.

    Good enough to balance and route within a metro; use an OSRM table for
    real road times where rivers, mountains or ferries matter.
    """

    def __init__(self, speed_kmh: float = 50.0, circuity: float = 1.3) -> None:
        if speed_kmh <= 0 or circuity < 1.0:
            raise ValueError("speed_kmh must be > 0 and circuity >= 1")
        self.speed_kmh = speed_kmh
        self.circuity = circuity

    def distances(self, origins: ArrayLike, destinations: ArrayLike) -> NDArray[np.float64]:
        return great_circle_km(origins, destinations) * self.circuity

    def durations(self, origins: ArrayLike, destinations: ArrayLike) -> NDArray[np.float64]:
        return self.distances(origins, destinations) / self.speed_kmh * 60.0

    def __repr__(self) -> str:
        return f"HaversineTravel(speed_kmh={self.speed_kmh}, circuity={self.circuity})"
