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
    DayOff,
    DayPoints,
    DayRoute,
    TierCoverage,
    Unplannable,
    Visit,
)
from planner.capacity import rep_capacity_minutes, reps_needed, workload_table
from planner.handoffs import Handoff
from planner.metrics import balance_report
from planner.model import (
    Account,
    BalancePolicy,
    BalanceReport,
    CalendarPolicy,
    CapacityPolicy,
    CoveragePlan,
    DimensionStats,
    DisruptionPolicy,
    FrequencyCut,
    Move,
    OutOfBand,
    Policy,
    Rep,
    RepLoad,
    TerritoryPlan,
    TierPolicy,
    TimeWindow,
    TransitionPolicy,
    TravelPolicy,
    TriggerPolicy,
    Unassigned,
)
from planner.rebalance_params import RebalanceParams
from planner.territories import rebalance
from planner.travel import HaversineTravel, TravelMatrix

__all__ = [
    "Account",
    "BalancePolicy",
    "BalanceReport",
    "Calendar",
    "CalendarPolicy",
    "CallPlan",
    "CallPlanParams",
    "CapacityPolicy",
    "CompletedVisit",
    "Coverage",
    "CoveragePlan",
    "DayOff",
    "DayPoints",
    "DayRoute",
    "DimensionStats",
    "DisruptionPolicy",
    "FrequencyCut",
    "Handoff",
    "HaversineTravel",
    "Move",
    "OutOfBand",
    "Policy",
    "RebalanceParams",
    "Rep",
    "RepLoad",
    "TerritoryPlan",
    "TierCoverage",
    "TierPolicy",
    "TimeWindow",
    "TransitionPolicy",
    "TravelMatrix",
    "TravelPolicy",
    "TriggerPolicy",
    "Unassigned",
    "Unplannable",
    "Visit",
    "balance_report",
    "build_call_plans",
    "rebalance",
    "rep_capacity_minutes",
    "reps_needed",
    "workload_table",
]
