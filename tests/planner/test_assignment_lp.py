"""The assignment LP prices band violations as the model says, in one step or two."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from planner.assignment_lp import AssignmentModel, solve_lp


def _two_reps_who_cannot_balance(**changes: object) -> AssignmentModel:
    """Rep 0 may only serve an account worth 3, rep 1 one worth 1: each is 50 % off a fair 2."""
    model = AssignmentModel(
        n_accounts=2, n_reps=2,
        pair_account=np.array([0, 1]), pair_rep=np.array([0, 1]),
        pair_cost=np.zeros(2), pair_workload=np.array([100.0, 100.0]),
        pair_is_move=np.zeros(2, dtype=bool), potential=np.array([3.0, 1.0]),
        potential_target=np.array([2.0, 2.0]), share=np.array([0.5, 0.5]),
        fixed_potential=np.zeros(2), fixed_workload=np.zeros(2),
        capacity=np.array([1000.0, 1000.0]), workload_estimate=200.0,
        potential_band=0.05, workload_band=0.05, move_budget=None,
        band_penalty=1.0, capacity_penalty=100.0,
    )
    return replace(model, **changes)  # type: ignore[arg-type]


def test_a_band_violation_costs_the_band_penalty_per_unit() -> None:
    solution = solve_lp(_two_reps_who_cannot_balance(), time_limit=5.0)
    assert solution.status == "optimal"
    # each rep is 0.45 of a fair share past its ±5 % band
    assert solution.objective == pytest.approx(2 * 0.45 * 1.0)


def test_past_the_step_a_band_violation_costs_the_steep_price() -> None:
    model = _two_reps_who_cannot_balance(band_step=0.1, steep_penalty=10.0)
    solution = solve_lp(model, time_limit=5.0)
    assert solution.status == "optimal"
    # per rep: the first 0.1 at 1 per unit, the other 0.35 at 10
    assert solution.objective == pytest.approx(2 * (0.1 * 1.0 + 0.35 * 10.0))


def test_hard_bands_leave_a_book_that_cannot_balance_infeasible() -> None:
    model = _two_reps_who_cannot_balance(band_step=0.1, steep_penalty=10.0, elastic=False)
    assert not solve_lp(model, time_limit=5.0).has_solution
