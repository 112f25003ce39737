"""How the Salesforce emulator answers: JSON bodies, Salesforce's error list, the app's error handlers."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from emulators.salesforce.org import ApiError


class InvalidSession(Exception):
    """No or an unknown bearer token: Salesforce's 401 `INVALID_SESSION_ID`."""


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    # Plain json.dumps: FastAPI's encoder is far slower on 2,000-record pages.
    return Response(
        content=json.dumps(body, separators=(",", ":")),
        status_code=status,
        media_type="application/json;charset=UTF-8",
        headers=headers,
    )


def error_list(status: int, code: str, message: str, fields: list[str] | None = None) -> Response:
    """Salesforce's error body: a JSON list of `{message, errorCode[, fields]}`."""
    item: dict[str, Any] = {"message": message, "errorCode": code}
    if fields:
        item["fields"] = fields
    return json_response(status, [item])


def api_error_response(exc: ApiError) -> Response:
    return json_response(exc.status, exc.body())


def session_refused() -> Response:
    return error_list(401, "INVALID_SESSION_ID", "Session expired or invalid")


async def json_body(request: Request) -> Any:
    """The request's JSON body (None when empty), or Salesforce's `JSON_PARSER_ERROR`."""
    raw = await request.body()
    try:
        return json.loads(raw) if raw else None
    except json.JSONDecodeError as exc:
        raise ApiError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc.msg}") from None


async def json_object(request: Request) -> dict[str, Any]:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
    return body


def install_error_handlers(app: FastAPI) -> None:
    """Every error, unknown routes included, as Salesforce's list (never FastAPI's `{"detail": ...}`)."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return api_error_response(exc)

    @app.exception_handler(InvalidSession)
    async def invalid_session(request: Request, exc: InvalidSession) -> Response:
        return session_refused()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            return error_list(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed.")
        if exc.status_code == 404:
            return error_list(404, "NOT_FOUND", "The requested resource does not exist")
        return error_list(exc.status_code, "UNKNOWN_EXCEPTION", str(exc.detail))
