"""Rebalance parameters: defaults, TOML loading, refusal of typos, and that they reach the search."""

from __future__ import annotations

import pytest

from planner import Account, Policy, RebalanceParams, Rep, rebalance


def test_an_empty_params_file_gives_the_defaults() -> None:
    assert RebalanceParams.from_toml("") == RebalanceParams()
    assert RebalanceParams.from_dict({}) == RebalanceParams()


def test_a_params_file_overrides_only_what_it_names() -> None:
    params = RebalanceParams.from_toml('full_lp_pairs = 1000\nband_penalty = 50\nlp_solver = "pdlp"\n')
    assert params.full_lp_pairs == 1000
    assert params.band_penalty == 50.0 and isinstance(params.band_penalty, float)
    assert params.lp_solver == "pdlp"
    assert params.capacity_penalty == RebalanceParams().capacity_penalty


def test_an_unknown_key_is_an_error() -> None:
    with pytest.raises(ValueError, match="full_lp_pair"):
        RebalanceParams.from_toml("full_lp_pair = 1000\n")


@pytest.mark.parametrize("text", ['full_lp_pairs = "many"', "lp_band = 1.5", 'lp_solver = "cplex"',
                                  "exchange_rounds = -1", "cluster_size = 2.5", "convexity = true"])
def test_a_wrong_type_or_value_is_an_error(text: str) -> None:
    with pytest.raises(ValueError):
        RebalanceParams.from_toml(text)


def test_a_low_full_lp_threshold_plans_the_book_by_clusters() -> None:
    accounts = [
        Account(f"A{i}", 48.1 + 0.01 * (i % 10), 11.5 + 0.01 * (i // 10), tier="B", potential=1000.0 + i)
        for i in range(60)
    ]
    reps = [Rep("R0", 48.12, 11.52), Rep("R1", 48.17, 11.53), Rep("R2", 48.14, 11.56)]
    exact = rebalance(accounts, reps, Policy(), mode="full", time_limit=10)
    clustered = rebalance(accounts, reps, Policy(), mode="full", time_limit=10,
                          params=RebalanceParams(full_lp_pairs=50, cluster_size=4))
    assert exact.status.startswith("lp(")
    assert clustered.status.startswith("clustered-lp(")
    assert set(clustered.assignments) == set(exact.assignments)


def test_the_rounds_after_the_descent_never_buy_balance_with_travel() -> None:
    accounts = [
        Account(f"A{i}", 48.0 + 0.02 * (i % 12), 11.3 + 0.03 * (i // 12), tier="ABC"[i % 3],
                potential=500.0 + 37.0 * (i % 17), current_rep=f"R{i % 4}")
        for i in range(144)
    ]
    reps = [Rep(f"R{r}", 48.05 + 0.1 * (r % 2), 11.35 + 0.15 * (r // 2)) for r in range(4)]
    no_rounds = RebalanceParams(improve_rounds=0)
    plain = rebalance(accounts, reps, Policy(), mode="full", time_limit=10, params=no_rounds)
    improved = rebalance(accounts, reps, Policy(), mode="full", time_limit=10)
    assert improved.after.total_travel_km <= plain.after.total_travel_km * (1 + 1e-6)
    again = rebalance(accounts, reps, Policy(), mode="full", time_limit=10)
    assert dict(again.assignments) == dict(improved.assignments)
