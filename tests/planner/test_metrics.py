"""Balance metrics: CV, Gini, min/max ratio per dimension, and each rep's load."""

from __future__ import annotations

import numpy as np
import pytest

from planner import Account, Policy, Rep, balance_report
from planner.metrics import coefficient_of_variation, gini

POLICY = Policy()


def test_cv_and_gini_of_equal_loads_are_zero() -> None:
    equal = np.array([5.0, 5.0, 5.0])
    assert coefficient_of_variation(equal) == 0.0
    assert gini(equal) == pytest.approx(0.0)


def test_gini_of_one_rep_holding_everything_approaches_one() -> None:
    loads = np.array([0.0] * 9 + [10.0])
    assert gini(loads) == pytest.approx(0.9)
    assert coefficient_of_variation(np.array([1.0, 3.0])) == pytest.approx(0.5)


def _two_reps() -> tuple[list[Account], list[Rep]]:
    reps = [
        Rep(id="north", home_lat=48.5, home_lon=11.0),
        Rep(id="south", home_lat=47.5, home_lon=11.0),
    ]
    accounts = [
        Account(id="n1", lat=48.5, lon=11.0, tier="A", potential=300.0),
        Account(id="n2", lat=48.6, lon=11.0, tier="C", potential=100.0),
        Account(id="s1", lat=47.5, lon=11.0, tier="C", potential=100.0),
        Account(id="lost", lat=None, lon=None, potential=1e9),
    ]
    return accounts, reps


def test_balance_report_of_a_lopsided_book() -> None:
    accounts, reps = _two_reps()
    report = balance_report({"n1": "north", "n2": "north", "s1": "south"}, accounts, reps, POLICY)
    north, south = report.rep("north"), report.rep("south")
    assert (north.accounts, south.accounts) == (2, 1)
    assert (north.potential, south.potential) == (400.0, 100.0)
    # fair share of potential is 250 each: 160 % and 40 %
    assert north.potential_vs_target == pytest.approx(1.6)
    assert south.potential_vs_target == pytest.approx(0.4)
    assert report.potential.total == 500.0  # the unlocated account is not counted
    assert report.potential.cv == pytest.approx(0.6)
    assert report.potential.min_max_ratio == pytest.approx(0.25)
    assert report.potential.worst_deviation == pytest.approx(0.6)
    assert report.accounts.cv == pytest.approx(1 / 3)
    assert north.workload_minutes > north.drive_minutes > 0
    assert south.drive_minutes == pytest.approx(0.0)
    assert north.travel_km == pytest.approx(4 * 11.1 * POLICY.travel.circuity, rel=0.01)
    assert north.utilisation == pytest.approx(north.workload_minutes / north.capacity_minutes)
    assert report.over_capacity == ()


def test_a_half_share_rep_at_half_the_load_is_balanced() -> None:
    reps = [
        Rep(id="senior", home_lat=48.0, home_lon=11.0),
        Rep(id="ramping", home_lat=48.0, home_lon=11.0, target_share=0.5),
    ]
    accounts = [Account(id=f"a{i}", lat=48.0, lon=11.0, potential=10.0) for i in range(3)]
    report = balance_report({"a0": "senior", "a1": "senior", "a2": "ramping"}, accounts, reps, POLICY)
    assert report.potential.cv == pytest.approx(0.0)
    assert report.rep("ramping").potential_vs_target == pytest.approx(1.0)


def test_unknown_reps_and_accounts_in_the_mapping_are_ignored() -> None:
    accounts, reps = _two_reps()
    report = balance_report({"n1": "north", "s1": "ghost", "nope": "north"}, accounts, reps, POLICY)
    assert report.rep("north").accounts == 1
    assert report.rep("south").accounts == 0
