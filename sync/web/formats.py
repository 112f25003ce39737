"""Numbers as the pages show them, whatever a CRM sent: an absurd value reads as such, never a 500."""

from __future__ import annotations

import math


def money(value: float | None) -> str:
    """$1.2M, $830k, $95: a non-finite or astronomically large amount says so instead."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if abs(value) >= 1e12:
        return "over $1T"
    for scale, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"${value / scale:.1f}{unit}"
    return f"${value:.0f}"


def number(value: float | None, fmt: str = ".0f") -> str:
    if value is None or not math.isfinite(value):
        return "–"
    if abs(value) >= 1e15:
        return "huge"
    return format(value, fmt)


def share(part: int, whole: int) -> str:
    """`part` of `whole` as a percentage with one decimal, from the same two numbers shown beside it."""
    return "–" if whole <= 0 else f"{100 * part / whole:.1f} %"
