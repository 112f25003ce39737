"""Territory benchmark: our rebalance beside k-means + greedy repair and a plain MIP.

    python -m bench.territories [--sizes 1000x10 10000x50 50000x200] [--seconds S]
                                [--methods frontier,ours,minimal,kmeans,mip,floor] [--seed N]
                                [--rural-reps SHARE] [--no-bound]

Every method runs on the same seeded field book (bench/fieldbook_instances.py)
in one process, and each row's travel is compared with the LP bound of the
assignment model with every rep within the policy's band, over every suitable
pair (it ignores the reach rule; GLOP), measured in the same run:

- ours     `planner.rebalance(mode="full")`: LP relax-and-fix + local search
- minimal  `planner.rebalance(mode="minimal")` from the deliberately unbalanced incumbent
- kmeans   k-means on coordinates, clusters matched to reps, skills fixed, then
           greedy capacity repair (move the cheapest account off an over-capacity rep)
- mip      the assignment model with hard bands and capacity, integral, SCIP, same time limit
- frontier not plans: the least travel of any plan that keeps every rep within ±5 %, ±7.5 %
           and ±10 % under the reach rule (a day's drive), i.e. the LP over servable pairs with
           hard bands, HiGHS. Printed first; read beside our rows it is the price of balance:
           what holding the last reps in band would cost in travel
- floor    not a plan: the same LP with elastic bands priced as the planner prices them (the
           planner's trade-off, solved fractionally; not in the default methods)

Timings on a shared 2-core machine are pessimistic; run under `nice`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans

from bench.fieldbook_instances import FieldBookInstance, generate
from planner import Account, Policy, Rep, TerritoryPlan, balance_report, rebalance
from planner.assignment_lp import AssignmentModel, LPSolution, solve_lp
from planner.capacity import WorkloadTable, workload_table
from planner.metrics import dimension_stats
from planner.model import BalancePolicy, BalanceReport, DimensionStats
from planner.reach import ReachMap, reach_limits, servable_pairs
from planner.territories import BAND_PENALTY, CAPACITY_PENALTY

FLOOR_TIME_FACTOR = 5  # the floor is a reference, not a contender: it gets the time it needs
FLOOR_MAX_PAIRS = 1_000_000  # beyond this one LP over every servable pair does not fit the time
FRONTIER_FACTORS = (1.0, 1.5, 2.0)  # × the policy's band: the bands the frontier rows hold every rep to
DEFAULT_SECONDS = {1_000: 20.0, 10_000: 60.0, 50_000: 280.0}


@dataclass(frozen=True)
class FractionalReport:
    """The balance columns of the table for a fractional (LP) assignment."""

    potential: DimensionStats
    workload: DimensionStats
    max_utilisation: float
    total_travel_km: float


@dataclass
class Row:
    method: str
    report: BalanceReport | FractionalReport | None
    moved: float | None
    seconds: float
    note: str = ""


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["1000x10", "10000x50", "50000x200"])
    parser.add_argument("--seconds", type=float, default=None, help="time limit (default by size)")
    parser.add_argument("--methods", default="frontier,ours,minimal,kmeans,mip")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--rural-reps",
        type=float,
        default=0.0,
        help="share of reps living among the rural accounts (default 0: all in metros)",
    )
    parser.add_argument(
        "--no-bound",
        action="store_true",
        help="skip the LP bound (at 50,000 x 200 it is not reached in 3 x the time limit)",
    )
    args = parser.parse_args(argv)
    methods = args.methods.split(",")
    for size in args.sizes:
        n, m = (int(x) for x in size.lower().split("x"))
        seconds = args.seconds or DEFAULT_SECONDS.get(n, 60.0)
        run_size(
            generate(n, m, args.seed, rural_rep_share=args.rural_reps),
            methods,
            seconds,
            bound=not args.no_bound,
        )


def run_size(inst: FieldBookInstance, methods: Sequence[str], seconds: float, *, bound: bool = True) -> None:
    print(
        f"\n## {inst.name}: {len(inst.accounts):,} accounts x {len(inst.reps)} reps, "
        f"time limit {seconds:.0f} s",
        flush=True,
    )
    started = time.perf_counter()
    travel_bound = lp_bound(inst, seconds * 3) if bound else None
    print(
        f"LP bound (policy band ±{inst.policy.balance.potential_band:.0%}): "
        f"{travel_bound:,.0f} visit-km/year ({time.perf_counter() - started:.0f} s)"
        if travel_bound
        else "LP bound: " + ("not reached" if bound else "skipped"),
        flush=True,
    )
    print(f"Least max utilisation the reach rule allows: {least_max_utilisation(inst):.1%}", flush=True)
    runners: Mapping[str, Callable[[FieldBookInstance, float], Row | list[Row]]] = {
        "ours": run_ours,
        "minimal": run_minimal,
        "kmeans": run_kmeans,
        "mip": run_mip,
        "floor": run_floor,
        "frontier": run_frontier,
    }
    rows: list[Row] = []
    for name in methods:
        ran = runners[name](inst, seconds)
        rows.extend(ran if isinstance(ran, list) else [ran])
    incumbent = {a.id: str(a.current_rep) for a in inst.accounts}
    before = balance_report(incumbent, inst.accounts, inst.reps, inst.policy)
    print_table([Row("incumbent", before, None, 0.0), *rows], travel_bound, inst.policy)


def lp_bound(inst: FieldBookInstance, seconds: float) -> float | None:
    """The least travel of any plan with every rep within the policy's band, reach rule ignored.

    The LP relaxation of the assignment model over every suitable pair, hard
    bands and capacity (GLOP, as the planner solves its own LPs). None when it
    does not finish in `seconds` or no fractional plan is that balanced.
    """
    book = _Book.of(inst.accounts, inst.reps, inst.policy)
    rep, acc = np.nonzero(book.suitable)
    _, solution = book.lp(inst.policy, rep, acc, elastic=False, solver="glop", seconds=seconds)
    if not solution.has_solution or solution.status != "optimal":
        return None
    return book.travel(solution.values, rep, acc)


def run_ours(inst: FieldBookInstance, seconds: float) -> Row:
    plan = rebalance(inst.accounts, inst.reps, inst.policy, mode="full", time_limit=seconds)
    return Row("ours (full)", plan.after, plan.moved_share, plan.seconds, _plan_note(plan))


def run_minimal(inst: FieldBookInstance, seconds: float) -> Row:
    plan = rebalance(inst.accounts, inst.reps, inst.policy, mode="minimal", time_limit=seconds)
    return Row("ours (minimal)", plan.after, plan.moved_share, plan.seconds, _plan_note(plan))


def _plan_note(plan: TerritoryPlan) -> str:
    flagged = f"; {len(plan.out_of_band)} rep(s) flagged" if plan.out_of_band else ""
    hire = f"; {plan.extra_reps_needed} more rep(s) needed" if plan.extra_reps_needed else ""
    return f"{plan.status}{flagged}{hire}"


def least_max_utilisation(inst: FieldBookInstance) -> float:
    """A lower bound on any plan's max utilisation under the reach rule.

    Each rep's group (the reps whose day's drive overlaps its own) must carry
    the accounts no one else can reach, at least at their least workload, so
    some rep of the group is at least that share of the group's capacity.
    """
    book = _Book.of(inst.accounts, inst.reps, inst.policy)
    n, m, table = book.n, book.m, book.table
    servable = book.servable(inst.policy)
    workload = table.workload[:, :n]
    fixed = np.bincount(book.pin_rep, weights=table.workload[book.pin_rep, book.pin_cols], minlength=m)
    ones = np.ones(m)
    limits = reach_limits(
        ReachMap.of(servable, workload),
        workload,
        book.potential[:n],
        np.zeros(m),
        fixed.astype(float),
        ones,
        ones,
        table.capacity,
        0.0,
    )
    return max(max(r.sole_capacity_ratio, r.enclosed_capacity_ratio) for r in limits)


def run_kmeans(inst: FieldBookInstance, seconds: float) -> Row:
    started = time.perf_counter()
    owner = kmeans_with_repair(inst.accounts, inst.reps, inst.policy, seed=0)
    elapsed = time.perf_counter() - started
    report = balance_report(owner, inst.accounts, inst.reps, inst.policy)
    return Row("k-means + repair", report, _moved(owner, inst.accounts), elapsed)


def run_mip(inst: FieldBookInstance, seconds: float) -> Row:
    started = time.perf_counter()
    owner = plain_mip(inst.accounts, inst.reps, inst.policy, seconds)
    elapsed = time.perf_counter() - started
    if owner is None:
        return Row("plain MIP (SCIP)", None, None, elapsed, "no feasible solution")
    report = balance_report(owner, inst.accounts, inst.reps, inst.policy)
    return Row("plain MIP (SCIP)", report, _moved(owner, inst.accounts), elapsed)


def run_floor(inst: FieldBookInstance, seconds: float) -> Row:
    """The planner's trade-off under the reach rule, fractional: servable pairs, bands at full price."""
    return _servable_lp(inst, seconds, "floor (LP, servable)", inst.policy, elastic=True)


def run_frontier(inst: FieldBookInstance, seconds: float) -> list[Row]:
    """The least travel of any plan keeping every rep within ±b under the reach rule, b = 1, 1.5, 2 × band.

    Hard bands, fractional: no plan that balanced can travel less. Read against
    the LP bound (which ignores the reach rule) it is the price of balance;
    read against our row, it says whether a plan as balanced could travel less.
    """
    rows = []
    for factor in FRONTIER_FACTORS:
        band = replace(
            inst.policy.balance,
            potential_band=inst.policy.balance.potential_band * factor,
            workload_band=inst.policy.balance.workload_band * factor,
        )
        policy = replace(inst.policy, balance=band)
        rows.append(
            _servable_lp(
                inst, seconds, f"LP: all within ±{band.potential_band * 100:g}%", policy, elastic=False
            )
        )
    return rows


def _servable_lp(
    inst: FieldBookInstance, seconds: float, label: str, policy: Policy, *, elastic: bool
) -> Row:
    started = time.perf_counter()
    book = _Book.of(inst.accounts, inst.reps, policy)
    m = book.m
    servable = book.servable(policy)
    rep, acc = np.nonzero(servable)
    if len(rep) > FLOOR_MAX_PAIRS:
        return Row(
            label,
            None,
            None,
            time.perf_counter() - started,
            f"{len(rep):,} servable pairs: too many for one LP",
        )
    model, solution = book.lp(
        policy, rep, acc, elastic=elastic, solver="highs", seconds=seconds * FLOOR_TIME_FACTOR
    )
    elapsed = time.perf_counter() - started
    if not solution.has_solution or solution.status != "optimal":
        verdict = "no plan is that balanced under the reach rule" if "infeasible" in solution.status else ""
        return Row(label, None, None, elapsed, f"LP {solution.status} {verdict}".rstrip())
    x = solution.values
    pot = model.fixed_potential + np.bincount(rep, weights=x * book.potential[acc], minlength=m)
    work = model.fixed_workload + np.bincount(rep, weights=x * model.pair_workload, minlength=m)
    report = FractionalReport(
        potential=dimension_stats(pot, model.share * pot.sum()),
        workload=dimension_stats(work, model.share * work.sum()),
        max_utilisation=float((work / book.table.capacity).max()),
        total_travel_km=book.travel(x, rep, acc),
    )
    return Row(label, report, None, elapsed, "fractional: a bound, not a plan")


def _moved(owner: Mapping[str, str], accounts: Sequence[Account]) -> float:
    return sum(1 for a in accounts if owner.get(a.id) != a.current_rep) / max(len(accounts), 1)


def _plane(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    return np.c_[lon * 111.0 * np.cos(np.radians(lat)), lat * 111.0]


def kmeans_with_repair(
    accounts: Sequence[Account], reps: Sequence[Rep], policy: Policy, seed: int
) -> dict[str, str]:
    """The common baseline: k-means territories, matched to reps, then greedy capacity repair."""
    table = workload_table(accounts, reps, policy)
    lat = np.array([a.lat for a in accounts], dtype=float)
    lon = np.array([a.lon for a in accounts], dtype=float)
    homes = _plane(np.array([r.home_lat for r in reps]), np.array([r.home_lon for r in reps]))
    km = KMeans(n_clusters=len(reps), random_state=seed, n_init=1).fit(_plane(lat, lon))
    dist = np.linalg.norm(km.cluster_centers_[:, None, :] - homes[None, :, :], axis=2)
    cluster_rows, rep_cols = linear_sum_assignment(dist)
    rep_of_cluster = dict(zip(cluster_rows, rep_cols, strict=True))
    owner = np.array([rep_of_cluster[c] for c in km.labels_], dtype=int)
    suitable = np.array([[a.skills <= r.skills for a in accounts] for r in reps])
    locked = np.array([a.locked for a in accounts])
    rep_pos = {r.id: k for k, r in enumerate(reps)}
    for i, a in enumerate(accounts):
        if a.locked and a.current_rep in rep_pos:
            owner[i] = rep_pos[a.current_rep]
        elif not suitable[owner[i], i]:
            owner[i] = int(np.argmin(np.where(suitable[:, i], table.km[:, i], np.inf)))
    work = table.workload
    n = len(accounts)
    load = np.bincount(owner, weights=work[owner, np.arange(n)], minlength=len(reps))
    for _ in range(n):
        over = np.flatnonzero(load > table.capacity)
        if over.size == 0:
            break
        r = over[np.argmax(load[over] / table.capacity[over])]
        mine = np.flatnonzero((owner == r) & ~locked)
        room = table.capacity - load
        # cheapest: the account whose extra travel to a rep with room is smallest
        extra = np.where(
            suitable[:, mine] & (room[:, None] >= work[:, mine]),
            table.travel_km[:, mine] - table.travel_km[r, mine][None, :],
            np.inf,
        )
        extra[r] = np.inf
        if not np.isfinite(extra).any():
            break
        to, k = np.unravel_index(int(np.argmin(extra)), extra.shape)
        i = mine[k]
        load[r] -= work[r, i]
        load[to] += work[to, i]
        owner[i] = to
    return {a.id: reps[int(owner[i])].id for i, a in enumerate(accounts)}


def plain_mip(
    accounts: Sequence[Account], reps: Sequence[Rep], policy: Policy, seconds: float
) -> dict[str, str] | None:
    """The same assignment model over all pairs, integral and with hard bands, given to SCIP."""
    book = _Book.of(accounts, reps, policy)
    rep, acc = np.nonzero(book.suitable)
    model = book.model(
        policy,
        rep,
        acc,
        book.table.travel_km[rep, acc],
        band_penalty=0.0,
        capacity_penalty=0.0,
        elastic=False,
    )
    solution = solve_lp(model, time_limit=seconds, integral=True, solver="scip")
    if not solution.has_solution:
        return None
    chosen = solution.values > 0.5
    owner = {book.free[int(i)].id: reps[int(r)].id for i, r in zip(acc[chosen], rep[chosen], strict=True)}
    owner.update({a.id: str(a.current_rep) for a in book.pinned})
    return owner


@dataclass(frozen=True)
class _Book:
    """A field book as the assignment model sees it: movable accounts first, then locked ones."""

    free: list[Account]
    pinned: list[Account]
    table: WorkloadTable  # columns: free accounts, then pinned
    suitable: np.ndarray  # (m, n free): the rep has the account's skills
    potential: np.ndarray  # free, then pinned
    pin_rep: np.ndarray  # each pinned account's rep
    pin_cols: np.ndarray  # each pinned account's column in `table`

    @property
    def n(self) -> int:
        return len(self.free)

    @property
    def m(self) -> int:
        return int(self.table.capacity.shape[0])

    @classmethod
    def of(cls, accounts: Sequence[Account], reps: Sequence[Rep], policy: Policy) -> _Book:
        rep_pos = {r.id: k for k, r in enumerate(reps)}
        pinned = [a for a in accounts if a.locked and a.current_rep in rep_pos]
        free = [a for a in accounts if not (a.locked and a.current_rep in rep_pos)]
        return cls(
            free=free,
            pinned=pinned,
            table=workload_table([*free, *pinned], reps, policy),
            suitable=np.array([[a.skills <= r.skills for a in free] for r in reps]),
            potential=np.array([a.potential for a in [*free, *pinned]], dtype=float),
            pin_rep=np.array([rep_pos[str(a.current_rep)] for a in pinned], dtype=int),
            pin_cols=np.arange(len(free), len(free) + len(pinned)),
        )

    def servable(self, policy: Policy) -> np.ndarray:
        """(m, n free): the pairs the planner's reach rule allows."""
        return servable_pairs(
            self.table.within_a_day(policy)[:, : self.n], self.table.km[:, : self.n], self.suitable
        )

    def lp(
        self,
        policy: Policy,
        rep: np.ndarray,
        acc: np.ndarray,
        *,
        elastic: bool,
        solver: str,
        seconds: float,
    ) -> tuple[AssignmentModel, LPSolution]:
        """The LP over the given pairs at the planner's prices, travel in units of a rep's share."""
        rep_travel = float(self.table.travel_km[:, : self.n].min(axis=0).sum()) / self.m
        model = self.model(
            policy,
            rep,
            acc,
            self.table.travel_km[rep, acc] / rep_travel,
            band_penalty=BAND_PENALTY,
            capacity_penalty=CAPACITY_PENALTY,
            elastic=elastic,
        )
        return model, solve_lp(model, time_limit=seconds, solver=solver)

    def travel(self, x: np.ndarray, rep: np.ndarray, acc: np.ndarray) -> float:
        """Visit-weighted km of a (fractional) assignment over the pairs, locked accounts included."""
        pinned = float(self.table.travel_km[self.pin_rep, self.pin_cols].sum())
        return float(x @ self.table.travel_km[rep, acc]) + pinned

    def model(
        self,
        policy: Policy,
        rep: np.ndarray,
        acc: np.ndarray,
        cost: np.ndarray,
        *,
        band_penalty: float,
        capacity_penalty: float,
        elastic: bool = True,
    ) -> AssignmentModel:
        """The assignment model over the given pairs, equal shares, the policy's bands."""
        n, m, table = self.n, self.m, self.table
        share = np.full(m, 1.0 / m)
        band: BalancePolicy = policy.balance
        pin_rep, pin_cols = self.pin_rep, self.pin_cols
        return AssignmentModel(
            n_accounts=n,
            n_reps=m,
            pair_account=acc,
            pair_rep=rep,
            pair_cost=cost,
            pair_workload=table.workload[rep, acc],
            pair_is_move=np.zeros(len(acc), dtype=bool),
            potential=self.potential[:n],
            potential_target=share * self.potential.sum(),
            share=share,
            fixed_potential=np.bincount(pin_rep, weights=self.potential[pin_cols], minlength=m).astype(float),
            fixed_workload=np.bincount(
                pin_rep, weights=table.workload[pin_rep, pin_cols], minlength=m
            ).astype(float),
            capacity=table.capacity,
            workload_estimate=float(table.workload.min(axis=0).sum()),
            potential_band=band.potential_band,
            workload_band=band.workload_band,
            move_budget=None,
            band_penalty=band_penalty,
            capacity_penalty=capacity_penalty,
            elastic=elastic,
        )


def print_table(rows: Sequence[Row], bound: float | None, policy: Policy) -> None:
    band = policy.balance
    print(
        f"{'method':<20} {'pot CV':>7} {'work CV':>7} {'worst P':>8} {'worst W':>8} "
        f"{'max util':>8} {'travel km':>12} {'vs bound':>8} {'moved':>6} {'seconds':>8}  note"
    )
    for row in rows:
        if row.report is None:
            print(
                f"{row.method:<20} {'—':>7} {'—':>7} {'—':>8} {'—':>8} {'—':>8} {'—':>12} {'—':>8} "
                f"{'—':>6} {row.seconds:>8.1f}  {row.note}"
            )
            continue
        r = row.report
        ratio = f"{r.total_travel_km / bound:.3f}" if bound else "—"
        moved = f"{row.moved:.0%}" if row.moved is not None else "—"
        ok = (
            r.potential.worst_deviation <= band.potential_band + 1e-9
            and r.workload.worst_deviation <= band.workload_band + 1e-9
            and r.max_utilisation <= 1.0
        )
        print(
            f"{row.method:<20} {r.potential.cv:>7.3f} {r.workload.cv:>7.3f} "
            f"{r.potential.worst_deviation:>8.1%} {r.workload.worst_deviation:>8.1%} "
            f"{r.max_utilisation:>8.1%} {r.total_travel_km:>12,.0f} {ratio:>8} {moved:>6} "
            f"{row.seconds:>8.1f}  {'all reps in band' if ok else ''} {row.note}".rstrip()
        )
    print(flush=True)


if __name__ == "__main__":
    main()
