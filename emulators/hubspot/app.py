"""A local HubSpot CRM v3 API for the real hubspot-api-client: `create_hubspot_app(org, ...)`.

Covers what territory-sync touches, answering with HubSpot's own statuses,
shapes and error bodies (`{status, message, correlationId, category}`),
assembled from one router per job:

- `routes/objects.py`: companies, deals, meetings, calls, tasks: list (`limit` <= 100,
  `after`, `properties` repeated or comma-separated, `archived`,
  `associations`), get (`idProperty`; merged ids resolve to the primary),
  create (201, inline associations), update, archive;
- `routes/batch.py` (<= 100 inputs): `batch/read` (207 for missing ids),
  `batch/create` (201; 409 on a unique-value clash), `batch/update` (400 for
  the whole batch on a validation error, 207 for missing ids), `batch/upsert`
  by a unique property (`new` per result), `batch/archive`;
- `routes/search.py`: filter groups (<= 5 / 10 / 25), sorts, `limit` <= 200,
  `after` offsets, the 10,000-result cap (400), its own per-second limit
  (429 `SECONDLY`); the engine is `search.py`;
- `routes/properties.py`: properties and groups: list, read, create (201,
  409 `OBJECT_ALREADY_EXISTS`);
- `routes/owners.py`: `/crm/v3/owners/` (with or without the slash), by id;
  inactive users are archived owners;
- `routes/associations.py`: v4 default and labelled create, list, delete,
  `batch/read`, `batch/create`, `batch/associate/default`, `batch/archive`;
- `routes/schemas.py`: `/crm/v3/schemas` (the portal's custom objects: none);
- `routes/oauth.py`: `POST /oauth/v1/token` until its sunset, and
  `POST /oauth/2026-03/token`, `.../introspect`, `.../revoke`.

Every object, batch, search, properties, owners and associations route is
also served at its date-versioned path (`/crm/objects/2026-09/companies`,
versions 2026-03 and 2026-09) beside `/crm/v3` and `/crm/v4`; unknown
routes get HubSpot's error body.

Auth: a missing or malformed bearer header gets the real 401; with
`access_token` set, only that token (and tokens issued by `/oauth/v1/token`)
is accepted. Faults (burst budget with 429 and `X-HubSpot-RateLimit-*`
headers, 500/503 share, latency, token expiry, per-record rejections) come
from `emulators/faults.py`, configurable at start (`faults=`) and at run time
(`POST /__emulator/faults`); call counts at `GET /__emulator/stats`.

On `app.state`: `org` (the `HubSpotOrg`; see `org.py` for the methods tests
use to edit it like a person in HubSpot would), `faults`, `portal` (the
shared API rules), `search_limiter` and `emulator` (what every route reads).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from fastapi import FastAPI

from emulators.faults import FaultConfig, install_faults, mount_routers
from emulators.hubspot.context import HubSpotEmulator
from emulators.hubspot.limits import SEARCH_PER_SECOND, HubSpotFaultStyle, SearchRateLimiter
from emulators.hubspot.org import HubSpotOrg, PropertySet, default_properties
from emulators.hubspot.portal import Portal
from emulators.hubspot.responses import install_error_handlers
from emulators.hubspot.routes import associations, batch, oauth, objects, owners, properties, schemas, search
from emulators.hubspot.seed import seed_portal
from emulators.seed import SeedOrg

__all__ = ["HubSpotFaultStyle", "create_hubspot_app"]

ROUTERS = (
    objects.router,
    batch.router,
    search.router,
    properties.router,
    owners.router,
    associations.router,
    schemas.router,
    oauth.router,
)


def create_hubspot_app(
    org: SeedOrg | None = None,
    *,
    access_token: str | None = None,
    faults: FaultConfig | None = None,
    search_per_second: int | None = SEARCH_PER_SECOND,
    schema: PropertySet = "custom",
    read_only_properties: Iterable[str] = (),
    today: date | None = None,
    oauth_client: tuple[str, str] | None = None,
    refresh_token: str | None = None,
) -> FastAPI:
    """A HubSpot portal seeded from `org` (empty if None), served by FastAPI.

    `access_token` set: only that bearer token (or ones issued by the OAuth
    refresh endpoint) is accepted. `search_per_second` is the search API's own
    limit (HubSpot's is 5; None switches it off for fast tests).
    `schema="standard"`: a portal without territory-sync's custom company
    properties. `read_only_properties` (`"companies.annualrevenue"`): values
    the API user can read but not write (`readOnlyValue`, `READ_ONLY_VALUE`).
    `today` is the portal's date (past 2027-02-16 the v1 OAuth endpoints are
    retired); `oauth_client` (id, secret) and `refresh_token` restrict who may
    get tokens (see `routes/oauth.py`).
    """
    app = FastAPI(title="HubSpot CRM emulator", docs_url="/__emulator/docs", openapi_url=None)
    state = HubSpotOrg(properties=default_properties(schema, read_only_properties))
    if org is not None:
        seed_portal(state, org)
    injector = install_faults(app, HubSpotFaultStyle(), faults)
    portal = Portal(state, injector)
    searches = SearchRateLimiter(search_per_second)
    app.state.org = state
    app.state.portal = portal
    app.state.search_limiter = searches
    app.state.emulator = HubSpotEmulator(
        state,
        portal,
        injector,
        searches,
        {access_token} if access_token else None,
        today=today or date.today(),
        oauth_client=oauth_client,
        refresh_tokens={refresh_token} if refresh_token else None,
    )
    install_error_handlers(app)
    mount_routers(app, *ROUTERS)
    return app
