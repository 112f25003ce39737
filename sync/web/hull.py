"""Convex hulls of point sets: a territory drawn as the shape around its accounts."""

from __future__ import annotations

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
