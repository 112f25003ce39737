"""The only module that imports simple-salesforce: login, the calls we make, and error mapping.

`SalesforceClient` wraps one `simple_salesforce.Salesforce` session and
exposes exactly the calls the connector needs (SOQL pages, Bulk API 2.0
query jobs, describe, sObject Collections, `getDeleted`, limits). Every HTTP
call it makes:

- first takes a token from the org's shared `RequestBudget`;
- is retried by `transient_retry` when `classify` says it is transient
  (5xx, timeouts, connection resets, the concurrent-request
  `REQUEST_LIMIT_EXCEEDED`); an expired session is re-established by
  simple-salesforce itself (it logs in again on `INVALID_SESSION_ID`);
- updates the org's API usage read from the `Sforce-Limit-Info` header, so
  the connector can stop before it burns the daily allowance.

Bulk API 2.0 query jobs are driven call by call here (`restful` for the job,
the library's `_call_salesforce` for the CSV pages) rather than through
`sf.bulk2.<Object>.query`: that generator sleeps on its own schedule and
makes its HTTP calls outside the budget, the quota guard and the retries,
and does not renew an expired session.

`RedirectingSession` sends every request simple-salesforce makes (logins
included, which the library always addresses to `https://*.salesforce.com`)
to another base URL: an emulator, a sandbox proxy or a recording proxy.
Credentials never appear in reprs, logs or exception messages.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceRefusedRequest,
)
from tenacity import retry, retry_if_result, stop_after_delay, wait_exponential

from connectors.base import CRMAPIError, CRMError, QuotaExhausted
from connectors.limits import RequestBudget, RetryDecision, transient_retry
from connectors.salesforce.bulk import (
    BULK_PAGE_SIZE,
    BulkJob,
    BulkJobState,
    BulkPolling,
    csv_rows,
    job_from_answer,
)

log = logging.getLogger(__name__)

COLLECTION_SIZE = 200
_TRANSIENT_STATUS = frozenset({500, 502, 503, 504})
_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


@dataclass(frozen=True)
class SalesforceCredentials:
    """How to log in: username + password + security token (SOAP), or a connected app (OAuth).

    With `consumer_key`/`consumer_secret` and a username, the OAuth password
    grant is used; with them and no username, the client-credentials grant
    (which needs a My Domain `domain`, e.g. "acme.my").
    """

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    domain: str = "login"
    consumer_key: str | None = None
    consumer_secret: str | None = field(default=None, repr=False)


class TimeoutSession(requests.Session):
    """A requests session with a default timeout (simple-salesforce sets none: a hung
    connection would stall a run forever) that ignores proxy/CA environment settings."""

    def __init__(self, timeout: float = 60.0):
        super().__init__()
        self.timeout = timeout
        self.trust_env = False

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, *args, **kwargs)


class RedirectingSession(TimeoutSession):
    """A session that sends every call to `base_url`, keeping path and query.

    simple-salesforce builds `https://{instance}/...` and
    `https://{domain}.salesforce.com/...` URLs itself; this is the one place
    they can be pointed elsewhere (an emulator, a sandbox or recording proxy).
    """

    def __init__(self, base_url: str, *, timeout: float = 60.0):
        super().__init__(timeout)
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("base_url must look like http(s)://host[:port]")
        self._scheme, self._netloc = parts.scheme, parts.netloc
        self._prefix = parts.path.rstrip("/")

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        text = url.decode() if isinstance(url, bytes) else url
        parts = urlsplit(text)
        redirected = urlunsplit(
            (self._scheme, self._netloc, self._prefix + parts.path, parts.query, parts.fragment)
        )
        return super().request(method, redirected, *args, **kwargs)

    def __repr__(self) -> str:
        return f"RedirectingSession({self._scheme}://{self._netloc}{self._prefix})"


@dataclass(slots=True)
class ApiUsage:
    """The org's daily API usage as Salesforce last reported it."""

    used: int
    limit: int

    @property
    def share(self) -> float:
        return self.used / self.limit if self.limit else 1.0


class SalesforceAPIError(CRMAPIError):
    """A Salesforce error answer: its status and the first error's `errorCode` and message."""

    crm = "Salesforce"


def _first_error(exc: SalesforceError) -> tuple[str, str]:
    content = exc.content
    if isinstance(content, list) and content and isinstance(content[0], dict):
        first = content[0]
        return str(first.get("errorCode", "")), str(first.get("message", ""))
    return "", ""


def classify(exc: BaseException) -> RetryDecision:
    """Which failures are worth retrying: server errors, network trouble, the concurrent limit."""
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        return RetryDecision(transient=True)
    if isinstance(exc, SalesforceExpiredSession):
        # simple-salesforce re-logs in on its own; a 401 reaching us means it gave up.
        return RetryDecision(transient=False)
    if isinstance(exc, SalesforceRefusedRequest):
        code, message = _first_error(exc)
        daily = code == "REQUEST_LIMIT_EXCEEDED" and message.startswith("TotalRequests")
        return RetryDecision(transient=code == "REQUEST_LIMIT_EXCEEDED" and not daily)
    if isinstance(exc, SalesforceError):
        return RetryDecision(transient=exc.status in _TRANSIENT_STATUS)
    return RetryDecision(transient=False)


def _as_crm_error(exc: SalesforceError) -> CRMError:
    code, message = _first_error(exc)
    if code == "REQUEST_LIMIT_EXCEEDED" and message.startswith("TotalRequests"):
        return QuotaExhausted("Salesforce refused the call: the org's daily API limit is used up")
    return SalesforceAPIError(exc.status, code or "UNKNOWN", message or type(exc).__name__)


def soql_datetime(value: datetime) -> str:
    """A SOQL datetime literal (unquoted, UTC, milliseconds)."""
    value = value.astimezone(UTC)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}Z"


def soql_string(value: str) -> str:
    """A quoted SOQL string literal."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
    return f"'{escaped}'"


class SalesforceClient:
    """One logged-in Salesforce session, spending a shared budget and tracking API usage."""

    def __init__(
        self,
        credentials: SalesforceCredentials,
        *,
        base_url: str | None = None,
        api_version: str = "59.0",
        budget: RequestBudget | None = None,
        retry_attempts: int = 8,
        max_retry_wait: float = 30.0,
        timeout: float = 60.0,
        guard: Callable[[], None] | None = None,
        bulk_polling: BulkPolling = BulkPolling(),
    ):
        self.api_version = api_version
        self.bulk_polling = bulk_polling
        self.guard = guard
        self.budget = budget
        self.calls = 0
        self.retries = 0
        self.usage: ApiUsage | None = None
        self._session: TimeoutSession = (
            RedirectingSession(base_url, timeout=timeout) if base_url else TimeoutSession(timeout)
        )
        self._session.hooks["response"].append(self._observe)
        self._retry = transient_retry(
            classify, attempts=retry_attempts, max_wait=max_retry_wait, on_retry=self._count_retry
        )
        self.sf = self._login(credentials)

    def _count_retry(self) -> None:
        self.retries += 1

    def __repr__(self) -> str:
        return f"SalesforceClient(api_version={self.api_version!r}, calls={self.calls})"

    # --- plumbing

    def _observe(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Count every HTTP exchange and keep the latest `Sforce-Limit-Info`."""
        self.calls += 1
        m = _USAGE.search(response.headers.get("Sforce-Limit-Info", ""))
        if m:
            self.usage = ApiUsage(int(m.group(1)), int(m.group(2)))

    def _login(self, c: SalesforceCredentials) -> Salesforce:
        common: dict[str, Any] = {
            "session": self._session,
            "version": self.api_version,
            "domain": c.domain,
        }
        try:
            if c.consumer_key and c.consumer_secret and c.username and c.password:
                return Salesforce(
                    username=c.username,
                    password=c.password,
                    consumer_key=c.consumer_key,
                    consumer_secret=c.consumer_secret,
                    **common,
                )
            if c.consumer_key and c.consumer_secret:
                return Salesforce(consumer_key=c.consumer_key, consumer_secret=c.consumer_secret, **common)
            if c.username and c.password is not None:
                return Salesforce(
                    username=c.username,
                    password=c.password,
                    security_token=c.security_token or "",
                    **common,
                )
        except SalesforceAuthenticationFailed as exc:
            # The library's message can echo the login request; keep only the code.
            raise CRMError(f"Salesforce login failed ({exc.code})") from None
        raise CRMError("Salesforce credentials need a username and password, or a consumer key and secret")

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        @self._retry
        def attempt() -> Any:
            if self.guard is not None:
                self.guard()
            if self.budget is not None:
                self.budget.acquire()
            return fn(*args, **kwargs)

        try:
            return attempt()
        except SalesforceError as exc:
            raise _as_crm_error(exc) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise CRMError(f"Salesforce did not answer ({type(exc).__name__}) after retries") from None

    # --- the calls

    def query_pages(self, soql: str, *, include_deleted: bool = False) -> Iterator[list[dict[str, Any]]]:
        """Pages of a SOQL query as Salesforce sends them (2,000 records at most each)."""
        result = self._call(self.sf.query, soql, include_deleted=include_deleted)
        while True:
            yield result.get("records", [])
            if result.get("done", True):
                return
            result = self._call(self.sf.query_more, result["nextRecordsUrl"], identifier_is_url=True)

    def count(self, soql: str, *, include_deleted: bool = False) -> int:
        result = self._call(self.sf.query, soql, include_deleted=include_deleted)
        return int(result["totalSize"])

    def bulk_query_pages(
        self, soql: str, *, include_deleted: bool = False, page_size: int = BULK_PAGE_SIZE
    ) -> Iterator[list[dict[str, str]]]:
        """Pages of a Bulk API 2.0 query job as CSV rows (strings, "" for null), paged by locator.

        `include_deleted` runs it as `queryAll`, so soft-deleted and merged rows come too.
        """
        body = {
            "operation": "queryAll" if include_deleted else "query",
            "query": soql,
            "contentType": "CSV",
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
        }
        job = job_from_answer(self._call(self.sf.restful, "jobs/query", method="POST", json=body))
        self._await_query_job(job)
        url = f"{self.sf.bulk2_url}query/{job.id}/results"
        locator = ""
        while True:
            params: dict[str, Any] = {"maxRecords": page_size}
            if locator:
                params["locator"] = locator
            response: requests.Response = self._call(
                self.sf._call_salesforce,  # the library's call: errors mapped, expired sessions renewed
                "GET",
                url,
                name="jobs/query/results",
                params=params,
                headers={"Accept": "text/csv"},
            )
            yield csv_rows(response.content.decode("utf-8"))
            locator = response.headers.get("Sforce-Locator") or "null"
            if locator == "null":
                return

    def _await_query_job(self, job: BulkJob) -> None:
        """Poll the job with exponential backoff until it is complete; fail clearly otherwise."""
        polling = self.bulk_polling
        if job.state.running:
            poll = retry(
                retry=retry_if_result(lambda polled: polled.state.running),
                wait=wait_exponential(multiplier=polling.first_wait, max=polling.max_wait),
                stop=stop_after_delay(polling.timeout),
                retry_error_callback=lambda state: state.outcome.result() if state.outcome else job,
            )(lambda: job_from_answer(self._call(self.sf.restful, f"jobs/query/{job.id}", method="GET")))
            job = poll()
        if job.state is BulkJobState.JOB_COMPLETE:
            return
        if job.state.running:
            self._call(self.sf.restful, f"jobs/query/{job.id}", method="PATCH", json={"state": "Aborted"})
            raise CRMError(
                f"Salesforce Bulk query job {job.id} was still {job.state} after {polling.timeout:g} s; "
                "aborted it"
            )
        raise CRMError(f"Salesforce Bulk query job {job.id} ended {job.state}: {job.error}")

    def field_types(self, sobject: str) -> dict[str, str]:
        """Each field's describe `type` (boolean, double, datetime, ...), to read Bulk CSV by."""
        answer = self._call(self.sf.restful, f"sobjects/{sobject}/describe/", method="GET")
        return {str(f["name"]): str(f["type"]) for f in answer.get("fields", [])}

    def collection_update(
        self, records: Sequence[dict[str, Any]], *, all_or_none: bool = False
    ) -> list[dict[str, Any]]:
        """PATCH up to 200 records (each with attributes.type and id); one result per record."""
        return self._collection("composite/sobjects", "PATCH", records, all_or_none)

    def collection_create(
        self, records: Sequence[dict[str, Any]], *, all_or_none: bool = False
    ) -> list[dict[str, Any]]:
        return self._collection("composite/sobjects", "POST", records, all_or_none)

    def collection_upsert(
        self,
        sobject: str,
        external_id_field: str,
        records: Sequence[dict[str, Any]],
        *,
        all_or_none: bool = False,
    ) -> list[dict[str, Any]]:
        return self._collection(
            f"composite/sobjects/{sobject}/{external_id_field}", "PATCH", records, all_or_none
        )

    def collection_delete(self, ids: Sequence[str], *, all_or_none: bool = False) -> list[dict[str, Any]]:
        if len(ids) > COLLECTION_SIZE:
            raise ValueError(f"at most {COLLECTION_SIZE} ids per collection call")
        path = f"composite/sobjects?ids={','.join(ids)}&allOrNone={str(all_or_none).lower()}"
        result = self._call(self.sf.restful, path, method="DELETE")
        return list(result or [])

    def _collection(
        self, path: str, method: str, records: Sequence[dict[str, Any]], all_or_none: bool
    ) -> list[dict[str, Any]]:
        if len(records) > COLLECTION_SIZE:
            raise ValueError(f"at most {COLLECTION_SIZE} records per collection call")
        body = {"allOrNone": all_or_none, "records": list(records)}
        result = self._call(self.sf.restful, path, method=method, json=body)
        return list(result or [])

    def create(self, sobject: str, fields: dict[str, Any]) -> str:
        result = self._call(self.sf.restful, f"sobjects/{sobject}/", method="POST", json=fields)
        return str(result["id"])

    def deleted(self, sobject: str, start: datetime, end: datetime) -> dict[str, Any]:
        """`getDeleted` between two aware datetimes (Salesforce keeps about 15 days)."""
        params = f"start={quote(_iso(start))}&end={quote(_iso(end))}"
        return dict(self._call(self.sf.restful, f"sobjects/{sobject}/deleted/?{params}", method="GET"))

    def describe(self, sobject: str) -> dict[str, Any]:
        """The sObject's describe: its fields as field-level security shows them to the API user."""
        return dict(self._call(self.sf.restful, f"sobjects/{sobject}/describe/", method="GET"))

    def limits(self) -> dict[str, Any]:
        return dict(self._call(self.sf.restful, "limits/", method="GET"))

    def close(self) -> None:
        self._session.close()


def _iso(value: datetime) -> str:
    value = value.astimezone(UTC)
    return f"{value:%Y-%m-%dT%H:%M:%S}+00:00"
