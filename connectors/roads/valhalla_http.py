"""`ValhallaHTTP`: a Valhalla server's `/sources_to_targets` matrix, as a travel matrix.

A server refuses a matrix of more than its `max_matrix_location_pairs`
(2,500 for `auto` in Valhalla's default configuration; public servers set
their own), so matrices go in blocks of at most `max_pairs` pairs. The data
version is read from the server's `/status` (its version and
`tileset_last_modified`), so a server restarted on rebuilt tiles invalidates
cached pairs.
"""

from __future__ import annotations

from typing import Any

import httpx

from connectors.roads.http import Retrying, json_body, raise_if_transient, server_name
from connectors.roads.matrix import BlockLimit, Fallback, TravelError
from connectors.roads.valhalla import DEFAULT_MAX_PAIRS, ValhallaMatrix, refusal_from


class ValhallaHTTP(ValhallaMatrix):
    """Drive minutes and km from a Valhalla server at `base_url`."""

    engine = "valhalla"

    def __init__(
        self,
        base_url: str,
        *,
        costing: str = "auto",
        max_pairs: int = DEFAULT_MAX_PAIRS,
        fallback: Fallback | None = None,
        max_snap_m: float = 2_000.0,
        data_version: str | None = None,
        timeout: float = 60.0,
        attempts: int = 5,
        initial_wait: float = 0.25,
        client: httpx.Client | None = None,
    ) -> None:
        super().__init__(
            profile=costing, limit=BlockLimit(max_pairs=max_pairs), fallback=fallback, max_snap_m=max_snap_m
        )
        self.base_url = base_url.rstrip("/")
        self._server = server_name("Valhalla", self.base_url)
        self._client = client or httpx.Client(timeout=timeout)
        self._owns_client = client is None
        self._retrying = Retrying(self._server, attempts=attempts, initial_wait=initial_wait)
        self._version = data_version
        self.requests = 0

    def __repr__(self) -> str:
        return f"ValhallaHTTP({self._server!r}, costing={self.profile!r})"

    @property
    def server(self) -> str:
        return self._server

    @property
    def data_version(self) -> str:
        if self._version is None:
            status = self._retrying(lambda: self._send("GET", "status", None))
            if not isinstance(status, dict):
                raise TravelError(f"{self._server} answered /status without a JSON object")
            self._version = f"{status.get('version', '?')}@{status.get('tileset_last_modified', '?')}"
        return self._version

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def _call(self, action: str, request: dict[str, Any]) -> Any:
        return self._retrying(lambda: self._send("POST", action, request))

    def _send(self, method: str, action: str, request: dict[str, Any] | None) -> Any:
        self.requests += 1
        response = self._client.request(method, f"{self.base_url}/{action}", json=request)
        raise_if_transient(response)
        body = json_body(response, self._server)
        if response.status_code != 200:
            raise refusal_from(body, response.status_code)
        return body
