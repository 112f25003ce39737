"""Bulk API jobs of one org, for both Bulk API 2.0 (`routes/bulk2.py`) and 1.0 (`routes/bulk1.py`).

A query job runs its SOQL when it is created (the rows it will return are
fixed then, as Salesforce's snapshot is) and is complete at once; its
results are CSV, paged by a locator. An ingest job applies its uploaded CSV
when the upload is marked complete, one row at a time through the org's
validated writes, and keeps which rows succeeded, failed or were never
processed. Selecting compound (address) fields fails the job, as it does in
Salesforce.
"""

from __future__ import annotations

import csv
import io
import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

from emulators.salesforce.org import ApiError, SalesforceOrg, format_datetime
from emulators.salesforce.schema import ObjectSpec, make_id
from emulators.salesforce.soql import SoqlError, parse_soql

QueryOperation = Literal["query", "queryAll"]
IngestOperation = Literal["insert", "update", "upsert", "delete", "hardDelete"]
DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
COMPOUND_TYPES = frozenset({"address", "location"})
COMPOUND_MESSAGE = "Selecting compound data not supported in Bulk Query"


def csv_value(value: Any) -> str:
    """A field value as Bulk API CSV writes it (empty for null, ISO `Z` datetimes)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_datetime(value).replace("+0000", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write_csv(header: list[str], rows: list[list[str]], delimiter: str = ",", line_ending: str = "\n") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=line_ending, quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


@dataclass
class QueryJob:
    """A bulk query: its rows as CSV cells, fixed when it ran."""

    id: str
    operation: QueryOperation
    sobject: str
    soql: str
    created: datetime
    created_by: str
    version: str
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    state: str = "UploadComplete"
    error: str = ""
    delimiter: str = "COMMA"
    line_ending: str = "LF"
    content_type: str = "CSV"
    bulk_v1: bool = False
    batch_id: str = ""


@dataclass
class IngestJob:
    """A bulk load: the uploaded CSV and, once applied, each row's outcome."""

    id: str
    operation: IngestOperation
    sobject: str
    external_id_field: str | None
    created: datetime
    created_by: str
    version: str
    delimiter: str = "COMMA"
    line_ending: str = "LF"
    state: str = "Open"
    uploaded: str = ""
    columns: list[str] = field(default_factory=list)
    succeeded: list[tuple[str, bool, list[str]]] = field(default_factory=list)  # (id, created, row)
    failed: list[tuple[str, str, list[str]]] = field(default_factory=list)  # (id, error, row)
    unprocessed: list[list[str]] = field(default_factory=list)


class BulkJobs:
    """Every Bulk API job of an org, and the daily counts `limits/` reports."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        self.queries: dict[str, QueryJob] = {}  # Bulk 2.0 query jobs, and Bulk 1.0 batches by batch id
        self.ingests: dict[str, IngestJob] = {}
        self.v1_jobs: dict[str, Any] = {}  # Bulk 1.0 jobs (routes/bulk1.py's BulkV1Job) by id
        self.query_jobs_today = 0
        self.batches_today = 0

    def new_id(self, prefix: str) -> str:
        with self._lock:
            return make_id(prefix, next(self._counter))

    # ------------------------------------------------------------------ queries

    def start_query(
        self,
        org: SalesforceOrg,
        soql: str,
        operation: QueryOperation,
        *,
        version: str,
        created_by: str,
        bulk_v1: bool = False,
    ) -> QueryJob:
        """Run `soql` now and keep its rows; a query Bulk cannot run makes a Failed job."""
        try:
            query = parse_soql(soql)
        except SoqlError as exc:
            raise ApiError(400, "MALFORMED_QUERY", str(exc)) from None
        if query.count_only or query.is_aggregate:
            raise ApiError(400, "INVALIDENTITY", "Aggregate queries are not supported by Bulk API")
        if query.subqueries:
            raise ApiError(400, "INVALIDENTITY", "Related subqueries are not supported by Bulk API")
        spec, ids = org.run_query(query, include_deleted=operation == "queryAll")
        job = QueryJob(
            id=self.new_id("750"),
            operation=operation,
            sobject=spec.name,
            soql=soql,
            created=org.clock(),
            created_by=created_by,
            version=version,
            bulk_v1=bulk_v1,
        )
        paths = [p if "." in p else org.field_spec_of_path(spec, p).name for p in query.fields]
        if any(org.field_spec_of_path(spec, p).type in COMPOUND_TYPES for p in paths):
            job.state, job.error = "Failed", COMPOUND_MESSAGE
        else:
            job.header, job.ids = paths, ids
            job.rows = _cells(org, spec, ids, paths)
            job.state = "JobComplete"
        with self._lock:
            self.queries[job.id] = job
            if bulk_v1:
                self.batches_today += 1
            else:
                self.query_jobs_today += 1
        return job

    def query(self, job_id: str) -> QueryJob:
        job = self.queries.get(job_id)
        if job is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return job

    # ------------------------------------------------------------------ ingest

    def ingest(self, job_id: str) -> IngestJob:
        job = self.ingests.get(job_id)
        if job is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return job


def _cells(org: SalesforceOrg, spec: ObjectSpec, ids: list[str], paths: list[str]) -> list[list[str]]:
    with org.lock:
        rows = org.tables[spec.name.lower()].rows
        plain = all("." not in p for p in paths)
        out = []
        for rid in ids:
            rec = rows.get(rid)
            if rec is None:
                continue
            if plain:
                out.append([csv_value(rec.get(p)) for p in paths])
            else:
                out.append([csv_value(org.resolve(rec, p, spec)) for p in paths])
        return out


def apply_ingest(org: SalesforceOrg, job: IngestJob) -> None:
    """Apply an uploaded CSV row by row; each row succeeds or fails on its own."""
    delimiter = DELIMITERS.get(job.delimiter, ",")
    reader = csv.reader(io.StringIO(job.uploaded), delimiter=delimiter)
    rows = [r for r in reader if r]
    if not rows:
        job.state = "JobComplete"
        return
    job.columns = rows[0]
    spec = org.sobject_or_404(job.sobject)
    for row in rows[1:]:
        values = _typed_row(spec, job.columns, row)
        try:
            rid, created = _apply_row(org, job, values)
        except ApiError as exc:
            fields = ":".join(exc.fields)
            job.failed.append((str(values.get("Id") or ""), f"{exc.code}:{exc.message}:{fields} --", row))
        else:
            job.succeeded.append((rid, created, row))
    job.state = "JobComplete"


def _typed_row(spec: ObjectSpec, columns: list[str], row: list[str]) -> dict[str, Any]:
    """A CSV row as field values: empty cells left out, `#N/A` as null, integers as integers."""
    values: dict[str, Any] = {}
    for name, cell in zip(columns, row, strict=False):
        if cell == "":
            continue
        if cell == "#N/A":
            values[name] = None
            continue
        f = spec.field(name)
        if f is not None and f.type == "int":
            try:
                values[name] = int(float(cell))
                continue
            except ValueError:
                pass
        values[name] = cell
    return values


def _apply_row(org: SalesforceOrg, job: IngestJob, values: dict[str, Any]) -> tuple[str, bool]:
    op = job.operation
    if op == "insert":
        return org.api_create(job.sobject, values), True
    if op == "upsert":
        key = job.external_id_field or "Id"
        ext = values.get(key)
        if ext in (None, ""):
            raise ApiError(400, "MISSING_ARGUMENT", f"{key} not specified", [key])
        return org.api_upsert(job.sobject, key, str(ext), values)
    rid = str(values.pop("Id", "") or "")
    if not rid:
        raise ApiError(400, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
    if op == "update":
        org.api_update(job.sobject, rid, values)
    elif op == "delete":
        org.api_delete(job.sobject, rid)
    else:
        org.hard_delete(job.sobject, [rid])
    return org.normalise_id(rid), False


def job_time(value: datetime) -> str:
    return format_datetime(value.astimezone(UTC))
