"""Bulk upsert of a pulled page: one `INSERT ... ON CONFLICT DO UPDATE` on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Table, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from sync.store.models import PulledRow

RowT = TypeVar("RowT", bound=PulledRow)

# Both back ends cap bound parameters per statement (SQLite 32,766, PostgreSQL 65,535);
# a page wider than this is split into as few statements as the cap allows.
MAX_PARAMETERS = 30_000


@dataclass(frozen=True)
class UpsertReport:
    rows: int  # distinct records written
    duplicate_keys: tuple[tuple[Any, ...], ...] = field(default=())  # repeated inside the page: last won


def upsert_page(
    model: type[RowT],
    rows: Sequence[RowT],
    *,
    session: Session,
    newer_than: str | None = "crm_modified_at",
) -> UpsertReport:
    """Insert or update a page of pulled rows by their key, `(org_id, crm_id)`.

    A key repeated inside the page keeps its last occurrence and is reported.
    With `newer_than`, an existing row is only overwritten by a row at least
    as new, so a late, stale page cannot undo a fresher one.
    """
    key = ("org_id", "crm_id")
    deduped: dict[tuple[str, str], RowT] = {}
    duplicates: list[tuple[str, str]] = []
    for row in rows:
        k = (row.org_id, row.crm_id)
        if k in deduped:
            duplicates.append(k)
            del deduped[k]  # re-insert so the surviving row keeps its last position
        deduped[k] = row
    if not deduped:
        return UpsertReport(rows=0, duplicate_keys=tuple(duplicates))

    table: Table = model.__table__  # type: ignore[attr-defined]
    names = [column.name for column in table.columns]
    values = [{name: getattr(row, name) for name in names} for row in deduped.values()]
    columns = names
    per_statement = max(1, MAX_PARAMETERS // len(columns))
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for start in range(0, len(values), per_statement):
        stmt = insert(table).values(values[start : start + per_statement])
        update = {c: stmt.excluded[c] for c in columns if c not in key}
        where = None
        if newer_than is not None and newer_than in columns:
            current = table.c[newer_than]
            where = or_(current.is_(None), stmt.excluded[newer_than] >= current)
        session.execute(stmt.on_conflict_do_update(index_elements=list(key), set_=update, where=where))
    return UpsertReport(rows=len(values), duplicate_keys=tuple(duplicates))

