"""Bulk upsert of a pulled page: one `INSERT ... ON CONFLICT DO UPDATE`, executed for many rows.

The statement is built once per table (so SQLAlchemy compiles it once, not per page) and run with
the page's rows as its parameters; the driver batches them (SQLite's executemany, psycopg's
pipeline or multi-VALUES), within each back end's cap on bound parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import Executable, Table, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from sync.store.models import PulledRow

KEY = ("org_id", "crm_id")


@dataclass(frozen=True)
class UpsertReport:
    rows: int  # distinct records written
    duplicate_keys: tuple[tuple[str, str], ...] = field(default=())  # repeated inside the page: last won


def upsert_page(
    table_model: type[PulledRow], rows: Sequence[PulledRow], *, session: Session
) -> UpsertReport:
    """Insert or update a page of pulled rows (of `table_model`'s family) by `(org_id, crm_id)`.

    A key repeated inside the page keeps its last occurrence and is reported.
    An existing row is only overwritten by a row at least as new
    (`crm_modified_at`), so a late, stale page cannot undo a fresher one.
    """
    deduped: dict[tuple[str, str], PulledRow] = {}
    duplicates: list[tuple[str, str]] = []
    for row in rows:
        k = (row.org_id, row.crm_id)
        if k in deduped:
            duplicates.append(k)
            del deduped[k]  # re-insert so the surviving row keeps its last position
        deduped[k] = row
    if not deduped:
        return UpsertReport(rows=0, duplicate_keys=tuple(duplicates))
    table: Table = table_model.__table__  # type: ignore[attr-defined]
    names = [column.name for column in table.columns]
    values = [{name: getattr(row, name) for name in names} for row in deduped.values()]
    session.execute(_upsert_statement(table, session.get_bind().dialect.name), values)
    return UpsertReport(rows=len(values), duplicate_keys=tuple(duplicates))


@cache
def _upsert_statement(table: Table, dialect: str) -> Executable:
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table)
    current = table.c.crm_modified_at
    return stmt.on_conflict_do_update(
        index_elements=list(KEY),
        set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name not in KEY},
        where=or_(current.is_(None), stmt.excluded.crm_modified_at >= current),
    )
