"""A coverage plan that fits: what a short team can cover, and call plans that schedule it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np

from planner import Account, CallPlanParams, Policy, Rep, TerritoryPlan, build_call_plans, rebalance

POLICY = Policy()
QUICK = CallPlanParams(max_rounds=4, final_iterations=200)


def book(n_accounts: int = 150, n_reps: int = 3, seed: int = 3) -> tuple[list[Account], list[Rep]]:
    rng = np.random.default_rng(seed)
    home = np.array([48.14, 11.58])
    where = home + rng.normal(scale=0.05, size=(n_accounts, 2))
    potential = rng.lognormal(10.0, 0.8, size=n_accounts).round(-1)
    rank = np.argsort(np.argsort(-potential)) / n_accounts
    tiers = np.where(rank < 0.1, "A", np.where(rank < 0.4, "B", "C"))
    reps = [Rep(f"R{r}", float(home[0] + 0.02 * r), float(home[1])) for r in range(n_reps)]
    accounts = [
        Account(f"A{i:03d}", float(where[i, 0]), float(where[i, 1]), tier=str(tiers[i]),
                potential=float(potential[i]), current_rep=f"R{i % n_reps}")
        for i in range(n_accounts)
    ]
    return accounts, reps


def short(policy: Policy = POLICY, effort: float = 9.0) -> tuple[TerritoryPlan, list[Account], list[Rep]]:
    accounts, reps = book()
    accounts = [replace(a, effort=effort) for a in accounts]  # service alone needs ~1.4 × the team
    return rebalance(accounts, reps, policy, mode="full", time_limit=10), accounts, reps


def test_a_staffed_team_needs_no_coverage_plan() -> None:
    accounts, reps = book()
    assert rebalance(accounts, reps, POLICY, mode="full", time_limit=10).coverage_plan is None


def test_a_short_team_is_told_the_least_cut_of_the_lowest_tiers_that_fits() -> None:
    plan, _, _ = short()
    coverage = plan.coverage_plan
    assert coverage is not None and coverage.fits
    assert coverage.workload_before > coverage.capacity >= coverage.workload_after
    cut = {c.tier: c for c in coverage.cuts}
    assert "C" in cut and (cut["C"].visits_to < 4 or cut["C"].digital)
    if "A" in cut:  # a higher tier is cut only once every lower one is at digital touch
        assert cut["B"].digital == cut["B"].accounts and cut["C"].digital == cut["C"].accounts
    assert "tier C" in coverage.summary()
    assert plan.extra_reps_needed > 0  # the hires stay reported beside it


def test_the_value_order_sends_the_least_potential_per_minute_to_digital_touch_first() -> None:
    plan, accounts, _ = short(replace(POLICY, coverage_order="value"))
    coverage = plan.coverage_plan
    assert coverage is not None and coverage.fits
    digital = {a for a, v in coverage.visits_per_year.items() if v == 0}
    assert digital and set(coverage.visits_per_year) == digital
    def per_minute(a: Account) -> float:  # potential per minute of service (the drive adds a little)
        tier = POLICY.tier(a.tier)
        return a.potential / (tier.visits_per_year * tier.visit_minutes * a.effort)

    cut = [per_minute(a) for a in accounts if a.id in digital]
    kept = [per_minute(a) for a in accounts if a.id not in digital]
    assert np.percentile(cut, 90) < np.percentile(kept, 10)


def test_fit_makes_the_call_plans_schedule_the_cut_and_say_so() -> None:
    fit = replace(POLICY, coverage="fit")
    plan, accounts, reps = short(fit)
    coverage = plan.coverage_plan
    assert coverage is not None
    plans = build_call_plans(plan, accounts, reps, fit, start=date(2026, 3, 2), weeks=4, time_limit=6.0,
                             params=QUICK)
    digital = {a for a, v in coverage.visits_per_year.items() if v == 0}
    notes = {u.account_id: u.reason for p in plans.values() for u in p.coverage.not_required}
    for account_id in digital:
        assert not any(p.visits_of(account_id) for p in plans.values())
        assert "digital touch" in notes[account_id]
    required = sum(t.required for p in plans.values() for t in p.coverage.tiers)
    reported = build_call_plans(plan, accounts, reps, POLICY, start=date(2026, 3, 2), weeks=4, time_limit=6.0,
                                params=QUICK)
    assert required < sum(t.required for p in reported.values() for t in p.coverage.tiers)
