"""CSV exports of a plan: its moves and its call plans, safe to open in a spreadsheet.

A cell that starts with = + - @ (or a tab / carriage return) would run as a formula in
Excel or Sheets: such a text cell is written with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from sync.store import PlannedVisit
from sync.views import PlanView

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
Cell = str | int | float | None


def safe_cell(value: Cell) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()


def moves_csv(view: PlanView) -> str:
    header = ("account_id", "account", "tier", "potential", "from_rep_id", "from_rep", "to_rep_id", "to_rep",
              "reason")  # fmt: skip
    rows = (
        (a.id, a.name, a.tier, a.potential, a.previous_rep_id, view.rep_name(a.previous_rep_id), a.rep_id,
         view.rep_name(a.rep_id), a.reason)
        for a in sorted(view.moves, key=lambda a: (view.rep_name(a.rep_id), a.name, a.id))
    )  # fmt: skip
    return csv_text(header, rows)


def call_plans_csv(engine: Engine, view: PlanView) -> str:
    """Every planned visit of the plan, rep by rep, day by day, in the rep's local time."""
    names = {a.id: a.name for a in view.accounts}
    with Session(engine) as session:
        visits = session.exec(
            select(PlannedVisit)
            .where(PlannedVisit.plan_run_id == view.plan_run.id)
            .order_by(col(PlannedVisit.rep_crm_id), col(PlannedVisit.visit_date), col(PlannedVisit.sequence))
        ).all()
    header = ("rep_id", "rep", "date", "order", "account_id", "account", "arrive", "leave", "time_zone",
              "drive_minutes_before")  # fmt: skip
    rows = []
    for v in visits:
        zone = view.zone_of(v.rep_crm_id)
        starts, ends = v.starts_at.astimezone(zone), v.ends_at.astimezone(zone)
        rows.append(
            (v.rep_crm_id, view.rep_name(v.rep_crm_id), v.visit_date.isoformat(), v.sequence,
             v.account_crm_id, names.get(v.account_crm_id, ""), f"{starts:%H:%M}", f"{ends:%H:%M}", str(zone),
             round(v.drive_minutes_before, 1))
        )  # fmt: skip
    return csv_text(header, rows)
