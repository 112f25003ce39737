"""The parts of SOQL answered beside plain record lists: aggregate queries and child subqueries.

`aggregate_records` answers `SELECT Industry, COUNT(Id) n FROM Account GROUP BY
Industry` as `AggregateResult` records (grouped fields by their own name,
aggregates by alias or `exprN`). `child_rows` answers `(SELECT ... FROM
Contacts)` for every parent of a query at once, through the relationships
describe lists.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from emulators.salesforce.org import ApiError, ChildRows, Record, SalesforceOrg, render_value
from emulators.salesforce.schema import ObjectSpec
from emulators.salesforce.soql import Aggregate, SoqlQuery, Subquery


def _apply(function: str, values: list[Any]) -> Any:
    present = [v for v in values if v is not None]
    if function == "COUNT":
        return len(present)
    if function == "COUNT_DISTINCT":
        return len(set(present))
    if not present:
        return None
    if function == "SUM":
        return sum(present)
    if function == "AVG":
        return sum(present) / len(present)
    return min(present) if function == "MIN" else max(present)


def aggregate_records(org: SalesforceOrg, query: SoqlQuery, *, include_deleted: bool) -> list[dict[str, Any]]:
    """One `AggregateResult` per group (one in all without GROUP BY)."""
    plain = dataclasses.replace(
        query, aggregates=(), group_by=(), order_by=(), limit=None, offset=0, fields=()
    )
    spec, ids = org.run_query(plain, include_deleted=include_deleted)
    for a in query.aggregates:
        org.field_spec_of_path(spec, a.field)
    groups: dict[tuple[Any, ...], list[Record]] = {}
    with org.lock:
        rows = org.tables[spec.name.lower()].rows
        for rid in ids:
            rec = rows[rid]
            key = tuple(org.resolve(rec, g, spec) for g in query.group_by)
            groups.setdefault(key, []).append(rec)
    if not query.group_by and not groups:
        groups[()] = []
    out = [_result(org, spec, query.group_by, query.aggregates, key, recs) for key, recs in groups.items()]
    names = [order.field.split(".")[-1] for order in query.order_by] or [
        g.split(".")[-1] for g in query.group_by
    ]
    descending = [order.descending for order in query.order_by] or [False] * len(names)
    for name, down in reversed(list(zip(names, descending, strict=True))):
        out.sort(key=functools.partial(_sort_key, name), reverse=down)
    end = None if query.limit is None else query.offset + query.limit
    return out[query.offset : end]


def _sort_key(name: str, row: dict[str, Any]) -> tuple[bool, str]:
    return _sortable(row.get(name))


def _sortable(value: Any) -> tuple[bool, str]:
    """Nulls last, then by value (as text, so mixed types never fail to compare)."""
    return value is None, "" if value is None else f"{value:020.6f}" if isinstance(
        value, int | float
    ) else str(value)


def _result(
    org: SalesforceOrg,
    spec: ObjectSpec,
    group_by: tuple[str, ...],
    aggregates: tuple[Aggregate, ...],
    key: tuple[Any, ...],
    recs: list[Record],
) -> dict[str, Any]:
    row: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
    for path, value in zip(group_by, key, strict=True):
        row[org.field_spec_of_path(spec, path).name if "." not in path else path.split(".")[-1]] = (
            render_value(value)
        )
    for a in aggregates:
        row[a.alias] = render_value(_apply(a.function, [org.resolve(r, a.field, spec) for r in recs]))
    return row


def child_rows(org: SalesforceOrg, parent: ObjectSpec, sub: Subquery, *, include_deleted: bool) -> ChildRows:
    """The subquery run once for all parents, its rows grouped by the parent they point at."""
    relation = next(
        (
            r
            for r in org.child_relationships(parent.name)
            if str(r["relationshipName"] or "").lower() == sub.relationship.lower()
        ),
        None,
    )
    if relation is None:
        raise ApiError(
            400,
            "INVALID_TYPE",
            f"Didn't understand relationship '{sub.relationship}' in FROM part of query call. If you are "
            "attempting to use a custom relationship, be sure to append the '__r' after the custom "
            "relationship name. Please reference your WSDL or the describe call for the appropriate names.",
        )
    child = org.spec(str(relation["childSObject"]))
    inner = dataclasses.replace(sub.query, sobject=child.name, limit=None, offset=0)
    _, ids = org.run_query(inner, include_deleted=include_deleted)
    foreign_key = str(relation["field"])
    by_parent: dict[str, list[str]] = {}
    with org.lock:
        rows = org.tables[child.name.lower()].rows
        for rid in ids:
            parent_id = rows[rid].get(foreign_key)
            if parent_id is not None:
                by_parent.setdefault(parent_id, []).append(rid)
    if sub.query.limit is not None:
        by_parent = {k: v[: sub.query.limit] for k, v in by_parent.items()}
    fields = tuple(p if "." in p else org.field_spec_of_path(child, p).name for p in sub.query.fields)
    return ChildRows(str(relation["relationshipName"]), child, fields, by_parent)
