"""Plan territories from spreadsheet exports, with no CRM: CSV in, plan.json out.

`tsync plan-file` calls `plan_spreadsheets`. Reading is strict and specific: a
malformed cell raises `PlanFileError` naming the file, the line and the
column, because the person fixing it has the spreadsheet open, not the code.
Empty cells take the planner's defaults. `plan_document` builds the JSON
document from a plan so other outputs (e.g. call plans) can add keys to it.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal, TypeVar

from planner import (
    Account,
    CallPlan,
    CoveragePlan,
    DayRoute,
    Policy,
    Rep,
    TerritoryPlan,
    Unplannable,
    Visit,
    build_call_plans,
    rebalance,
)
from planner.model import WEEKDAY_NAMES, BalanceReport, DimensionStats, TimeWindow, parse_standing_windows
from planner.travel import TravelMatrix
from sync import bounds
from sync.field_map import CSVColumns, load_field_map
from sync.geocode import Geocoder, ZipCentroidGeocoder
from sync.rep_facts import (
    RepFacts,
    parse_clock,
    parse_days_off,
    parse_holiday_region,
    parse_time_zone,
    parse_working_days,
)
from sync.roads import RoadCheck
from sync.strict_csv import CSVFileError, read_table
from sync.travel_cache import CachedTravel

T = TypeVar("T")

ACCOUNT_COLUMNS = ("id", "name", "lat", "lon", "tier", "potential", "effort",
                   "current_rep", "locked", "skills", "address", "postal_code", "country", "visit_windows")
REP_COLUMNS = ("id", "name", "home_lat", "home_lon", "skills", "target_share", "overlay",
               "working_days", "day_start", "day_end", "days_off",
               "time_zone", "holidays_country", "holidays_subdivision")
REQUIRED_REP_COLUMNS = ("id", "home_lat", "home_lon")
TRUE_WORDS = {"1", "true", "yes", "y", "t", "x"}
FALSE_WORDS = {"", "0", "false", "no", "n", "f"}


class PlanFileError(ValueError):
    """A problem in an input file, located by file, line and column."""

    def __init__(self, path: Path, line: int | None, column: str | None, message: str) -> None:
        where = path.name
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}")
        self.path, self.line, self.column = path, line, column


@dataclass(frozen=True)
class _Cell:
    path: Path
    line: int
    column: str
    text: str

    def fail(self, message: str) -> PlanFileError:
        return PlanFileError(self.path, self.line, self.column, message)


def _rows(
    path: Path, required: tuple[str, ...], problems: list[InputProblem] | None = None
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for each data row; header names are trimmed and lower-cased. The file is
    read strictly (see `sync.strict_csv`); a Salesforce report footer is skipped and reported."""
    try:
        table = read_table(path)
    except CSVFileError as exc:
        raise PlanFileError(path, exc.line, None, str(exc).split(": ", 1)[1]) from None
    missing = [c for c in required if c not in table.header]
    if missing:
        raise PlanFileError(path, 1, None, f"missing required column(s): {', '.join(missing)}")
    if problems is not None:
        problems.extend(InputProblem(path.name, line, "", why) for line, why in table.skipped)
    for line, values in table.rows:
        yield line, {n: v.strip() for n, v in zip(table.header, values, strict=False)}


def _cell(path: Path, line: int, row: Mapping[str, str], column: str) -> _Cell:
    return _Cell(path, line, column, row.get(column, ""))


def _number(cell: _Cell, default: float | None, *, low: float | None = None,
            high: float | None = None) -> float | None:
    if cell.text == "":
        return default
    try:
        value = float(cell.text)
    except ValueError:
        raise cell.fail(f"{cell.text!r} is not a number") from None
    if not math.isfinite(value):
        raise cell.fail(f"{cell.text!r} is not a finite number")
    if low is not None and value < low:
        raise cell.fail(f"{value:g} is below the smallest allowed value {low:g}")
    if high is not None and value > high:
        raise cell.fail(f"{value:g} is above the largest allowed value {high:g}")
    return value


def _required(cell: _Cell, parse: Callable[[_Cell], T | None]) -> T:
    value = parse(cell)
    if value is None:
        raise cell.fail("this cell must not be empty")
    return value


def _flag(cell: _Cell) -> bool:
    word = cell.text.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise cell.fail(f"{cell.text!r} is not a yes/no value (use true/false, yes/no or 1/0)")


def _skills(cell: _Cell) -> frozenset[str]:
    return frozenset(s.strip() for s in cell.text.split(";") if s.strip())


def _unique_id(cell: _Cell, seen: dict[str, int]) -> str:
    if cell.text == "":
        raise cell.fail("every row needs an id")
    if cell.text in seen:
        raise cell.fail(f"id {cell.text!r} was already used on line {seen[cell.text]}")
    seen[cell.text] = cell.line
    return cell.text


@dataclass(frozen=True)
class InputProblem:
    """A record of an input file planned with a default (or a part of the file skipped), and why."""

    file: str
    line: int
    record_id: str  # "" for a part of the file (a report footer)
    problem: str

    def __str__(self) -> str:
        who = f" {self.record_id}" if self.record_id else ""
        return f"{self.file}, line {self.line}{who}: {self.problem}"


def _person(name: str) -> str:
    return " ".join(name.split()).casefold()


def _rep_ids_by_name(reps: Sequence[Rep]) -> dict[str, str | None]:
    """Rep id by name (case and spacing ignored); None for a name two reps share."""
    ids: dict[str, str | None] = {}
    for rep in reps:
        key = _person(rep.name)
        if key:
            ids[key] = None if key in ids else rep.id
    return ids


@dataclass
class _AccountReader:
    """Turns one accounts CSV row into an `Account`, by the columns of a field map's `[csv]`."""

    path: Path
    policy: Policy
    columns: CSVColumns
    rep_by_name: Mapping[str, str | None]
    geocoder: Geocoder
    problems: list[InputProblem]

    def required(self) -> tuple[str, ...]:
        return (self.columns.id.lower(),)

    def account(self, line: int, row: Mapping[str, str], seen: dict[str, int]) -> Account:
        c = self.columns

        def cell(column: str) -> _Cell:
            return _cell(self.path, line, row, column.lower())

        account_id = _unique_id(cell(c.id), seen)

        def report(problem: str) -> None:
            self.problems.append(InputProblem(self.path.name, line, account_id, problem))

        lat, lon, approximate = self._place(cell, report)
        return Account(
            id=account_id,
            name=cell(c.name).text,
            lat=lat,
            lon=lon,
            tier=self._tier(cell(c.tier).text, report),
            potential=_bounded(cell(c.potential), bounds.POTENTIAL, report) or 0.0,
            effort=_bounded(cell(c.effort), bounds.EFFORT, report) or 1.0,
            current_rep=self._owner(cell(c.owner).text, report),
            locked=_flag(cell(c.locked)),
            skills=_skills(cell(c.skills)),
            address=cell(c.address).text,
            windows=_windows(cell(c.visit_windows).text, report),
            approximate_location=approximate,
        )

    def _place(self, cell: Callable[[str], _Cell], report: Callable[[str], None]) -> tuple[
        float | None, float | None, bool
    ]:
        """Coordinates when the row has usable ones, else its postal code's centre (approximate)."""
        c = self.columns
        lat = _bounded(cell(c.lat), bounds.LATITUDE, report)
        lon = _bounded(cell(c.lon), bounds.LONGITUDE, report)
        if lat is not None and lon is not None:
            return lat, lon, False
        if (cell(c.lat).text == "") != (cell(c.lon).text == ""):
            missing = c.lat if cell(c.lat).text == "" else c.lon
            raise cell(missing).fail("give both lat and lon, or leave both empty")
        postal = cell(c.postal_code).text
        point = self.geocoder.locate(postal, cell(c.country).text or None) if postal else None
        if point is None:
            if postal:
                report(f"postal code {postal!r} not found: kept out of routing")
            return None, None, False
        return point[0], point[1], True

    def _tier(self, text: str, report: Callable[[str], None]) -> str:
        values = self.columns.tier_values
        if not text:
            return self.policy.default_tier
        if not values:
            return text
        if text in values:
            return values[text]
        report(f"{self.columns.tier} {text!r} is not in the field map's tier values: planned as "
               f"{self.policy.default_tier}")
        return self.policy.default_tier

    def _owner(self, text: str, report: Callable[[str], None]) -> str | None:
        if not text or self.columns.owner_by == "id":
            return text or None
        rep_id = self.rep_by_name.get(_person(text))
        if rep_id is None:
            known = _person(text) in self.rep_by_name
            why = "is the name of two reps" if known else "is not the name of any rep in the reps file"
            report(f"owner {text!r} {why}: planned as unowned")
        return rep_id


def _bounded(cell: _Cell, bound: bounds.Bound, report: Callable[[str], None]) -> float | None:
    """A number cell within its bound; outside it, reported and left to the default."""
    if cell.text == "":
        return None
    try:
        value = float(cell.text)
    except ValueError:
        raise cell.fail(f"{cell.text!r} is not a number") from None
    checked, problem = bound.checked(value)
    if problem:
        report(problem)
    return checked


def _windows(text: str, report: Callable[[str], None]) -> tuple[TimeWindow, ...]:
    if not text:
        return ()
    try:
        return parse_standing_windows(text)
    except ValueError as exc:
        report(f"visit windows not understood ({exc}): visited at any time")
        return ()


def load_accounts(
    path: Path,
    policy: Policy,
    *,
    columns: CSVColumns | None = None,
    reps: Sequence[Rep] = (),
    geocoder: Geocoder | None = None,
    problems: list[InputProblem] | None = None,
) -> list[Account]:
    """Accounts from a CSV whose columns `columns` names (default: id, name, lat, lon, tier,
    potential, effort, current_rep, locked, skills, address, postal_code, country, visit_windows).

    A row without coordinates is placed at its postal code's centre (approximate). A value that is
    there but unusable (an absurd number, a tier or owner nobody knows, windows nobody can read) is
    added to `problems` by id and line, and the account planned with the default.
    """
    names = columns or CSVColumns()
    found = problems if problems is not None else []
    geocode = geocoder or ZipCentroidGeocoder()
    book = _AccountReader(path, policy, names, _rep_ids_by_name(reps), geocode, found)
    accounts: list[Account] = []
    seen: dict[str, int] = {}
    for line, row in _rows(path, book.required(), found):
        accounts.append(book.account(line, row, seen))
    return accounts


def load_reps(path: Path, problems: list[InputProblem] | None = None) -> list[Rep]:
    """Reps from a CSV: id, name, home_lat, home_lon, and optionally every column of a team file
    (skills, target_share, overlay, working_days, day_start, day_end, days_off, time_zone,
    holidays_country, holidays_subdivision), parsed as the daemon parses its TEAM_FILE; a target
    share out of bounds is reported and planned as 1."""
    reps: list[Rep] = []
    seen: dict[str, int] = {}
    found = problems if problems is not None else []
    for line, row in _rows(path, REQUIRED_REP_COLUMNS, found):
        def cell(column: str, line: int = line, row: dict[str, str] = row) -> _Cell:
            return _cell(path, line, row, column)

        rep_id = _unique_id(cell("id"), seen)

        def report(problem: str, line: int = line, rep_id: str = rep_id) -> None:
            found.append(InputProblem(path.name, line, rep_id, problem))

        rep = Rep(
            id=rep_id,
            name=cell("name").text,
            home_lat=_required(cell("home_lat"), lambda c: _number(c, None, low=-90, high=90)),
            home_lon=_required(cell("home_lon"), lambda c: _number(c, None, low=-180, high=180)),
        )
        reps.append(rep_facts(cell, report).apply(rep))
    return reps


def _parsed(cell: _Cell, parse: Callable[[str], T]) -> T:
    try:
        return parse(cell.text)
    except ValueError as exc:
        raise cell.fail(str(exc)) from None


def rep_facts(cell: Callable[[str], _Cell], report: Callable[[str], None] | None = None) -> RepFacts:
    """The optional facts of one rep row (plan-file's reps.csv and the daemon's TEAM_FILE alike);
    with `report`, a target share out of bounds is reported and left to the default, else refused."""
    lat = _number(cell("home_lat"), None, low=-90, high=90)
    lon = _number(cell("home_lon"), None, low=-180, high=180)
    if (lat is None) != (lon is None):
        missing = "home_lat" if lat is None else "home_lon"
        raise cell(missing).fail("give both home_lat and home_lon, or neither")
    start = _parsed(cell("day_start"), lambda t: parse_clock(t, "day_start"))
    end = _parsed(cell("day_end"), lambda t: parse_clock(t, "day_end"))
    if start is not None and end is not None and end <= start:
        ends, starts = cell("day_end").text, cell("day_start").text
        raise cell("day_end").fail(f"{ends!r} is not after day_start {starts!r}")
    country, subdivision = cell("holidays_country"), cell("holidays_subdivision")
    try:
        region = parse_holiday_region(country.text, subdivision.text)
    except ValueError as exc:
        raise (subdivision if subdivision.text else country).fail(str(exc)) from None
    share = cell("target_share")
    return RepFacts(
        home_lat=lat,
        home_lon=lon,
        home_postal_code=cell("home_postal_code").text or None,
        skills=_skills(cell("skills")) if cell("skills").text else None,
        target_share=_bounded(share, bounds.TARGET_SHARE, report) if report else _number(
            share, None, low=bounds.TARGET_SHARE.low, high=bounds.TARGET_SHARE.high
        ),
        overlay=_flag(cell("overlay")) if cell("overlay").text else None,
        working_days=_parsed(cell("working_days"), parse_working_days),
        day_start_minute=start,
        day_end_minute=end,
        days_off=_parsed(cell("days_off"), parse_days_off),
        time_zone=_parsed(cell("time_zone"), parse_time_zone),
        holidays_country=region[0] or None,
        holidays_subdivision=region[1] or None,
    )


def load_policy(path: Path | None) -> Policy:
    """The policy from a TOML file; no file gives the defaults."""
    if path is None:
        return Policy()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanFileError(path, None, None, f"cannot open: {exc.strerror}") from None
    try:
        return Policy.from_toml(text)
    except ValueError as exc:  # tomllib.TOMLDecodeError is a ValueError and names the line
        raise PlanFileError(path, None, None, str(exc)) from None


def _stats(stats: DimensionStats) -> dict[str, float]:
    return {
        "total": round(stats.total, 3),
        "cv": round(stats.cv, 4),
        "gini": round(stats.gini, 4),
        "min_max_ratio": round(stats.min_max_ratio, 4),
        "worst_deviation": round(stats.worst_deviation, 4),
    }


def report_document(report: BalanceReport) -> dict[str, Any]:
    """A balance report as plain JSON types."""
    return {
        "potential": _stats(report.potential),
        "workload": _stats(report.workload),
        "accounts": _stats(report.accounts),
        "travel": _stats(report.travel),
        "max_utilisation": round(report.max_utilisation, 4),
        "reps": {
            load.rep_id: {
                "accounts": load.accounts,
                "potential": round(load.potential, 2),
                "workload_minutes": round(load.workload_minutes, 1),
                "capacity_minutes": round(load.capacity_minutes, 1),
                "utilisation": round(load.utilisation, 4),
                "travel_km": round(load.travel_km, 1),
                "drive_minutes": round(load.drive_minutes, 1),
                "potential_vs_target": round(load.potential_vs_target, 4),
                "workload_vs_target": round(load.workload_vs_target, 4),
            }
            for load in report.reps
        },
    }


def plan_document(plan: TerritoryPlan) -> dict[str, Any]:
    """The plan.json document: assignments, unassigned, moves and metrics."""
    return {
        "assignments": dict(plan.assignments),
        "unassigned": [{"id": u.account_id, "reason": u.reason} for u in plan.unassigned],
        "moves": [
            {"account_id": m.account_id, "from": m.from_rep, "to": m.to_rep, "reason": m.reason}
            for m in plan.moves
        ],
        "metrics": {
            "mode": plan.mode,
            "status": plan.status,
            "seconds": round(plan.seconds, 2),
            "moved_share": round(plan.moved_share, 4),
            "moved_potential_share": round(plan.moved_potential_share, 4),
            "extra_reps_needed": plan.extra_reps_needed,
            "over_capacity": list(plan.over_capacity),
            "out_of_band": [
                {"rep_id": o.rep_id, "potential_vs_target": round(o.potential_vs_target, 4),
                 "workload_vs_target": round(o.workload_vs_target, 4),
                 "utilisation": round(o.utilisation, 4), "reason": o.reason}
                for o in plan.out_of_band
            ],
            "lower_bound_travel_km": (
                None if plan.lower_bound_travel_km is None else round(plan.lower_bound_travel_km, 1)
            ),
            "before": report_document(plan.before),
            "after": report_document(plan.after),
            "coverage_plan": _coverage_plan_document(plan.coverage_plan),
        },
    }


def _clock(minute: int | None) -> str | None:
    return None if minute is None else f"{minute // 60:02d}:{minute % 60:02d}"


def _coverage_plan_document(coverage: CoveragePlan | None) -> dict[str, Any] | None:
    """metrics.coverage_plan: what a short team can cover, and the cut that gets it there."""
    if coverage is None:
        return None
    return {
        "summary": coverage.summary(),
        "fits": coverage.fits,
        "order": coverage.order,
        "cuts": [
            {"tier": c.tier, "overlay": c.overlay, "accounts": c.accounts, "visits_from": c.visits_from,
             "visits_to": c.visits_to, "digital_touch": c.digital}
            for c in coverage.cuts
        ],
        "workload_minutes_before": round(coverage.workload_before, 1),
        "workload_minutes_after": round(coverage.workload_after, 1),
        "capacity_minutes": round(coverage.capacity, 1),
        "visits_per_year": dict(sorted(coverage.visits_per_year.items())),
    }


def _stop_document(order: int, visit: Visit, account: Account | None) -> dict[str, Any]:
    return {
        "order": order,
        "account_id": visit.account_id,
        "name": account.name if account is not None else "",
        "address": account.address if account is not None else "",
        "arrive": _clock(visit.arrive),
        "depart": _clock(visit.depart),
        "drive_minutes": visit.drive_minutes,
        "appointment": visit.appointment,
        "tier": visit.tier,
        "visits_per_year": visit.visits_per_year,
        "last_visit": visit.last_visit.isoformat() if visit.last_visit else None,
    }


def call_plans_document(
    plans: Mapping[str, CallPlan], accounts: Sequence[Account] = ()
) -> dict[str, Any]:
    """plan.json's "call_plans": per rep, the days with visits, stops in route order."""
    by_id = {a.id: a for a in accounts}
    return {
        rep_id: [
            {
                "date": day.date.isoformat(),
                "leave": _clock(day.leave),
                "back": _clock(day.back),
                "lunch": _clock(day.lunch),
                "stops": [_stop_document(k + 1, v, by_id.get(v.account_id))
                          for k, v in enumerate(day.visits)],
                "drive_minutes": day.drive_minutes,
                "drive_home_minutes": day.drive_home_minutes,
            }
            for day in plan.days
            if day.visits
        ]
        for rep_id, plan in sorted(plans.items())
    }


def call_plan_notes_document(
    plans: Mapping[str, CallPlan], accounts: Sequence[Account] = ()
) -> dict[str, Any]:
    """plan.json's "call_plan_notes": per rep, its zone, coverage, and every visit not planned with why."""
    by_id = {a.id: a for a in accounts}

    def listed(entries: Sequence[Unplannable]) -> list[dict[str, Any]]:
        return [{"account_id": u.account_id, "name": _name(by_id.get(u.account_id)), "visits": u.visits,
                 "reason": u.reason} for u in entries]

    return {
        rep_id: {
            "time_zone": plan.time_zone,
            "tiers": [{"tier": t.tier, "accounts": t.accounts, "required": t.required,
                       "completed": t.completed, "planned": t.planned} for t in plan.coverage.tiers],
            "unplaced": listed(plan.coverage.unplannable),
            "not_required": listed(plan.coverage.not_required),
            "days_off": [{"date": d.date.isoformat(), "reason": d.reason} for d in plan.days_off],
            "warnings": list(plan.warnings),
        }
        for rep_id, plan in sorted(plans.items())
    }


CSV_COLUMNS = ("date", "weekday", "order", "arrive", "depart", "account_id", "name", "address", "tier",
               "appointment", "drive_minutes", "last_visit", "leave_home", "back_home", "lunch")


def write_call_plan_csvs(
    plans: Mapping[str, CallPlan], accounts: Sequence[Account], out_dir: Path
) -> list[Path]:
    """One CSV per rep (`<rep id>.csv`): a row per stop in day and route order, times in the rep's zone."""
    out_dir.mkdir(parents=True, exist_ok=True)
    by_id = {a.id: a for a in accounts}
    written = []
    for rep_id, plan in sorted(plans.items()):
        path = out_dir / f"{_safe_file_name(rep_id)}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_COLUMNS)
            for day in plan.days:
                rows = (_csv_row(day, k, v, by_id.get(v.account_id)) for k, v in enumerate(day.visits))
                writer.writerows(rows)
        written.append(path)
    return written


def _csv_row(day: DayRoute, k: int, visit: Visit, account: Account | None) -> list[object]:
    """One stop as a spreadsheet row; the day's leave, back and lunch on its first and last rows."""
    first, last = k == 0, k == len(day.visits) - 1
    return [
        day.date.isoformat(), WEEKDAY_NAMES[day.date.weekday()], k + 1, _clock(visit.arrive),
        _clock(visit.depart), visit.account_id, _cell_text(account.name if account else ""),
        _cell_text(account.address if account else ""), visit.tier, "yes" if visit.appointment else "",
        visit.drive_minutes, visit.last_visit.isoformat() if visit.last_visit else "",
        _clock(day.leave) if first else "", _clock(day.back) if last else "",
        (_clock(day.lunch) or "") if first else "",
    ]


def _name(account: Account | None) -> str:
    return account.name if account is not None else ""


def _safe_file_name(rep_id: str) -> str:
    """A rep id as a file name: anything but letters, digits, dot, dash and underscore becomes "_"."""
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in rep_id).lstrip(".")
    return cleaned or "rep"


def _cell_text(text: str) -> str:
    """CRM text as a spreadsheet cell: a leading =, +, - or @ would run as a formula, so quote it."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def add_call_plans(
    document: dict[str, Any], plan: TerritoryPlan, accounts: Sequence[Account], reps: Sequence[Rep],
    policy: Policy, *, start: date, weeks: int, seed: int, seconds: float, csv_dir: Path | None = None,
    travel: TravelMatrix | None = None,
) -> dict[str, CallPlan]:
    """Plan each rep's dated visits into `document` ("call_plans", "call_plan_notes") and, with
    `csv_dir`, one CSV per rep; returns the call plans."""
    plans = build_call_plans(plan, accounts, reps, policy, start=start, weeks=weeks, seed=seed,
                             time_limit=seconds, travel=travel)
    document["call_plans"] = call_plans_document(plans, accounts)
    document["call_plan_notes"] = call_plan_notes_document(plans, accounts)
    if csv_dir is not None:
        write_call_plan_csvs(plans, accounts, csv_dir)
    return plans


def write_document(document: Mapping[str, Any], out: Path) -> None:
    """Write the JSON document atomically enough for a CLI: to a temp file, then rename."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    text = json.dumps(_finite(document), indent=2, ensure_ascii=False, allow_nan=False)
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(out)


def _finite(value: Any) -> Any:
    """The document with every NaN or infinity as null: plan.json is strict JSON, for any reader."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def problems_document(problems: Sequence[InputProblem]) -> list[dict[str, Any]]:
    """plan.json's "problems": what was planned with a default, or skipped, by file, line and id."""
    return [{"file": p.file, "line": p.line, "id": p.record_id, "problem": p.problem} for p in problems]


def print_input_problems(problems: Sequence[Mapping[str, Any]], shown: int = 20) -> None:
    """The first problems of the input files on stderr, one line each (all of them are in plan.json)."""
    if not problems:
        return
    lines = [f"{p['file']}, line {p['line']}{' ' + p['id'] if p['id'] else ''}: {p['problem']}"
             for p in problems[:shown]]
    more = f"\n... and {len(problems) - shown} more in plan.json" if len(problems) > shown else ""
    print(f"{len(problems)} input problem(s), planned with defaults:\n" + "\n".join(lines) + more,
          file=sys.stderr)


def plan_from_files(
    accounts_csv: Path,
    reps_csv: Path,
    *,
    policy_toml: Path | None = None,
    field_map_toml: Path | None = None,
    mode: Literal["minimal", "full"] = "minimal",
    seconds: float = 30.0,
    seed: int = 0,
    roads: RoadCheck | None = None,
    problems: list[InputProblem] | None = None,
) -> tuple[TerritoryPlan, list[Account], list[Rep], Policy]:
    """Read the files (accounts by the field map's `[csv]` columns) and rebalance (on `roads`' engine,
    if any); returns the plan and the parsed inputs, and adds what was defaulted or skipped to `problems`."""
    policy = load_policy(policy_toml)
    columns = load_field_map(field_map_toml).csv  # a bad file: FieldMapFileError, one line
    reps = load_reps(reps_csv, problems)
    accounts = load_accounts(accounts_csv, policy, columns=columns, reps=reps, problems=problems)
    roads = roads or RoadCheck(None)
    reachable = roads.before_planning(accounts, reps)  # no account is planned on a straight line
    plan = rebalance(reachable, reps, policy, mode=mode, seed=seed, time_limit=seconds, travel=roads.travel)
    return roads.with_unreachable(plan), accounts, reps, policy


def plan_spreadsheets(
    accounts_csv: Path,
    reps_csv: Path,
    *,
    policy_toml: Path | None = None,
    field_map_toml: Path | None = None,
    mode: Literal["minimal", "full"] = "minimal",
    seconds: float = 30.0,
    seed: int = 0,
    call_plans_from: date | None = None,
    weeks: int = 13,
    csv_dir: Path | None = None,
    travel: CachedTravel | None = None,
) -> tuple[TerritoryPlan, dict[str, Any]]:
    """`tsync plan-file`: the plan and its plan.json document, call plans (and their CSVs) when asked;
    with `travel`, on its roads, and the document's "roads" says what they could not reach; "problems"
    lists what the files held that was planned with a default."""
    roads = RoadCheck(travel)
    problems: list[InputProblem] = []
    plan, accounts, reps, policy = plan_from_files(
        accounts_csv, reps_csv, policy_toml=policy_toml, field_map_toml=field_map_toml, mode=mode,
        seconds=seconds, seed=seed, roads=roads, problems=problems,
    )
    document = plan_document(plan)
    if problems:
        document["problems"] = problems_document(problems)
    if call_plans_from is not None:
        plans = add_call_plans(document, plan, accounts, reps, policy, start=call_plans_from, weeks=weeks,
                               seed=seed, seconds=seconds, csv_dir=csv_dir, travel=travel)
        roads.after_planning(plans, accounts, reps)
    if travel is not None:
        document["roads"] = roads.document()
    return plan, document
