"""PVRP benchmark: the periodic engine on Cordeau's instances, scored against best-known values.

    python -m bench.pvrp p01 p02 ... | all  [--seconds 60] [--solutions bench-out/pvrp]

Reads `../shared/bench/pvrp/instances/<name>.txt` (relative to the repo),
prints per instance the cost, the best known value, the gap and the time, and
writes each solution to `<solutions>/<name>.res` in the BKS files' format so
tests/bench/test_pvrp.py can check it independently. p11 is left out of the
mean (its BKS could not be verified against the instance file).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
from pathlib import Path

from bench.cordeau import format_res, parse_cordeau, solve_pvrp
from planner.periodic import EngineParams

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "bench" / "pvrp"
EXCLUDED_FROM_MEAN = {"p11"}


def best_known() -> dict[str, float]:
    with (DATA / "bks.csv").open() as fh:
        return {row["instance"]: float(row["bks"]) for row in csv.DictReader(fh)}


def instance_names(requested: list[str]) -> list[str]:
    if requested == ["all"]:
        return sorted(p.stem for p in (DATA / "instances").glob("*.txt"))
    return requested


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instances", nargs="+", help="instance names (p01 … pr10) or 'all'")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--solutions", type=Path, default=REPO / "bench-out" / "pvrp")
    args = parser.parse_args()

    bks = best_known()
    args.solutions.mkdir(parents=True, exist_ok=True)
    # The whole budget goes to search: no round cap, PyVRP polishes until the limit.
    params = EngineParams(max_rounds=None, final_iterations=10**9)
    header = f"{'instance':<9}{'n':>5}{'days':>5}{'cost':>12}{'bks':>12}{'gap %':>8}{'ratio':>8}"
    header += f"{'seconds':>9}{'unserved':>9}"
    print(f"PVRP, {args.seconds:.0f} s per instance, seed {args.seed}")
    print(header)
    print("-" * len(header))
    gaps: dict[str, float] = {}
    for name in instance_names(args.instances):
        text = (DATA / "instances" / f"{name}.txt").read_text()
        instance = parse_cordeau(text, name)
        began = time.monotonic()
        solution = solve_pvrp(instance, seed=args.seed, time_limit=args.seconds, params=params)
        seconds = time.monotonic() - began
        (args.solutions / f"{name}.res").write_text(format_res(solution))
        known = bks.get(name)
        gap = 100.0 * (solution.cost / known - 1.0) if known else float("nan")
        if known and not solution.unserved:
            gaps[name] = gap
        print(
            f"{name:<9}{len(instance.customers):>5}{instance.n_days:>5}{solution.cost:>12.2f}"
            f"{known or float('nan'):>12.2f}{gap:>8.2f}{solution.cost / (known or 1):>8.4f}"
            f"{seconds:>9.1f}{len(solution.unserved):>9}",
            flush=True,
        )
    counted = {k: v for k, v in gaps.items() if k not in EXCLUDED_FROM_MEAN}
    if counted:
        print("-" * len(header))
        print(
            f"mean gap {statistics.fmean(counted.values()):.2f} % over {len(counted)} instances"
            f" (p11 excluded); max {max(counted.values()):.2f} %;"
            f" solutions in {args.solutions}"
        )


if __name__ == "__main__":
    main()
