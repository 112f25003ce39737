"""Pure optimisation: territories and call plans from frozen dataclasses.

No I/O, no clock, no database: dates and travel providers come in as
arguments, so every result can be reproduced from its inputs and seed.
"""

from planner.model import (
    Account,
    BalancePolicy,
    CapacityPolicy,
    DisruptionPolicy,
    Policy,
    Rep,
    TierPolicy,
    TimeWindow,
    TravelPolicy,
)
from planner.travel import HaversineTravel, TravelMatrix

__all__ = [
    "Account",
    "BalancePolicy",
    "CapacityPolicy",
    "DisruptionPolicy",
    "HaversineTravel",
    "Policy",
    "Rep",
    "TierPolicy",
    "TimeWindow",
    "TravelMatrix",
    "TravelPolicy",
]
