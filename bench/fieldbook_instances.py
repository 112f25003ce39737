"""Seeded territory instances shaped like real field books (for the territory benchmark).

Accounts cluster in a few metros of different sizes plus a rural spread;
potential is lognormal; tiers follow potential (top 10 % A, next 30 % B);
effort varies around 1; a few accounts need a specialist skill and a few are
locked. Reps live in the metros in proportion to the accounts there. The
incumbent assignment is deliberately unbalanced: each account goes to the
nearest rep by a distance warped with random per-rep weights, so some reps
hold far more than their share (what a minimal-mode run starts from).
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
RURAL_REP_SHARE = 0.25  # rural books need more reps per account: the drive is long


@dataclass(frozen=True)
class FieldBookInstance:
    name: str
    accounts: tuple[Account, ...]
    reps: tuple[Rep, ...]
    policy: Policy


def generate(n_accounts: int, n_reps: int, seed: int = 0) -> FieldBookInstance:
    """A field book of `n_accounts` accounts and `n_reps` reps; the same seed gives the same book."""
    rng = np.random.default_rng(seed)
    # region grows with the book so density stays realistic (~ one rep per 4,000 km²)
    half_side_km = max(60.0, np.sqrt(n_reps * 4000.0) / 2.0)
    n_metros = max(2, min(12, n_reps // 6 + 2))
    metro_xy = rng.uniform(-0.8, 0.8, size=(n_metros, 2)) * half_side_km
    metro_weight = rng.pareto(1.2, size=n_metros) + 1.0
    metro_weight /= metro_weight.sum()
    metro_sigma = rng.uniform(8.0, 25.0, size=n_metros)

    n_rural = int(0.2 * n_accounts)
    n_metro = n_accounts - n_rural
    which = rng.choice(n_metros, size=n_metro, p=metro_weight)
    xy_metro = metro_xy[which] + rng.normal(size=(n_metro, 2)) * metro_sigma[which, None]
    xy_rural = rng.uniform(-1.0, 1.0, size=(n_rural, 2)) * half_side_km
    xy = np.vstack([xy_metro, xy_rural])
    lat, lon = _to_latlon(xy)

    potential = np.round(rng.lognormal(mean=10.5, sigma=1.0, size=n_accounts), -1)
    rank = np.argsort(np.argsort(-potential)) / n_accounts
    tiers = np.where(rank < 0.10, "A", np.where(rank < 0.40, "B", "C"))
    effort = np.clip(rng.lognormal(mean=0.0, sigma=0.15, size=n_accounts), 0.6, 1.8)
    # calibrate effort so service alone fills ~66 % of the team (driving brings it to ~85 %)
    policy = Policy()
    base = np.array([policy.tier(t).visits_per_year * policy.tier(t).visit_minutes for t in tiers])
    team = n_reps * policy.capacity.plannable_minutes_per_year
    effort = effort * SERVICE_UTILISATION * team / float((base * effort).sum())
    needs_skill = rng.random(n_accounts) < 0.05
    locked = (rng.random(n_accounts) < 0.02) & (tiers == "A")

    # reps: homes in metros in proportion to accounts, a few among the rural accounts
    n_rural_reps = max(0, round(RURAL_REP_SHARE * n_reps))
    rep_metro = rng.choice(n_metros, size=n_reps - n_rural_reps, p=metro_weight)
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

    reps = tuple(
        Rep(
            id=f"R{r:03d}",
            name=f"Rep {r}",
            home_lat=float(home_lat[r]),
            home_lon=float(home_lon[r]),
            skills=frozenset({"hospital"}) if skilled[r] else frozenset(),
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


def _rural_homes(xy: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """`k` homes at the centres of `k` regions of the rural accounts (k-means).

    Sales ops hire rural reps where the rural accounts are, so every part of
    the map is within a day's drive of someone. Homes scattered at random
    leave corners that no rep can reach in a day, or that one rep alone can
    reach: no assignment balances such a team (the planner reports the
    accounts beyond reach instead), so it would say nothing about the planner.
    """
    if k == 0 or len(xy) == 0:
        return np.zeros((0, 2))
    km = KMeans(n_clusters=k, n_init=1, random_state=int(rng.integers(2**31))).fit(xy)
    return np.asarray(km.cluster_centers_, dtype=np.float64)


def _to_latlon(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lat = CENTER_LAT + xy[:, 1] / KM_PER_DEG_LAT
    lon = CENTER_LON + xy[:, 0] / (KM_PER_DEG_LAT * np.cos(np.radians(CENTER_LAT)))
    return lat, lon
