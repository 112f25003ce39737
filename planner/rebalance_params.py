"""How `planner.rebalance` searches: every tuning knob of the territory planner, with its default.

Parameters are separate from the data (`Policy` says what a good plan is;
these say how hard and by which route the planner looks for one), and load
from TOML text like `CallPlanParams`: `RebalanceParams.from_toml("")` gives
the defaults, an unknown key raises. How each default was reached is in
docs/planner.md ("Tuning notes").
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

LPSolver = Literal["glop", "pdlp", "highs", "scip"]
_LP_SOLVERS = ("glop", "pdlp", "highs", "scip")


@dataclass(frozen=True, slots=True)
class RebalanceParams:
    """Search settings of `planner.rebalance`; `from_toml("")` gives these defaults."""

    # --- which LP: one over every servable pair, or one over micro-clusters
    full_lp_pairs: int = 600_000  # up to this many (account, rep) pairs the LP takes them all
    nearest_candidates: int = 10  # suitable reps per account the search may also use
    cluster_size: int = 8  # accounts per micro-cluster of a book too big for one LP ...
    max_clusters: int = 2_000  # ... and no more clusters than this, so the clustered LP stays quick
    cluster_candidates: int = 25  # nearest suitable reps per cluster in the first clustered LP
    rep_side_factor: int = 2  # × the average book: clusters nearest each rep in the first clustered LP
    pricing_rounds: int = 4  # column-generation rounds of the LP
    # --- the LP
    lp_solver: LPSolver = "glop"
    lp_share_of_time: float = 0.8  # of the remaining time; the search after it usually needs seconds
    lp_band: float = 0.9  # × the policy's band: the LP plans inside it, leaving room for rounding
    # a band violation costs `lp_gentle_price` × band_penalty for the first `lp_gentle_step` × band
    # past the band, the full price beyond (exact LP only: the clustered LP keeps one price)
    lp_gentle_price: float = 0.1
    lp_gentle_step: float = 1.1
    split_mip_seconds: float = 10.0  # cap for the MIP over the accounts the LP split
    split_mip_gap: float = 0.005  # SCIP's relative gap for that MIP
    # --- prices, in units of a rep's share of the team's travel
    band_penalty: float = 100.0  # per unit of relative band violation
    capacity_penalty: float = 1000.0  # per unit of relative capacity excess
    # --- the local search
    repair_band: float = 0.9  # × the policy's band: the search aims a little inside it
    convexity: float = 5.0  # a violation v costs v + convexity × v²: a forced excess is shared out
    repair_rounds: int = 300  # most rounds of single moves per repair
    moves_per_round: int = 3_000  # candidate moves re-scored one by one per round, best first
    exchange_rounds: int = 50  # most rounds of exchanges (each followed by a repair)
    exchange_shortlist: int = 150  # accounts shortlisted per side of an exchange
    # after the descent, while time is left: shift a boundary between two reps and repair
    improve_rounds: int = 300  # most perturb-and-repair rounds (0: none)
    improve_patience: int = 40  # ... stopping after this many in a row without a gain
    shift_size: int = 12  # accounts a shift hands from one rep to another
    # --- time kept back for the reports after the search
    finish_seconds_per_pair: float = 4e-7  # per (account, rep) pair
    finish_share: float = 0.25  # ... but never more than this share of the time limit

    def __post_init__(self) -> None:
        if self.lp_solver not in _LP_SOLVERS:
            raise ValueError(f"lp_solver must be one of {list(_LP_SOLVERS)}, not {self.lp_solver!r}")
        for name in ("lp_share_of_time", "finish_share"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in (0, 1]")
        for name in ("lp_band", "repair_band"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in (0, 1]: a share of the policy's band")
        counts = ("full_lp_pairs", "nearest_candidates", "cluster_size", "max_clusters",
                  "cluster_candidates", "rep_side_factor", "moves_per_round", "exchange_shortlist",
                  "shift_size")
        for name in counts:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        for name in ("pricing_rounds", "repair_rounds", "exchange_rounds", "improve_rounds",
                     "improve_patience"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.lp_gentle_step < 1.0 or not 0.0 <= self.lp_gentle_price <= 1.0:
            raise ValueError("lp_gentle_step must be >= 1 and lp_gentle_price in [0, 1]")

    @property
    def unreachable_penalty(self) -> float:
        """Search price per account of a rep beyond a day's drive: above a 100 % band violation's."""
        return 2 * self.band_penalty * (1 + 2 * self.convexity)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RebalanceParams:
        """Parameters from a flat mapping; missing keys keep their defaults, unknown keys raise."""
        defaults = cls()
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown rebalance parameters: {sorted(unknown)}")
        changes = {name: _typed(name, value, getattr(defaults, name)) for name, value in data.items()}
        return replace(defaults, **changes)

    @classmethod
    def from_toml(cls, text: str) -> RebalanceParams:
        """Parse parameters from TOML text; an empty document gives the defaults."""
        return cls.from_dict(tomllib.loads(text))


def _typed(name: str, value: Any, default: Any) -> Any:
    """`value` as the type of the parameter's default (an int is a fine float); anything else raises."""
    if not isinstance(value, bool):
        if isinstance(default, float) and isinstance(value, int | float):
            return float(value)
        if isinstance(value, type(default)):
            return value
    raise ValueError(f"rebalance parameter {name} must be a {type(default).__name__}, not {value!r}")
