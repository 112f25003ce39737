"""The reach rule's limits: what a rep's day's drive allows, and the reps an area lacks."""

from __future__ import annotations

import numpy as np

from planner import Account, Policy, Rep, rebalance
from planner.reach import ReachMap, reach_limits, short_areas

# three reps: r0 and r1 share a city of four accounts, r2 alone in another with two
SERVABLE = np.array(
    [
        [1, 1, 1, 1, 0, 0],
        [0, 1, 1, 1, 0, 0],
        [0, 0, 0, 0, 1, 1],
    ],
    dtype=bool,
)
CAPACITY = np.array([100.0, 100.0, 100.0])
NO_LOCKS = np.zeros(3)


def workload(per_account: list[float]) -> np.ndarray:
    """Every rep needs the same minutes for an account (its drive aside)."""
    return np.tile(np.array(per_account, dtype=np.float64), (3, 1))


def test_an_area_whose_accounts_outgrow_its_reps_is_short_though_the_team_has_room() -> None:
    reach = ReachMap.of(SERVABLE, workload([60.0, 60.0, 60.0, 60.0, 10.0, 10.0]))  # city: 240 for 200
    (city,) = short_areas(reach, np.array([True, False, False]), NO_LOCKS, CAPACITY)
    assert (city.reps, city.binding, city.accounts, city.capacity_ratio, city.reps_short) == (
        (0, 1), (0, 1), 4, 1.2, 1
    )


def test_an_area_that_fits_its_reps_needs_nobody() -> None:
    reach = ReachMap.of(SERVABLE, workload([40.0, 40.0, 40.0, 40.0, 10.0, 10.0]))  # city: 160 for 200
    assert short_areas(reach, np.array([True, True, False]), NO_LOCKS, CAPACITY) == []


def test_separate_short_areas_add_up() -> None:
    reach = ReachMap.of(SERVABLE, workload([60.0, 60.0, 60.0, 60.0, 120.0, 130.0]))
    # city: 240 for 200 (one more rep); r2's town: 250 for 100 (two more)
    areas = short_areas(reach, np.array([True, False, True]), NO_LOCKS, CAPACITY)
    assert [(a.reps, a.reps_short) for a in areas] == [((0, 1), 1), ((2,), 2)]


def test_locked_work_counts_against_the_area() -> None:
    reach = ReachMap.of(SERVABLE, workload([40.0, 40.0, 40.0, 40.0, 10.0, 10.0]))
    locked = np.array([50.0, 0.0, 0.0])  # 160 + 50 for 200
    (city,) = short_areas(reach, np.array([True, False, False]), locked, CAPACITY)
    assert city.reps_short == 1


def test_limits_measure_a_reps_own_and_its_groups_book_against_fair_shares_and_capacity() -> None:
    work = workload([30.0, 60.0, 60.0, 60.0, 120.0, 130.0])
    reach = ReachMap.of(SERVABLE, work)
    potential = np.array([10.0, 10.0, 10.0, 10.0, 10.0, 10.0])
    limits = reach_limits(
        reach, work, potential, np.zeros(3), NO_LOCKS,
        potential_target=np.full(3, 20.0), workload_target=np.full(3, 150.0), capacity=CAPACITY,
        potential_band=0.05,
    )
    r0, r1, r2 = limits
    assert (r0.accounts, r0.sole, r0.neighbours, r0.enclosed) == (4, 1, 1, 4)
    assert r0.sole_capacity_ratio == 0.3  # account 0 is r0's alone
    assert r0.enclosed_capacity_ratio == 210.0 / 200.0
    assert r0.potential_ratio == 2.0  # 40 of potential within r0's day for a fair 20
    # the cheapest way to 95 % of a fair potential: account 0, then most of another
    assert r0.cheapest_workload_ratio == (30.0 + 0.9 * 60.0) / 150.0
    assert (r1.sole, r1.enclosed_capacity_ratio) == (0, 210.0 / 200.0)
    assert (r2.sole, r2.neighbours) == (2, 0)
    assert r2.sole_capacity_ratio == 2.5
    assert r2.enclosed_capacity_ratio == 2.5
    assert r2.group_potential_ratio == 1.0


def test_over_capacity_reps_who_share_a_neighbour_form_one_area() -> None:
    # r0 | r0+r1 | r1+r2 | r2 along a road: r0's and r2's groups meet at r1
    chain = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]], dtype=bool)
    reach = ReachMap.of(chain, np.tile(np.array([90.0, 90.0, 90.0, 90.0]), (3, 1)))
    (road,) = short_areas(reach, np.array([True, False, True]), NO_LOCKS, CAPACITY)
    assert (road.reps, road.binding, road.accounts, road.reps_short) == ((0, 1, 2), (0, 1, 2), 4, 1)


def test_a_group_short_of_reps_counts_even_when_its_whole_area_has_room() -> None:
    chain = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]], dtype=bool)
    # accounts 0 and 1 (only r0 and r1 reach them): 220 for 200; the road as a whole: 240 for 300
    reach = ReachMap.of(chain, np.tile(np.array([110.0, 110.0, 10.0, 10.0]), (3, 1)))
    (road,) = short_areas(reach, np.array([True, False, True]), NO_LOCKS, CAPACITY)
    assert (road.reps, road.binding, road.accounts, road.reps_short) == ((0, 1, 2), (0, 1), 2, 1)
    assert road.capacity_ratio == 1.1


def test_an_over_capacity_rep_whose_whole_book_is_locked_is_reported_not_a_crash() -> None:
    # every account of rep a is locked (a night that keeps owners), the only movable ones are far away
    reps = [Rep("a", 40.0, -74.0), Rep("b", 44.0, -70.0)]
    locked = [
        Account(f"l{i}", 40.0 + i * 1e-4, -74.0, tier="A", potential=1.0, current_rep="a", locked=True)
        for i in range(400)
    ]
    movable = [
        Account(f"m{i}", 44.0 + i * 1e-3, -70.0, tier="C", potential=1.0, current_rep="b") for i in range(5)
    ]
    plan = rebalance([*locked, *movable], reps, Policy(), time_limit=5)
    assert plan.over_capacity == ("a",) and plan.extra_reps_needed >= 1
    assert all(plan.assignments[a.id] == "a" for a in locked)
