"""Field-book benchmark: one rep's quarter of call plans, ours beside the naive round-robin plan.

    python -m bench.fieldbook [--seconds 20] [--seed 0] [--radius-km 5]

The book: 200 accounts (30 A / 70 B / 100 C) around the rep's home in a
metro, a 13-week quarter, 5 fixed appointments. The naive peer chooses each
account's visit days round-robin (evenly spaced, offset by its place in the
book) and routes every day with the same PyVRP router; ours chooses the days.
The table shows both and the drive-time ratio ours / naive.
"""

from __future__ import annotations

import argparse
import time
from datetime import date, timedelta

import numpy as np

from planner.callplan import build_call_plans
from planner.callplan_model import CallPlan, CallPlanParams
from planner.model import Account, Policy, Rep, TimeWindow

HOME = (48.137, 11.575)  # Munich, Marienplatz
KM_PER_DEG_LAT = 111.0


def field_book(
    seed: int = 0, radius_km: float = 5.0, start: date = date(2026, 1, 5)
) -> tuple[Rep, list[Account], date]:
    """One rep and 200 accounts scattered over a metro disc, with 5 booked appointments."""
    rng = np.random.default_rng(seed)
    tiers = ["A"] * 30 + ["B"] * 70 + ["C"] * 100
    km_per_deg_lon = KM_PER_DEG_LAT * np.cos(np.radians(HOME[0]))
    accounts = []
    appointment_days = [start + timedelta(days=d) for d in (2, 15, 31, 50, 73)]
    for k, tier in enumerate(tiers):
        r = radius_km * np.sqrt(rng.uniform())
        theta = rng.uniform(0, 2 * np.pi)
        lat = HOME[0] + r * np.sin(theta) / KM_PER_DEG_LAT
        lon = HOME[1] + r * np.cos(theta) / km_per_deg_lon
        windows: tuple[TimeWindow, ...] = ()
        if k % 40 == 5:  # five accounts, spread over the tiers, with a booked slot
            on = appointment_days[k // 40]
            if on.weekday() >= 5:
                on += timedelta(days=7 - on.weekday())
            slot = int(rng.choice([9 * 60, 11 * 60, 14 * 60]))
            windows = (TimeWindow(slot, slot + 15, on=on),)
        accounts.append(
            Account(
                id=f"acc-{k:03d}",
                lat=float(lat),
                lon=float(lon),
                tier=tier,
                effort=1.0,
                windows=windows,
            )
        )
    rep = Rep(id="rep-1", home_lat=HOME[0], home_lon=HOME[1])
    return rep, accounts, start


def _row(name: str, plan: CallPlan, seconds: float, naive_drive: int) -> list[str]:
    cov = plan.coverage
    max_work = max((d.drive_minutes + d.visit_minutes for d in plan.days), default=0)
    over = sum(1 for d in plan.days if d.back > 17 * 60)
    return [
        name,
        f"{cov.planned}/{cov.required}",
        str(over),
        str(max_work),
        f"{cov.selling_share:.1%}",
        str(cov.drive_minutes),
        f"{cov.drive_minutes / naive_drive:.3f}" if naive_drive else "-",
        f"{seconds:.1f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--radius-km", type=float, default=5.0)
    args = parser.parse_args()

    rep, accounts, start = field_book(args.seed, args.radius_km)
    policy = Policy()
    book = {rep.id: [a.id for a in accounts]}
    results: dict[str, tuple[CallPlan, float]] = {}
    for name, params in (
        ("naive round-robin", CallPlanParams(day_choice="round_robin")),
        ("ours", CallPlanParams()),
    ):
        began = time.monotonic()
        plans = build_call_plans(
            book,
            accounts,
            [rep],
            policy,
            start=start,
            weeks=13,
            seed=args.seed,
            time_limit=args.seconds,
            params=params,
        )
        results[name] = (plans[rep.id], time.monotonic() - began)
    naive_drive = results["naive round-robin"][0].coverage.drive_minutes
    header = [
        "plan",
        "visits planned/required",
        "days over 17:00",
        "max work min/day",
        "selling share",
        "drive min",
        "drive / naive",
        "seconds",
    ]
    rows = [_row(name, plan, secs, naive_drive) for name, (plan, secs) in results.items()]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print(
        f"field book: 200 accounts (30 A / 70 B / 100 C), 13 weeks from {start}, "
        f"5 appointments, metro radius {args.radius_km} km, budget {args.seconds:.0f} s"
    )
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-|-".join("-" * w for w in widths))
    for r in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    ours = results["ours"][0]
    for u in ours.coverage.unplannable:
        print(f"unplannable: {u.account_id} ({u.visits} visits): {u.reason}")
    appointments = [(d.date, v.account_id, v.arrive) for d in ours.days for v in d.visits if v.appointment]
    print(f"appointments kept: {len(appointments)} of 5")


if __name__ == "__main__":
    main()
