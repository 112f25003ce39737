"""`GET limits/`: every allowance Salesforce reports, the daily API requests and bulk jobs counted.

The keys are the ones a real org answers with (quota-aware clients read
several: `DailyApiRequests`, `DailyBulkApiBatches`, `DailyBulkV2QueryJobs`, ...);
API requests come from the fault injector's count, Bulk API 1.0 batches and
Bulk API 2.0 query jobs from the bulk routes.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from emulators.salesforce.context import Emulator, rest_route, rest_router
from emulators.salesforce.responses import json_response

router = rest_router()

# Allowances of an Enterprise Edition org, and what each has left when nothing uses it.
STATIC_LIMITS: dict[str, int] = {
    "ActiveScratchOrgs": 3,
    "AnalyticsExternalDataSizeMB": 40960,
    "ConcurrentAsyncGetReportInstances": 200,
    "ConcurrentEinsteinDataInsightsStoryCreation": 5,
    "ConcurrentEinsteinDiscoveryStoryCreation": 2,
    "ConcurrentSyncReportRuns": 20,
    "DailyAnalyticsDataflowJobExecutions": 60,
    "DailyAnalyticsUploadedFilesSizeMB": 51200,
    "DailyAsyncApexExecutions": 250000,
    "DailyAsyncApexTests": 500,
    "DailyBulkV2QueryFileStorageMB": 976562,
    "DailyDeliveredPlatformEvents": 10000,
    "DailyDurableGenericStreamingApiEvents": 10000,
    "DailyDurableStreamingApiEvents": 10000,
    "DailyEinsteinDataInsightsStoryCreation": 1000,
    "DailyEinsteinDiscoveryPredictAPICalls": 50000,
    "DailyEinsteinDiscoveryPredictionsByCDC": 500000,
    "DailyEinsteinDiscoveryStoryCreation": 100,
    "DailyFunctionsApiCallLimit": 235000,
    "DailyGenericStreamingApiEvents": 10000,
    "DailyScratchOrgs": 6,
    "DailyStandardVolumePlatformEvents": 10000,
    "DailyStreamingApiEvents": 10000,
    "DailyWorkflowEmails": 2000,
    "DataStorageMB": 5120,
    "DurableStreamingApiConcurrentClients": 20,
    "FileStorageMB": 5120,
    "HourlyAsyncReportRuns": 1200,
    "HourlyDashboardRefreshes": 200,
    "HourlyDashboardResults": 5000,
    "HourlyDashboardStatuses": 999999999,
    "HourlyLongTermIdMapping": 100000,
    "HourlyManagedContentPublicRequests": 50000,
    "HourlyODataCallout": 10000,
    "HourlyPublishedPlatformEvents": 50000,
    "HourlyPublishedStandardVolumePlatformEvents": 100000,
    "HourlySyncReportRuns": 500,
    "HourlyTimeBasedWorkflow": 50,
    "MassEmail": 5000,
    "MonthlyEinsteinDiscoveryStoryCreation": 500,
    "MonthlyPlatformEventsUsageEntitlement": 0,
    "Package2VersionCreates": 6,
    "Package2VersionCreatesWithoutValidation": 500,
    "PrivateConnectOutboundCalloutHourlyLimitMB": 0,
    "PublishCallbackUsageInApex": 5000000,
    "SingleEmail": 5000,
    "StreamingApiConcurrentClients": 20,
}
DAILY_BULK_BATCHES = 15000
DAILY_BULK_V2_QUERY_JOBS = 10000


def _allowance(limit: int, used: int) -> dict[str, int]:
    return {"Max": limit, "Remaining": max(0, limit - used)}


@rest_route(router, "/limits", methods=["GET"])
async def limits(request: Request, version: str, emulator: Emulator) -> Response:
    used, limit = emulator.style.daily_usage(emulator.injector.budget_state())
    body: dict[str, Any] = {name: _allowance(v, 0) for name, v in STATIC_LIMITS.items()}
    body["DataStorageMB"] = _allowance(5120, 120)
    body["PermissionSets"] = {**_allowance(1500, 12), "CreateCustom": _allowance(1000, 12)}
    body["DailyApiRequests"] = _allowance(limit, used)
    body["DailyBulkApiBatches"] = _allowance(DAILY_BULK_BATCHES, emulator.bulk.batches_today)
    body["DailyBulkV2QueryJobs"] = _allowance(DAILY_BULK_V2_QUERY_JOBS, emulator.bulk.query_jobs_today)
    return json_response(200, dict(sorted(body.items())))
