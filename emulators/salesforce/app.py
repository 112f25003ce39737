"""A local Salesforce REST API (v59.0 paths) that the real simple-salesforce client talks to.

`create_salesforce_app(org, credentials=..., faults=...)` returns a FastAPI
app over plain HTTP (point the client at it with the URL-rewriting session
in `connectors.salesforce.client`), assembled from one router per job:

- `routes/auth.py`: SOAP `POST /services/Soap/u/{v}` and OAuth
  `POST /services/oauth2/token`, the identity URL and userinfo;
- `routes/query.py`: SOQL `query/` and `queryAll/`, paged by `nextRecordsUrl`
  at 2,000 records (`Sforce-Query-Options: batchSize=N`, 200 to 2,000); the
  subset is in `soql.py`;
- `routes/sobjects.py`: describe (global, basic, full), create (201), read,
  update (204), upsert by external id (201 / 200), delete (204), `updated/`
  (30-day window) and `deleted/` (15-day window);
- `routes/collections.py`: `composite/sobjects` create, update, delete, read
  and upsert, at most 200 records, `allOrNone`, one result per record, HTTP
  200 even when some records fail;
- `routes/limits.py`: `GET limits/` (the full key set); every answered API
  call also carries `Sforce-Limit-Info: api-usage=used/max`;
- `routes/versions.py`: `GET /services/data/` and the resources of a version;
- `routes/bulk2.py`: Bulk API 2.0 query and ingest jobs (`bulk.py`);
- `routes/bulk1.py`: Bulk API 1.0 query jobs.

Logins also take the refresh-token and JWT bearer grants (`grants.py`); SOQL
has relative date literals, aggregates with `GROUP BY` and child subqueries
(`aggregates.py`, `relative_dates.py`).

Objects (`schema.py`): Account, User, Profile, UserRole, Opportunity, Event,
Task and Enterprise Territory Management's Territory2Model, Territory2Type,
Territory2, UserTerritory2Association and ObjectTerritory2Association (an
Active and a Planning model and a territory type are seeded; `seed.py` loads
the rest from a `SeedOrg`). `schema="standard"` leaves out every custom
field; `field_access` stands for field-level security.

Errors are Salesforce's JSON list of `{message, errorCode, fields}`, unknown
routes included. Faults (`emulators/faults.py`) render as Salesforce does:
403 `REQUEST_LIMIT_EXCEEDED` once the daily budget is spent, 500
`UNKNOWN_EXCEPTION` / 503 `SERVER_UNAVAILABLE`, 401 `INVALID_SESSION_ID`
after session expiry (which simple-salesforce answers by logging in again).

On `app.state`: `org` (a `SalesforceOrg`, see `org.py` for the methods tests
use to act like a person in the CRM), `faults` (the `FaultInjector`) and
`emulator` (the `SalesforceEmulator` every route reads).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from fastapi import FastAPI

from emulators.faults import FaultConfig, install_faults, mount_routers
from emulators.salesforce.context import SalesforceEmulator, SalesforceOrgCredentials
from emulators.salesforce.fault_style import DEFAULT_DAILY_LIMIT, SalesforceFaultStyle
from emulators.salesforce.org import SalesforceOrg
from emulators.salesforce.responses import install_error_handlers
from emulators.salesforce.routes import auth, bulk1, bulk2, collections, limits, query, sobjects, versions
from emulators.salesforce.schema import FieldAccess, SchemaKind, build_objects
from emulators.salesforce.seed import seed_salesforce, seed_territory_management
from emulators.seed import SeedOrg

__all__ = ["DEFAULT_DAILY_LIMIT", "SalesforceOrgCredentials", "create_salesforce_app"]

ROUTERS = (
    auth.router,
    versions.versions_router,
    versions.router,
    query.router,
    limits.router,
    sobjects.router,
    collections.router,
    bulk2.router,
    bulk1.router,
)


def create_salesforce_app(
    org: SeedOrg | None = None,
    *,
    credentials: SalesforceOrgCredentials | None = None,
    faults: FaultConfig | None = None,
    daily_api_limit: int = DEFAULT_DAILY_LIMIT,
    schema: SchemaKind = "custom",
    field_access: Mapping[str, FieldAccess] | None = None,
    echo_instance_url: bool = True,
) -> FastAPI:
    """A Salesforce emulator seeded from `org` (empty but for ETM models if None).

    `schema="standard"` serves an org without territory-sync's custom fields
    (standard `Rating`, `AnnualRevenue` and the like only); `field_access`
    makes fields read-only (`"read"`) or invisible (`"hidden"`) to the API
    user, by `"Object.Field"` (see `schema.build_objects`). Logins name the
    emulator's own address as the instance (`echo_instance_url`), or with False
    `https://territory-sync-emulator.my.salesforce.com`.
    """
    app = FastAPI(title="territory-sync Salesforce emulator", docs_url=None, redoc_url=None)
    state = SalesforceOrg(objects=build_objects(schema, field_access))
    if org is not None:
        seed_salesforce(state, org)
    else:
        seed_territory_management(state, datetime.now(UTC))
    style = SalesforceFaultStyle(daily_api_limit)
    injector = install_faults(app, style, faults)
    state.rejection_for = injector.rejection_for
    app.state.org = state
    app.state.emulator = SalesforceEmulator(
        state, injector, style, credentials, echo_instance_url=echo_instance_url
    )
    mount_routers(app, *ROUTERS)
    install_error_handlers(app)
    return app
