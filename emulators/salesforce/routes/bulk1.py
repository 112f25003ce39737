"""Bulk API 1.0 query jobs under `/services/async/{v}/` (the session in `X-SFDC-Session`).

`POST job` (JSON or XML `jobInfo`, operation `query` / `queryAll`), `POST
job/{id}/batch` (the SOQL as the body), `POST job/{id}` to close, `GET
job/{id}`, `GET job/{id}/batch[/{batch}]`, `GET .../result` (the result
list) and `GET .../result/{result}` (CSV). Job answers are JSON when the
request was, batch answers XML unless the job's content type is JSON, as
Salesforce does; errors are `{exceptionCode, exceptionMessage}` in the same
format.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from emulators.salesforce.bulk import QueryJob, QueryOperation, job_time, write_csv
from emulators.salesforce.context import Emulator, SalesforceEmulator
from emulators.salesforce.org import ApiError
from emulators.salesforce.render import render_record

NS = "http://www.force.com/2009/06/asyncapi/dataload"

router = APIRouter(prefix="/services/async/{version}")


@dataclass
class BulkV1Job:
    id: str
    operation: QueryOperation
    sobject: str
    content_type: str
    created: datetime
    created_by: str
    version: str
    state: str = "Open"
    batches: list[str] = field(default_factory=list)


class BulkV1Error(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _wants_json(request: Request) -> bool:
    return "json" in request.headers.get("content-type", "").lower()


def _render(tag: str, body: dict[str, Any], as_json: bool, status: int = 200) -> Response:
    if as_json:
        return Response(json.dumps(body), status_code=status, media_type="application/json")
    root = ET.Element(tag, xmlns=NS)
    for key, value in body.items():
        for item in value if isinstance(value, list) else [value]:
            child = ET.SubElement(root, key)
            child.text = str(item).lower() if isinstance(item, bool) else str(item)
    xml = '<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(root, encoding="unicode")
    return Response(xml, status_code=status, media_type="application/xml")


def error_response(exc: BulkV1Error, as_json: bool) -> Response:
    return _render("error", {"exceptionCode": exc.code, "exceptionMessage": exc.message}, as_json, exc.status)


def _session(request: Request, emulator: SalesforceEmulator) -> None:
    token = request.headers.get("x-sfdc-session", "").strip()
    if not token or (emulator.credentials is not None and token not in emulator.sessions.issued):
        raise BulkV1Error(400, "InvalidSessionId", "Invalid session id")


def _job_of(emulator: SalesforceEmulator, job_id: str) -> BulkV1Job:
    job = emulator.bulk.v1_jobs.get(job_id)
    if job is None:
        raise BulkV1Error(400, "InvalidJob", f"Unable to find object: {job_id}")
    return job


def job_info(emulator: SalesforceEmulator, job: BulkV1Job) -> dict[str, Any]:
    batches = [emulator.bulk.queries[b] for b in job.batches]
    done = [b for b in batches if b.state == "JobComplete"]
    failed = [b for b in batches if b.state == "Failed"]
    return {
        "id": job.id,
        "operation": job.operation,
        "object": job.sobject,
        "createdById": job.created_by,
        "createdDate": job_time(job.created),
        "systemModstamp": job_time(job.created),
        "state": job.state,
        "concurrencyMode": "Parallel",
        "contentType": job.content_type,
        "numberBatchesQueued": 0,
        "numberBatchesInProgress": 0,
        "numberBatchesCompleted": len(done),
        "numberBatchesFailed": len(failed),
        "numberBatchesTotal": len(batches),
        "numberRecordsProcessed": sum(len(b.rows) for b in done),
        "numberRetries": 0,
        "apiVersion": float(job.version),
        "numberRecordsFailed": 0,
        "totalProcessingTime": 1,
        "apiActiveProcessingTime": 1,
        "apexProcessingTime": 0,
    }


def batch_info(batch: QueryJob, job_id: str, state: str | None = None) -> dict[str, Any]:
    shown = state or {"JobComplete": "Completed", "Failed": "Failed"}.get(batch.state, "Queued")
    info: dict[str, Any] = {
        "id": batch.batch_id,
        "jobId": job_id,
        "state": shown,
        "createdDate": job_time(batch.created),
        "systemModstamp": job_time(batch.created),
        "numberRecordsProcessed": len(batch.rows) if shown == "Completed" else 0,
        "numberRecordsFailed": 0,
        "totalProcessingTime": 1,
        "apiActiveProcessingTime": 1,
        "apexProcessingTime": 0,
    }
    if batch.error:
        info["stateMessage"] = batch.error
    return info


def _parse_job_body(raw: bytes, as_json: bool) -> dict[str, str]:
    if as_json:
        body = json.loads(raw or b"{}")
        return {k: str(v) for k, v in body.items()} if isinstance(body, dict) else {}
    root = ET.fromstring(raw)
    return {child.tag.split("}")[-1]: (child.text or "") for child in root}


@router.post("/job", include_in_schema=False)
async def create_job(request: Request, version: str, emulator: Emulator) -> Response:
    as_json = _wants_json(request)
    try:
        _session(request, emulator)
        try:
            body = _parse_job_body(await request.body(), as_json)
        except (ValueError, ET.ParseError):
            raise BulkV1Error(400, "InvalidJob", "Unable to parse the job") from None
        if body.get("operation") not in ("query", "queryAll"):
            raise BulkV1Error(400, "FeatureNotEnabled", "This emulator serves Bulk API 1.0 query jobs only")
        spec = emulator.org.object_spec(body.get("object", ""))
        if spec is None:
            raise BulkV1Error(
                400, "InvalidEntity", f"Entity '{body.get('object')}' is not supported by the Bulk API."
            )
        operation: QueryOperation = "queryAll" if body["operation"] == "queryAll" else "query"
        job = BulkV1Job(
            id=emulator.bulk.new_id("750"),
            operation=operation,
            sobject=spec.name,
            content_type=body.get("contentType", "CSV"),
            created=emulator.org.clock(),
            created_by=emulator.api_user_id,
            version=version,
        )
        emulator.bulk.v1_jobs[job.id] = job
        return _render("jobInfo", job_info(emulator, job), as_json, 201)
    except BulkV1Error as exc:
        return error_response(exc, as_json)


@router.get("/job/{job_id}", include_in_schema=False)
@router.post("/job/{job_id}", include_in_schema=False)
async def job(request: Request, version: str, job_id: str, emulator: Emulator) -> Response:
    as_json = _wants_json(request)
    try:
        _session(request, emulator)
        found = _job_of(emulator, job_id)
        if request.method == "POST":
            state = _parse_job_body(await request.body(), as_json).get("state")
            if state in ("Closed", "Aborted"):
                found.state = state
        return _render("jobInfo", job_info(emulator, found), as_json)
    except BulkV1Error as exc:
        return error_response(exc, as_json)


@router.post("/job/{job_id}/batch", include_in_schema=False)
@router.get("/job/{job_id}/batch", include_in_schema=False)
async def batches(request: Request, version: str, job_id: str, emulator: Emulator) -> Response:
    as_json = False
    try:
        _session(request, emulator)
        found = _job_of(emulator, job_id)
        as_json = found.content_type == "JSON"
        if request.method == "GET":
            infos = [batch_info(emulator.bulk.queries[b], job_id) for b in found.batches]
            if as_json:
                return _render("batchInfoList", {"batchInfo": infos}, True)
            return _batch_list_xml(infos)
        if found.state != "Open":
            raise BulkV1Error(400, "InvalidJobState", f"Job {job_id} is {found.state}: no more batches")
        soql = (await request.body()).decode()
        try:
            batch = emulator.bulk.start_query(
                emulator.org,
                soql,
                found.operation,
                version=version,
                created_by=found.created_by,
                bulk_v1=True,
            )
        except ApiError as exc:
            raise BulkV1Error(400, "InvalidBatch", f"{exc.code}: {exc.message}") from None
        batch.batch_id = emulator.bulk.new_id("751")
        emulator.bulk.queries[batch.batch_id] = batch
        found.batches.append(batch.batch_id)
        return _render("batchInfo", batch_info(batch, job_id, "Queued"), as_json, 201)
    except BulkV1Error as exc:
        return error_response(exc, as_json)


def _batch_list_xml(infos: list[dict[str, Any]]) -> Response:
    root = ET.Element("batchInfoList", xmlns=NS)
    for info in infos:
        node = ET.SubElement(root, "batchInfo")
        for key, value in info.items():
            ET.SubElement(node, key).text = str(value)
    xml = '<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(root, encoding="unicode")
    return Response(xml, media_type="application/xml")


def _batch_of(emulator: SalesforceEmulator, job: BulkV1Job, batch_id: str) -> QueryJob:
    if batch_id not in job.batches:
        raise BulkV1Error(400, "InvalidBatch", f"Unable to find object: {batch_id}")
    return emulator.bulk.queries[batch_id]


@router.get("/job/{job_id}/batch/{batch_id}", include_in_schema=False)
async def batch(request: Request, version: str, job_id: str, batch_id: str, emulator: Emulator) -> Response:
    as_json = False
    try:
        _session(request, emulator)
        found = _job_of(emulator, job_id)
        as_json = found.content_type == "JSON"
        return _render("batchInfo", batch_info(_batch_of(emulator, found, batch_id), job_id), as_json)
    except BulkV1Error as exc:
        return error_response(exc, as_json)


@router.get("/job/{job_id}/batch/{batch_id}/result", include_in_schema=False)
async def result_list(
    request: Request, version: str, job_id: str, batch_id: str, emulator: Emulator
) -> Response:
    as_json = False
    try:
        _session(request, emulator)
        found = _job_of(emulator, job_id)
        as_json = found.content_type == "JSON"
        done = _batch_of(emulator, found, batch_id)
        if done.state != "JobComplete":
            raise BulkV1Error(400, "InvalidBatch", f"Batch {batch_id} has no results: {done.error}")
        result_id = "752" + batch_id[3:]
        if as_json:
            return Response(json.dumps([result_id]), media_type="application/json")
        return _render("result-list", {"result": [result_id]}, False)
    except BulkV1Error as exc:
        return error_response(exc, as_json)


@router.get("/job/{job_id}/batch/{batch_id}/result/{result_id}", include_in_schema=False)
async def result(
    request: Request, version: str, job_id: str, batch_id: str, result_id: str, emulator: Emulator
) -> Response:
    try:
        _session(request, emulator)
        done = _batch_of(emulator, _job_of(emulator, job_id), batch_id)
        if result_id != "752" + batch_id[3:]:
            raise BulkV1Error(400, "InvalidBatch", f"Unable to find result: {result_id}")
        if _job_of(emulator, job_id).content_type == "JSON":
            return Response(json.dumps(_json_records(emulator, done)), media_type="application/json")
        return Response(write_csv(done.header, done.rows), media_type="text/csv; charset=UTF-8")
    except BulkV1Error as exc:
        return error_response(exc, False)


def _json_records(emulator: SalesforceEmulator, done: QueryJob) -> list[dict[str, Any]]:
    """A JSON job's results: the records as the REST API renders them."""
    org = emulator.org
    spec = org.sobject_or_404(done.sobject)
    out = []
    for rid in done.ids:
        rec = org.tables[spec.name.lower()].rows.get(rid)
        if rec is not None:
            out.append(render_record(org, rec, spec, tuple(done.header), done.version))
    return out
