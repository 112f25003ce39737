"""Seeded territory instances shaped like real field books (for the territory benchmark).

Accounts cluster in a few metros of different sizes plus a rural spread in
each metro's hinterland; potential is lognormal; tiers follow potential (top
10 % A, next 30 % B); effort varies around 1; a few accounts need a specialist
skill and a few are locked. Reps live in the metros: sales ops staff each
metro for its book, so every metro has at least one rep and its accounts are
in proportion to its reps. The incumbent assignment is deliberately
unbalanced: each account goes to the nearest rep by a distance warped with
random per-rep weights, so some reps hold far more than their share (what a
minimal-mode run starts from).

`rural_rep_share` > 0 gives the harder book of the earlier benchmark runs:
that share of the reps live at the centres of the rural accounts instead,
and can reach little but rural accounts within a day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans

from planner.model import Account, Policy, Rep
from planner.travel import great_circle_km

CENTER_LAT, CENTER_LON = 50.5, 10.0  # a region the size of Germany
KM_PER_DEG_LAT = 111.0
SERVICE_UTILISATION = 0.55
HINTERLAND_KM = 110.0  # rural accounts lie within this of their metro's centre: a day's drive


@dataclass(frozen=True)
class FieldBookInstance:
    name: str
    accounts: tuple[Account, ...]
    reps: tuple[Rep, ...]
    policy: Policy


def generate(
    n_accounts: int, n_reps: int, seed: int = 0, *, rural_rep_share: float = 0.0,
    service_utilisation: float = SERVICE_UTILISATION, ramping: int = 0,
) -> FieldBookInstance:
    """A field book of `n_accounts` accounts and `n_reps` reps; the same seed gives the same book.

    `service_utilisation` is the share of the headcount's capacity the visits alone take (driving
    adds about half as much again): above about 0.6 the team is short. `ramping` reps, spread over
    the team, are new hires at `target_share` 0.5.
    """
    rng = np.random.default_rng(seed)
    # region grows with the book so density stays realistic (~ one rep per 4,000 km²)
    half_side_km = max(60.0, np.sqrt(n_reps * 4000.0) / 2.0)
    n_metros = max(2, min(12, n_reps // 6 + 2))
    metro_xy = rng.uniform(-0.8, 0.8, size=(n_metros, 2)) * half_side_km
    metro_weight = rng.pareto(1.2, size=n_metros) + 1.0
    metro_sigma = rng.uniform(8.0, 25.0, size=n_metros)
    n_rural_reps = round(rural_rep_share * n_reps)
    metro_reps = _staffing(metro_weight, n_reps - n_rural_reps)
    book_weight = metro_reps / metro_reps.sum()

    n_rural = int(0.2 * n_accounts)
    n_metro = n_accounts - n_rural
    which = rng.choice(n_metros, size=n_metro, p=book_weight)
    xy_metro = metro_xy[which] + rng.normal(size=(n_metro, 2)) * metro_sigma[which, None]
    hinterland = rng.choice(n_metros, size=n_rural, p=book_weight)
    angle = rng.uniform(0.0, 2.0 * np.pi, size=n_rural)
    radius = HINTERLAND_KM * np.sqrt(rng.uniform(size=n_rural))  # uniform over the disc
    xy_rural = metro_xy[hinterland] + radius[:, None] * np.c_[np.cos(angle), np.sin(angle)]
    xy = np.vstack([xy_metro, xy_rural])
    lat, lon = _to_latlon(xy)

    potential = np.round(rng.lognormal(mean=10.5, sigma=1.0, size=n_accounts), -1)
    rank = np.argsort(np.argsort(-potential)) / n_accounts
    tiers = np.where(rank < 0.10, "A", np.where(rank < 0.40, "B", "C"))
    effort = np.clip(rng.lognormal(mean=0.0, sigma=0.15, size=n_accounts), 0.6, 1.8)
    # calibrate effort so service alone fills the given share of the team (driving adds ~50 %)
    policy = Policy()
    base = np.array([policy.tier(t).visits_per_year * policy.tier(t).visit_minutes for t in tiers])
    team = n_reps * policy.capacity.plannable_minutes_per_year
    effort = effort * service_utilisation * team / float((base * effort).sum())
    needs_skill = rng.random(n_accounts) < 0.05
    locked = (rng.random(n_accounts) < 0.02) & (tiers == "A")

    # reps: homes in the metros as staffed; with rural_rep_share, some among the rural accounts
    rep_metro = np.repeat(np.arange(n_metros), metro_reps)
    home_xy = np.vstack(
        [
            metro_xy[rep_metro] + rng.normal(size=(len(rep_metro), 2)) * metro_sigma[rep_metro, None],
            _rural_homes(xy_rural, n_rural_reps, rng),
        ]
    )
    home_lat, home_lon = _to_latlon(home_xy)
    skilled = rng.random(n_reps) < 0.6
    skilled[0] = True  # at least one specialist, so skilled accounts stay plannable

    # deliberately unbalanced incumbent: nearest rep under random multiplicative warps
    warp = rng.uniform(0.75, 1.35, size=n_reps)
    d = great_circle_km(np.c_[home_lat, home_lon], np.c_[lat, lon]) * warp[:, None]
    d[np.ix_(~skilled, needs_skill)] = np.inf
    incumbent = np.argmin(d, axis=0)

    ramping_reps = {(k + 1) * n_reps // (ramping + 1) for k in range(ramping)}
    reps = tuple(
        Rep(
            id=f"R{r:03d}",
            name=f"Rep {r}",
            home_lat=float(home_lat[r]),
            home_lon=float(home_lon[r]),
            skills=frozenset({"hospital"}) if skilled[r] else frozenset(),
            target_share=0.5 if r in ramping_reps else 1.0,
        )
        for r in range(n_reps)
    )
    accounts = tuple(
        Account(
            id=f"A{i:05d}",
            name=f"Account {i}",
            lat=float(lat[i]),
            lon=float(lon[i]),
            tier=str(tiers[i]),
            potential=float(potential[i]),
            effort=float(round(effort[i], 2)),
            skills=frozenset({"hospital"}) if needs_skill[i] else frozenset(),
            current_rep=reps[int(incumbent[i])].id,
            locked=bool(locked[i]),
        )
        for i in range(n_accounts)
    )
    return FieldBookInstance(
        name=f"{n_accounts}x{n_reps}-s{seed}", accounts=accounts, reps=reps, policy=policy
    )


def _staffing(weight: np.ndarray, n_reps: int) -> np.ndarray:
    """Reps per metro: at least one each (while reps last), the rest by largest remainder."""
    counts = np.zeros(len(weight), dtype=int)
    first = min(len(weight), n_reps)
    counts[np.argsort(-weight)[:first]] = 1
    rest = n_reps - first
    if rest > 0:
        quota = weight / weight.sum() * n_reps - counts
        quota = np.maximum(quota, 0.0)
        quota = quota / quota.sum() * rest
        counts += np.floor(quota).astype(int)
        short = rest - int(np.floor(quota).sum())
        counts[np.argsort(-(quota - np.floor(quota)))[:short]] += 1
    return counts


def _rural_homes(xy: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """`k` homes at the centres of `k` regions of the rural accounts (k-means)."""
    if k == 0 or len(xy) == 0:
        return np.zeros((0, 2))
    km = KMeans(n_clusters=k, n_init=1, random_state=int(rng.integers(2**31))).fit(xy)
    return np.asarray(km.cluster_centers_, dtype=np.float64)


def _to_latlon(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lat = CENTER_LAT + xy[:, 1] / KM_PER_DEG_LAT
    lon = CENTER_LON + xy[:, 0] / (KM_PER_DEG_LAT * np.cos(np.radians(CENTER_LAT)))
    return lat, lon
