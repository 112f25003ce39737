"""Generate a realistic, deterministic, CRM-neutral sales org for the emulators to serve.

`generate_org(accounts, reps, seed=...)` returns a `SeedOrg` (see `model.py`);
each emulator maps it to its own shapes (Salesforce Users, Accounts, Events,
Tasks, Opportunities; HubSpot owners, companies, meetings, calls, deals).

What makes it realistic:

- accounts sit around real US metros (GeoNames cities, merged into metros and
  weighted by population), each at a real ZIP centroid near that metro with a
  little jitter, plus a rural spread over all US ZIPs;
- potential is lognormal, tiers A/B/C are about 15/35/50 % and follow potential;
- reps live in those metros (each with the metro's time zone); ownership is
  deliberately drifted: a weighted nearest-rep split gives overloaded and
  thin books, and a share of accounts belong to a far-away rep;
- a year of past visits (meetings/events) and calls (calls/tasks), mostly by
  each account's current owner; open and closed deals;
- `imperfect_share` of the accounts carry one of the defects real CRMs have:
  no coordinates but a postal code, no location at all, an unknown tier
  value, a negative or missing potential; and some reps are inactive while
  still owning accounts;
- some reps have skills (and some of their accounts need them), one is
  ramping, one an overlay specialist, one has days off, one a short week;
- `staff=True` adds the org's other people (an admin, an integration user
  owning `imported_accounts` imported accounts, a sales manager and two
  inside-sales users, each owning a few accounts), none of them a field rep.

The core draws come from one `numpy.random.Generator(seed)` and are
vectorised (100,000 accounts take well under a second after the place tables
are loaded); rep facts, staff and deals draw from their own generators, so
they leave the rest of the org as it was.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from emulators.seed.contacts import generate_contacts
from emulators.seed.model import (
    INDUSTRIES,
    TIERS,
    UNKNOWN_TIERS,
    ActivityKind,
    Defect,
    SeedAccount,
    SeedActivity,
    SeedOrg,
    SeedUser,
)
from emulators.seed.pipeline import generate_opportunities
from emulators.seed.places import FloatArray, IntArray, Places, countryside, load_places, zip_sample
from emulators.seed.team import required_skills, staff_books, staff_users, with_rep_facts

_NAME_FIRST = (
    "Summit", "Pioneer", "Harbor", "Granite", "Cedar", "Liberty", "Northstar", "Evergreen",
    "Prairie", "Keystone", "Riverside", "Bluewater", "Ironwood", "Lakeside", "Redrock",
    "Silverline", "Oakridge", "Sunrise", "Frontier", "Meridian", "Canyon", "Highland",
    "Magnolia", "Sterling", "Cascade", "Heritage", "Pinnacle", "Coastal", "Union", "Atlas",
)  # fmt: skip
_NAME_SECOND = {
    "Healthcare": ("Clinic", "Medical Group", "Health", "Dental", "Pharmacy"),
    "Manufacturing": ("Fabrication", "Industries", "Tooling", "Plastics", "Machining"),
    "Retail": ("Outfitters", "Market", "Goods", "Supply", "Home Center"),
    "Hospitality": ("Hotels", "Grill", "Resorts", "Catering", "Inn"),
    "Construction": ("Builders", "Contracting", "Roofing", "Concrete", "Electric"),
    "Education": ("Academy", "School District", "Learning", "College", "Institute"),
    "Agriculture": ("Farms", "Growers", "Feed & Seed", "Orchards", "Dairy"),
    "Technology": ("Systems", "Software", "Networks", "Labs", "Data"),
    "Financial Services": ("Credit Union", "Bank", "Advisors", "Insurance", "Capital"),
    "Logistics": ("Freight", "Logistics", "Transport", "Warehousing", "Couriers"),
}
_LEGAL = ("Inc.", "LLC", "Co.", "Corp.", "")
_FIRST_NAMES = (
    "Ava", "Ben", "Carla", "Dev", "Elena", "Frank", "Grace", "Hiro", "Isla", "Jamal",
    "Kim", "Luis", "Maya", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sam", "Tara",
    "Uma", "Victor", "Wen", "Xavier", "Yara", "Zoe",
)  # fmt: skip
_LAST_NAMES = (
    "Anders", "Brooks", "Castillo", "Dubois", "Evans", "Fischer", "Garcia", "Hughes",
    "Ito", "Jensen", "Khan", "Lopez", "Murphy", "Nguyen", "Okafor", "Patel", "Quist",
    "Reyes", "Schmidt", "Tanaka", "Usman", "Vargas", "Walsh", "Young", "Zhang",
)  # fmt: skip


def _datetimes(base: datetime, offsets_ms: IntArray) -> list[datetime]:
    """`base + offset` for each millisecond offset, as aware UTC datetimes."""
    epoch_ms = (offsets_ms + int(base.timestamp() * 1000)).tolist()
    stamp = datetime.fromtimestamp
    return [stamp(ms / 1000, UTC) for ms in epoch_ms]


def default_as_of() -> datetime:
    """Midnight UTC today: the org's "now" unless a caller pins one."""
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def generate_org(
    accounts: int,
    reps: int,
    *,
    seed: int = 0,
    imperfect_share: float = 0.06,
    rural_share: float = 0.12,
    far_owner_share: float = 0.06,
    locked_share: float = 0.03,
    visits_per_account: float = 1.5,
    as_of: datetime | None = None,
    metros: int | None = None,
    staff: bool = False,
    imported_accounts: int = 40,
    open_deal_share: float = 0.25,
    closed_deal_share: float = 0.35,
    contact_share: float = 0.4,
) -> SeedOrg:
    """Build an org of `accounts` accounts and `reps` field reps, the same for the same arguments.

    `as_of` is the org's present (default: today at 00:00 UTC); every
    timestamp lies in the year before it. `metros` keeps the org to the N most
    populous metros, its rural spread to their countryside (a regional team);
    by default accounts spread over every metro in the country. `staff` adds
    the org's non-field users after the reps (the integration user owning
    `imported_accounts` accounts). About `open_deal_share` of the accounts
    have an open deal, `closed_deal_share` one closed in the past year;
    `contact_share` have a contact.
    """
    if accounts < 0 or reps < 1:
        raise ValueError("need accounts >= 0 and reps >= 1")
    if not 0.0 <= imperfect_share <= 1.0:
        raise ValueError("imperfect_share must be within [0, 1]")
    now = as_of or default_as_of()
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    rng = np.random.default_rng(seed)
    places = load_places()
    metro_weight = places.metro_population / places.metro_population.sum()
    rural_pool: IntArray | None = None
    if metros is not None:
        if metros < 1:
            raise ValueError("metros must be at least 1")
        chosen = np.argsort(-places.metro_population, kind="stable")[:metros]
        keep = np.zeros_like(metro_weight)
        keep[chosen] = 1.0
        metro_weight = metro_weight * keep / (metro_weight * keep).sum()
        rural_pool = countryside(places, chosen)

    rep_list = _generate_reps(
        rng, places, metro_weight, reps, imperfect_share, now, follow_accounts=metros is not None
    )
    facts_rng = np.random.default_rng([seed, 16])
    rep_list = with_rep_facts(facts_rng, rep_list, now)
    rep_lat = np.array([r.home_lat for r in rep_list])
    rep_lon = np.array([r.home_lon for r in rep_list])

    # --- where accounts are
    metro_of = rng.choice(len(metro_weight), size=accounts, p=metro_weight).astype(np.int64)
    metro_of[rng.random(accounts) < rural_share] = -1
    zips = zip_sample(rng, places, metro_of, rural_pool)
    jitter_km = np.where(metro_of < 0, 6.0, 2.5)
    lat = places.zip_lat[zips] + rng.normal(0.0, 1.0, accounts) * jitter_km / 111.0
    coslat = np.cos(np.radians(places.zip_lat[zips]))
    lon = places.zip_lon[zips] + rng.normal(0.0, 1.0, accounts) * jitter_km / (111.0 * coslat)

    # --- what they are worth
    potential = np.round(rng.lognormal(mean=11.0, sigma=1.0, size=accounts), -2)
    ranks = np.argsort(np.argsort(-(potential * rng.lognormal(0.0, 0.35, accounts))))
    share = ranks / max(accounts, 1)
    tier_idx = np.where(share < 0.15, 0, np.where(share < 0.50, 1, 2))
    effort = np.round(np.clip(rng.lognormal(0.0, 0.2, accounts), 0.6, 2.5), 2)
    industry_idx = rng.integers(0, len(INDUSTRIES), accounts)
    locked = rng.random(accounts) < locked_share

    owners = _drifted_owners(rng, lat, lon, rep_lat, rep_lon, far_owner_share)
    skills_needed = required_skills(facts_rng, owners, rep_list)
    staff_list = staff_users(len(rep_list), now) if staff else []
    book_owners = (
        staff_books(np.random.default_rng([seed, 17]), owners, staff_list, imported_accounts)
        if staff_list
        else owners
    )

    # --- what is wrong with them
    defect_kinds: tuple[Defect, ...] = (
        "no_coordinates",
        "no_location",
        "unknown_tier",
        "bad_potential",
    )
    defective = rng.random(accounts) < imperfect_share
    defect_idx = np.where(defective, rng.integers(0, len(defect_kinds), accounts), -1)

    # Whole milliseconds: both CRMs keep timestamps at that precision.
    created_secs = np.round(rng.uniform(30.0, 5 * 365.0, accounts) * 86400.0, 3)
    modified_secs = np.round(rng.uniform(3600.0, 364 * 86400.0, accounts), 3)

    first = rng.integers(0, len(_NAME_FIRST), accounts)
    second = rng.integers(0, 5, accounts)
    legal = rng.integers(0, len(_LEGAL), accounts)
    unknown_tier = rng.integers(0, len(UNKNOWN_TIERS), accounts)
    negative = rng.random(accounts) < 0.5

    # Plain lists: indexing numpy arrays element by element is slow.
    lat_l, lon_l = np.round(lat, 6).tolist(), np.round(lon, 6).tolist()
    zips_l, tier_l, pot_l = zips.tolist(), tier_idx.tolist(), potential.tolist()
    effort_l, industry_l, locked_l = effort.tolist(), industry_idx.tolist(), locked.tolist()
    owners_l, defect_l = book_owners.tolist(), defect_idx.tolist()
    first_l, second_l, legal_l = first.tolist(), second.tolist(), legal.tolist()
    unknown_l, negative_l = unknown_tier.tolist(), negative.tolist()
    created_ms = (created_secs * 1000).astype(np.int64)
    modified_ms = np.minimum((modified_secs * 1000).astype(np.int64), created_ms)
    created_l, modified_l = _datetimes(now, -created_ms), _datetimes(now, -modified_ms)

    account_list: list[SeedAccount] = []
    for i in range(accounts):
        industry = INDUSTRIES[industry_l[i]]
        z = zips_l[i]
        city = places.zip_city[z]
        legal_form = _LEGAL[legal_l[i]]
        name = f"{_NAME_FIRST[first_l[i]]} {_NAME_SECOND[industry][second_l[i]]}"
        if legal_form:
            name = f"{name} {legal_form}"
        a_lat: float | None = lat_l[i]
        a_lon: float | None = lon_l[i]
        postal: str | None = places.zip_codes[z]
        country: str | None = "US"
        tier: str | None = TIERS[tier_l[i]]
        pot: float | None = pot_l[i]
        kind: Defect = defect_kinds[defect_l[i]] if defect_l[i] >= 0 else ""
        if kind == "no_coordinates":
            a_lat = a_lon = None
        elif kind == "no_location":
            a_lat = a_lon = postal = country = None
        elif kind == "unknown_tier":
            tier = UNKNOWN_TIERS[unknown_l[i]]
        elif kind == "bad_potential":
            pot = -abs(pot_l[i]) if negative_l[i] else None
        account_list.append(
            SeedAccount(
                index=i,
                name=f"{name} ({city})",
                lat=a_lat,
                lon=a_lon,
                postal_code=postal,
                country=country,
                city=city,
                state=places.zip_state[z],
                industry=industry,
                tier=tier,
                potential=pot,
                effort=effort_l[i],
                owner_index=owners_l[i],
                locked=locked_l[i],
                created_at=created_l[i],
                modified_at=modified_l[i],
                defect=kind,
                required_skills=skills_needed[i] if owners_l[i] < len(rep_list) else (),
            )
        )

    activities = _generate_activities(rng, tier_idx, owners, len(rep_list), visits_per_account, now)
    deals = generate_opportunities(
        np.random.default_rng([seed, 20]),
        account_list,
        now,
        open_share=open_deal_share,
        closed_share=closed_deal_share,
    )
    contacts = generate_contacts(np.random.default_rng([seed, 21]), account_list, now, share=contact_share)
    return SeedOrg(
        seed=seed,
        as_of=now,
        users=(*rep_list, *staff_list),
        accounts=tuple(account_list),
        activities=activities,
        opportunities=tuple(deals),
        contacts=tuple(contacts),
    )


def _generate_reps(
    rng: np.random.Generator,
    places: Places,
    metro_weight: FloatArray,
    reps: int,
    imperfect_share: float,
    now: datetime,
    *,
    follow_accounts: bool = False,
) -> list[SeedUser]:
    # Nationwide, square-root weighting: big metros get more reps, small ones still get some.
    # A regional team is hired where its customers are: in proportion to the accounts.
    weight = metro_weight.copy() if follow_accounts else np.sqrt(metro_weight)
    weight /= weight.sum()
    if follow_accounts:
        # Headcount planned per metro (largest remainder), not drawn at random.
        quota = weight * reps
        counts = np.floor(quota).astype(np.int64)
        counts[np.argsort(-(quota - counts), kind="stable")[: reps - int(counts.sum())]] += 1
        metros = rng.permutation(np.repeat(np.arange(len(weight)), counts)).astype(np.int64)
    else:
        metros = rng.choice(len(weight), size=reps, p=weight).astype(np.int64)
    zips = zip_sample(rng, places, metros)
    inactive = np.zeros(reps, dtype=bool)
    if reps >= 3 and imperfect_share > 0:
        n_inactive = max(1, round(reps * imperfect_share))
        inactive[rng.choice(reps, size=min(n_inactive, reps - 1), replace=False)] = True
    first = rng.integers(0, len(_FIRST_NAMES), reps)
    last = rng.integers(0, len(_LAST_NAMES), reps)
    modified = np.round(rng.uniform(86400.0, 300 * 86400.0, reps), 3)
    out = []
    for i in range(reps):
        fn, ln = _FIRST_NAMES[int(first[i])], _LAST_NAMES[int(last[i])]
        z = int(zips[i])
        out.append(
            SeedUser(
                index=i,
                first_name=fn,
                last_name=ln,
                email=f"{fn.lower()}.{ln.lower()}{i}@example.com",
                home_lat=float(places.zip_lat[z]),
                home_lon=float(places.zip_lon[z]),
                home_postal_code=places.zip_codes[z],
                metro=places.metro_names[int(metros[i])],
                active=not bool(inactive[i]),
                modified_at=now - timedelta(seconds=float(modified[i])),
                time_zone=places.zip_time_zone[z],
            )
        )
    return out


def _drifted_owners(
    rng: np.random.Generator,
    lat: FloatArray,
    lon: FloatArray,
    rep_lat: FloatArray,
    rep_lon: FloatArray,
    far_owner_share: float,
) -> IntArray:
    """Nearest rep by a skewed distance (so books are unbalanced), plus some far-away owners."""
    n = lat.size
    owners = np.empty(n, dtype=np.int64)
    # A rep's "pull" stretches or shrinks their reach: history, not geography.
    pull = rng.lognormal(0.0, 0.3, rep_lat.size)
    coslat = np.cos(np.radians(38.0))
    for start in range(0, n, 20_000):  # chunks bound the (n, reps) distance matrix
        sl = slice(start, min(n, start + 20_000))
        dy = lat[sl, None] - rep_lat[None, :]
        dx = (lon[sl, None] - rep_lon[None, :]) * coslat
        owners[sl] = np.argmin(np.hypot(dx, dy) / pull[None, :], axis=1)
    far = rng.random(n) < far_owner_share
    owners[far] = rng.integers(0, rep_lat.size, int(far.sum()))
    return owners


def _generate_activities(
    rng: np.random.Generator,
    tier_idx: IntArray,
    owners: IntArray,
    n_reps: int,
    visits_per_account: float,
    now: datetime,
) -> tuple[SeedActivity, ...]:
    # Visits follow tier frequency (A 24 : B 12 : C 4), scaled to the requested mean.
    freq = np.array([24.0, 12.0, 4.0])[tier_idx] if tier_idx.size else np.zeros(0)
    mean = freq * (visits_per_account / freq.mean()) if freq.size else freq
    counts = rng.poisson(mean)
    account_of = np.repeat(np.arange(tier_idx.size), counts)
    total = account_of.size
    by_owner = rng.random(total) < 0.85
    owner_of = np.where(by_owner, owners[account_of], rng.integers(0, n_reps, total))
    is_call = rng.random(total) < 0.3
    # Working hours: 8:00-17:00 local-ish, any day in the past year.
    day = rng.integers(1, 365, total)
    minute = rng.integers(8 * 60, 16 * 60, total)
    duration = np.where(is_call, rng.integers(5, 30, total), rng.choice([30, 45, 60, 90], total))
    completed = rng.random(total) < 0.92
    lag = np.round(rng.uniform(60.0, 3 * 86400.0, total), 3)
    start_ms = (minute.astype(np.int64) - day.astype(np.int64) * 1440) * 60_000
    end_ms = start_ms + duration.astype(np.int64) * 60_000
    modified_ms = np.minimum(end_ms + (lag * 1000).astype(np.int64), 0)
    starts, ends = _datetimes(now, start_ms), _datetimes(now, end_ms)
    modified_l = _datetimes(now, modified_ms)
    account_l, owner_l, call_l = account_of.tolist(), owner_of.tolist(), is_call.tolist()
    completed_l = completed.tolist()
    out = []
    for i in range(total):
        kind: ActivityKind = "call" if call_l[i] else "visit"
        out.append(
            SeedActivity(
                index=i,
                account_index=account_l[i],
                owner_index=owner_l[i],
                kind=kind,
                subject="Call" if kind == "call" else "Account visit",
                start=starts[i],
                end=ends[i],
                completed=completed_l[i],
                modified_at=modified_l[i],
            )
        )
    return tuple(out)
