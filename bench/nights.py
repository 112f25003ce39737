"""Night after night: how often the daemon changes owners in a drifting CRM, and what balance buys.

    nice .venv/bin/python -m bench.nights [--nights 60] [--accounts 3000] [--reps 25]
                                          [--changes main|auto|none] [--png docs/img/nights.png]

One emulated Salesforce org (the real simple-salesforce client over loopback),
one store, and the daemon's own nightly run (`sync.pipeline.run_all`) once a
simulated night, the clock moved to that night for everything in the process
(`time-machine`): the emulator's timestamps, the store's and the plan's dates
agree. Before each night but the first the org drifts the way orgs do: a few
new accounts (owned by the neighbour's rep), potentials edited, one rep
leaving (deactivated) a third of the way in and one joining two thirds in.

Per night, read back from the CRM: owners the run changed, the share of the
book moved in the last 90 days against the policy's move budget, and the
potential CV over the active reps after the run. `--changes` picks how
rebalancing reaches the CRM: `main` (the daemon's default; before proposals
existed it wrote every night's plan), `auto` (every proposal approved at
once) or `none` (proposals never approved: only forced changes land).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import random
import re
import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import time_machine
from rich.console import Console
from rich.table import Table

from emulators.salesforce import create_salesforce_app
from emulators.salesforce.org import SalesforceOrg
from emulators.seed import generate_org
from emulators.server import serve
from sync import pipeline
from sync.settings import Settings, load_settings
from sync.store import RunTrigger
from sync.store.schema import upgrade

FIRST_NIGHT = datetime(2027, 1, 4, 2, 0, tzinfo=UTC)  # a Monday, at the nightly run's hour
WINDOW_DAYS = 90
ORG_ID = "salesforce"


@dataclass(frozen=True)
class NightsConfig:
    nights: int = 60
    accounts: int = 3000
    reps: int = 25
    seed: int = 7
    plan_seconds: float = 10.0
    changes: str = "main"  # main | auto | none
    new_accounts_per_night: float = 1.5
    potential_edits_per_night: int = 5


@dataclass(frozen=True)
class Night:
    number: int
    day: str
    drift: str
    owner_changes: int
    accounts: int
    moved_again: int  # of the owner changes, accounts already moved in the last 90 days
    moved_share_window: float  # accounts whose owner changed in the last 90 days / accounts
    budget: float
    potential_cv: float | None
    proposals_pending: int = 0


@dataclass
class Drift:
    """What the org does between two nights: deterministic for a seed."""

    org: SalesforceOrg
    config: NightsConfig
    rng: random.Random = field(init=False)
    leaver: str | None = None

    def __post_init__(self) -> None:
        self.rng = random.Random(self.config.seed)

    def apply(self, night: int) -> str:
        if night == 1:
            return "(first run)"
        told = []
        new = self._poisson(self.config.new_accounts_per_night)
        for _ in range(new):
            self._new_account()
        told.append(f"{new} new")
        for _ in range(self.config.potential_edits_per_night):
            self._edit_potential()
        told.append(f"{self.config.potential_edits_per_night} potentials")
        if night == max(2, self.config.nights // 3):
            told.append(f"rep {self._rep_leaves()} left")
        if night == max(3, 2 * self.config.nights // 3):
            told.append(f"rep {self._rep_joins()} joined")
        return ", ".join(told)

    def _poisson(self, mean: float) -> int:
        k, p, limit = 0, 1.0, math.exp(-mean)
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    def _accounts(self) -> list[dict[str, Any]]:
        return [a for a in self.org.find("Account") if a.get("BillingLatitude") is not None]

    def _new_account(self) -> None:
        active = {u["Id"] for u in self.org.find("User") if u.get("IsActive")}
        near = self.rng.choice([a for a in self._accounts() if a.get("OwnerId") in active])
        self.org.create(
            "Account",
            {
                "Name": f"Nights New {self.rng.randrange(10**6):06d}",
                "BillingLatitude": near["BillingLatitude"] + self.rng.uniform(-0.03, 0.03),
                "BillingLongitude": near["BillingLongitude"] + self.rng.uniform(-0.03, 0.03),
                "BillingPostalCode": near.get("BillingPostalCode"),
                "BillingCountry": near.get("BillingCountry"),
                "OwnerId": near["OwnerId"],
                "Tier__c": self.rng.choice(["A", "B", "C", "C"]),
                "Potential__c": round(self.rng.lognormvariate(math.log(60_000), 0.6), 2),
            },
        )

    def _edit_potential(self) -> None:
        acc = self.rng.choice(self._accounts())
        old = float(acc.get("Potential__c") or 50_000.0)
        self.org.update(
            "Account", acc["Id"], {"Potential__c": round(old * self.rng.lognormvariate(0, 0.4), 2)}
        )

    def _field_reps(self) -> list[dict[str, Any]]:
        return [u for u in self.org.find("User") if u.get("IsActive") and u.get("Latitude") is not None]

    def _rep_leaves(self) -> str:
        rep = self.rng.choice(self._field_reps())
        self.org.update("User", rep["Id"], {"IsActive": False})
        self.leaver = rep["Id"]
        return str(rep.get("Name"))

    def _rep_joins(self) -> str:
        like = self.rng.choice(self._field_reps())
        name = f"New Hire {self.rng.randrange(1000):03d}"
        fields = {
            k: like[k]
            for k in ("ProfileId", "UserRoleId", "TimeZoneSidKey", "PostalCode", "City", "State", "Title")
            if like.get(k) is not None
        }
        self.org.create(
            "User",
            {
                **fields,
                "FirstName": "New",
                "LastName": name.split()[-1],
                "Email": f"{name.replace(' ', '.').lower()}@example.com",
                "Username": f"{name.replace(' ', '.').lower()}@territory-sync.example",
                "IsActive": True,
                "Latitude": like["Latitude"] + 0.05,
                "Longitude": like["Longitude"] - 0.05,
            },
        )
        return name


def owners(org: SalesforceOrg) -> dict[str, str | None]:
    return {a["Id"]: a.get("OwnerId") for a in org.find("Account")}


def potential_cv(org: SalesforceOrg) -> float | None:
    """Potential CV over the active reps with a home (the ones the daemon plans for)."""
    reps = {u["Id"] for u in org.find("User") if u.get("IsActive") and u.get("Latitude") is not None}
    load = dict.fromkeys(reps, 0.0)
    for a in org.find("Account"):
        if a.get("OwnerId") in load:
            load[a["OwnerId"]] += float(a.get("Potential__c") or 0.0)
    values = list(load.values())
    if len(values) < 2 or statistics.fmean(values) == 0:
        return None
    return statistics.pstdev(values) / statistics.fmean(values)


def bench_settings(store: Path, url: str, config: NightsConfig) -> Settings:
    extra: dict[str, Any] = {}
    if config.changes != "main":
        extra["territory_changes"] = "auto" if config.changes == "auto" else "approve"
    return load_settings(
        database_url=f"sqlite:///{store}",
        celery_broker_url=None,
        redis_url=None,
        salesforce_username="ops@nights.example",
        salesforce_password="nights-password",
        salesforce_security_token="",
        salesforce_base_url=url,
        salesforce_rep_filter="Profile.Name = 'Field Sales'",  # the seeded org's field team
        plan_seconds=config.plan_seconds,
        plan_weeks=1,
        plan_horizon_weeks=2,
        plan_seed=config.seed,
        salesforce_requests_per_second=500.0,
        **extra,
    )


@contextmanager
def emulated_org(config: NightsConfig) -> Iterator[tuple[str, SalesforceOrg]]:
    seed = generate_org(
        config.accounts, config.reps, seed=config.seed, metros=3, as_of=FIRST_NIGHT - timedelta(hours=2)
    )
    app = create_salesforce_app(seed)
    with serve(app) as server:
        yield server.url, app.state.org


def run_nights(config: NightsConfig, *, console: Console | None = None) -> list[Night]:
    """The nights, one row each; the clock is each night's for the whole process."""
    rows: list[Night] = []
    last_moved: dict[str, int] = {}  # account → the night its owner last changed
    with (
        tempfile.TemporaryDirectory() as tmp,
        time_machine.travel(FIRST_NIGHT, tick=True) as clock,
        emulated_org(config) as (url, org),
    ):
        settings = bench_settings(Path(tmp) / "nights.db", url, config)
        upgrade(settings.database_url)
        ctx = pipeline.Context.from_settings(settings)
        budget = ctx.policy().disruption.max_move_share
        drift = Drift(org, config)
        for night in range(1, config.nights + 1):
            clock.move_to(FIRST_NIGHT + timedelta(days=night - 1))
            told = drift.apply(night)
            before = owners(org)
            pipeline.run_all(ORG_ID, ctx=ctx, trigger=RunTrigger.NIGHTLY)
            after = owners(org)
            changed = [a for a, o in after.items() if a in before and before[a] != o]
            again = sum(1 for a in changed if last_moved.get(a, -WINDOW_DAYS) > night - WINDOW_DAYS)
            last_moved.update(dict.fromkeys(changed, night))
            in_window = sum(1 for n in last_moved.values() if n > night - WINDOW_DAYS)
            row = Night(
                number=night,
                day=(FIRST_NIGHT + timedelta(days=night - 1)).date().isoformat(),
                drift=told,
                owner_changes=len(changed),
                moved_again=again,
                accounts=len(after),
                moved_share_window=in_window / max(1, len(after)),
                budget=budget,
                potential_cv=potential_cv(org),
                proposals_pending=_pending(ctx),
            )
            rows.append(row)
            if console is not None:
                console.print(night_line(row), soft_wrap=True)
    return rows


def _pending(ctx: pipeline.Context) -> int:
    """Proposals waiting for a decision (0 before proposals existed)."""
    try:
        from sync import proposals  # type: ignore[attr-defined]
    except ImportError:
        return 0
    counter = getattr(proposals, "pending_count", None)
    return int(counter(ctx, ORG_ID)) if callable(counter) else 0


def night_line(n: Night) -> str:
    cv = "—" if n.potential_cv is None else f"{n.potential_cv:.3f}"
    return (
        f"night {n.number:>2} {n.day}: {n.owner_changes:>4} owner changes "
        f"({n.owner_changes / max(1, n.accounts):.1%}, {n.moved_again} again); "
        f"90 days {n.moved_share_window:.1%} of budget {n.budget:.0%}; potential CV {cv}; {n.drift}"
    )


def table(rows: list[Night], title: str) -> Table:
    t = Table(title=title)
    for col in ("night", "drift", "owner changes", "moved again", "moved, 90 days", "budget", "potential CV"):
        t.add_column(col, justify="left" if col == "drift" else "right", no_wrap=col != "drift")
    for n in rows:
        t.add_row(
            str(n.number),
            n.drift,
            f"{n.owner_changes:,} ({n.owner_changes / max(1, n.accounts):.1%})",
            f"{n.moved_again:,}",
            f"{n.moved_share_window:.1%}",
            f"{n.budget:.0%}",
            "—" if n.potential_cv is None else f"{n.potential_cv:.3f}",
        )
    return t


def write_png(runs: dict[str, list[Night]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2, ax3) = plt.subplots(3, 1, figsize=(9, 9), sharex=True)
    for label, rows in runs.items():
        nights = [n.number for n in rows]
        ax1.plot(nights, [n.owner_changes for n in rows], marker=".", label=label)
        ax2.plot(nights, [100 * n.moved_share_window for n in rows], label=label)
        ax3.plot(nights, [n.potential_cv or math.nan for n in rows], label=label)
    first = next(iter(runs.values()))
    ax2.axhline(100 * first[0].budget, color="grey", linestyle="--", label="move budget")
    ax1.set_ylabel("owner changes")
    ax2.set_ylabel("moved in 90 days (%, any reason)")
    ax3.set_ylabel("potential CV")
    ax3.set_xlabel("night")
    ax1.set_yscale("symlog")
    ax1.set_ylim(bottom=0)
    for ax in (ax1, ax2, ax3):
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right")
    fig.suptitle("Owner changes, moved share and balance, night after night")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


LINE = re.compile(
    r"night\s+(\d+) (\S+):\s+(\d+) owner changes \(([\d.]+)%, (\d+) again\); "
    r"90 days ([\d.]+)% of budget (\d+)%; potential CV (\S+); (.*)"
)


def rows_from_log(path: Path) -> list[Night]:
    """The nights a run printed (its per-night lines), e.g. of runs made in parallel, one mode each."""
    rows: list[Night] = []
    accounts = 0
    for line in path.read_text().splitlines():
        m = LINE.match(line.strip())
        if m is None:
            continue
        changes, pct = int(m[3]), float(m[4])
        accounts = round(changes * 100 / pct) if pct > 0 else accounts
        rows.append(Night(
            number=int(m[1]), day=m[2], drift=m[9], owner_changes=changes, moved_again=int(m[5]),
            accounts=accounts, moved_share_window=float(m[6]) / 100, budget=float(m[7]) / 100,
            potential_cv=None if m[8] == "—" else float(m[8]),
        ))  # fmt: skip
    for n, row in enumerate(rows):  # nights before the first change: the first known count
        if row.accounts == 0:
            rows[n] = dataclasses.replace(row, accounts=next((r.accounts for r in rows if r.accounts), 1))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nights", type=int, default=60)
    parser.add_argument("--accounts", type=int, default=3000)
    parser.add_argument("--reps", type=int, default=25)
    parser.add_argument("--seconds", type=float, default=10.0, help="plan time limit per night")
    parser.add_argument("--changes", nargs="+", default=["main"], choices=["main", "auto", "none"])
    parser.add_argument("--png", type=Path, default=None)
    parser.add_argument(
        "--from-logs",
        nargs="+",
        default=[],
        metavar="LABEL=LOG",
        help="tabulate and plot runs already made (their printed nights) instead of running",
    )
    args = parser.parse_args(argv)
    console = Console(width=max(Console().width, 120))
    runs: dict[str, list[Night]] = {}
    if args.from_logs:
        for spec in args.from_logs:
            label, _, log = spec.partition("=")
            runs[label] = rows_from_log(Path(log))
            console.print(table(runs[label], f"{len(runs[label])} nights, changes: {label}"))
            console.print(summary(runs[label], label))
        if args.png:
            console.print(f"wrote {write_png(runs, args.png)}")
        return
    for mode in args.changes:
        config = NightsConfig(
            nights=args.nights,
            accounts=args.accounts,
            reps=args.reps,
            plan_seconds=args.seconds,
            changes=mode,
        )
        runs[mode] = run_nights(config, console=console)
        console.print(table(runs[mode], f"{args.nights} nights, {args.accounts:,} accounts, changes: {mode}"))
        console.print(summary(runs[mode], mode))
    if args.png:
        console.print(f"wrote {write_png(runs, args.png)}")


def summary(rows: list[Night], mode: str) -> str:
    if not rows:
        return f"{mode}: no nights"
    total = sum(n.owner_changes for n in rows[1:])
    quiet = sum(1 for n in rows[1:] if n.owner_changes == 0)
    worst = max((n.moved_share_window for n in rows), default=0.0)
    again = sum(n.moved_again for n in rows)
    return (
        f"{mode}: night 1 changed {rows[0].owner_changes:,} owners; nights 2–{len(rows)} changed {total:,} "
        f"({quiet} nights none, {again:,} of an account moved within 90 days of its last move); "
        f"largest 90-day moved share {worst:.1%} (budget {rows[0].budget:.0%})"
    )


if __name__ == "__main__":
    main()
