"""Pure optimisation: territories and call plans from frozen dataclasses.

No I/O, no clock, no database: dates and travel providers come in as
arguments, so every result can be reproduced from its inputs and seed.
"""

from planner.callplan import build_call_plans
from planner.callplan_model import (
    Calendar,
    CallPlan,
    CallPlanParams,
    CompletedVisit,
    Coverage,
    DayPoints,
    DayRoute,
    TierCoverage,
    Unplannable,
    Visit,
)
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
    "Calendar",
    "CallPlan",
    "CallPlanParams",
    "CapacityPolicy",
    "CompletedVisit",
    "Coverage",
    "DayPoints",
    "DayRoute",
    "DisruptionPolicy",
    "HaversineTravel",
    "Policy",
    "Rep",
    "TierCoverage",
    "TierPolicy",
    "TimeWindow",
    "TravelMatrix",
    "TravelPolicy",
    "Unplannable",
    "Visit",
    "build_call_plans",
]
