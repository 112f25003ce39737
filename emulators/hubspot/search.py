"""The HubSpot emulator's CRM search: filter groups, sorts, paging and the real limits.

`run_search(org, object_type, body)` answers `POST /crm/v3/objects/{type}/search`
the way HubSpot does: groups are ORed, filters inside a group ANDed; at most
5 groups, 10 filters per group and 25 in all; `limit` at most 200; `after` is
an offset, and no query can page past 10,000 results (400, as HubSpot does).
A filter on `hs_lastmodifieddate` is served from the table's modified-time
index, so incremental searches over a 100,000-record portal stay cheap.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from emulators.hubspot.org import (
    COMPUTED,
    DEFAULT_LIST_PROPERTIES,
    MODIFIED_PROPERTIES,
    PRIMARY_PROPERTY,
    HubSpotError,
    HubSpotOrg,
    ObjectTable,
    PropertyDef,
    StoredObject,
    parse_time_ms,
)

SEARCH_RESULT_CAP = 10_000
MAX_SEARCH_LIMIT = 200
MAX_GROUPS, MAX_FILTERS_PER_GROUP, MAX_FILTERS = 5, 10, 25
OPERATORS = frozenset(
    {
        "EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN",
        "HAS_PROPERTY", "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN",
    }
)  # fmt: skip
Predicate = Callable[[StoredObject], bool]


def validation_error(message: str) -> HubSpotError:
    return HubSpotError(400, "VALIDATION_ERROR", message)


def unknown_property(name: str) -> HubSpotError:
    """A filter or sort on a property the object type lacks: HubSpot refuses it (never 0 results)."""
    return HubSpotError(
        400,
        "VALIDATION_ERROR",
        f'There was a problem with the request. Property "{name}" does not exist',
        errors=[
            {
                "message": f'Property "{name}" does not exist',
                "code": "PROPERTY_DOESNT_EXIST",
                "context": {"propertyName": [name]},
            }
        ],
    )


def _typed(prop: PropertyDef | None, raw: Any) -> Any:
    """A filter or property value in the property's own order (numbers, ms, folded text)."""
    if raw is None:
        return None
    text = str(raw)
    kind = prop.type if prop else "string"
    if kind == "number":
        try:
            return float(text)
        except ValueError:
            return None
    if kind in ("datetime", "date"):
        return parse_time_ms(text)
    return text.lower()


def compile_filter(spec: Mapping[str, Any], props: Mapping[str, PropertyDef]) -> Predicate:
    name = spec.get("propertyName")
    op = str(spec.get("operator", "EQ")).upper()
    if not isinstance(name, str) or op not in OPERATORS:
        raise validation_error(f"Invalid filter: {dict(spec)}")
    prop = props.get(name)
    if prop is None and name not in COMPUTED:
        raise unknown_property(name)
    if op == "HAS_PROPERTY":
        return lambda o: o.value(name) not in (None, "")
    if op == "NOT_HAS_PROPERTY":
        return lambda o: o.value(name) in (None, "")
    if op in ("IN", "NOT_IN"):
        wanted = {_typed(prop, v) for v in spec.get("values") or []}
        if op == "IN":
            return lambda o: _typed(prop, o.value(name)) in wanted
        return lambda o: _typed(prop, o.value(name)) not in wanted
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        token = str(spec.get("value", "")).lower().strip("*")

        def contains(o: StoredObject) -> bool:
            return token in (o.value(name) or "").lower()

        return contains if op == "CONTAINS_TOKEN" else (lambda o: not contains(o))
    value = _typed(prop, spec.get("value"))
    if value is None:
        raise validation_error(f"Invalid value for {name}: {spec.get('value')!r}")
    if op == "BETWEEN":
        high = _typed(prop, spec.get("highValue"))
        if high is None:
            raise validation_error(f"BETWEEN on {name} needs a highValue")

        def between(o: StoredObject) -> bool:
            v = _typed(prop, o.value(name))
            return v is not None and value <= v <= high

        return between
    compare: dict[str, Callable[[Any], bool]] = {
        "EQ": lambda v: v == value,
        "NEQ": lambda v: v != value,
        "LT": lambda v: v < value,
        "LTE": lambda v: v <= value,
        "GT": lambda v: v > value,
        "GTE": lambda v: v >= value,
    }
    test = compare[op]

    def check(o: StoredObject) -> bool:
        v = _typed(prop, o.value(name))
        if v is None:
            return op == "NEQ"
        return test(v)

    return check


def modified_range(filters: Sequence[Mapping[str, Any]]) -> tuple[int, int] | None:
    """The [low, high] ms bounds the group's `hs_lastmodifieddate` filters imply, if any."""
    low, high = -(2**62), 2**62
    found = False
    for f in filters:
        if f.get("propertyName") not in MODIFIED_PROPERTIES:
            continue
        op = str(f.get("operator", "EQ")).upper()
        v = parse_time_ms(str(f.get("value", "")))
        if v is None:
            continue
        if op == "GTE":
            low, found = max(low, v), True
        elif op == "GT":
            low, found = max(low, v + 1), True
        elif op == "LTE":
            high, found = min(high, v), True
        elif op == "LT":
            high, found = min(high, v - 1), True
        elif op == "EQ":
            low, high, found = max(low, v), min(high, v), True
        elif op == "BETWEEN":
            hv = parse_time_ms(str(f.get("highValue", "")))
            if hv is not None:
                low, high, found = max(low, v), min(high, hv), True
    return (low, high) if found else None


def _sort_spec(body: Mapping[str, Any]) -> tuple[str, bool]:
    sorts = body.get("sorts") or []
    if not sorts:
        return "hs_object_id", False
    first = sorts[0]
    if isinstance(first, str):
        return first.lstrip("-"), first.startswith("-")
    return str(first.get("propertyName", "hs_object_id")), (
        str(first.get("direction", "ASCENDING")).upper().startswith("DESC")
    )


def _group_matches(
    table: ObjectTable, filters: Sequence[Mapping[str, Any]], props: Mapping[str, PropertyDef]
) -> tuple[list[StoredObject], bool]:
    """Records one filter group selects, and whether they are already in (modified, id) order."""
    span = modified_range(filters)
    if span is not None:
        lo = bisect.bisect_left(table.by_modified, (span[0], -1))
        hi = bisect.bisect_right(table.by_modified, (span[1], 2**62))
        candidates = [table.live[str(i)] for _, i in table.by_modified[lo:hi]]
        rest = [f for f in filters if f.get("propertyName") not in MODIFIED_PROPERTIES]
        ordered = True
    else:
        candidates = list(table.live.values())
        rest = list(filters)
        ordered = False
    predicates = [compile_filter(f, props) for f in rest]
    if predicates:
        candidates = [o for o in candidates if all(p(o) for p in predicates)]
    return candidates, ordered


def run_search(org: HubSpotOrg, object_type: str, body: Mapping[str, Any]) -> dict[str, Any]:
    groups = body.get("filterGroups") or []
    if len(groups) > MAX_GROUPS:
        raise validation_error(f"Too many filter groups ({len(groups)}); the limit is 5.")
    n_filters = 0
    for g in groups:
        filters = g.get("filters") or []
        if len(filters) > MAX_FILTERS_PER_GROUP:
            raise validation_error(f"Too many filters in a filter group ({len(filters)}); the limit is 10.")
        n_filters += len(filters)
    if n_filters > MAX_FILTERS:
        raise validation_error(f"Too many filters ({n_filters}); the limit is 25.")
    try:
        limit = int(body.get("limit") or 10)
        after = int(body.get("after") or 0)
    except (TypeError, ValueError):
        raise validation_error("limit and after must be integers") from None
    if limit < 1 or limit > MAX_SEARCH_LIMIT:
        raise validation_error(
            f"Invalid input JSON on line 1: limit must be between 1 and {MAX_SEARCH_LIMIT}; got {limit}"
        )
    if after + limit > SEARCH_RESULT_CAP and after >= SEARCH_RESULT_CAP:
        raise validation_error(
            f"The search API returns at most {SEARCH_RESULT_CAP} results per query; "
            f"paging past after={after} is not possible. Narrow the query (for example "
            "with a tighter hs_lastmodifieddate range) instead."
        )
    names = body.get("properties") or DEFAULT_LIST_PROPERTIES[object_type]
    sort_name, descending = _sort_spec(body)
    if sort_name not in org.properties[object_type] and sort_name not in COMPUTED:
        raise unknown_property(sort_name)
    query = str(body.get("query") or "").lower()

    with org.lock:
        table = org.tables[object_type]
        props = org.properties[object_type]
        if not groups:
            matches, ordered = list(table.live.values()), False
        elif len(groups) == 1:
            matches, ordered = _group_matches(table, groups[0].get("filters") or [], props)
        else:
            seen: dict[str, StoredObject] = {}
            for g in groups:
                for o in _group_matches(table, g.get("filters") or [], props)[0]:
                    seen[o.id] = o
            matches, ordered = list(seen.values()), False
        if query:
            shown = PRIMARY_PROPERTY.get(object_type, "name")
            matches = [o for o in matches if query in (o.value(shown) or "").lower()]
        if not (ordered and sort_name in MODIFIED_PROPERTIES):
            prop = props.get(sort_name)
            if sort_name == "hs_object_id":
                matches.sort(key=lambda o: int(o.id))
            elif sort_name in MODIFIED_PROPERTIES:
                matches.sort(key=lambda o: (o.modified_ms, int(o.id)))
            else:
                # Records without the value sort last; ties by id, as HubSpot's are stable enough.
                matches.sort(
                    key=lambda o: (
                        (v := _typed(prop, o.value(sort_name))) is None,
                        v if v is not None else 0,
                        int(o.id),
                    )
                )
        if descending:
            matches.reverse()
        total = len(matches)
        end = min(after + limit, SEARCH_RESULT_CAP, total)
        results = [o.as_json(names) for o in matches[after:end]]
    answer: dict[str, Any] = {"total": total, "results": results}
    if end < total:
        answer["paging"] = {"next": {"after": str(end)}}
    return answer
