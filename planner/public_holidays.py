"""Public holidays by country and subdivision: the one module that imports the `holidays` package.

The package is data (rules per country and year), read in memory: no clock,
no file, no network. Dates come in as arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from types import MappingProxyType

import holidays


def check_holiday_region(country: str, subdivision: str) -> None:
    """ValueError unless `country` (and `subdivision`, if given) are known to the `holidays` package."""
    if not country:
        if subdivision:
            raise ValueError(f"holidays subdivision {subdivision!r} given without a country")
        return
    _calendar(country, subdivision, 2000)


def public_holidays(country: str, subdivision: str, first: date, last: date) -> dict[date, str]:
    """Public holidays in [first, last] with their names; empty when no country is given.

    Raises ValueError for a country or subdivision the package does not know.
    """
    if not country:
        return {}
    found: dict[date, str] = {}
    for year in range(first.year, last.year + 1):
        found.update({d: name for d, name in _calendar(country, subdivision, year).items()
                      if first <= d <= last})
    return found


@lru_cache(maxsize=256)
def _calendar(country: str, subdivision: str, year: int) -> Mapping[date, str]:
    try:
        days = holidays.country_holidays(country.upper(), subdiv=subdivision.upper() or None, years=year)
    except NotImplementedError as exc:  # the package's word for an unknown country or subdivision
        raise ValueError(f"public holidays: {exc}") from None
    return MappingProxyType(dict(days.items()))
