"""Bulk upsert of a pulled page: one `INSERT ... ON CONFLICT DO UPDATE` on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel

# Both back ends cap bound parameters per statement (SQLite 32,766, PostgreSQL 65,535);
# a page wider than this is split into as few statements as the cap allows.
MAX_PARAMETERS = 30_000


@dataclass(frozen=True)
class UpsertReport:
    rows: int  # distinct records written
    duplicate_keys: tuple[tuple[Any, ...], ...] = field(default=())  # repeated inside the page: last won


def upsert_page(
    model: type[SQLModel],
    rows: Sequence[Mapping[str, Any]],
    *,
    session: Session,
    key: Sequence[str] = ("org_id", "crm_id"),
    newer_than: str | None = "crm_modified_at",
) -> UpsertReport:
    """Insert or update a page of rows by `key`.

    A key repeated inside the page keeps its last occurrence and is reported.
    With `newer_than`, an existing row is only overwritten by a row at least
    as new, so a late, stale page cannot undo a fresher one.
    """
    deduped: dict[tuple[Any, ...], Mapping[str, Any]] = {}
    duplicates: list[tuple[Any, ...]] = []
    for row in rows:
        k = tuple(row[c] for c in key)
        if k in deduped:
            duplicates.append(k)
            del deduped[k]  # re-insert so the surviving row keeps its last position
        deduped[k] = row
    if not deduped:
        return UpsertReport(rows=0, duplicate_keys=tuple(duplicates))

    table: Table = model.__table__  # type: ignore[attr-defined]
    values = [_complete(model, row) for row in deduped.values()]
    columns = list(values[0].keys())
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


def _complete(model: type[SQLModel], row: Mapping[str, Any]) -> dict[str, Any]:
    """Validate through the model so defaults (pulled_at, raw={}) are filled in and types checked."""
    instance = model.model_validate(dict(row))
    table: Table = model.__table__  # type: ignore[attr-defined]
    return {column.name: getattr(instance, column.name) for column in table.columns}
