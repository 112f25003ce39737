"""How the HubSpot emulator reads requests and answers: error bodies, batch answers, query lists."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from emulators.hubspot.org import HubSpotError, iso_ms

MAX_BATCH = 100


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


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HubSpotError)
    async def hubspot_error(_: Request, exc: HubSpotError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(HubSpotError(400, "VALIDATION_ERROR", f"Invalid input: {exc}"))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Unknown routes and methods get HubSpot's error body, never FastAPI's {"detail": ...}.
        if exc.status_code == 404:
            return error_response(
                HubSpotError(404, "OBJECT_NOT_FOUND", f"Resource not found: {request.url.path}")
            )
        if exc.status_code == 405:
            return error_response(
                HubSpotError(
                    405, "VALIDATION_ERROR", f"Method {request.method} is not allowed on {request.url.path}"
                )
            )
        return error_response(HubSpotError(exc.status_code, "INTERNAL_ERROR", str(exc.detail)))
