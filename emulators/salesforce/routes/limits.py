"""`GET limits/`: the org's allowances, the daily API requests counted by the fault injector."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from emulators.salesforce.context import Emulator, rest_route, rest_router
from emulators.salesforce.responses import json_response

router = rest_router()


@rest_route(router, "/limits", methods=["GET"])
async def limits(request: Request, version: str, emulator: Emulator) -> Response:
    used, limit = emulator.style.daily_usage(emulator.injector.budget_state())
    return json_response(
        200,
        {
            "DailyApiRequests": {"Max": limit, "Remaining": max(0, limit - used)},
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
            "DataStorageMB": {"Max": 5120, "Remaining": 5000},
        },
    )
