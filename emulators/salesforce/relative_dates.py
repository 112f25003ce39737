"""SOQL's relative date literals as ranges of days: `LAST_N_DAYS:30` -> [today - 30, tomorrow).

Weeks start on Sunday and quarters are calendar quarters, as in an org with
the default fiscal year; "today" is the org clock's UTC date.
"""

from __future__ import annotations

from datetime import date, timedelta

from emulators.salesforce.soql import DateLiteral, SoqlError


def _month_start(day: date, months_later: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + months_later
    return date(index // 12, index % 12 + 1, 1)


def _quarter_start(day: date, quarters_later: int = 0) -> date:
    first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return _month_start(first, 3 * quarters_later)


def date_range(literal: DateLiteral, today: date) -> tuple[date, date]:
    """The first day in the range and the first day after it."""
    n, name = literal.n, literal.name
    day = timedelta(days=1)
    week = today - timedelta(days=(today.weekday() + 1) % 7)  # Sunday
    fixed: dict[str, tuple[date, date]] = {
        "TODAY": (today, today + day),
        "YESTERDAY": (today - day, today),
        "TOMORROW": (today + day, today + 2 * day),
        "THIS_WEEK": (week, week + 7 * day),
        "LAST_WEEK": (week - 7 * day, week),
        "NEXT_WEEK": (week + 7 * day, week + 14 * day),
        "THIS_MONTH": (_month_start(today), _month_start(today, 1)),
        "LAST_MONTH": (_month_start(today, -1), _month_start(today)),
        "NEXT_MONTH": (_month_start(today, 1), _month_start(today, 2)),
        "LAST_90_DAYS": (today - 90 * day, today + day),
        "NEXT_90_DAYS": (today + day, today + 91 * day),
        "THIS_QUARTER": (_quarter_start(today), _quarter_start(today, 1)),
        "LAST_QUARTER": (_quarter_start(today, -1), _quarter_start(today)),
        "NEXT_QUARTER": (_quarter_start(today, 1), _quarter_start(today, 2)),
        "THIS_YEAR": (date(today.year, 1, 1), date(today.year + 1, 1, 1)),
        "LAST_YEAR": (date(today.year - 1, 1, 1), date(today.year, 1, 1)),
        "NEXT_YEAR": (date(today.year + 1, 1, 1), date(today.year + 2, 1, 1)),
        "LAST_N_DAYS": (today - n * day, today + day),
        "NEXT_N_DAYS": (today + day, today + (n + 1) * day),
        "N_DAYS_AGO": (today - n * day, today - (n - 1) * day),
        "LAST_N_WEEKS": (week - 7 * n * day, week),
        "NEXT_N_WEEKS": (week + 7 * day, week + 7 * (n + 1) * day),
        "LAST_N_MONTHS": (_month_start(today, -n), _month_start(today)),
        "NEXT_N_MONTHS": (_month_start(today, 1), _month_start(today, n + 1)),
        "LAST_N_QUARTERS": (_quarter_start(today, -n), _quarter_start(today)),
        "NEXT_N_QUARTERS": (_quarter_start(today, 1), _quarter_start(today, n + 1)),
        "LAST_N_YEARS": (date(today.year - n, 1, 1), date(today.year, 1, 1)),
        "NEXT_N_YEARS": (date(today.year + 1, 1, 1), date(today.year + n + 1, 1, 1)),
    }
    if name not in fixed:
        raise SoqlError(f"unknown date literal: {name}")
    return fixed[name]
