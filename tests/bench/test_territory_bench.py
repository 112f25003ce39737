"""The territory benchmark's references are bounds: no plan beats them, and they order as they should."""

from __future__ import annotations

import pytest

from bench.fieldbook_instances import FieldBookInstance, generate
from bench.territories import FRONTIER_FACTORS, FractionalReport, least_max_utilisation, run_frontier
from planner import rebalance


@pytest.fixture(scope="module")
def book() -> FieldBookInstance:
    return generate(400, 6, seed=3)


def test_frontier_holds_every_rep_in_its_band_and_costs_more_travel_as_the_band_narrows(
    book: FieldBookInstance,
) -> None:
    rows = run_frontier(book, seconds=10.0)
    assert len(rows) == len(FRONTIER_FACTORS)
    travel = []
    for factor, row in zip(FRONTIER_FACTORS, rows, strict=True):
        assert isinstance(row.report, FractionalReport), row.note
        band = book.policy.balance.potential_band * factor
        assert row.report.potential.worst_deviation <= band + 1e-6
        assert row.report.workload.worst_deviation <= band + 1e-6
        travel.append(row.report.total_travel_km)
    # a narrower band can only cost more (the bands are listed narrowest first)
    assert travel == sorted(travel, reverse=True)


def test_no_plan_is_as_balanced_as_a_frontier_row_for_less_travel(book: FieldBookInstance) -> None:
    plan = rebalance(book.accounts, book.reps, book.policy, mode="full", seed=0, time_limit=10.0)
    after = plan.after
    worst = max(after.potential.worst_deviation, after.workload.worst_deviation)
    assert worst <= book.policy.balance.potential_band * FRONTIER_FACTORS[-1]  # so a row applies
    for factor, row in zip(FRONTIER_FACTORS, run_frontier(book, seconds=10.0), strict=True):
        assert isinstance(row.report, FractionalReport)
        if worst <= book.policy.balance.potential_band * factor:
            assert after.total_travel_km >= row.report.total_travel_km * (1 - 1e-6)
    assert after.max_utilisation >= least_max_utilisation(book) - 1e-9
