"""A seeded org's contacts: a buyer at a share of its accounts, owned with the account."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from emulators.seed.model import SeedAccount, SeedContact

_FIRST = ("Alex", "Jordan", "Morgan", "Casey", "Riley", "Taylor", "Jamie", "Avery", "Drew", "Robin")
_LAST = ("Miller", "Davis", "Wilson", "Moore", "Clark", "Lewis", "Hall", "Young", "King", "Wright")
_TITLES = ("Owner", "Purchasing Manager", "Operations Director", "Office Manager", "Facilities Lead")
_DAY_MS = 86_400_000


def generate_contacts(
    rng: np.random.Generator, accounts: list[SeedAccount], as_of: datetime, *, share: float
) -> list[SeedContact]:
    """One contact at about `share` of the accounts, created after the account, edited since."""
    n = len(accounts)
    where = np.flatnonzero(rng.random(n) < share)
    k = where.size
    first = rng.integers(0, len(_FIRST), k).tolist()
    last = rng.integers(0, len(_LAST), k).tolist()
    title = rng.integers(0, len(_TITLES), k).tolist()
    age = (rng.uniform(2.0, 300.0, k) * _DAY_MS).astype(np.int64).tolist()
    edit = rng.uniform(0.0, 1.0, k).tolist()
    base = int(as_of.timestamp() * 1000)
    out: list[SeedContact] = []
    for j, i in enumerate(where.tolist()):
        account = accounts[i]
        fn, ln = _FIRST[first[j]], _LAST[last[j]]
        created_ms = base - age[j]
        modified_ms = created_ms + int((base - 3_600_000 - created_ms) * edit[j])
        out.append(
            SeedContact(
                index=j,
                account_index=i,
                owner_index=account.owner_index,
                first_name=fn,
                last_name=ln,
                email=f"{fn.lower()}.{ln.lower()}.{i}@customer.example",
                phone=f"+1-555-{(i * 7919) % 10000:04d}",
                title=_TITLES[title[j]],
                created_at=datetime.fromtimestamp(created_ms / 1000, UTC),
                modified_at=datetime.fromtimestamp(modified_ms / 1000, UTC),
            )
        )
    return out
