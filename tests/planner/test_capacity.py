"""Workload of an account, capacity of a rep, and how many reps a book needs."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from planner import Account, Policy, Rep, rep_capacity_minutes, reps_needed, workload_table
from planner.capacity import service_minutes, visits_per_year
from planner.model import CapacityPolicy

POLICY = Policy()


def test_service_is_visits_times_minutes_times_effort() -> None:
    accounts = [
        Account(id="a", lat=48.0, lon=11.0, tier="A", effort=1.5),
        Account(id="b", lat=48.0, lon=11.0, tier="B"),
        Account(id="c", lat=48.0, lon=11.0, tier="nonsense"),  # falls back to the default tier C
    ]
    assert list(visits_per_year(accounts, POLICY)) == [24, 12, 4]
    assert list(service_minutes(accounts, POLICY)) == [24 * 60 * 1.5, 12 * 45, 4 * 30]


def test_workload_adds_driving_amortised_over_the_days_stops() -> None:
    rep = Rep(id="r", home_lat=48.0, home_lon=11.0)
    here = Account(id="here", lat=48.0, lon=11.0, tier="B")
    far = Account(id="far", lat=48.5, lon=11.0, tier="B")  # ~56 km north
    table = workload_table([here, far], [rep], POLICY)
    assert table.drive[0, 0] == pytest.approx(0.0)
    one_way_minutes = table.km[0, 1] / POLICY.travel.speed_kmh * 60
    expected = 12 * 2 * one_way_minutes / POLICY.travel.stops_per_day
    assert table.drive[0, 1] == pytest.approx(expected)
    assert table.workload[0, 1] == pytest.approx(12 * 45 + expected)
    assert table.km[0, 1] == pytest.approx(55.6 * POLICY.travel.circuity, rel=0.01)


def test_capacity_is_selling_minutes_less_buffer_pro_rata_to_working_days() -> None:
    full = Rep(id="r", home_lat=0, home_lon=0)
    part_time = replace(full, working_days=frozenset({0, 1, 2}))
    expected = 220 * 540 * (1 - 0.10) * (1 - 0.15)
    assert rep_capacity_minutes(full, POLICY) == pytest.approx(expected)
    assert rep_capacity_minutes(part_time, POLICY) == pytest.approx(expected * 3 / 5)
    bigger_buffer = replace(POLICY, capacity=CapacityPolicy(buffer=0.20))
    assert rep_capacity_minutes(full, bigger_buffer) < rep_capacity_minutes(full, POLICY)


def test_reps_needed_rounds_up_and_never_says_zero() -> None:
    assert reps_needed(100.0, 50.0) == 2
    assert reps_needed(100.1, 50.0) == 3
    assert reps_needed(0.0, 50.0) == 1
    with pytest.raises(ValueError):
        reps_needed(10.0, 0.0)


def test_workload_table_has_one_row_per_rep_and_one_column_per_account() -> None:
    reps = [Rep(id=f"r{k}", home_lat=48.0 + k, home_lon=11.0) for k in range(3)]
    accounts = [Account(id=f"a{i}", lat=48.0, lon=11.0 + i / 10) for i in range(5)]
    table = workload_table(accounts, reps, POLICY)
    assert table.workload.shape == (3, 5)
    assert np.all(table.km[1:] > table.km[0])
    with pytest.raises(ValueError):
        workload_table([Account(id="x", lat=None, lon=None)], reps, POLICY)
