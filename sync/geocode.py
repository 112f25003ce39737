"""Placing accounts the CRM gave no coordinates: offline ZIP-centroid geocoding, pluggable.

A postal-code centroid is good enough to balance a territory and rough out a
route (it is marked approximate); a precise geocoder for street addresses can
be plugged in through the `Geocoder` protocol.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Protocol

Point = tuple[float, float]


class Geocoder(Protocol):
    def locate(self, postal_code: str | None, country: str | None = None) -> Point | None:
        """(lat, lon) for a postal code, or None when it cannot be placed."""
        ...


_US_ZIP = re.compile(r"^\s*(\d{5})(?:-\d{4})?\s*$")
_US_NAMES = {None, "", "US", "USA", "UNITED STATES", "UNITED STATES OF AMERICA"}


@lru_cache(maxsize=1)
def _zip_centroids() -> dict[str, Point]:
    import zipcodes  # loads a ~40k-row table: only when a record actually needs it

    table: dict[str, Point] = {}
    for row in zipcodes.list_all():
        try:
            table[row["zip_code"]] = (float(row["lat"]), float(row["long"]))
        except (KeyError, TypeError, ValueError):
            continue
    return table


class ZipCentroidGeocoder:
    """US ZIP (ZIP+4 accepted) to its centroid, from the `zipcodes` package's bundled table."""

    def locate(self, postal_code: str | None, country: str | None = None) -> Point | None:
        if postal_code is None:
            return None
        if (country or "").strip().upper() not in _US_NAMES:
            return None
        m = _US_ZIP.match(postal_code)
        if not m:
            return None
        return _zip_centroids().get(m.group(1))
