"""Policy parameters: defaults, TOML loading, and refusal of typos."""

from __future__ import annotations

import pytest

from planner import Account, Policy, Rep
from planner.model import parse_standing_windows


def test_an_empty_policy_file_gives_the_defaults() -> None:
    assert Policy.from_toml("") == Policy()
    policy = Policy.from_toml("")
    assert policy.tier("A").visits_per_year == 24
    assert policy.tier("B").visits_per_year == 12
    assert policy.tier("C").visits_per_year == 4
    assert 0.15 <= policy.capacity.buffer <= 0.20
    assert policy.disruption.max_move_share == 0.20


def test_a_policy_file_overrides_only_what_it_names() -> None:
    policy = Policy.from_toml(
        """
        [tiers.A]
        visits_per_year = 36
        [balance]
        workload_band = 0.08
        [disruption]
        max_move_share = 0.1
        """
    )
    assert policy.tier("A").visits_per_year == 36
    assert policy.tier("A").visit_minutes == 60
    assert policy.balance.workload_band == 0.08
    assert policy.balance.potential_band == 0.05
    assert policy.disruption.max_move_share == 0.1
    assert policy.capacity == Policy().capacity


def test_a_typo_in_a_policy_file_is_an_error() -> None:
    with pytest.raises(ValueError, match="max_move_shar"):
        Policy.from_toml("[disruption]\nmax_move_shar = 0.1\n")
    with pytest.raises(ValueError):
        Policy.from_toml("[capacity]\nbuffer = 1.5\n")


def test_a_policy_file_names_the_coverage_rule_holidays_and_lunch() -> None:
    policy = Policy.from_toml(
        """
        coverage = "fit"
        coverage_order = "value"
        [capacity]
        lunch = 30
        lunch_from = "12:30"
        [calendar]
        holidays_country = "US"
        holidays_subdivision = "NY"
        time_zone = "America/New_York"
        """
    )
    assert (policy.coverage, policy.coverage_order) == ("fit", "value")
    assert policy.capacity.lunch == 30 and policy.capacity.lunch_from_minute == 12 * 60 + 30
    assert policy.calendar.holidays_subdivision == "NY"


@pytest.mark.parametrize("text", [
    'coverage = "sometimes"', 'coverage_order = "alphabet"', '[capacity]\nlunch_from = "noon"',
    '[calendar]\nholidays_subdivision = "NY"',
])
def test_a_wrong_coverage_lunch_or_holiday_setting_is_an_error(text: str) -> None:
    with pytest.raises(ValueError):
        Policy.from_toml(text)


def test_a_rep_needs_a_positive_share_and_an_account_a_non_negative_move_cost() -> None:
    with pytest.raises(ValueError, match="target_share"):
        Rep("R0", 48.0, 11.0, target_share=0.0)
    with pytest.raises(ValueError, match="move_cost"):
        Account("A0", 48.0, 11.0, move_cost=-1.0)


def test_standing_window_text_names_weekdays_ranges_or_every_day() -> None:
    text = "Tue 07:15-07:30; thu,Fri 12:00-13:00;; Sat-Mon 09:00-10:00; 16:00-17:00"
    windows = parse_standing_windows(text)
    assert [(w.start_minute, w.end_minute, sorted(w.weekdays)) for w in windows] == [
        (435, 450, [1]), (720, 780, [3, 4]), (540, 600, [0, 5, 6]), (960, 1020, []),
    ]
    assert str(windows[1]) == "Thu,Fri 12:00-13:00"


@pytest.mark.parametrize(
    ("text", "said"),
    [("mornings, ask Linda", "is not a window"), ("Tue 7:15", "is not a window"),
     ("Tus 07:15-07:30", "'tus' is not a weekday"), ("Tue 07:30-07:15", "not within one day"),
     ("Tue 07:15-25:00", "must be a time of day")],
)
def test_standing_window_text_nobody_can_read_is_an_error_naming_it(text: str, said: str) -> None:
    with pytest.raises(ValueError, match=said):
        parse_standing_windows(text)


def test_a_policy_file_names_the_change_window_cooldown_and_trigger() -> None:
    default = Policy()
    assert (default.disruption.window_days, default.disruption.cooldown_days) == (90, 180)
    assert (default.trigger.share_band, default.trigger.potential_cv) == (0.15, 0.10)
    policy = Policy.from_toml(
        "[disruption]\nwindow_days = 30\ncooldown_days = 60\n"
        "[trigger]\nshare_band = 0.2\npotential_cv = 0.05\n"
    )
    assert (policy.disruption.window_days, policy.disruption.cooldown_days) == (30, 60)
    assert (policy.trigger.share_band, policy.trigger.potential_cv) == (0.2, 0.05)
    wrongs = ("[disruption]\nwindow_days = 0\n", "[trigger]\nshare_band = -0.1\n", "[trigger]\ncv = 0.1\n")
    for wrong in wrongs:
        with pytest.raises(ValueError):
            Policy.from_toml(wrong)


def test_a_policy_file_sets_the_open_deal_amount_that_keeps_an_account_with_its_rep() -> None:
    assert Policy().transition.protect_pipeline_over == 10_000
    policy = Policy.from_toml("[transition]\nprotect_pipeline_over = 25000\n")
    assert policy.transition.protect_pipeline_over == 25_000.0
    assert policy.disruption == Policy().disruption
    with pytest.raises(ValueError, match="protect_pipeline_over"):
        Policy.from_toml("[transition]\nprotect_pipeline_over = -1\n")


def test_a_policy_file_sets_the_transition_days_of_approved_moves() -> None:
    assert Policy().transition.days == 30
    assert Policy.from_toml("[transition]\ndays = 0\n").transition.days == 0
    with pytest.raises(ValueError, match="days"):
        Policy.from_toml("[transition]\ndays = -1\n")
