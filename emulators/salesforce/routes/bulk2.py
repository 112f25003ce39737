"""Bulk API 2.0 under `/services/data/v{v}/jobs/`: query jobs and ingest jobs.

- query: `POST jobs/query` (`query` / `queryAll`), `GET jobs/query/{id}` (complete
  at once, or Failed for compound fields), `GET jobs/query/{id}/results`
  (CSV, `maxRecords`, paged by `locator` with `Sforce-Locator` and
  `Sforce-NumberOfRecords` headers, `null` on the last page), `PATCH` to
  abort, `DELETE`, `GET jobs/query` to list;
- ingest: `POST jobs/ingest` (insert, update, upsert by `externalIdFieldName`,
  delete, hardDelete), `PUT jobs/ingest/{id}/batches` (CSV, 201), `PATCH`
  `UploadComplete` (applies it) or `Aborted`, `GET jobs/ingest/{id}`,
  `successfulResults/`, `failedResults/`, `unprocessedrecords/`, `DELETE`.
"""

from __future__ import annotations

import base64
import csv
import io
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from emulators.salesforce.bulk import (
    DELIMITERS,
    LINE_ENDINGS,
    IngestJob,
    QueryJob,
    apply_ingest,
    job_time,
    write_csv,
)
from emulators.salesforce.context import Emulator, rest_route, rest_router
from emulators.salesforce.org import ApiError
from emulators.salesforce.responses import json_object, json_response

DEFAULT_MAX_RECORDS = 50_000
INGEST_OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")

router = rest_router()


def query_info(job: QueryJob) -> dict[str, Any]:
    info: dict[str, Any] = {
        "id": job.id,
        "operation": job.operation,
        "object": job.sobject,
        "createdById": job.created_by,
        "createdDate": job_time(job.created),
        "systemModstamp": job_time(job.created),
        "state": job.state,
        "concurrencyMode": "Parallel",
        "contentType": "CSV",
        "apiVersion": float(job.version),
        "jobType": "V2Query",
        "lineEnding": job.line_ending,
        "columnDelimiter": job.delimiter,
        "numberRecordsProcessed": len(job.rows),
        "retries": 0,
        "totalProcessingTime": 1,
    }
    if job.error:
        info["errorMessage"] = job.error
    return info


@rest_route(router, "/jobs/query", methods=["GET", "POST"])
async def query_jobs(request: Request, version: str, emulator: Emulator) -> Response:
    if request.method == "GET":
        jobs = [query_info(j) for j in emulator.bulk.queries.values() if not j.bulk_v1]
        return json_response(200, {"done": True, "records": jobs, "nextRecordsUrl": None})
    body = await json_object(request)
    operation = body.get("operation", "query")
    if operation not in ("query", "queryAll") or not body.get("query"):
        raise ApiError(400, "INVALIDJOB", "Invalid job: operation must be query or queryAll, with a query")
    delimiter = str(body.get("columnDelimiter") or "COMMA")
    line_ending = str(body.get("lineEnding") or "LF")
    if delimiter not in DELIMITERS or line_ending not in LINE_ENDINGS:
        raise ApiError(400, "INVALIDJOB", "columnDelimiter or lineEnding is not valid")
    job = emulator.bulk.start_query(
        emulator.org, str(body["query"]), operation, version=version, created_by=emulator.api_user_id
    )
    job.delimiter, job.line_ending = delimiter, line_ending
    created = query_info(job)
    created["state"] = "UploadComplete"  # as created; it has already run by the first poll
    created.pop("errorMessage", None)
    return json_response(200, created)


@rest_route(router, "/jobs/query/{job_id}", methods=["GET", "PATCH", "DELETE"])
async def query_job(request: Request, version: str, job_id: str, emulator: Emulator) -> Response:
    job = emulator.bulk.query(job_id)
    if request.method == "DELETE":
        emulator.bulk.queries.pop(job_id, None)
        return Response(status_code=204)
    if request.method == "PATCH":
        state = (await json_object(request)).get("state")
        if state != "Aborted":
            raise ApiError(400, "INVALIDJOBSTATE", "A query job can only be aborted")
        if job.state != "JobComplete":
            job.state = "Aborted"
    return json_response(200, query_info(job))


def _locator(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode().rstrip("=")


def _offset(locator: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(locator + "=" * (-len(locator) % 4)).decode())
    except ValueError:
        raise ApiError(400, "INVALIDLOCATOR", "Invalid locator") from None


@rest_route(router, "/jobs/query/{job_id}/results", methods=["GET"])
async def query_results(request: Request, version: str, job_id: str, emulator: Emulator) -> Response:
    job = emulator.bulk.query(job_id)
    if job.state != "JobComplete":
        raise ApiError(400, "INVALIDJOBSTATE", f"Job {job_id} is not complete: {job.state}")
    try:
        limit = int(request.query_params.get("maxRecords") or DEFAULT_MAX_RECORDS)
    except ValueError:
        raise ApiError(400, "INVALID_PARAMETER", "maxRecords must be a number") from None
    locator = request.query_params.get("locator")
    start = _offset(locator) if locator else 0
    page = job.rows[start : start + max(1, limit)]
    end = start + len(page)
    body = write_csv(job.header, page, DELIMITERS[job.delimiter], LINE_ENDINGS[job.line_ending])
    headers = {
        "Sforce-NumberOfRecords": str(len(page)),
        "Sforce-Locator": _locator(end) if end < len(job.rows) else "null",
    }
    return Response(body, media_type="text/csv; charset=UTF-8", headers=headers)


# ---------------------------------------------------------------------- ingest


def ingest_info(job: IngestJob, version: str) -> dict[str, Any]:
    info: dict[str, Any] = {
        "id": job.id,
        "operation": job.operation,
        "object": job.sobject,
        "createdById": job.created_by,
        "createdDate": job_time(job.created),
        "systemModstamp": job_time(job.created),
        "state": job.state,
        "concurrencyMode": "Parallel",
        "contentType": "CSV",
        "apiVersion": float(job.version),
        "jobType": "V2Ingest",
        "contentUrl": f"services/data/v{version}/jobs/ingest/{job.id}/batches",
        "lineEnding": job.line_ending,
        "columnDelimiter": job.delimiter,
        "numberRecordsProcessed": len(job.succeeded) + len(job.failed),
        "numberRecordsFailed": len(job.failed),
        "retries": 0,
        "totalProcessingTime": 1,
        "apiActiveProcessingTime": 1,
        "apexProcessingTime": 0,
    }
    if job.external_id_field:
        info["externalIdFieldName"] = job.external_id_field
    return info


@rest_route(router, "/jobs/ingest", methods=["GET", "POST"])
async def ingest_jobs(request: Request, version: str, emulator: Emulator) -> Response:
    if request.method == "GET":
        jobs = [ingest_info(j, version) for j in emulator.bulk.ingests.values()]
        return json_response(200, {"done": True, "records": jobs, "nextRecordsUrl": None})
    body = await json_object(request)
    operation = body.get("operation")
    spec = emulator.org.sobject_or_404(str(body.get("object") or ""))
    if operation not in INGEST_OPERATIONS:
        raise ApiError(400, "INVALIDJOB", f"Invalid operation: {operation}")
    if operation == "upsert" and not body.get("externalIdFieldName"):
        raise ApiError(400, "INVALIDJOB", "externalIdFieldName is required for upsert")
    job = IngestJob(
        id=emulator.bulk.new_id("750"),
        operation=operation,
        sobject=spec.name,
        external_id_field=body.get("externalIdFieldName"),
        created=emulator.org.clock(),
        created_by=emulator.api_user_id,
        version=version,
        delimiter=str(body.get("columnDelimiter") or "COMMA"),
        line_ending=str(body.get("lineEnding") or "LF"),
    )
    emulator.bulk.ingests[job.id] = job
    return json_response(200, ingest_info(job, version))


@rest_route(router, "/jobs/ingest/{job_id}/batches", methods=["PUT"])
async def upload(request: Request, version: str, job_id: str, emulator: Emulator) -> Response:
    job = emulator.bulk.ingest(job_id)
    if job.state != "Open":
        raise ApiError(409, "INVALIDJOBSTATE", f"Job {job_id} is not open for uploads: {job.state}")
    job.uploaded += (await request.body()).decode("utf-8-sig")
    return Response(status_code=201)


@rest_route(router, "/jobs/ingest/{job_id}", methods=["GET", "PATCH", "DELETE"])
async def ingest_job(request: Request, version: str, job_id: str, emulator: Emulator) -> Response:
    job = emulator.bulk.ingest(job_id)
    if request.method == "DELETE":
        emulator.bulk.ingests.pop(job_id, None)
        return Response(status_code=204)
    if request.method == "PATCH":
        state = (await json_object(request)).get("state")
        if state == "UploadComplete" and job.state == "Open":
            apply_ingest(emulator.org, job)
            answer = ingest_info(job, version)
            answer["state"] = "UploadComplete"
            return json_response(200, answer)
        if state == "Aborted" and job.state in ("Open", "UploadComplete"):
            job.state = "Aborted"
            job.unprocessed = _csv_rows(job)[1:]
        else:
            raise ApiError(400, "INVALIDJOBSTATE", f"Cannot change job {job_id} from {job.state} to {state}")
    return json_response(200, ingest_info(job, version))


def _csv_rows(job: IngestJob) -> list[list[str]]:
    return [r for r in csv.reader(io.StringIO(job.uploaded), delimiter=DELIMITERS[job.delimiter]) if r]


def _results_csv(header: list[str], rows: list[list[str]]) -> Response:
    return Response(write_csv(header, rows), media_type="text/csv; charset=UTF-8")


@rest_route(router, "/jobs/ingest/{job_id}/successfulResults", methods=["GET"])
async def successful(request: Request, version: str, job_id: str, emulator: Emulator) -> Response:
    job = emulator.bulk.ingest(job_id)
    rows = [[rid, "true" if created else "false", *row] for rid, created, row in job.succeeded]
    return _results_csv(["sf__Id", "sf__Created", *job.columns], rows)


@rest_route(router, "/jobs/ingest/{job_id}/failedResults", methods=["GET"])
async def failed(request: Request, version: str, job_id: str, emulator: Emulator) -> Response:
    job = emulator.bulk.ingest(job_id)
    rows = [[rid, error, *row] for rid, error, row in job.failed]
    return _results_csv(["sf__Id", "sf__Error", *job.columns], rows)


@rest_route(
    router,
    "/jobs/ingest/{job_id}/unprocessedrecords",
    "/jobs/ingest/{job_id}/unprocessedRecords",
    methods=["GET"],
)
async def unprocessed(request: Request, version: str, job_id: str, emulator: Emulator) -> Response:
    job = emulator.bulk.ingest(job_id)
    columns = job.columns or (_csv_rows(job)[0] if job.uploaded else [])
    return _results_csv(columns, job.unprocessed)
