"""Bulk API 2.0 query results as the REST API's records, and when a full pull is worth a job.

A full pull of an sObject with more rows than the threshold goes through one
Bulk API 2.0 query job (see `SalesforceClient.bulk_query_pages`): a page of
up to 50,000 rows per call instead of 2,000, so a million accounts cost a few
dozen calls instead of 500. Bulk answers CSV, where every value is a string
and null is an empty cell; `typed_record` turns a row back into the JSON
record REST would have sent (types from the sObject's describe), so the same
mappers read both and a Bulk pull equals a REST pull record for record.
Incremental pulls stay on REST: they are small, and a job costs at least
three calls before its first row.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_BULK_THRESHOLD = 10_000
BULK_PAGE_SIZE = 50_000


class BulkJobState(StrEnum):
    """A Bulk API 2.0 job's `state`, as Salesforce names it."""

    OPEN = "Open"
    UPLOAD_COMPLETE = "UploadComplete"
    IN_PROGRESS = "InProgress"
    JOB_COMPLETE = "JobComplete"
    FAILED = "Failed"
    ABORTED = "Aborted"

    @property
    def running(self) -> bool:
        return self in (BulkJobState.OPEN, BulkJobState.UPLOAD_COMPLETE, BulkJobState.IN_PROGRESS)


@dataclass(frozen=True, slots=True)
class BulkPolling:
    """How a query job is waited for: exponential backoff between polls, up to a deadline."""

    first_wait: float = 0.5
    max_wait: float = 10.0
    timeout: float = 1800.0


@dataclass(frozen=True, slots=True)
class BulkJob:
    """What a poll of a query job tells us."""

    id: str
    state: BulkJobState
    error: str = ""


def job_from_answer(answer: Mapping[str, Any]) -> BulkJob:
    raw = str(answer.get("state") or "")
    try:
        state = BulkJobState(raw)
    except ValueError:
        state = BulkJobState.FAILED  # a state we do not know cannot be waited out
    return BulkJob(str(answer.get("id") or ""), state, str(answer.get("errorMessage") or raw))


def goes_through_bulk(rows: int, threshold: int) -> bool:
    """Bulk for more rows than the threshold; a threshold of 0 keeps every pull on REST."""
    return threshold > 0 and rows > threshold


def csv_rows(text: str) -> list[dict[str, str]]:
    """One page of a query job's CSV results (header row first), as a dict per row."""
    return list(csv.DictReader(io.StringIO(text)))


def _boolean(cell: str) -> bool:
    if cell.lower() in ("true", "false"):
        return cell.lower() == "true"
    raise ValueError(f"not a boolean: {cell[:20]!r}")


def _datetime(cell: str) -> str:
    # Bulk writes `...000Z`, REST `...000+0000`: keep REST's spelling so raw payloads match.
    return cell[:-1] + "+0000" if cell.endswith("Z") else cell


_CONVERTERS: dict[str, Callable[[str], Any]] = {
    "boolean": _boolean,
    "int": int,
    "long": int,
    "double": float,
    "currency": float,
    "percent": float,
    "datetime": _datetime,
}


def typed_record(row: Mapping[str, str], types: Mapping[str, str]) -> dict[str, Any]:
    """A CSV row as REST's JSON record: empty cells null, numbers and booleans typed.

    A cell that does not parse as its field's type (hostile or corrupt data) becomes
    null and is reported with the record's id, so one bad value never stops a pull.
    """
    record: dict[str, Any] = {}
    for name, cell in row.items():
        if cell is None or cell == "":
            record[name] = None
            continue
        convert = _CONVERTERS.get(types.get(name, "string"))
        if convert is None:
            record[name] = cell
            continue
        try:
            record[name] = convert(cell)
        except ValueError:
            log.warning(
                "Salesforce record %s: %s is not a valid %s; read as empty",
                row.get("Id", "?"),
                name,
                types.get(name),
            )
            record[name] = None
    return record
