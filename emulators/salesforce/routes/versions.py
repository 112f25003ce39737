"""What an org serves: `GET /services/data/` (the API versions, no login needed) and
`GET /services/data/v{v}/` (the resources of one version)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from emulators.salesforce.context import Emulator, rest_route, rest_router
from emulators.salesforce.responses import json_response

OLDEST_VERSION, NEWEST_VERSION = 20, 66
_SEASONS = ("Winter", "Spring", "Summer")
RESOURCES = (
    "tooling", "metadata", "eclair", "folders", "prechatForms", "contact-tracing", "jsonxform", "chatter",
    "tabs", "appMenu", "quickActions", "queryAll", "commerce", "wave", "iot", "analytics", "search",
    "identity", "composite", "parameterizedSearch", "fingerprint", "theme", "nouns", "event",
    "serviceTemplates", "recent", "connect", "licensing", "limits", "process", "async-queries", "query",
    "match", "emailConnect", "compactLayouts", "knowledgeManagement", "sobjects", "actions", "support",
    "jobs",
)  # fmt: skip

versions_router = APIRouter()
router = rest_router()


def release_label(version: int) -> str:
    """`Winter '24` for 59: three releases a year, 59 being Winter '24."""
    k = version - 59
    return f"{_SEASONS[k % 3]} '{24 + k // 3:02d}"


@versions_router.get("/services/data", include_in_schema=False)
@versions_router.get("/services/data/", include_in_schema=False)
async def versions() -> Response:
    return json_response(
        200,
        [
            {"label": release_label(v), "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
            for v in range(OLDEST_VERSION, NEWEST_VERSION + 1)
        ],
    )


@rest_route(router, "", methods=["GET"])
async def resources(request: Request, version: str, emulator: Emulator) -> Response:
    base = f"/services/data/v{version}"
    listed = {name: f"{base}/{name}" for name in RESOURCES}
    # As in Salesforce, `identity` is the full identity URL of the session's user.
    host = str(request.base_url).rstrip("/") if emulator.echo_instance_url else "https://login.salesforce.com"
    listed["identity"] = f"{host}/id/{emulator.org.org_id}/{emulator.api_user_id}"
    return json_response(200, listed)
