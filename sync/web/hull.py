"""Convex hulls of point sets: a territory drawn as the shape around its accounts."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

Point = tuple[float, float]


def convex_hull(points: Sequence[Point]) -> list[Point]:
    """Andrew's monotone chain: the hull's corners in order (fewer than 3 points: none, no shape)."""
    unique = sorted(set(points))
    if len(unique) < 3:
        return []

    def cross(o: Point, a: Point, b: Point) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    def half(ordered: Sequence[Point]) -> list[Point]:
        chain: list[Point] = []
        for p in ordered:
            while len(chain) >= 2 and cross(chain[-2], chain[-1], p) <= 0:
                chain.pop()
            chain.append(p)
        return chain

    lower, upper = half(unique), half(unique[::-1])
    hull = lower[:-1] + upper[:-1]
    return hull if len(hull) >= 3 else []  # collinear points enclose no area


def core_points(points: Sequence[Point], *, spread: float = 3.0) -> list[Point]:
    """The points within `spread` times the median distance from the median point (lat, lon).

    One far-flung account would stretch a territory's hull across a continent; it stays a dot.
    """
    if len(points) < 4:
        return list(points)
    lat = statistics.median(p[0] for p in points)
    lon = statistics.median(p[1] for p in points)
    scale = math.cos(math.radians(lat))

    def far(p: Point) -> float:
        return math.hypot(p[0] - lat, (p[1] - lon) * scale)

    limit = spread * statistics.median(far(p) for p in points) + 0.05  # degrees; ~5 km slack
    return [p for p in points if far(p) <= limit]
