"""What a number from a CRM or a spreadsheet may be before it reaches the planner: one table for both.

A value outside its bound (1e308, -5, NaN, text where a number belongs) is a
bad record, not a bad run: the caller reports it by record id with the
reason and plans the record with the default, or leaves the value out (a
coordinate: the record is placed another way or kept out of routing).
The bounds are generous for real books and tight enough that sums over a
whole book stay far from overflow (1e12 × a million accounts is 1e18).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Bound:
    """The closed range [low, high] (open at `low` with `low_open`) of one attribute."""

    name: str
    low: float
    high: float
    low_open: bool = False
    default: float | None = None  # what the record is planned with instead; None: left out
    default_said: str = "left out"

    def problem(self, value: float) -> str | None:
        """Why `value` is not usable, or None when it is."""
        if not math.isfinite(value):
            return f"{self.name} {value} is not a number"
        if value < self.low or (self.low_open and value == self.low):
            side = "above" if self.low_open else "at least"
            return f"{self.name} {value:g} is not {side} {self.low:g}"
        if value > self.high:
            return f"{self.name} {value:g} is above the largest allowed {self.high:g}"
        return None

    def checked(self, value: float | None) -> tuple[float | None, str | None]:
        """(the value or the default, the problem with its consequence) of a value that may be absent."""
        if value is None:
            return None, None
        problem = self.problem(value)
        if problem is None:
            return value, None
        return self.default, f"{problem}: {self.default_said}"


POTENTIAL = Bound("potential", 0.0, 1e12, default=None, default_said="planned as 0")
EFFORT = Bound("effort", 0.0, 50.0, low_open=True, default=None, default_said="planned as 1")
LATITUDE = Bound("latitude", -90.0, 90.0)
LONGITUDE = Bound("longitude", -180.0, 180.0)
TARGET_SHARE = Bound("target_share", 0.01, 10.0, default=1.0, default_said="planned as 1")
DEAL_AMOUNT = Bound("deal amount", 0.0, 1e11, default=None, default_said="counted as no amount")

BOUNDS = (POTENTIAL, EFFORT, LATITUDE, LONGITUDE, TARGET_SHARE, DEAL_AMOUNT)
