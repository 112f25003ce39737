"""VRPTW benchmark: our day router (`planner.routing.route_day`) beside plain PyVRP, same budget.

    python -m bench.vrptw C101 R101 ... | all | c1r1rc1  [--seconds 10] [--seed 0]

Instances come from `../shared/bench/solomon/instances` (relative to the repo).
Both solvers get the same integer data (distances and times ×1000, rounded),
the same seed, one thread and the same wall-clock budget; costs are
recomputed exactly from the routes and compared with the distance-only BKS.
R109 and RC103 (BKS below proven optima) are left out of the means.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import statistics
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from pyvrp import Model, solve
from pyvrp.stop import MaxRuntime

from planner.routing import DayFleet, RouteStop, route_day

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "bench" / "solomon"
SCALE = 1000
EXCLUDED_FROM_MEAN = {"R109", "RC103"}


@dataclass(frozen=True)
class Solomon:
    name: str
    vehicles: int
    capacity: int
    xy: NDArray[np.float64]  # depot first
    demand: NDArray[np.int64]
    ready: NDArray[np.float64]
    due: NDArray[np.float64]
    service: NDArray[np.float64]

    def distances(self) -> NDArray[np.float64]:
        diff = self.xy[:, None, :] - self.xy[None, :, :]
        return np.asarray(np.hypot(diff[..., 0], diff[..., 1]))


def read_solomon(text: str, name: str) -> Solomon:
    lines = [ln.split() for ln in text.splitlines() if ln.strip()]
    vehicle_at = next(k for k, ln in enumerate(lines) if ln and ln[0] == "VEHICLE")
    vehicles, capacity = (int(v) for v in lines[vehicle_at + 2][:2])
    rows = [ln for ln in lines[vehicle_at + 3 :] if ln[0].isdigit()]
    arr = np.array([[float(v) for v in r[:7]] for r in rows])
    return Solomon(
        name=name,
        vehicles=vehicles,
        capacity=capacity,
        xy=arr[:, 1:3],
        demand=arr[:, 3].astype(np.int64),
        ready=arr[:, 4],
        due=arr[:, 5],
        service=arr[:, 6],
    )


def scaled(values: NDArray[np.float64]) -> NDArray[np.int64]:
    return np.round(values * SCALE).astype(np.int64)


def exact_cost(inst: Solomon, routes: list[list[int]]) -> float:
    """Routes as lists of customer node ids (1-based; the depot is 0)."""
    dist = inst.distances()
    total = 0.0
    for r in routes:
        path = [0, *r, 0]
        total += float(sum(dist[a, b] for a, b in itertools.pairwise(path)))
    return total


def solve_ours(inst: Solomon, seconds: float, seed: int) -> tuple[float, int, bool]:
    travel = scaled(inst.distances())
    stops = [
        RouteStop(
            location=k,
            service=int(scaled(inst.service[k : k + 1])[0]),
            demand=int(inst.demand[k]),
            window=(int(scaled(inst.ready[k : k + 1])[0]), int(scaled(inst.due[k : k + 1])[0])),
        )
        for k in range(1, len(inst.xy))
    ]
    fleet = DayFleet(
        vehicles=inst.vehicles,
        capacity=inst.capacity,
        opens=int(scaled(inst.ready[:1])[0]),
        closes=int(scaled(inst.due[:1])[0]),
    )
    day = route_day(
        travel,
        stops,
        fleet,
        seed=seed,
        max_iterations=None,
        time_limit=seconds,
        coordinates=inst.xy,
    )
    routes = [[stops[s].location for s in r] for r in day.sequences()]
    return exact_cost(inst, routes), len(routes), day.feasible


def solve_plain(inst: Solomon, seconds: float, seed: int) -> tuple[float, int, bool]:
    """PyVRP as its documentation builds a VRPTW: the Model API and `solve`."""
    travel = scaled(inst.distances())
    m = Model()
    m.add_vehicle_type(
        num_available=inst.vehicles,
        capacity=inst.capacity,
        tw_early=int(scaled(inst.ready[:1])[0]),
        tw_late=int(scaled(inst.due[:1])[0]),
    )
    locations = [m.add_location(x=float(x), y=float(y)) for x, y in inst.xy]
    m.add_depot(
        locations[0],
        tw_early=int(scaled(inst.ready[:1])[0]),
        tw_late=int(scaled(inst.due[:1])[0]),
    )
    for k in range(1, len(inst.xy)):
        m.add_client(
            locations[k],
            delivery=int(inst.demand[k]),
            service_duration=int(scaled(inst.service[k : k + 1])[0]),
            tw_early=int(scaled(inst.ready[k : k + 1])[0]),
            tw_late=int(scaled(inst.due[k : k + 1])[0]),
        )
    for i, frm in enumerate(locations):
        for j, to in enumerate(locations):
            if i != j:
                d = int(travel[i, j])
                m.add_edge(frm, to, distance=d, duration=d)
    result = solve(m.data(), MaxRuntime(seconds), seed=seed, collect_stats=False, display=False)
    # Client k (0-based) is customer k + 1: clients were added in file order.
    routes = [[a.idx + 1 for a in r if a.is_client()] for r in result.best.routes()]
    return exact_cost(inst, routes), len(routes), result.best.is_feasible()


def instance_names(requested: list[str]) -> list[str]:
    every = sorted(p.stem for p in (DATA / "instances").glob("*.txt"))
    if requested == ["all"]:
        return every
    if requested == ["c1r1rc1"]:
        return [n for n in every if n[:-2] in ("C1", "R1", "RC1")]
    return requested


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instances", nargs="+", help="Solomon names, 'all' or 'c1r1rc1'")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with (DATA / "bks.csv").open() as fh:
        bks = {row["instance"]: float(row["bks"]) for row in csv.DictReader(fh)}

    header = (
        f"{'instance':<9}{'bks':>10}{'pyvrp':>10}{'gap %':>8}{'ours':>10}{'gap %':>8}"
        f"{'ours-pyvrp pp':>15}{'routes p/o':>12}{'feasible':>10}"
    )
    print(f"VRPTW (Solomon), {args.seconds:.0f} s per solver per instance, seed {args.seed}")
    print(header)
    print("-" * len(header))
    plain_gaps: list[float] = []
    our_gaps: list[float] = []
    for name in instance_names(args.instances):
        inst = read_solomon((DATA / "instances" / f"{name}.txt").read_text(), name)
        plain, plain_routes, plain_ok = solve_plain(inst, args.seconds, args.seed)
        ours, our_routes, our_ok = solve_ours(inst, args.seconds, args.seed)
        known = bks[name]
        gp, go = 100 * (plain / known - 1), 100 * (ours / known - 1)
        if name not in EXCLUDED_FROM_MEAN:
            plain_gaps.append(gp)
            our_gaps.append(go)
        print(
            f"{name:<9}{known:>10.2f}{plain:>10.2f}{gp:>8.2f}{ours:>10.2f}{go:>8.2f}"
            f"{go - gp:>15.2f}{f'{plain_routes}/{our_routes}':>12}"
            f"{('yes' if plain_ok and our_ok else 'NO'):>10}",
            flush=True,
        )
    if our_gaps:
        print("-" * len(header))
        mp, mo = statistics.fmean(plain_gaps), statistics.fmean(our_gaps)
        print(
            f"mean gap: plain PyVRP {mp:.2f} %, ours {mo:.2f} %, difference {mo - mp:+.2f} pp "
            f"over {len(our_gaps)} instances (R109, RC103 excluded)"
        )


if __name__ == "__main__":
    main()
