"""Parse the subset of SOQL the Salesforce emulator answers into a `SoqlQuery`.

Supported, as Salesforce spells it:

    SELECT Id, Name, Owner.Name FROM Account
    WHERE (SystemModstamp > 2024-05-01T00:00:00Z OR (SystemModstamp = 2024-05-01T00:00:00.000+0000
           AND Id > '001...')) AND IsDeleted = false AND Tier__c IN ('A', 'B') AND Name LIKE 'Ac%'
    ORDER BY SystemModstamp ASC NULLS FIRST, Id LIMIT 500 OFFSET 10

and `SELECT COUNT() FROM ...`; date literals (`TODAY`, `LAST_N_DAYS:30`,
`THIS_MONTH`, ...: `DateLiteral`, a range the org resolves against its
clock); aggregates (`COUNT(Id)`, `COUNT_DISTINCT`, `SUM`, `AVG`, `MIN`, `MAX`,
each with an optional alias) with `GROUP BY`; and child subqueries in the
field list (`SELECT Id, (SELECT Id FROM Contacts) FROM Account`). Keywords are case-insensitive; string
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
class DateLiteral:
    """A relative date (`LAST_N_DAYS:30`): the org turns it into a [start, end) range of days."""

    name: str  # upper case, e.g. "LAST_N_DAYS"
    n: int = 0


@dataclass(frozen=True, slots=True)
class Aggregate:
    """`COUNT(Id)`, `SUM(Amount) total`: a function of a field, named by its alias or `exprN`."""

    function: str  # COUNT, COUNT_DISTINCT, SUM, AVG, MIN, MAX
    field: str
    alias: str


@dataclass(frozen=True, slots=True)
class Subquery:
    """A child subquery in the field list: `(SELECT Id FROM Contacts WHERE ...)`."""

    relationship: str
    query: SoqlQuery


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
    aggregates: tuple[Aggregate, ...] = ()
    group_by: tuple[str, ...] = ()
    subqueries: tuple[Subquery, ...] = ()

    @property
    def is_aggregate(self) -> bool:
        return bool(self.aggregates or self.group_by)

    def referenced_fields(self) -> set[str]:
        """Every field the query reads: selected, filtered on or sorted by."""
        names = set(self.fields) | set(self.group_by) | {a.field for a in self.aggregates}
        names |= {k.field for k in self.order_by if not any(k.field == a.alias for a in self.aggregates)}

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
  | (?P<relative>[A-Za-z_]+:\d+)
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    """,
    re.VERBOSE,
)

_KEYWORDS = {
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC", "DESC",
    "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "TRUE", "FALSE", "NULL", "COUNT", "GROUP",
}  # fmt: skip
AGGREGATE_FUNCTIONS = frozenset({"COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX"})
DATE_LITERALS = frozenset(
    {
        "TODAY", "YESTERDAY", "TOMORROW", "THIS_WEEK", "LAST_WEEK", "NEXT_WEEK", "THIS_MONTH",
        "LAST_MONTH", "NEXT_MONTH", "LAST_90_DAYS", "NEXT_90_DAYS", "THIS_QUARTER", "LAST_QUARTER",
        "NEXT_QUARTER", "THIS_YEAR", "LAST_YEAR", "NEXT_YEAR",
    }
)  # fmt: skip
N_DATE_LITERALS = frozenset(
    {
        "LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO", "LAST_N_WEEKS", "NEXT_N_WEEKS", "LAST_N_MONTHS",
        "NEXT_N_MONTHS", "LAST_N_YEARS", "NEXT_N_YEARS", "LAST_N_QUARTERS", "NEXT_N_QUARTERS",
    }
)  # fmt: skip

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
    def __init__(self, soql: str, toks: list[_Tok] | None = None, start: int = 0, *, nested: bool = False):
        self.soql = soql
        self.toks = toks if toks is not None else _tokenize(soql)
        self.i = start
        self.nested = nested

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
        aggregates: list[Aggregate] = []
        subqueries: list[Subquery] = []
        group_by: list[str] = []
        count_only = False
        tok = self.peek()
        after = self.toks[self.i + 2] if self.i + 2 < len(self.toks) else None
        if tok is not None and tok.is_kw("COUNT") and after is not None and after.text == ")":
            self.next()
            self.expect_punct("(")
            self.expect_punct(")")
            count_only = True
        else:
            self.select_item(fields, aggregates, subqueries)
            while (t := self.peek()) is not None and t.kind == "punct" and t.text == ",":
                self.next()
                self.select_item(fields, aggregates, subqueries)
        self.expect_kw("FROM")
        sobject = self.field_name()
        where: Condition | None = None
        order: list[OrderKey] = []
        limit: int | None = None
        offset = 0
        if (t := self.peek()) is not None and t.is_kw("WHERE"):
            self.next()
            where = self.disjunction()
        if (t := self.peek()) is not None and t.is_kw("GROUP"):
            self.next()
            self.expect_kw("BY")
            group_by.append(self.field_name())
            while (t := self.peek()) is not None and t.kind == "punct" and t.text == ",":
                self.next()
                group_by.append(self.field_name())
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
        if (t := self.peek()) is not None and not (self.nested and t.kind == "punct" and t.text == ")"):
            raise SoqlError(f"unexpected token: '{t.text}'")
        if aggregates and any(f.lower() not in {g.lower() for g in group_by} for f in fields):
            raise SoqlError(
                "Field must be grouped or aggregated: "
                + next(f for f in fields if f.lower() not in {g.lower() for g in group_by})
            )
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
            aggregates=tuple(aggregates),
            group_by=tuple(group_by),
            subqueries=tuple(subqueries),
        )

    def select_item(self, fields: list[str], aggregates: list[Aggregate], subqueries: list[Subquery]) -> None:
        """A field, an aggregate with an optional alias, or a child subquery."""
        tok = self.peek()
        if tok is not None and tok.kind == "punct" and tok.text == "(":
            self.next()
            inner = _Parser(self.soql, self.toks, self.i, nested=True)
            sub = inner.query()
            self.i = inner.i
            self.expect_punct(")")
            subqueries.append(Subquery(sub.sobject, sub))
            return
        nxt = self.toks[self.i + 1] if self.i + 1 < len(self.toks) else None
        if tok is not None and tok.upper in AGGREGATE_FUNCTIONS and nxt is not None and nxt.text == "(":
            self.next()
            self.expect_punct("(")
            name = self.field_name()
            self.expect_punct(")")
            alias = f"expr{sum(1 for a in aggregates if a.alias.startswith('expr'))}"
            after = self.peek()
            if after is not None and after.kind == "name" and after.upper not in _KEYWORDS:
                alias = self.next().text
            aggregates.append(Aggregate(tok.upper, name, alias))
            return
        fields.append(self.field_name())

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
        if tok.kind == "relative":
            name, _, n = tok.text.partition(":")
            if name.upper() not in N_DATE_LITERALS:
                raise SoqlError(f"unknown date literal: {tok.text}")
            return DateLiteral(name.upper(), int(n))
        if tok.kind == "name" and tok.upper in DATE_LITERALS:
            return DateLiteral(tok.upper)
        raise SoqlError(f"unexpected token: '{tok.text}'")


def parse_soql(soql: str) -> SoqlQuery:
    """Parse one SOQL statement; raises `SoqlError` with Salesforce-like wording."""
    return _Parser(soql.strip()).query()
