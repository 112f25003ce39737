"""Parse the subset of SOQL the Salesforce emulator answers into a `SoqlQuery`.

Supported, as Salesforce spells it:

    SELECT Id, Name, Owner.Name FROM Account
    WHERE (SystemModstamp > 2024-05-01T00:00:00Z OR (SystemModstamp = 2024-05-01T00:00:00.000+0000
           AND Id > '001...')) AND IsDeleted = false AND Tier__c IN ('A', 'B') AND Name LIKE 'Ac%'
    ORDER BY SystemModstamp ASC NULLS FIRST, Id LIMIT 500 OFFSET 10

and `SELECT COUNT() FROM ...`. Keywords are case-insensitive; string
literals are single-quoted with backslash escapes; datetime and date
literals are unquoted; `true`, `false` and `null` are literals. Anything
else raises `SoqlError`, which the emulator answers as `MALFORMED_QUERY`.

The parser knows nothing of objects or fields: the emulator checks field
names and types against its schema (see `salesforce_org.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Literal

Operator = Literal["=", "!=", "<", "<=", ">", ">=", "IN", "NOT IN", "LIKE"]


class SoqlError(ValueError):
    """The query is not valid SOQL (or not in the supported subset)."""


@dataclass(frozen=True, slots=True)
class Comparison:
    field: str
    op: Operator
    value: Any  # a literal, or a tuple of literals for IN / NOT IN


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: Literal["AND", "OR"]
    terms: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    term: Condition


Condition = Comparison | BoolOp | Not


@dataclass(frozen=True, slots=True)
class OrderKey:
    field: str
    descending: bool = False
    nulls_last: bool = False


@dataclass(frozen=True, slots=True)
class SoqlQuery:
    fields: tuple[str, ...]  # empty for COUNT()
    sobject: str
    where: Condition | None = None
    order_by: tuple[OrderKey, ...] = ()
    limit: int | None = None
    offset: int = 0
    count_only: bool = False

    def referenced_fields(self) -> set[str]:
        """Every field the query reads: selected, filtered on or sorted by."""
        names = set(self.fields) | {k.field for k in self.order_by}

        def walk(c: Condition | None) -> None:
            if isinstance(c, Comparison):
                names.add(c.field)
            elif isinstance(c, BoolOp):
                for t in c.terms:
                    walk(t)
            elif isinstance(c, Not):
                walk(c.term)

        walk(self.where)
        return names


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    """,
    re.VERBOSE,
)

_KEYWORDS = {
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC", "DESC",
    "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "TRUE", "FALSE", "NULL", "COUNT",
}  # fmt: skip

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str
    text: str
    pos: int

    @property
    def upper(self) -> str:
        return self.text.upper()

    def is_kw(self, *words: str) -> bool:
        return self.kind == "name" and self.upper in words


def parse_datetime_literal(text: str) -> datetime:
    """`2024-05-01T09:30:00Z`, `...00.000+0000` or `...+00:00` as an aware UTC datetime."""
    m = re.fullmatch(
        r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})", text
    )
    if not m:
        raise SoqlError(f"invalid datetime literal: {text}")
    y, mo, d, h, mi, s, frac, tz = m.groups()
    micros = int((frac or "0").ljust(6, "0")[:6])
    if tz == "Z":
        zone: timezone = UTC
    else:
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        zone = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    return datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), micros, zone).astimezone(UTC)


def _tokenize(soql: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(soql):
        m = _TOKEN.match(soql, pos)
        if not m:
            raise SoqlError(f"unexpected token at position {pos}: {soql[pos : pos + 20]!r}")
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append(_Tok(kind, m.group(), pos))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, soql: str):
        self.soql = soql
        self.toks = _tokenize(soql)
        self.i = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def next(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise SoqlError("unexpected end of query")
        self.i += 1
        return tok

    def expect_kw(self, *words: str) -> _Tok:
        tok = self.next()
        if not tok.is_kw(*words):
            raise SoqlError(f"expecting {' or '.join(words)}, found '{tok.text}'")
        return tok

    def expect_punct(self, text: str) -> None:
        tok = self.next()
        if tok.kind != "punct" or tok.text != text:
            raise SoqlError(f"expecting '{text}', found '{tok.text}'")

    def field_name(self) -> str:
        tok = self.next()
        if tok.kind != "name" or tok.upper in _KEYWORDS:
            raise SoqlError(f"unexpected token: '{tok.text}'")
        return tok.text

    # --- grammar

    def query(self) -> SoqlQuery:
        self.expect_kw("SELECT")
        fields: list[str] = []
        count_only = False
        tok = self.peek()
        if tok is not None and tok.is_kw("COUNT"):
            self.next()
            self.expect_punct("(")
            self.expect_punct(")")
            count_only = True
        else:
            fields.append(self.field_name())
            while (t := self.peek()) is not None and t.kind == "punct" and t.text == ",":
                self.next()
                fields.append(self.field_name())
        self.expect_kw("FROM")
        sobject = self.field_name()
        where: Condition | None = None
        order: list[OrderKey] = []
        limit: int | None = None
        offset = 0
        if (t := self.peek()) is not None and t.is_kw("WHERE"):
            self.next()
            where = self.disjunction()
        if (t := self.peek()) is not None and t.is_kw("ORDER"):
            self.next()
            self.expect_kw("BY")
            order.append(self.order_key())
            while (t := self.peek()) is not None and t.kind == "punct" and t.text == ",":
                self.next()
                order.append(self.order_key())
        if (t := self.peek()) is not None and t.is_kw("LIMIT"):
            self.next()
            limit = self.integer()
        if (t := self.peek()) is not None and t.is_kw("OFFSET"):
            self.next()
            offset = self.integer()
        if (t := self.peek()) is not None:
            raise SoqlError(f"unexpected token: '{t.text}'")
        seen: set[str] = set()
        for f in fields:
            if f.lower() in seen:
                raise SoqlError(f"duplicate field selected: {f}")
            seen.add(f.lower())
        return SoqlQuery(
            fields=tuple(fields),
            sobject=sobject,
            where=where,
            order_by=tuple(order),
            limit=limit,
            offset=offset,
            count_only=count_only,
        )

    def integer(self) -> int:
        tok = self.next()
        if tok.kind != "number" or not tok.text.isdigit():
            raise SoqlError(f"expecting a non-negative integer, found '{tok.text}'")
        return int(tok.text)

    def order_key(self) -> OrderKey:
        name = self.field_name()
        descending = False
        nulls_last: bool | None = None
        if (t := self.peek()) is not None and t.is_kw("ASC", "DESC"):
            descending = self.next().upper == "DESC"
        if (t := self.peek()) is not None and t.is_kw("NULLS"):
            self.next()
            nulls_last = self.expect_kw("FIRST", "LAST").upper == "LAST"
        # Salesforce's default: nulls first ascending, last descending.
        return OrderKey(name, descending, descending if nulls_last is None else nulls_last)

    def disjunction(self) -> Condition:
        terms = [self.conjunction()]
        while (t := self.peek()) is not None and t.is_kw("OR"):
            self.next()
            terms.append(self.conjunction())
        return terms[0] if len(terms) == 1 else BoolOp("OR", tuple(terms))

    def conjunction(self) -> Condition:
        terms = [self.unary()]
        while (t := self.peek()) is not None and t.is_kw("AND"):
            self.next()
            terms.append(self.unary())
        return terms[0] if len(terms) == 1 else BoolOp("AND", tuple(terms))

    def unary(self) -> Condition:
        tok = self.peek()
        if tok is not None and tok.is_kw("NOT"):
            self.next()
            return Not(self.unary())
        if tok is not None and tok.kind == "punct" and tok.text == "(":
            self.next()
            inner = self.disjunction()
            self.expect_punct(")")
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        name = self.field_name()
        tok = self.next()
        if tok.kind == "op":
            op: Operator = "!=" if tok.text == "<>" else tok.text  # type: ignore[assignment]
            return Comparison(name, op, self.literal())
        if tok.is_kw("LIKE"):
            value = self.literal()
            if not isinstance(value, str):
                raise SoqlError("LIKE needs a string literal")
            return Comparison(name, "LIKE", value)
        negated = False
        if tok.is_kw("NOT"):
            negated = True
            tok = self.next()
        if tok.is_kw("IN"):
            self.expect_punct("(")
            values = [self.literal()]
            while (t := self.peek()) is not None and t.kind == "punct" and t.text == ",":
                self.next()
                values.append(self.literal())
            self.expect_punct(")")
            return Comparison(name, "NOT IN" if negated else "IN", tuple(values))
        raise SoqlError(f"unexpected token: '{tok.text}'")

    def literal(self) -> Any:
        tok = self.next()
        if tok.kind == "string":
            body = tok.text[1:-1]
            return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)
        if tok.kind == "datetime":
            return parse_datetime_literal(tok.text)
        if tok.kind == "date":
            return date.fromisoformat(tok.text)
        if tok.kind == "number":
            return float(tok.text) if "." in tok.text else int(tok.text)
        if tok.is_kw("TRUE"):
            return True
        if tok.is_kw("FALSE"):
            return False
        if tok.is_kw("NULL"):
            return None
        raise SoqlError(f"unexpected token: '{tok.text}'")


def parse_soql(soql: str) -> SoqlQuery:
    """Parse one SOQL statement; raises `SoqlError` with Salesforce-like wording."""
    return _Parser(soql.strip()).query()
