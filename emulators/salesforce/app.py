"""A local Salesforce REST API (v59.0 paths) that the real simple-salesforce client talks to.

`create_salesforce_app(org, credentials=..., faults=...)` returns a FastAPI
app serving, over plain HTTP (point the client at it with the URL-rewriting
session in `connectors.salesforce.client`):

- logins: SOAP `POST /services/Soap/u/{v}` and OAuth `POST /services/oauth2/token`
  (password and client-credentials grants), answering with a realistic
  `serverUrl`/`instance_url` (`https://territory-sync-emulator.my.salesforce.com`);
- SOQL: `GET /services/data/v{v}/query/?q=` and `/queryAll/` (soft-deleted rows
  too), paged by `nextRecordsUrl` at 2,000 records (`Sforce-Query-Options:
  batchSize=N` between 200 and 2,000); the subset is in `soql.py`;
- sObjects: `GET /sobjects/`, `GET /sobjects/{type}/`, `/describe`,
  create (201), read, update (204), upsert by external id (201 created / 200
  updated, 300 when ambiguous), delete (204); `GET /sobjects/{type}/updated/`
  (30-day window) and `/deleted/` (15-day window);
- sObject Collections: `POST|PATCH|DELETE /composite/sobjects`, upsert
  `PATCH /composite/sobjects/{type}/{extIdField}`, read
  `GET|POST /composite/sobjects/{type}`: at most 200 records, `allOrNone`,
  one result per record, HTTP 200 even when some records fail;
- `GET /limits/` and a `Sforce-Limit-Info: api-usage=used/max` header on
  every answered API call;
- objects Account, User, Event, Task, Territory2Model, Territory2Type,
  Territory2, UserTerritory2Association, ObjectTerritory2Association
  (`salesforce_schema.py`).

Errors are Salesforce's JSON list of `{message, errorCode, fields}`.
Faults (`faults.py`) render as Salesforce does: 403 `REQUEST_LIMIT_EXCEEDED`
once the daily budget is spent, 500 `UNKNOWN_EXCEPTION` / 503
`SERVER_UNAVAILABLE`, 401 `INVALID_SESSION_ID` after session expiry (which
simple-salesforce answers by logging in again).

The org is `app.state.org`, a `SalesforceOrg` (see `salesforce_org.py` for
the methods tests use to act like a person in the CRM); the fault injector is
`app.state.faults`.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from emulators.faults import BudgetState, FaultConfig, install_faults
from emulators.salesforce.org import (
    DELETED_WINDOW_DAYS,
    UPDATED_WINDOW_DAYS,
    ApiError,
    QueryCursor,
    Record,
    SalesforceOrg,
    format_datetime,
    render_value,
)
from emulators.salesforce.schema import OBJECTS, ObjectSpec
from emulators.salesforce.soql import SoqlError, parse_datetime_literal, parse_soql
from emulators.seed import SeedOrg

INSTANCE_HOST = "territory-sync-emulator.my.salesforce.com"
DEFAULT_DAILY_LIMIT = 100_000
DEFAULT_BATCH_SIZE = 2000
MIN_BATCH_SIZE = 200
COLLECTION_LIMIT = 200
_PARTNER_NS = "urn:partner.soap.sforce.com"


@dataclass(frozen=True)
class SalesforceOrgCredentials:
    """When given to the app, only these credentials log in (else anything does).

    `password` is the password alone; a SOAP login must send password +
    security token, as Salesforce requires from untrusted networks.
    """

    username: str
    password: str = field(repr=False)
    security_token: str = field(default="", repr=False)
    consumer_key: str | None = None
    consumer_secret: str | None = field(default=None, repr=False)


class SalesforceFaultStyle:
    """How Salesforce words budget, server and session faults."""

    def __init__(self, default_limit: int):
        self.default_limit = default_limit

    def is_api_call(self, path: str) -> bool:
        return path.startswith("/services/data")

    def session_of(self, headers: dict[str, str]) -> str | None:
        auth = headers.get("authorization", "")
        return auth[7:].strip() if auth.lower().startswith("bearer ") else None

    def over_budget(self, state: BudgetState) -> Response:
        # A day-long window is the org's daily allowance; a short one stands for the
        # concurrent-request limit, Salesforce's nearest thing to a 429 (same code).
        if state.window_seconds >= 86_400:
            return _errors(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        return _errors(403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.")

    def server_error(self, status: int) -> Response:
        if status == 503:
            return _errors(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable, try again later.")
        return _errors(
            status,
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact support: "
            f"{secrets.randbelow(10**9)}-{secrets.randbelow(10**5)} (-{secrets.randbelow(10**9)})",
        )

    def session_expired(self) -> Response:
        return _errors(401, "INVALID_SESSION_ID", "Session expired or invalid")

    def daily_usage(self, state: BudgetState) -> tuple[int, int]:
        """(used, max) of the org's daily allowance: the budget when it is a daily one."""
        if state.limit is not None and state.window_seconds >= 86_400:
            return state.used, state.limit
        return state.calls_since_reset, self.default_limit

    def usage_headers(self, state: BudgetState) -> dict[str, str]:
        used, limit = self.daily_usage(state)
        return {"Sforce-Limit-Info": f"api-usage={used}/{limit}"}


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    # Plain json.dumps: FastAPI's encoder is far slower on 2,000-record pages.
    return Response(
        content=json.dumps(body, separators=(",", ":")),
        status_code=status,
        media_type="application/json;charset=UTF-8",
        headers=headers,
    )


def _errors(status: int, code: str, message: str, fields: list[str] | None = None) -> Response:
    item: dict[str, Any] = {"message": message, "errorCode": code}
    if fields:
        item["fields"] = fields
    return _json(status, [item])


def _api_error(exc: ApiError) -> Response:
    return _json(exc.status, exc.body())


class _Sessions:
    """Session ids handed out by logins (checked only when credentials are configured)."""

    def __init__(self) -> None:
        self.issued: set[str] = set()

    def new(self, org_id: str) -> str:
        token = f"{org_id}!AQ{secrets.token_urlsafe(48)}"
        self.issued.add(token)
        return token


def create_salesforce_app(
    org: SeedOrg | None = None,
    *,
    credentials: SalesforceOrgCredentials | None = None,
    faults: FaultConfig | None = None,
    daily_api_limit: int = DEFAULT_DAILY_LIMIT,
) -> FastAPI:
    """A Salesforce emulator seeded from `org` (empty but for ETM models if None)."""
    app = FastAPI(title="territory-sync Salesforce emulator", docs_url=None, redoc_url=None)
    state = SalesforceOrg()
    if org is not None:
        state.load_seed(org)
    else:
        state.seed_territory_management(datetime.now(UTC))
    app.state.org = state
    style = SalesforceFaultStyle(daily_api_limit)
    injector = install_faults(app, style, faults)
    state.rejection_for = injector.rejection_for
    sessions = _Sessions()

    # ------------------------------------------------------------------ auth

    def authorised(request: Request) -> Response | None:
        auth = request.headers.get("authorization", "")
        if not auth.lower().startswith("bearer ") or not auth[7:].strip():
            return _errors(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if credentials is not None and auth[7:].strip() not in sessions.issued:
            return _errors(401, "INVALID_SESSION_ID", "Session expired or invalid")
        return None

    Handler = Callable[..., Awaitable[Response]]

    def api(*paths: str, methods: list[str]) -> Callable[[Handler], Handler]:
        """Register a REST route (with and without trailing slash), authenticated, ApiError-mapped."""

        def wrap(fn: Handler) -> Handler:
            async def endpoint(request: Request) -> Response:
                denied = authorised(request)
                if denied is not None:
                    return denied
                try:
                    return await fn(request, **request.path_params)
                except ApiError as exc:
                    return _api_error(exc)

            endpoint.__name__ = fn.__name__
            for path in paths:
                full = "/services/data/v{version}" + path
                app.add_api_route(full, endpoint, methods=methods, include_in_schema=False)
                if not path.endswith("/"):
                    app.add_api_route(full + "/", endpoint, methods=methods, include_in_schema=False)
            return fn

        return wrap

    def soap_fault(code: str, message: str) -> Response:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:sf="urn:fault.partner.soap.sforce.com" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            "<soapenv:Body><soapenv:Fault>"
            f"<faultcode>sf:{code}</faultcode><faultstring>{code}: {escape(message)}</faultstring>"
            '<detail><sf:LoginFault xsi:type="sf:LoginFault">'
            f"<sf:exceptionCode>{code}</sf:exceptionCode>"
            f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage>"
            "</sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
        )
        return Response(body, status_code=500, media_type="text/xml;charset=UTF-8")

    @app.post("/services/Soap/u/{version}", include_in_schema=False)
    @app.post("/services/Soap/u/{version}/", include_in_schema=False)
    async def soap_login(request: Request, version: str) -> Response:
        try:
            root = ET.fromstring(await request.body())
        except ET.ParseError:
            return soap_fault(
                "INVALID_LOGIN", "Invalid username, password, security token; or user locked out."
            )
        username = root.findtext(f".//{{{_PARTNER_NS}}}username") or ""
        password = root.findtext(f".//{{{_PARTNER_NS}}}password") or ""
        if credentials is not None and (
            username != credentials.username or password != credentials.password + credentials.security_token
        ):
            return soap_fault(
                "INVALID_LOGIN", "Invalid username, password, security token; or user locked out."
            )
        session = sessions.new(state.org_id)
        user_id = state.api_user_id or "005Dn0000000000001AAA"
        server = f"https://{INSTANCE_HOST}/services/Soap/u/{version}/{state.org_id}"
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            f'xmlns="{_PARTNER_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            "<soapenv:Body><loginResponse><result>"
            f"<metadataServerUrl>https://{INSTANCE_HOST}/services/Soap/m/{version}/{state.org_id}"
            "</metadataServerUrl><passwordExpired>false</passwordExpired><sandbox>false</sandbox>"
            f"<serverUrl>{server}</serverUrl><sessionId>{session}</sessionId>"
            f"<userId>{user_id}</userId><userInfo><organizationId>{state.org_id}</organizationId>"
            f"<userName>{escape(username)}</userName><userEmail>{escape(username)}</userEmail>"
            "<userFullName>Integration User</userFullName></userInfo>"
            "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
        )
        return Response(body, media_type="text/xml;charset=UTF-8")

    @app.post("/services/oauth2/token", include_in_schema=False)
    async def oauth_token(request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        grant = form.get("grant_type", "")
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            try:
                client_id, _, client_secret = base64.b64decode(basic[6:]).decode().partition(":")
            except ValueError:
                client_id = client_secret = None

        def refuse(error: str, description: str) -> Response:
            return JSONResponse({"error": error, "error_description": description}, status_code=400)

        if grant not in ("password", "client_credentials"):
            return refuse("unsupported_grant_type", "grant type not supported")
        if credentials is not None:
            if credentials.consumer_key is not None and (
                client_id != credentials.consumer_key or client_secret != credentials.consumer_secret
            ):
                return refuse("invalid_client_id", "client identifier invalid")
            if grant == "password" and (
                form.get("username") != credentials.username
                or form.get("password")
                not in (credentials.password, credentials.password + credentials.security_token)
            ):
                return refuse("invalid_grant", "authentication failure")
        token = sessions.new(state.org_id)
        issued = str(int(time.time() * 1000))
        user_id = state.api_user_id or "005Dn0000000000001AAA"
        return JSONResponse(
            {
                "access_token": token,
                "instance_url": f"https://{INSTANCE_HOST}",
                "id": f"https://login.salesforce.com/id/{state.org_id}/{user_id}",
                "token_type": "Bearer",
                "issued_at": issued,
                "signature": base64.b64encode(secrets.token_bytes(32)).decode(),
                "scope": "api",
            }
        )

    # ------------------------------------------------------------------ rendering

    def record_url(version: str, sobject: str, rid: str) -> str:
        return f"/services/data/v{version}/sobjects/{sobject}/{rid}"

    def render(rec: Record, spec: ObjectSpec, fields: tuple[str, ...] | None, version: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "attributes": {"type": spec.name, "url": record_url(version, spec.name, rec["Id"])}
        }
        if fields is None:
            for every in spec.fields_list:
                out[every.name] = render_value(rec.get(every.name))
            return out
        for path in fields:
            if path in rec:  # a canonical plain field name: the common case, kept fast
                out[path] = render_value(rec[path])
                continue
            if "." not in path:
                one = spec.field(path)
                if one is not None:
                    out[one.name] = render_value(rec.get(one.name))
                continue
            rel, rest = path.split(".", 1)
            ref = spec.relationships.get(rel.lower())
            if ref is None:
                continue
            ref_id: str | None = rec.get(ref.name)
            target_name = state.object_of_id(ref_id) if ref_id else None
            target_rec = state.get(target_name, ref_id) if target_name and ref_id else None
            if target_rec is None or target_name is None or ref_id is None:
                out[ref.relationship_name or rel] = None
                continue
            target_spec = OBJECTS[target_name.lower()]
            nested = out.get(ref.relationship_name or rel)
            if not isinstance(nested, dict):
                nested = {
                    "attributes": {
                        "type": target_name,
                        "url": record_url(version, target_name, ref_id),
                    }
                }
                out[ref.relationship_name or rel] = nested
            nested.update(
                {
                    k: v
                    for k, v in render(target_rec, target_spec, (rest,), version).items()
                    if k != "attributes"
                }
            )
        return out

    def query_page(
        version: str, kind: str, locator: str, cursor: QueryCursor, start: int, spec: ObjectSpec
    ) -> Response:
        page = state.page(cursor, start, spec)
        end = start + cursor.batch_size
        body: dict[str, Any] = {"totalSize": len(cursor.ids), "done": end >= len(cursor.ids)}
        if not body["done"]:
            body["nextRecordsUrl"] = f"/services/data/v{version}/{kind}/{locator}-{end}"
        else:
            state.cursors.pop(locator, None)
        body["records"] = [render(rec, spec, cursor.fields, version) for rec in page]
        return _json(200, body)

    def batch_size_of(request: Request) -> int:
        options = request.headers.get("sforce-query-options", "")
        m = re.search(r"batchSize=(\d+)", options)
        if not m:
            return DEFAULT_BATCH_SIZE
        return max(MIN_BATCH_SIZE, min(DEFAULT_BATCH_SIZE, int(m.group(1))))

    # ------------------------------------------------------------------ query

    async def run_query(request: Request, version: str, include_deleted: bool) -> Response:
        soql = request.query_params.get("q")
        if not soql:
            return _errors(400, "MALFORMED_QUERY", "A query string has to be specified")
        try:
            query = parse_soql(soql)
        except SoqlError as exc:
            return _errors(400, "MALFORMED_QUERY", f"\n{soql}\n{exc}")
        spec, ids = state.run_query(query, include_deleted=include_deleted)
        if query.count_only:
            return _json(200, {"totalSize": len(ids), "done": True, "records": []})
        kind = "queryAll" if include_deleted else "query"
        fields = tuple(
            path if "." in path else state.field_spec_of_path(spec, path).name for path in query.fields
        )
        cursor = QueryCursor(spec.name, fields, ids, batch_size_of(request), include_deleted)
        if len(ids) <= cursor.batch_size:
            return query_page(version, kind, "", cursor, 0, spec)
        locator = state.open_cursor(cursor, time.monotonic())
        return query_page(version, kind, locator, cursor, 0, spec)

    async def more(request: Request, version: str, locator: str) -> Response:
        kind = "queryAll" if "/queryAll/" in request.url.path else "query"
        cursor_id, _, offset = locator.rpartition("-")
        cursor = state.cursors.get(cursor_id)
        if cursor is None or not offset.isdigit():
            return _errors(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        cursor.last_used = time.monotonic()
        return query_page(version, kind, cursor_id, cursor, int(offset), OBJECTS[cursor.sobject.lower()])

    @api("/query", methods=["GET"])
    async def query(request: Request, version: str) -> Response:
        return await run_query(request, version, include_deleted=False)

    @api("/queryAll", methods=["GET"])
    async def query_all(request: Request, version: str) -> Response:
        return await run_query(request, version, include_deleted=True)

    @api("/query/{locator}", "/queryAll/{locator}", methods=["GET"])
    async def query_more(request: Request, version: str, locator: str) -> Response:
        return await more(request, version, locator)

    # ------------------------------------------------------------------ describe, limits

    @api("/limits", methods=["GET"])
    async def limits(request: Request, version: str) -> Response:
        used, limit = style.daily_usage(injector.budget_state())
        return _json(
            200,
            {
                "DailyApiRequests": {"Max": limit, "Remaining": max(0, limit - used)},
                "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
                "DataStorageMB": {"Max": 5120, "Remaining": 5000},
            },
        )

    @api("/sobjects", methods=["GET"])
    async def describe_global(request: Request, version: str) -> Response:
        return _json(
            200,
            {
                "encoding": "UTF-8",
                "maxBatchSize": COLLECTION_LIMIT,
                "sobjects": [spec.summary(version) for spec in OBJECTS.values()],
            },
        )

    def spec_or_404(sobject: str) -> ObjectSpec:
        spec = OBJECTS.get(sobject.lower())
        if spec is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return spec

    @api("/sobjects/{sobject}", methods=["GET", "POST"])
    async def sobject_root(request: Request, version: str, sobject: str) -> Response:
        spec = spec_or_404(sobject)
        if request.method == "GET":
            return _json(200, {"objectDescribe": spec.summary(version), "recentItems": []})
        body = await json_body(request)
        if not isinstance(body, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
        rid = state.api_create(spec.name, body)
        return _json(
            201,
            {"id": rid, "success": True, "errors": []},
            headers={"Location": record_url(version, spec.name, rid)},
        )

    @api("/sobjects/{sobject}/describe", methods=["GET"])
    async def describe(request: Request, version: str, sobject: str) -> Response:
        return _json(200, spec_or_404(sobject).describe(version))

    def window(request: Request, days: int) -> tuple[datetime, datetime]:
        try:
            start = parse_datetime_literal(request.query_params.get("start", ""))
            end = parse_datetime_literal(request.query_params.get("end", ""))
        except SoqlError:
            raise ApiError(400, "MALFORMED_QUERY", "start and end must be valid dateTimes") from None
        now = state.clock()
        # Salesforce works in whole minutes here.
        start = start.replace(second=0, microsecond=0)
        end = min(end, now).replace(second=0, microsecond=0)
        if end <= start:
            raise ApiError(400, "INVALID_REPLICATION_DATE", "end date must be after start date")
        if start < now - timedelta(days=days):
            raise ApiError(
                400,
                "INVALID_REPLICATION_DATE",
                f"startDate cannot be more than {days} days ago",
            )
        return start, end

    @api("/sobjects/{sobject}/updated", methods=["GET"])
    async def updated(request: Request, version: str, sobject: str) -> Response:
        spec = spec_or_404(sobject)
        start, end = window(request, UPDATED_WINDOW_DAYS)
        ids = state.updated_ids(spec.name, start, end)
        return _json(200, {"ids": ids, "latestDateCovered": format_datetime(end)})

    @api("/sobjects/{sobject}/deleted", methods=["GET"])
    async def deleted(request: Request, version: str, sobject: str) -> Response:
        spec = spec_or_404(sobject)
        start, end = window(request, DELETED_WINDOW_DAYS)
        rows = state.deleted_since(spec.name, start, end)
        earliest = state.clock() - timedelta(days=DELETED_WINDOW_DAYS)
        return _json(
            200,
            {
                "deletedRecords": [{"id": rid, "deletedDate": format_datetime(w)} for rid, w in rows],
                "earliestDateAvailable": format_datetime(earliest),
                "latestDateCovered": format_datetime(end),
            },
        )

    @api("/sobjects/{sobject}/{record_id}", methods=["GET", "PATCH", "DELETE"])
    async def sobject_row(request: Request, version: str, sobject: str, record_id: str) -> Response:
        spec = spec_or_404(sobject)
        if request.method == "GET":
            rec = state.api_get(spec.name, record_id)
            fields = request.query_params.get("fields")
            chosen = tuple(f.strip() for f in fields.split(",")) if fields else None
            return _json(200, render(rec, spec, chosen, version))
        if request.method == "DELETE":
            state.api_delete(spec.name, record_id)
            return Response(status_code=204)
        body = await json_body(request)
        if not isinstance(body, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
        if any(k.lower() == "id" for k in body):
            raise ApiError(
                400, "INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: Id.", ["Id"]
            )
        state.api_update(spec.name, record_id, body)
        return Response(status_code=204)

    @api("/sobjects/{sobject}/{ext_field}/{ext_value}", methods=["GET", "PATCH"])
    async def sobject_by_external_id(
        request: Request, version: str, sobject: str, ext_field: str, ext_value: str
    ) -> Response:
        spec = spec_or_404(sobject)
        if request.method == "GET":
            return _json(
                200, render(state.get_by_external_id(spec.name, ext_field, ext_value), spec, None, version)
            )
        body = await json_body(request)
        if not isinstance(body, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
        if request.query_params.get("updateOnly", "").lower() == "true":
            state.get_by_external_id(spec.name, ext_field, ext_value)
        rid, created = state.api_upsert(spec.name, ext_field, ext_value, body)
        return _json(
            201 if created else 200,
            {"id": rid, "success": True, "errors": [], "created": created},
            headers={"Location": record_url(version, spec.name, rid)} if created else None,
        )

    # ------------------------------------------------------------------ collections

    async def json_body(request: Request) -> Any:
        raw = await request.body()
        try:
            return json.loads(raw) if raw else None
        except json.JSONDecodeError as exc:
            raise ApiError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc.msg}") from None

    def collection_records(body: Any) -> tuple[list[dict[str, Any]], bool]:
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise ApiError(400, "JSON_PARSER_ERROR", "The request body must have a records list")
        records = body["records"]
        if len(records) > COLLECTION_LIMIT:
            raise ApiError(
                400,
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
            )
        if not all(isinstance(r, dict) for r in records):
            raise ApiError(400, "JSON_PARSER_ERROR", "Each record must be a JSON object")
        return records, bool(body.get("allOrNone", False))

    def run_collection(
        items: list[Any], apply: Callable[[Any], dict[str, Any]], all_or_none: bool
    ) -> Response:
        """Apply each item; per-record results; `allOrNone` undoes everything on any failure."""
        results: list[dict[str, Any]] = []
        with state.undo_scope() as undo:
            failed = False
            for item in items:
                try:
                    results.append({"success": True, "errors": [], **apply(item)})
                except ApiError as exc:
                    failed = True
                    results.append(
                        {
                            "id": exc_id(item),
                            "success": False,
                            "errors": [
                                {"statusCode": exc.code, "message": exc.message, "fields": exc.fields}
                            ],
                        }
                    )
            if all_or_none and failed:
                undo()
        if all_or_none and failed:
            results = [
                r
                if not r["success"]
                else {
                    "id": None,
                    "success": False,
                    "errors": [
                        {
                            "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                            "message": "Record rolled back because not all records were valid and "
                            "the request was using AllOrNone header",
                            "fields": [],
                        }
                    ],
                }
                for r in results
            ]
        # Keys in Salesforce's order: id, success, errors (+ created for upserts).
        ordered = []
        for r in results:
            item = {"id": r.get("id"), "success": r["success"], "errors": r["errors"]}
            if "created" in r:
                item["created"] = r["created"]
            ordered.append(item)
        return _json(200, ordered)

    def exc_id(item: Any) -> str | None:
        if isinstance(item, dict):
            value = item.get("id") or item.get("Id")
            return str(value) if value else None
        return None

    def type_of(record: dict[str, Any]) -> str:
        attrs = record.get("attributes")
        if not isinstance(attrs, dict) or not attrs.get("type"):
            raise ApiError(400, "INVALID_TYPE", "Each record must have attributes.type", ["attributes"])
        return spec_or_404(str(attrs["type"])).name

    @api("/composite/sobjects", methods=["POST", "PATCH", "DELETE"])
    async def collections(request: Request, version: str) -> Response:
        if request.method == "DELETE":
            ids = [i for i in request.query_params.get("ids", "").split(",") if i]
            if len(ids) > COLLECTION_LIMIT:
                raise ApiError(
                    400,
                    "EXCEEDED_ID_LIMIT",
                    "record limit reached. cannot submit more than 200 records into this call",
                )
            all_or_none = request.query_params.get("allOrNone", "false").lower() == "true"

            def delete_one(rid: str) -> dict[str, Any]:
                sobject = state.object_of_id(rid)
                if sobject is None:
                    raise ApiError(400, "MALFORMED_ID", f"malformed id {rid}")
                state.api_delete(sobject, rid)
                return {"id": state.normalise_id(rid)}

            return run_collection(ids, delete_one, all_or_none)

        records, all_or_none = collection_records(await json_body(request))
        if request.method == "POST":

            def create_one(rec: dict[str, Any]) -> dict[str, Any]:
                if rec.get("id") or rec.get("Id"):
                    raise ApiError(400, "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
                fields = {k: v for k, v in rec.items() if k != "attributes"}
                return {"id": state.api_create(type_of(rec), fields)}

            return run_collection(records, create_one, all_or_none)

        def update_one(rec: dict[str, Any]) -> dict[str, Any]:
            rid = rec.get("id") or rec.get("Id")
            if not rid:
                raise ApiError(400, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
            fields = {k: v for k, v in rec.items() if k not in ("attributes", "id", "Id")}
            state.api_update(type_of(rec), str(rid), fields)
            return {"id": state.normalise_id(str(rid))}

        return run_collection(records, update_one, all_or_none)

    @api("/composite/sobjects/{sobject}", methods=["GET", "POST"])
    async def collection_read(request: Request, version: str, sobject: str) -> Response:
        spec = spec_or_404(sobject)
        if request.method == "GET":
            ids = [i for i in request.query_params.get("ids", "").split(",") if i]
            fields_param = request.query_params.get("fields", "")
        else:
            body = await json_body(request)
            if not isinstance(body, dict):
                raise ApiError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
            ids = list(body.get("ids") or [])
            fields_param = ",".join(body.get("fields") or [])
        if len(ids) > 2000:
            raise ApiError(400, "EXCEEDED_ID_LIMIT", "too many ids, the limit is 2000")
        fields = tuple(f.strip() for f in fields_param.split(",") if f.strip())
        if not fields:
            raise ApiError(400, "MALFORMED_QUERY", "fields is required")
        for f in fields:
            state.field_spec_of_path(spec, f)
        out: list[dict[str, Any] | None] = []
        for rid in ids:
            rec = state.get(spec.name, rid)
            out.append(None if rec is None or rec.get("IsDeleted") else render(rec, spec, fields, version))
        return _json(200, out)

    @api("/composite/sobjects/{sobject}/{ext_field}", methods=["PATCH"])
    async def collection_upsert(request: Request, version: str, sobject: str, ext_field: str) -> Response:
        spec = spec_or_404(sobject)
        records, all_or_none = collection_records(await json_body(request))
        ext_spec = spec.field(ext_field)
        if ext_spec is None or not (ext_spec.external_id or ext_spec.type == "id"):
            raise ApiError(
                400,
                "INVALID_FIELD",
                f"Field name provided, {ext_field} is not an External ID or indexed field for {spec.name}",
            )

        def upsert_one(rec: dict[str, Any]) -> dict[str, Any]:
            if type_of(rec) != spec.name:
                raise ApiError(400, "INVALID_TYPE", f"Record type must be {spec.name}")
            value = next((v for k, v in rec.items() if k.lower() == ext_spec.name.lower()), None)
            if value in (None, ""):
                raise ApiError(
                    400,
                    "MISSING_ARGUMENT",
                    f"{ext_spec.name} not specified",
                    [ext_spec.name],
                )
            fields = {k: v for k, v in rec.items() if k != "attributes"}
            rid, created = state.api_upsert(spec.name, ext_spec.name, str(value), fields)
            return {"id": rid, "created": created}

        return run_collection(records, upsert_one, all_or_none)

    @app.exception_handler(ApiError)
    async def api_error_handler(request: Request, exc: ApiError) -> Response:
        return _api_error(exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error_handler(request: Request, exc: StarletteHTTPException) -> Response:
        # Unknown paths and methods get Salesforce's error list, not FastAPI's {"detail": ...}.
        if exc.status_code == 405:
            return _errors(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed.")
        if exc.status_code == 404:
            return _errors(404, "NOT_FOUND", "The requested resource does not exist")
        return _errors(exc.status_code, "UNKNOWN_EXCEPTION", str(exc.detail))

    return app
