"""PVRP: solutions the benchmark writes pass an independent feasibility check.

The checker below is written from the format description in
../shared/bench/README.md only: it re-reads the instance text and the `.res`
text itself and shares nothing with bench/cordeau.py.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.cordeau import format_res, parse_cordeau, solve_pvrp, to_periodic
from planner.periodic import EngineParams, solve_periodic

DATA = Path(__file__).resolve().parents[3] / "shared" / "bench" / "pvrp"
BENCH_OUT = Path(__file__).resolve().parents[2] / "bench-out" / "pvrp"

needs_data = pytest.mark.skipif(not DATA.exists(), reason="benchmark instances not present")


# --------------------------------------------------------------------------- checker


@dataclass
class _Node:
    x: float
    y: float
    service: float
    demand: float
    frequency: int
    patterns: set[frozenset[int]]  # allowed sets of 1-based days


def _read_instance(text: str) -> tuple[int, int, list[tuple[float, float]], list[_Node]]:
    """(m, t, per-day (D, Q), nodes with the depot at index 0), per the README's format."""
    rows = [line.split() for line in text.splitlines() if line.strip()]
    _, m, n, t = (int(v) for v in rows[0][:4])
    limits = [(float(r[0]), float(r[1])) for r in rows[1 : 1 + t]]
    nodes = []
    for r in rows[1 + t : 2 + t + n]:
        freq, count = int(r[5]), int(r[6])
        patterns = set()
        for code in r[7 : 7 + count]:
            bits = format(int(code), f"0{t}b")  # leftmost bit = day 1
            patterns.add(frozenset(i + 1 for i, b in enumerate(bits) if b == "1"))
        nodes.append(_Node(float(r[1]), float(r[2]), float(r[3]), float(r[4]), freq, patterns))
    return m, t, limits, nodes


def check_solution(instance_text: str, res_text: str) -> list[str]:
    """Every violated rule of the instance, as readable messages; empty when feasible."""
    m, t, limits, nodes = _read_instance(instance_text)
    lines = [line.split() for line in res_text.splitlines() if line.strip()]
    problems: list[str] = []
    stated_total = float(lines[0][0])
    total = 0.0
    days_of: dict[int, list[int]] = {c: [] for c in range(1, len(nodes))}
    vehicles_of_day: dict[int, list[int]] = {}

    def dist(a: int, b: int) -> float:
        return math.hypot(nodes[a].x - nodes[b].x, nodes[a].y - nodes[b].y)

    for row in lines[1:]:
        day, vehicle = int(row[0]), int(row[1])
        duration, load = float(row[2]), float(row[3])
        path = [int(v) for v in row[4:]]
        where = f"day {day} vehicle {vehicle}"
        if not 1 <= day <= t:
            problems.append(f"{where}: no such day")
            continue
        if path[0] != 0 or path[-1] != 0:
            problems.append(f"{where}: does not start and end at the depot")
        vehicles_of_day.setdefault(day, []).append(vehicle)
        customers = path[1:-1]
        for c in customers:
            if not 1 <= c < len(nodes):
                problems.append(f"{where}: unknown customer {c}")
                continue
            days_of[c].append(day)
        travel = sum(dist(a, b) for a, b in itertools.pairwise(path))
        service = sum(nodes[c].service for c in customers if 1 <= c < len(nodes))
        real_load = sum(nodes[c].demand for c in customers if 1 <= c < len(nodes))
        total += travel
        max_duration, capacity = limits[day - 1]
        if real_load > capacity + 1e-9:
            problems.append(f"{where}: load {real_load} exceeds capacity {capacity}")
        if max_duration > 0 and travel + service > max_duration + 1e-6:
            problems.append(f"{where}: duration {travel + service:.4f} exceeds {max_duration}")
        if abs(real_load - load) > 1e-9:
            problems.append(f"{where}: stated load {load} but customers sum to {real_load}")
        if abs(travel + service - duration) > 0.01:
            problems.append(f"{where}: stated duration {duration} but it is {travel + service:.3f}")
    for day, vehicles in vehicles_of_day.items():
        if len(vehicles) > m:
            problems.append(f"day {day}: {len(vehicles)} routes but only {m} vehicles")
        if len(set(vehicles)) != len(vehicles):
            problems.append(f"day {day}: a vehicle drives two routes")
    for c, days in days_of.items():
        node = nodes[c]
        if len(days) != node.frequency:
            problems.append(f"customer {c}: {len(days)} visits, needs {node.frequency}")
        elif frozenset(days) not in node.patterns:
            problems.append(f"customer {c}: days {sorted(days)} are not an allowed pattern")
    if abs(total - stated_total) > 0.01:
        problems.append(f"stated total {stated_total} but routes sum to {total:.4f}")
    return problems


# --------------------------------------------------------------------------- tests

# Cheap settings: a few rounds and a short polish keep each solve near a second.
QUICK = EngineParams(max_rounds=4, chunk_iterations=100, final_iterations=200)


@needs_data
@pytest.mark.parametrize("name", ["p14", "p03", "pr01"])
def test_bench_solutions_pass_the_independent_checker(name: str, tmp_path: Path) -> None:
    text = (DATA / "instances" / f"{name}.txt").read_text()
    solution = solve_pvrp(parse_cordeau(text, name), seed=0, time_limit=5.0, params=QUICK)
    res = tmp_path / f"{name}.res"
    res.write_text(format_res(solution))
    assert solution.unserved == ()
    assert check_solution(text, res.read_text()) == []


@needs_data
def test_every_solution_left_by_the_last_bench_run_is_feasible() -> None:
    written = sorted(BENCH_OUT.glob("*.res")) if BENCH_OUT.exists() else []
    if not written:
        pytest.skip("no bench-out/pvrp/*.res yet: run python -m bench.pvrp first")
    failures = {}
    for res in written:
        instance = DATA / "instances" / f"{res.stem}.txt"
        problems = check_solution(instance.read_text(), res.read_text())
        if problems:
            failures[res.stem] = problems[:3]
    assert failures == {}


@needs_data
def test_checker_rejects_a_missing_visit_and_an_overloaded_route() -> None:
    text = (DATA / "instances" / "p14.txt").read_text()
    solution = solve_pvrp(parse_cordeau(text, "p14"), seed=0, time_limit=5.0, params=QUICK)
    good = format_res(solution).splitlines()
    route = good[1].split()
    dropped = [*route[:4], *route[4:5], *route[6:]]  # first customer of the first route removed
    broken = "\n".join([good[0], " ".join(dropped), *good[2:]])
    assert any("visits, needs" in p for p in check_solution(text, broken))
    heavy = [route[0], route[1], route[2], "999", *route[4:]]
    misstated = "\n".join([good[0], " ".join(heavy), *good[2:]])
    assert any("stated load" in p for p in check_solution(text, misstated))


@needs_data
def test_same_seed_gives_the_same_pvrp_routes() -> None:
    problem = to_periodic(parse_cordeau((DATA / "instances" / "p14.txt").read_text(), "p14"))
    first = solve_periodic(problem, seed=3, time_limit=30.0, params=QUICK)
    second = solve_periodic(problem, seed=3, time_limit=30.0, params=QUICK)
    assert [d.sequences() for d in first.days] == [d.sequences() for d in second.days]
    assert first.cost == second.cost


def test_pattern_codes_read_leftmost_bit_as_day_one() -> None:
    text = "1 1 2 5\n" + "0 100\n" * 5 + "0 0 0 0 0 0 0\n1 1 0 0 1 2 2 10 20\n2 0 1 0 1 1 1 1\n"
    instance = parse_cordeau(text, "tiny")
    assert instance.customers[0].patterns == ((1, 3), (0, 2))  # 01010 and 10100
    assert instance.customers[1].patterns == ((4,),)  # 00001: day 5
