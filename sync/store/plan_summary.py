"""What a stored plan run says about itself: its summary, and the balance before and after.

The one place these documents are defined. `pipeline.plan` writes them from
the planner's results; `diff`, `views`, the CLI and the demo read them typed
(the `plan_run.summary`, `metrics_before` and `metrics_after` columns hold
them as JSON and give them back as these models). Field names are the JSON
keys plan runs have always been stored with, and every field has a default,
so older plan runs read back too.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict

from sync.store.proposal_doc import NightDecision


def _finite_or_none(value: object) -> object:
    return None if isinstance(value, float) and not math.isfinite(value) else value


# A statistic that may be undefined (no reps, no potential): stored as null, never as NaN.
Statistic = Annotated[float | None, BeforeValidator(_finite_or_none)]


class StoredDocument(BaseModel):
    """Frozen, built from the planner's dataclasses by attribute, unknown keys ignored."""

    model_config = ConfigDict(frozen=True, from_attributes=True, extra="ignore")


# --------------------------------------------------------------------------- balance


class DimensionMetrics(StoredDocument):
    """One balance dimension over the reps (share-normalised loads)."""

    total: float = 0.0
    cv: Statistic = None
    gini: Statistic = None
    min_max_ratio: Statistic = None
    worst_deviation: Statistic = None


class RepLoadMetrics(StoredDocument):
    """One rep's book: what it holds and how much of the rep's year it takes."""

    rep_id: str
    accounts: int = 0
    potential: float = 0.0
    workload_minutes: float = 0.0
    capacity_minutes: float = 0.0
    utilisation: float = 0.0  # workload / capacity
    travel_km: float = 0.0
    drive_minutes: float = 0.0
    potential_vs_target: Statistic = None
    workload_vs_target: Statistic = None


class BalanceMetrics(StoredDocument):
    """The planner's balance report of one side of a plan (before or after)."""

    potential: DimensionMetrics = DimensionMetrics()
    workload: DimensionMetrics = DimensionMetrics()
    accounts: DimensionMetrics = DimensionMetrics()
    travel: DimensionMetrics = DimensionMetrics()
    reps: tuple[RepLoadMetrics, ...] = ()

    def dimension(self, name: Literal["potential", "workload", "accounts", "travel"]) -> DimensionMetrics:
        dimensions = {
            "potential": self.potential,
            "workload": self.workload,
            "accounts": self.accounts,
            "travel": self.travel,
        }
        return dimensions[name]

    def by_rep(self) -> dict[str, RepLoadMetrics]:
        return {r.rep_id: r for r in self.reps}


# --------------------------------------------------------------------------- the summary


class UnassignedAccount(StoredDocument):
    account_id: str
    reason: str


class OutOfBandRep(StoredDocument):
    """A rep outside the balance band or over capacity after the plan, and why."""

    rep_id: str
    potential_vs_target: Statistic = None
    workload_vs_target: Statistic = None
    utilisation: Statistic = None
    reason: str = ""


class HumanEdit(StoredDocument):
    """An owner or territory a person changed in the CRM after our push: it stands (a lock)."""

    account_id: str
    field: Literal["owner", "territory"]
    pushed: str | None
    crm_value: str | None


class SolverOutcome(StoredDocument):
    status: str = ""  # how the solver finished, e.g. "lp+repair"
    seconds: float = 0.0
    lower_bound_travel_km: float | None = None


class TierCoverageRecord(StoredDocument):
    tier: str
    accounts: int = 0
    required: int = 0  # visits the frequency asks for over the horizon
    completed: int = 0
    planned: int = 0


class UnplannableVisits(StoredDocument):
    account_id: str
    visits: int
    reason: str


class RepCoverage(StoredDocument):
    """How far one rep's call plan covers what the tiers ask for."""

    tiers: tuple[TierCoverageRecord, ...] = ()
    working_minutes: int = 0
    visit_minutes: int = 0
    drive_minutes: int = 0
    unplannable: tuple[UnplannableVisits, ...] = ()


class PlannedRep(StoredDocument):
    """The planner's view of a rep (its home may be an estimate), for maps and reports."""

    name: str = ""
    home_lat: float | None = None
    home_lon: float | None = None
    time_zone: str = ""  # IANA zone of the rep's call plan ("" when neither the rep nor the policy says)


class FrequencyCutRecord(StoredDocument):
    """What the coverage plan does to one tier: fewer visits a year, or digital touch."""

    tier: str
    overlay: bool = False
    accounts: int = 0
    visits_from: float = 0.0
    visits_to: float = 0.0
    digital: int = 0


class CoveragePlanRecord(StoredDocument):
    """What a short team can cover (planner.CoveragePlan without its per-account map)."""

    summary: str = ""
    cuts: tuple[FrequencyCutRecord, ...] = ()
    workload_before: float = 0.0
    workload_after: float = 0.0
    capacity: float = 0.0
    fits: bool = True
    order: str = "tier"


class RoadsSummary(StoredDocument):
    """Which road engine timed the plan, how much it was asked, and what the roads could not do."""

    engine: str = "haversine"
    profile: str = ""
    data_version: str = ""
    engine_requests: int = 0  # tables asked of the engine (the rest came from the store's cache)
    pairs_routed: int = 0
    pairs_from_store: int = 0
    unreachable_accounts: int = 0  # no rep can reach them by road: left unassigned
    fallback_legs: int = 0  # planned legs with no road route, timed on the straight-line fallback


class KeptAccount(StoredDocument):
    """An account the plan left with its rep because of an open deal above the policy's threshold."""

    account_id: str
    rep_id: str
    reason: str  # "kept: open deal ‹name›, ‹amount›, closing ‹date›"
    account_name: str = ""
    deal_id: str = ""
    deal_name: str = ""
    amount: float = 0.0
    close_date: date | None = None


class RepPipeline(StoredDocument):
    """The open pipeline at the accounts of one rep's book: its amount and how many deals."""

    amount: float = 0.0
    deals: int = 0


class PlanRunSummary(StoredDocument):
    """What one plan run decided, beside its assignments and visits."""

    horizon_start: AwareDatetime | None = None
    push_until: AwareDatetime | None = None  # visits before this are written to the CRM
    moves: int = 0
    moved_share: float = 0.0
    moved_potential_share: float = 0.0
    unassigned: tuple[UnassignedAccount, ...] = ()
    extra_reps_needed: int = 0
    over_capacity: tuple[str, ...] = ()
    out_of_band: tuple[OutOfBandRep, ...] = ()
    human_edits: tuple[HumanEdit, ...] = ()
    solver: SolverOutcome = SolverOutcome()
    coverage: dict[str, RepCoverage] = {}
    reps: dict[str, PlannedRep] = {}
    roads: RoadsSummary = RoadsSummary()
    coverage_plan: CoveragePlanRecord | None = None  # when the team is short: the cut that fits
    kept: tuple[KeptAccount, ...] = ()  # left with their rep for an open deal
    pipeline_before: dict[str, RepPipeline] = {}  # open pipeline per rep, by today's owners
    pipeline_after: dict[str, RepPipeline] = {}  # ... and by the plan's
    night: NightDecision = NightDecision()  # forced changes and the rebalance proposed (sync/changes.py)
