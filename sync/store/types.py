"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter
from sqlalchemy import JSON, DateTime, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware timestamps stored in UTC.

    PostgreSQL keeps `timestamptz`; SQLite keeps no offset, so values are
    converted to UTC on the way in and re-tagged as UTC on the way out. Naive
    datetimes are refused: a timestamp of unknown zone is a bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store timezone-aware timestamps only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class JSONDocument(TypeDecorator[Any]):
    """A JSON value: JSONB on PostgreSQL (indexable, compact), JSON text elsewhere."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(JSONB() if dialect.name == "postgresql" else JSON())


class TypedJSON(JSONDocument, Generic[T]):
    """A JSON column holding one pydantic type: written as its JSON form, read back validated.

    The one place a stored document (a plan's summary, an outbox payload) turns
    from JSON into its model, so every reader gets the same typed value.
    """

    cache_ok = True

    def __init__(self, schema: Any) -> None:
        super().__init__()
        self.schema = schema

    @property
    def adapter(self) -> TypeAdapter[T]:
        return _adapter(self.schema)

    def process_bind_param(self, value: T | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, BaseModel):  # a dict here is a caller skipping the contract
            raise TypeError(f"this column stores {self.schema!r}, not a {type(value).__name__}")
        return self.adapter.dump_python(value, mode="json")

    def process_result_value(self, value: Any, dialect: Dialect) -> T | None:
        if value is None:
            return None
        return self.adapter.validate_python(value)


@cache
def _adapter(schema: Any) -> TypeAdapter[Any]:
    return TypeAdapter(schema)


class StrEnumColumn(TypeDecorator[E]):
    """A status or kind: stored as its value in a VARCHAR, read back as the enum member.

    Writing a value the enum does not know fails at once, in Python, on both back ends.
    """

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int = 16) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else str(self.enum(value).value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)
