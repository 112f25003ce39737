"""A local HubSpot CRM v3 API for the real hubspot-api-client: `create_hubspot_app(org, ...)`.

Covers what territory-sync touches, answering with HubSpot's own statuses,
shapes and error bodies (`{status, message, correlationId, category}`):

- objects (companies, meetings, calls): list (`limit` <= 100, `after`,
  `properties` repeated or comma-separated, `archived`, `associations`), get
  (`idProperty`; merged ids resolve to the primary), create (201, inline
  associations), update, archive;
- batch (<= 100 inputs): `batch/read` (207 for missing ids), `batch/create`
  (201; 409 on a unique-value clash), `batch/update` (400 for the whole batch
  on a validation error, 207 for missing ids), `batch/upsert` by a unique
  property (`new` per result), `batch/archive`;
- search: filter groups (<= 5 / 10 / 25), sorts, `limit` <= 200, `after`
  offsets, the 10,000-result cap (400), its own per-second limit (429 `SECONDLY`);
- properties: list, read, create (201, 409 `OBJECT_ALREADY_EXISTS`), groups;
- owners: `/crm/v3/owners/` (with or without the slash), by id; inactive
  users are archived owners;
- associations v4: default and labelled create, list, delete, `batch/read`,
  `batch/create`, `batch/associate/default`, `batch/archive`;
- OAuth: `POST /oauth/v1/token` (refresh_token grant) for connectors that renew
  expired tokens.

Auth: a missing or malformed bearer header gets the real 401; with
`access_token` set, only that token (and tokens issued by `/oauth/v1/token`)
is accepted. Faults (burst budget with 429 and `X-HubSpot-RateLimit-*`
headers, 500/503 share, latency, token expiry, per-record rejections) come
from `emulators/faults.py`, configurable at start (`faults=`) and
at run time (`POST /__emulator/faults`); call counts at `GET /__emulator/stats`.

The portal itself is `app.state.org`, a `HubSpotOrg` (see `hubspot_org.py`
for the methods tests use to edit it like a person in HubSpot would).
"""

from __future__ import annotations

import bisect
import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import JSONResponse, Response

from emulators.faults import BudgetState, FaultConfig, FaultInjector, install_faults
from emulators.hubspot.org import (
    ASSOCIATION_TYPE_IDS,
    COMPUTED,
    DEFAULT_LIST_PROPERTIES,
    TYPE_IDS,
    HubSpotError,
    HubSpotOrg,
    PropertyDef,
    StoredObject,
    canonical_type,
    iso_ms,
    parse_time_ms,
)
from emulators.hubspot.search import run_search
from emulators.hubspot.seed import seed_portal
from emulators.seed import SeedOrg

MAX_BATCH = 100
MAX_LIST_LIMIT = 100
MAX_OWNERS_LIMIT = 500
MAX_ASSOCIATION_READ = 1000
DAILY_LIMIT = 250_000
DEFAULT_BURST = 190
SEARCH_PER_SECOND = 5

MISSING_AUTH = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


def error_body(
    category: str,
    message: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
    }
    if errors:
        body["errors"] = errors
    if context:
        body["context"] = context
    return body


def error_response(exc: HubSpotError) -> JSONResponse:
    return JSONResponse(
        error_body(exc.category, exc.message, errors=exc.errors, context=exc.context),
        status_code=exc.status,
    )


# --------------------------------------------------------------------------- fault answers


class HubSpotFaultStyle:
    """How HubSpot words over-budget, server-error and expired-token answers."""

    def is_api_call(self, path: str) -> bool:
        return path.startswith("/crm/")

    def session_of(self, headers: dict[str, str]) -> str | None:
        auth = headers.get("authorization", "")
        return auth[7:] if auth.lower().startswith("bearer ") else None

    def usage_headers(self, state: BudgetState) -> dict[str, str]:
        limit = state.limit if state.limit is not None else DEFAULT_BURST
        return {
            "X-HubSpot-RateLimit-Max": str(limit),
            "X-HubSpot-RateLimit-Remaining": str(max(0, limit - state.used)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(state.window_seconds * 1000)),
            "X-HubSpot-RateLimit-Daily": str(DAILY_LIMIT),
            "X-HubSpot-RateLimit-Daily-Remaining": str(DAILY_LIMIT - state.used),
        }

    def over_budget(self, state: BudgetState) -> Response:
        body = {
            "status": "error",
            "message": "You have reached your ten_secondly_rolling limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": str(uuid.uuid4()),
            "policyName": "TEN_SECONDLY_ROLLING",
            "groupName": "api-calls-ten-secondly",
        }
        headers = self.usage_headers(state)
        headers["X-HubSpot-RateLimit-Remaining"] = "0"
        return JSONResponse(body, status_code=429, headers=headers)

    def server_error(self, status: int) -> Response:
        message = "internal error" if status == 500 else "Service Unavailable"
        return JSONResponse(error_body("INTERNAL_ERROR", message), status_code=status)

    def session_expired(self) -> Response:
        return JSONResponse(
            error_body(
                "EXPIRED_AUTHENTICATION",
                "The OAuth token used to make this call expired 1 second(s) ago.",
            ),
            status_code=401,
        )


class SearchRateLimiter:
    """HubSpot's separate limit on search calls: `per_second` per token, rolling."""

    def __init__(self, per_second: int | None) -> None:
        self.per_second = per_second
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, token: str) -> bool:
        if self.per_second is None:
            return True
        now = time.monotonic()
        with self._lock:
            calls = self._calls.setdefault(token, deque())
            while calls and now - calls[0] >= 1.0:
                calls.popleft()
            if len(calls) >= self.per_second:
                return False
            calls.append(now)
            return True


# --------------------------------------------------------------------------- request parsing


def query_list(request: Request, name: str) -> list[str]:
    """A list query parameter sent repeated (`a=1&a=2`) or comma-separated (`a=1,2`)."""
    out: list[str] = []
    for raw in request.query_params.getlist(name):
        out.extend(p for p in raw.split(",") if p)
    return out


def query_bool(request: Request, name: str) -> bool:
    return request.query_params.get(name, "false").strip().lower() == "true"


async def json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw or b"null")
    except json.JSONDecodeError as exc:
        raise HubSpotError(
            400, "VALIDATION_ERROR", f"Invalid input JSON on line 1, column {exc.colno}"
        ) from None


def batch_inputs(body: Any, limit: int = MAX_BATCH) -> list[dict[str, Any]]:
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list):
        raise HubSpotError(400, "VALIDATION_ERROR", "Invalid input JSON: inputs is required")
    if len(inputs) > limit:
        raise HubSpotError(
            400,
            "VALIDATION_ERROR",
            f"Batch input must have at most {limit} inputs; got {len(inputs)}.",
            context={"limit": [str(limit)]},
        )
    return inputs


def batch_answer(
    results: list[dict[str, Any]], started: int, errors: list[dict[str, Any]], ok_status: int
) -> JSONResponse:
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": iso_ms(started),
        "completedAt": iso_ms(int(time.time() * 1000)),
    }
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
        return JSONResponse(body, status_code=207)
    return JSONResponse(body, status_code=ok_status)


# --------------------------------------------------------------------------- the portal's rules


class Portal:
    """The API operations of one emulated portal, over a `HubSpotOrg` and a `FaultInjector`."""

    def __init__(self, org: HubSpotOrg, faults: FaultInjector) -> None:
        self.org = org
        self.faults = faults

    def clean_properties(
        self, object_type: str, properties: Mapping[str, Any] | None
    ) -> dict[str, str | None]:
        """Validate written values like HubSpot: unknown names and bad numbers fail the call."""
        defs = self.org.properties[object_type]
        problems: list[dict[str, Any]] = []
        clean: dict[str, str | None] = {}
        for name, value in (properties or {}).items():
            prop = defs.get(name)
            if prop is None:
                problems.append(
                    {
                        "isValid": False,
                        "message": f'Property "{name}" does not exist',
                        "error": "PROPERTY_DOESNT_EXIST",
                        "name": name,
                    }
                )
                continue
            if name in COMPUTED:
                continue
            text = None if value is None else str(value)
            if text not in (None, "") and prop.type == "number":
                try:
                    float(text)
                except ValueError:
                    problems.append(
                        {
                            "isValid": False,
                            "message": f"{text} was not a valid number.",
                            "error": "INVALID_FLOAT",
                            "name": name,
                        }
                    )
                    continue
            if text not in (None, "") and prop.type in ("datetime", "date"):
                ms = parse_time_ms(text)
                if ms is None:
                    problems.append(
                        {
                            "isValid": False,
                            "message": f"{text} is not a valid datetime",
                            "error": "INVALID_DATE",
                            "name": name,
                        }
                    )
                    continue
                text = iso_ms(ms)
            if prop.type == "bool" and text is not None:
                text = text.lower()
            clean[name] = text
        if problems:
            raise HubSpotError(
                400,
                "VALIDATION_ERROR",
                "Property values were not valid: " + json.dumps(problems, separators=(",", ":")),
                errors=[
                    {
                        "message": p["message"],
                        "code": p["error"],
                        "context": {"propertyName": [p["name"]]},
                    }
                    for p in problems
                ],
            )
        return clean

    def rejection(self, object_type: str, record_id: str | None) -> None:
        """A configured validation failure for this record fails the call, as in HubSpot."""
        message = self.faults.rejection_for(record_id)
        if message is not None:
            raise HubSpotError(
                400,
                "VALIDATION_ERROR",
                f"{message} (record {record_id})",
                errors=[
                    {
                        "message": message,
                        "code": "INVALID_OPTION",
                        "context": {"id": [str(record_id)]},
                    }
                ],
                context={"id": [str(record_id)]},
            )

    def resolve_id(self, object_type: str, object_id: str, id_property: str | None) -> str:
        """The record id for `object_id` (by a unique property, or a merged-away id)."""
        org = self.org
        if id_property and id_property != "hs_object_id":
            prop = org.properties[object_type].get(id_property)
            if prop is None or not prop.has_unique_value:
                raise HubSpotError(
                    400,
                    "VALIDATION_ERROR",
                    f"{id_property} is not a unique property of {object_type}",
                )
            found = org.tables[object_type].unique.get(id_property, {}).get(object_id)
            if found is None:
                raise HubSpotError(
                    404,
                    "OBJECT_NOT_FOUND",
                    "Object not found.  objectId are usually numeric.",
                    context={"id": [object_id]},
                )
            return found
        return org.merged_into.get((object_type, object_id), object_id)

    def with_associations(
        self, obj: StoredObject, names: Iterable[str], associations: list[str]
    ) -> dict[str, Any]:
        out = obj.as_json(names)
        if associations:
            block: dict[str, Any] = {}
            for raw in associations:
                try:
                    to_type = canonical_type(raw)
                except HubSpotError:
                    continue  # unknown association types are ignored, as documented
                found = self.org.associations(obj.object_type, obj.id, to_type)
                if found:
                    label = f"{obj.object_type[:-1]}_to_{to_type[:-1]}".replace("companie", "company")
                    block[raw] = {"results": [{"id": i, "type": label} for i in sorted(found, key=int)]}
            if block:
                out["associations"] = block
        return out

    def create_object(
        self, object_type: str, item: Mapping[str, Any], ms: int
    ) -> tuple[StoredObject, list[tuple[str, str]]]:
        props = self.clean_properties(object_type, item.get("properties"))
        links: list[tuple[str, str]] = []
        for assoc in item.get("associations") or []:
            to_id = str((assoc.get("to") or {}).get("id", ""))
            types = assoc.get("types") or []
            type_id = int(types[0].get("associationTypeId", 0)) if types else 0
            to_type = next(
                (t for (f, t), tid in ASSOCIATION_TYPE_IDS.items() if f == object_type and tid == type_id),
                None,
            )
            if to_type is None:
                raise HubSpotError(400, "VALIDATION_ERROR", f"Invalid association type id {type_id}")
            if to_id not in self.org.tables[to_type].live:
                raise HubSpotError(
                    400,
                    "VALIDATION_ERROR",
                    f"One or more associations are invalid: {to_type[:-1]} {to_id} not found",
                )
            links.append((to_type, to_id))
        obj = self.org._insert(object_type, props, ms, ms)
        return obj, links


# --------------------------------------------------------------------------- the app


def create_hubspot_app(
    org: SeedOrg | None = None,
    *,
    access_token: str | None = None,
    faults: FaultConfig | None = None,
    search_per_second: int | None = SEARCH_PER_SECOND,
) -> FastAPI:
    """A HubSpot portal seeded from `org` (empty if None), served by FastAPI.

    `access_token` set: only that bearer token (or ones issued by the OAuth
    refresh endpoint) is accepted. `search_per_second` is the search API's own
    limit (HubSpot's is 5; None switches it off for fast tests).
    """
    app = FastAPI(title="HubSpot CRM emulator", docs_url="/__emulator/docs", openapi_url=None)
    state = HubSpotOrg()
    if org is not None:
        seed_portal(state, org)
    injector = install_faults(app, HubSpotFaultStyle(), faults)
    portal = Portal(state, injector)
    valid_tokens: set[str] | None = {access_token} if access_token else None
    searches = SearchRateLimiter(search_per_second)
    app.state.org = state
    app.state.portal = portal
    app.state.search_limiter = searches

    @app.exception_handler(HubSpotError)
    async def hubspot_error(_: Request, exc: HubSpotError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(HubSpotError(400, "VALIDATION_ERROR", f"Invalid input: {exc}"))

    def bearer(request: Request) -> str:
        auth = request.headers.get("authorization", "")
        if not auth.lower().startswith("bearer ") or not auth[7:].strip():
            raise HubSpotError(401, "INVALID_AUTHENTICATION", MISSING_AUTH)
        token = auth[7:].strip()
        if valid_tokens is not None and token not in valid_tokens:
            raise HubSpotError(
                401,
                "INVALID_AUTHENTICATION",
                "Authentication credentials not found. The access token provided is not valid.",
            )
        return token

    crm = APIRouter(dependencies=[Depends(bearer)])

    # ----------------------------------------------------------------- objects

    @crm.get("/crm/v3/objects/{object_type}")
    async def list_objects(object_type: str, request: Request) -> JSONResponse:
        t = canonical_type(object_type)
        try:
            limit = int(request.query_params.get("limit", "10"))
        except ValueError:
            raise HubSpotError(400, "VALIDATION_ERROR", "limit must be an integer") from None
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise HubSpotError(
                400,
                "VALIDATION_ERROR",
                f"limit must be between 1 and {MAX_LIST_LIMIT}; got {limit}",
            )
        after = request.query_params.get("after")
        start = int(after) if after and after.isdigit() else 0
        names = query_list(request, "properties") or list(DEFAULT_LIST_PROPERTIES[t])
        assoc = query_list(request, "associations")
        archived = query_bool(request, "archived")
        with state.lock:
            table = state.tables[t]
            pool = table.archived if archived else table.live
            page: list[StoredObject] = []
            more = False
            if archived:
                ordered: Iterable[int] = (i for i in sorted(map(int, pool)) if i > start)
            else:
                ordered = (
                    table.id_order[k]
                    for k in range(bisect.bisect_right(table.id_order, start), len(table.id_order))
                )
            for i in ordered:
                obj = pool.get(str(i))
                if obj is None:
                    continue
                if len(page) == limit:
                    more = True
                    break
                page.append(obj)
            results = [portal.with_associations(o, names, assoc) for o in page]
        body: dict[str, Any] = {"results": results}
        if more and page:
            nxt = page[-1].id
            body["paging"] = {
                "next": {
                    "after": nxt,
                    "link": str(request.url.include_query_params(after=nxt)),
                }
            }
        return JSONResponse(body)

    @crm.get("/crm/v3/objects/{object_type}/{object_id}")
    async def get_object(object_type: str, object_id: str, request: Request) -> JSONResponse:
        t = canonical_type(object_type)
        names = query_list(request, "properties") or list(DEFAULT_LIST_PROPERTIES[t])
        with state.lock:
            real_id = portal.resolve_id(t, object_id, request.query_params.get("idProperty"))
            table = state.tables[t]
            obj = table.live.get(real_id)
            if obj is None and query_bool(request, "archived"):
                obj = table.archived.get(real_id)
            if obj is None:
                raise HubSpotError(
                    404,
                    "OBJECT_NOT_FOUND",
                    "Object not found.  objectId are usually numeric.",
                    context={"id": [object_id]},
                )
            return JSONResponse(portal.with_associations(obj, names, query_list(request, "associations")))

    @crm.post("/crm/v3/objects/{object_type}")
    async def create_object(object_type: str, request: Request) -> JSONResponse:
        t = canonical_type(object_type)
        body = await json_body(request)
        with state.lock:
            ms = state.now_ms()
            obj, links = portal.create_object(t, body or {}, ms)
            for to_type, to_id in links:
                state.associate(t, obj.id, to_type, to_id)
            names = list(state.properties[t])
            return JSONResponse(obj.as_json(names), status_code=201)

    @crm.patch("/crm/v3/objects/{object_type}/{object_id}")
    async def update_object(object_type: str, object_id: str, request: Request) -> JSONResponse:
        t = canonical_type(object_type)
        body = await json_body(request)
        with state.lock:
            real_id = portal.resolve_id(t, object_id, request.query_params.get("idProperty"))
            obj = state._live(t, real_id)
            portal.rejection(t, obj.id)
            props = portal.clean_properties(t, (body or {}).get("properties"))
            state._write(obj, props, state.now_ms())
            return JSONResponse(obj.as_json([*props, *DEFAULT_LIST_PROPERTIES[t]]))

    @crm.delete("/crm/v3/objects/{object_type}/{object_id}")
    async def archive_object(object_type: str, object_id: str) -> Response:
        t = canonical_type(object_type)
        with state.lock:
            obj = state.tables[t].live.get(object_id)
            if obj is not None:
                state._archive(obj, state.now_ms())
        return Response(status_code=204)

    # ----------------------------------------------------------------- batch

    @crm.post("/crm/v3/objects/{object_type}/batch/read")
    async def batch_read(object_type: str, request: Request) -> JSONResponse:
        t = canonical_type(object_type)
        body = await json_body(request)
        inputs = batch_inputs(body)
        names = body.get("properties") or list(DEFAULT_LIST_PROPERTIES[t])
        id_property = body.get("idProperty")
        archived = query_bool(request, "archived")
        started = state.now_ms()
        results, missing = [], []
        with state.lock:
            table = state.tables[t]
            for item in inputs:
                raw = str(item.get("id", ""))
                try:
                    real_id = portal.resolve_id(t, raw, id_property)
                except HubSpotError:
                    missing.append(raw)
                    continue
                obj = (table.archived if archived else table.live).get(real_id)
                if obj is None:
                    missing.append(raw)
                else:
                    results.append(obj.as_json(names))
        errors = []
        if missing:
            errors.append(
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": f"Could not get some {t[:-1].upper()} objects, they may be "
                    "deleted or not exist. Check that ids are valid.",
                    "context": {"ids": missing},
                }
            )
        return batch_answer(results, started, errors, 200)

    @crm.post("/crm/v3/objects/{object_type}/batch/create")
    async def batch_create(object_type: str, request: Request) -> JSONResponse:
        t = canonical_type(object_type)
        inputs = batch_inputs(await json_body(request))
        with state.lock:
            started = state.now_ms()
            # Validate everything first: one bad input fails the whole batch, as in HubSpot.
            cleaned = [portal.clean_properties(t, i.get("properties")) for i in inputs]
            seen: dict[str, dict[str, str]] = {}
            for props in cleaned:
                for name in state._unique_props(t):
                    v = props.get(name)
                    if v:
                        if v in seen.setdefault(name, {}):
                            raise HubSpotError(
                                409,
                                "CONFLICT",
                                f"Duplicate values for unique property {name} in batch: {v}",
                            )
                        seen[name][v] = "1"
                state._check_unique(t, props, None)
            created = []
            for item in inputs:
                obj, links = portal.create_object(t, item, started)
                for to_type, to_id in links:
                    state.associate(t, obj.id, to_type, to_id)
                created.append(obj)
            names = list(state.properties[t])
            results = [o.as_json(names) for o in created]
        return batch_answer(results, started, [], 201)

    @crm.post("/crm/v3/objects/{object_type}/batch/update")
    async def batch_update(object_type: str, request: Request) -> JSONResponse:
        t = canonical_type(object_type)
        inputs = batch_inputs(await json_body(request))
        ids = [str(i.get("id", "")) for i in inputs]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise HubSpotError(400, "VALIDATION_ERROR", f"Duplicate IDs found in batch input: {dupes}")
        with state.lock:
            started = state.now_ms()
            plan: list[tuple[StoredObject, dict[str, str | None]]] = []
            missing = []
            for item in inputs:
                raw = str(item.get("id", ""))
                try:
                    real_id = portal.resolve_id(t, raw, item.get("idProperty"))
                except HubSpotError as exc:
                    if exc.status != 404:
                        raise
                    real_id = ""  # an unknown idProperty value: reported as missing below
                obj = state.tables[t].live.get(real_id)
                props = portal.clean_properties(t, item.get("properties"))
                if obj is None:
                    missing.append(raw)
                    continue
                portal.rejection(t, obj.id)
                state._check_unique(t, props, obj.id)
                plan.append((obj, props))
            for obj, props in plan:
                state._write(obj, props, started)
            results = [o.as_json([*p, *DEFAULT_LIST_PROPERTIES[t]]) for o, p in plan]
        errors = []
        if missing:
            errors.append(
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": f"Could not update some {t[:-1].upper()} objects, they may be "
                    "deleted or not exist. Check that ids are valid.",
                    "context": {"ids": missing},
                }
            )
        return batch_answer(results, started, errors, 200)

    @crm.post("/crm/v3/objects/{object_type}/batch/upsert")
    async def batch_upsert(object_type: str, request: Request) -> JSONResponse:
        t = canonical_type(object_type)
        inputs = batch_inputs(await json_body(request))
        with state.lock:
            started = state.now_ms()
            plan: list[tuple[StoredObject | None, dict[str, str | None], str, str]] = []
            for item in inputs:
                id_property = str(item.get("idProperty") or "")
                key = str(item.get("id", ""))
                prop = state.properties[t].get(id_property)
                if prop is None or not prop.has_unique_value:
                    raise HubSpotError(
                        400,
                        "VALIDATION_ERROR",
                        f"Upsert needs idProperty to be a unique-value property of {t}; "
                        f"{id_property!r} is not",
                    )
                props = portal.clean_properties(t, item.get("properties"))
                props[id_property] = key
                holder = state.tables[t].unique.get(id_property, {}).get(key)
                obj = state.tables[t].live.get(holder) if holder else None
                portal.rejection(t, obj.id if obj else key)
                plan.append((obj, props, id_property, key))
            keys = [(p[2], p[3]) for p in plan]
            if len(set(keys)) != len(keys):
                raise HubSpotError(400, "VALIDATION_ERROR", "Duplicate id values found in batch upsert input")
            results = []
            names = list(state.properties[t])
            for obj, props, _, _ in plan:
                if obj is None:
                    new = state._insert(t, props, started, started)
                    results.append({**new.as_json(names), "new": True})
                else:
                    state._write(obj, props, started)
                    results.append({**obj.as_json(names), "new": False})
        return batch_answer(results, started, [], 200)

    @crm.post("/crm/v3/objects/{object_type}/batch/archive")
    async def batch_archive(object_type: str, request: Request) -> Response:
        t = canonical_type(object_type)
        inputs = batch_inputs(await json_body(request))
        with state.lock:
            ms = state.now_ms()
            for item in inputs:
                obj = state.tables[t].live.get(str(item.get("id", "")))
                if obj is not None:
                    state._archive(obj, ms)
        return Response(status_code=204)

    @crm.post("/crm/v3/objects/{object_type}/search")
    async def search(object_type: str, request: Request) -> JSONResponse:
        t = canonical_type(object_type)
        if not searches.allow(bearer(request)):
            return JSONResponse(
                {
                    "status": "error",
                    "message": "You have reached your secondly limit.",
                    "errorType": "RATE_LIMIT",
                    "correlationId": str(uuid.uuid4()),
                    "policyName": "SECONDLY",
                    "groupName": "search",
                },
                status_code=429,
            )
        body = await json_body(request)
        return JSONResponse(run_search(state, t, body or {}))

    # ----------------------------------------------------------------- properties

    @crm.get("/crm/v3/properties/{object_type}")
    async def list_properties(object_type: str) -> JSONResponse:
        t = canonical_type(object_type)
        with state.lock:
            return JSONResponse({"results": [p.as_json() for p in state.properties[t].values()]})

    @crm.get("/crm/v3/properties/{object_type}/groups")
    async def list_groups(object_type: str) -> JSONResponse:
        t = canonical_type(object_type)
        with state.lock:
            return JSONResponse({"results": list(state.groups[t].values())})

    @crm.post("/crm/v3/properties/{object_type}/groups")
    async def create_group(object_type: str, request: Request) -> JSONResponse:
        t = canonical_type(object_type)
        body = await json_body(request) or {}
        name = str(body.get("name", ""))
        if not name:
            raise HubSpotError(400, "VALIDATION_ERROR", "name is required")
        with state.lock:
            if name in state.groups[t]:
                raise HubSpotError(
                    409, "OBJECT_ALREADY_EXISTS", f"A property group named '{name}' already exists."
                )
            group = {
                "name": name,
                "label": str(body.get("label", name)),
                "displayOrder": int(body.get("displayOrder", -1)),
                "archived": False,
            }
            state.groups[t][name] = group
        return JSONResponse(group, status_code=201)

    @crm.get("/crm/v3/properties/{object_type}/{name}")
    async def get_property(object_type: str, name: str) -> JSONResponse:
        t = canonical_type(object_type)
        with state.lock:
            prop = state.properties[t].get(name)
            if prop is None:
                raise HubSpotError(
                    404,
                    "OBJECT_NOT_FOUND",
                    f"Unable to find property {name} for object type {TYPE_IDS[t]}",
                )
            return JSONResponse(prop.as_json())

    @crm.post("/crm/v3/properties/{object_type}")
    async def create_property(object_type: str, request: Request) -> JSONResponse:
        t = canonical_type(object_type)
        body = await json_body(request) or {}
        missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)]
        if missing:
            raise HubSpotError(400, "VALIDATION_ERROR", f"Missing required fields: {', '.join(missing)}")
        name = str(body["name"])
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise HubSpotError(
                400,
                "VALIDATION_ERROR",
                f"Property name '{name}' must be lowercase letters, digits and underscores",
            )
        if body["type"] not in ("string", "number", "date", "datetime", "enumeration", "bool"):
            raise HubSpotError(400, "VALIDATION_ERROR", f"Invalid property type {body['type']}")
        with state.lock:
            if name in state.properties[t]:
                raise HubSpotError(
                    409,
                    "OBJECT_ALREADY_EXISTS",
                    f"A property named '{name}' already exists.",
                    context={"name": [name]},
                )
            if body["groupName"] not in state.groups[t]:
                raise HubSpotError(
                    400,
                    "VALIDATION_ERROR",
                    f"Property group {body['groupName']} does not exist.",
                )
            prop = PropertyDef(
                name=name,
                label=str(body["label"]),
                type=str(body["type"]),
                field_type=str(body["fieldType"]),
                group_name=str(body["groupName"]),
                hubspot_defined=False,
                has_unique_value=bool(body.get("hasUniqueValue", False)),
                description=str(body.get("description") or ""),
                options=tuple(body.get("options") or ()),
                created_ms=state.now_ms(),
            )
            state.properties[t][name] = prop
        return JSONResponse(prop.as_json(), status_code=201)

    # ----------------------------------------------------------------- owners

    def owners_page(request: Request) -> JSONResponse:
        try:
            limit = int(request.query_params.get("limit", "100"))
        except ValueError:
            raise HubSpotError(400, "VALIDATION_ERROR", "limit must be an integer") from None
        if not 1 <= limit <= MAX_OWNERS_LIMIT:
            raise HubSpotError(400, "VALIDATION_ERROR", f"limit must be between 1 and {MAX_OWNERS_LIMIT}")
        after = int(request.query_params.get("after") or 0)
        archived = query_bool(request, "archived")
        email = request.query_params.get("email")
        with state.lock:
            owners = sorted(
                (
                    o
                    for o in state.owners.values()
                    if o.archived == archived and int(o.id) > after and (email is None or o.email == email)
                ),
                key=lambda o: int(o.id),
            )
        body: dict[str, Any] = {"results": [o.as_json() for o in owners[:limit]]}
        if len(owners) > limit:
            nxt = owners[limit - 1].id
            body["paging"] = {"next": {"after": nxt, "link": f"/crm/v3/owners/?after={nxt}"}}
        return JSONResponse(body)

    @crm.get("/crm/v3/owners/")
    async def list_owners_slash(request: Request) -> JSONResponse:
        return owners_page(request)

    @crm.get("/crm/v3/owners")
    async def list_owners(request: Request) -> JSONResponse:
        return owners_page(request)

    @crm.get("/crm/v3/owners/{owner_id}")
    async def get_owner(owner_id: str, request: Request) -> JSONResponse:
        by_user = request.query_params.get("idProperty") == "userId"
        archived = query_bool(request, "archived")
        with state.lock:
            for o in state.owners.values():
                key = str(o.user_id) if by_user else o.id
                if key == owner_id and (archived or not o.archived):
                    return JSONResponse(o.as_json())
        raise HubSpotError(404, "OBJECT_NOT_FOUND", f"Owner {owner_id} not found")

    # ----------------------------------------------------------------- associations v4

    def assoc_types(from_type: str, to_type: str) -> tuple[int, int]:
        fwd = ASSOCIATION_TYPE_IDS.get((from_type, to_type))
        back = ASSOCIATION_TYPE_IDS.get((to_type, from_type))
        if fwd is None or back is None:
            raise HubSpotError(
                400,
                "VALIDATION_ERROR",
                f"No default association exists between {from_type} and {to_type}",
            )
        return fwd, back

    def default_result(from_id: str, to_id: str, type_id: int) -> dict[str, Any]:
        return {
            "from": {"id": from_id},
            "to": {"id": to_id},
            "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id},
        }

    @crm.put("/crm/v4/objects/{from_type}/{from_id}/associations/default/{to_type}/{to_id}")
    async def associate_default(from_type: str, from_id: str, to_type: str, to_id: str) -> JSONResponse:
        f, t = canonical_type(from_type), canonical_type(to_type)
        started = state.now_ms()
        with state.lock:
            type_id = state.associate(f, from_id, t, to_id)
        back = ASSOCIATION_TYPE_IDS[(t, f)]
        return batch_answer(
            [default_result(from_id, to_id, type_id), default_result(to_id, from_id, back)],
            started,
            [],
            200,
        )

    @crm.put("/crm/v4/objects/{from_type}/{from_id}/associations/{to_type}/{to_id}")
    async def associate_labelled(
        from_type: str, from_id: str, to_type: str, to_id: str, request: Request
    ) -> JSONResponse:
        f, t = canonical_type(from_type), canonical_type(to_type)
        specs = await json_body(request)
        fwd, _ = assoc_types(f, t)
        if not isinstance(specs, list) or not specs:
            raise HubSpotError(400, "VALIDATION_ERROR", "Body must be a list of association specs")
        for spec in specs:
            if int(spec.get("associationTypeId", 0)) != fwd:
                raise HubSpotError(
                    400,
                    "VALIDATION_ERROR",
                    f"associationTypeId {spec.get('associationTypeId')} is not valid from {f} to {t}",
                )
        with state.lock:
            state.associate(f, from_id, t, to_id)
        return JSONResponse(
            {
                "fromObjectTypeId": TYPE_IDS[f],
                "fromObjectId": from_id,
                "toObjectTypeId": TYPE_IDS[t],
                "toObjectId": to_id,
                "labels": [],
            },
            status_code=201,
        )

    @crm.get("/crm/v4/objects/{from_type}/{from_id}/associations/{to_type}")
    async def list_associations(from_type: str, from_id: str, to_type: str, request: Request) -> JSONResponse:
        f, t = canonical_type(from_type), canonical_type(to_type)
        limit = int(request.query_params.get("limit", "500"))
        after = int(request.query_params.get("after") or 0)
        with state.lock:
            found = state.associations(f, from_id, t)
        ids = sorted(int(i) for i in found if int(i) > after)
        results = [
            {
                "toObjectId": str(i),
                "associationTypes": [
                    {"category": "HUBSPOT_DEFINED", "typeId": tid, "label": None}
                    for tid in sorted(found[str(i)])
                ],
            }
            for i in ids[:limit]
        ]
        body: dict[str, Any] = {"results": results}
        if len(ids) > limit:
            body["paging"] = {"next": {"after": str(ids[limit - 1])}}
        return JSONResponse(body)

    @crm.delete("/crm/v4/objects/{from_type}/{from_id}/associations/{to_type}/{to_id}")
    async def delete_association(from_type: str, from_id: str, to_type: str, to_id: str) -> Response:
        f, t = canonical_type(from_type), canonical_type(to_type)
        with state.lock:
            state.dissociate(f, from_id, t, to_id)
        return Response(status_code=204)

    @crm.post("/crm/v4/associations/{from_type}/{to_type}/batch/read")
    async def batch_read_associations(from_type: str, to_type: str, request: Request) -> JSONResponse:
        f, t = canonical_type(from_type), canonical_type(to_type)
        inputs = batch_inputs(await json_body(request), MAX_ASSOCIATION_READ)
        started = state.now_ms()
        results, missing = [], []
        with state.lock:
            for item in inputs:
                from_id = str(item.get("id", ""))
                found = state.associations(f, from_id, t)
                if not found:
                    missing.append(from_id)
                    continue
                results.append(
                    {
                        "from": {"id": from_id},
                        "to": [
                            {
                                "toObjectId": to_id,
                                "associationTypes": [
                                    {"category": "HUBSPOT_DEFINED", "typeId": tid, "label": None}
                                    for tid in sorted(tids)
                                ],
                            }
                            for to_id, tids in sorted(found.items(), key=lambda kv: int(kv[0]))
                        ],
                    }
                )
        errors = [
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                "message": f"No {t[:-1]} is associated with {f[:-1]} {i}.",
                "context": {"fromObjectId": [i]},
            }
            for i in missing
        ]
        return batch_answer(results, started, errors, 200)

    @crm.post("/crm/v4/associations/{from_type}/{to_type}/batch/associate/default")
    async def batch_associate_default(from_type: str, to_type: str, request: Request) -> JSONResponse:
        f, t = canonical_type(from_type), canonical_type(to_type)
        fwd, back = assoc_types(f, t)
        inputs = batch_inputs(await json_body(request))
        started = state.now_ms()
        results = []
        with state.lock:
            pairs = [
                (str((i.get("from") or {}).get("id", "")), str((i.get("to") or {}).get("id", "")))
                for i in inputs
            ]
            for a, b in pairs:  # all or nothing, like the other batch writes
                state._live(f, a)
                state._live(t, b)
            for a, b in pairs:
                state.associate(f, a, t, b)
                results += [default_result(a, b, fwd), default_result(b, a, back)]
        return batch_answer(results, started, [], 200)

    @crm.post("/crm/v4/associations/{from_type}/{to_type}/batch/create")
    async def batch_create_associations(from_type: str, to_type: str, request: Request) -> JSONResponse:
        f, t = canonical_type(from_type), canonical_type(to_type)
        fwd, _ = assoc_types(f, t)
        inputs = batch_inputs(await json_body(request))
        started = state.now_ms()
        results = []
        with state.lock:
            for item in inputs:
                a = str((item.get("from") or {}).get("id", ""))
                b = str((item.get("to") or {}).get("id", ""))
                state._live(f, a)
                state._live(t, b)
            for item in inputs:
                a = str((item.get("from") or {}).get("id", ""))
                b = str((item.get("to") or {}).get("id", ""))
                state.associate(f, a, t, b)
                results.append(
                    {
                        "fromObjectTypeId": TYPE_IDS[f],
                        "fromObjectId": a,
                        "toObjectTypeId": TYPE_IDS[t],
                        "toObjectId": b,
                        "labels": [],
                    }
                )
        del fwd
        return batch_answer(results, started, [], 201)

    @crm.post("/crm/v4/associations/{from_type}/{to_type}/batch/archive")
    async def batch_archive_associations(from_type: str, to_type: str, request: Request) -> Response:
        f, t = canonical_type(from_type), canonical_type(to_type)
        inputs = batch_inputs(await json_body(request))
        with state.lock:
            for item in inputs:
                a = str((item.get("from") or {}).get("id", ""))
                for target in item.get("to") or []:
                    state.dissociate(f, a, t, str(target.get("id", "")))
        return Response(status_code=204)

    # Added route by route rather than with include_router: the fault middleware names
    # calls by route template and needs plain routes to do so.
    app.router.routes.extend(crm.routes)

    # ----------------------------------------------------------------- OAuth refresh

    issued = {"n": 0}

    @app.post("/oauth/v1/token")
    async def oauth_token(request: Request) -> JSONResponse:
        # A form-encoded body, parsed by hand: python-multipart is not a dependency.
        fields = parse_qs((await request.body()).decode("utf-8", "replace"))
        form = {k: v[0] for k, v in fields.items() if v}
        if form.get("grant_type") != "refresh_token" or not form.get("refresh_token"):
            return JSONResponse(
                {
                    "status": "BAD_REFRESH_TOKEN",
                    "message": "missing or unknown refresh token",
                    "correlationId": str(uuid.uuid4()),
                },
                status_code=400,
            )
        issued["n"] += 1
        token = f"emu-oauth-{uuid.uuid4().hex}"
        if valid_tokens is not None:
            valid_tokens.add(token)
        return JSONResponse(
            {
                "token_type": "bearer",
                "refresh_token": str(form.get("refresh_token")),
                "access_token": token,
                "expires_in": 1800,
            }
        )

    return app
