"""A seeded org's deals: open pipeline, and deals won or lost in the past year, at its accounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from emulators.seed.model import OPEN_STAGES, DealStage, SeedAccount, SeedOpportunity

_PRODUCTS = ("Service contract", "Equipment", "Renewal", "Expansion", "Pilot")
_DEFAULT_POTENTIAL = 50_000.0  # for accounts whose potential is missing
_DAY_MS = 86_400_000


def generate_opportunities(
    rng: np.random.Generator,
    accounts: list[SeedAccount],
    as_of: datetime,
    *,
    open_share: float,
    closed_share: float,
) -> list[SeedOpportunity]:
    """About `open_share` of the accounts with one open deal, `closed_share` with one closed deal.

    Owned by the account's owner; amounts a lognormal share of its potential;
    open deals close within six months, closed ones closed within the past year.
    """
    n = len(accounts)
    open_at = np.flatnonzero(rng.random(n) < open_share)
    closed_at = np.flatnonzero(rng.random(n) < closed_share)
    where = np.concatenate([open_at, closed_at])
    closed = np.concatenate([np.zeros(open_at.size, bool), np.ones(closed_at.size, bool)])
    order = np.lexsort((closed, where))  # by account, the open deal first
    where, closed = where[order], closed[order]
    k = where.size
    fraction = rng.lognormal(-1.6, 0.6, k)
    stage_pick = rng.integers(0, len(OPEN_STAGES), k)
    won = rng.random(k) < 0.4
    close_ms = (rng.uniform(5.0, 180.0, k) * np.where(closed, -2.0, 1.0) * _DAY_MS).astype(np.int64)
    age_ms = (rng.uniform(20.0, 120.0, k) * _DAY_MS).astype(np.int64)
    product = rng.integers(0, len(_PRODUCTS), k)
    created_ms = np.where(closed, close_ms, 0) - age_ms
    modified_ms = np.minimum(np.where(closed, close_ms, created_ms + age_ms // 2), -3_600_000)
    base_ms = int(as_of.timestamp() * 1000)
    out: list[SeedOpportunity] = []
    rows = zip(
        where.tolist(),
        closed.tolist(),
        fraction.tolist(),
        stage_pick.tolist(),
        won.tolist(),
        close_ms.tolist(),
        product.tolist(),
        created_ms.tolist(),
        modified_ms.tolist(),
        strict=True,
    )
    for i, is_closed, share, pick, is_won, close, prod, created, modified in rows:
        account = accounts[i]
        base = abs(account.potential) if account.potential else _DEFAULT_POTENTIAL
        if is_closed:
            stage = DealStage.CLOSED_WON if is_won else DealStage.CLOSED_LOST
        else:
            stage = OPEN_STAGES[pick]
        out.append(
            SeedOpportunity(
                index=len(out),
                account_index=i,
                owner_index=account.owner_index,
                name=f"{account.name.split(' (')[0]} - {_PRODUCTS[prod]}",
                amount=max(1000.0, round(base * share, -2)),
                stage=stage,
                close_date=(as_of + timedelta(milliseconds=close)).date(),
                created_at=datetime.fromtimestamp((base_ms + created) / 1000, UTC),
                modified_at=datetime.fromtimestamp((base_ms + modified) / 1000, UTC),
            )
        )
    return out
