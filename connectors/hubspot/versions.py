"""HubSpot's API versions: which CRM paths the client runs on, and until when OAuth v1 may be used.

Since 2026-03-30 HubSpot's REST APIs are date-versioned
(`/crm/objects/2026-09/companies` beside `/crm/v3/objects/companies`); the
numeric v1–v4 paths are unsupported from September 2027. hubspot-api-client
builds v3/v4 paths; `versioned_path` maps each one we use to its dated twin,
and the client applies it in one place (see `client.py`).

OAuth: `POST /oauth/2026-03/token` is the token endpoint; `POST
/oauth/v1/token` (the SDK's) is retired on 2027-02-16 and is only a fallback
before that day, when the new endpoint is not served.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

OAUTH_V1_SUNSET = date(2027, 2, 16)
OAUTH_TOKEN_PATH = "/oauth/2026-03/token"
NUMERIC_PATHS_UNSUPPORTED = date(2027, 9, 1)


class HubSpotApiVersion(StrEnum):
    """Which CRM paths the client calls: the numeric v3/v4 ones, or a date-versioned release."""

    V3 = "v3"
    V2026_03 = "2026-03"
    V2026_09 = "2026-09"


# The numeric prefixes of the routes we call, and their date-versioned form.
_DATED_PREFIXES = (
    ("/crm/v3/objects", "/crm/objects/{version}"),
    ("/crm/v3/properties", "/crm/properties/{version}"),
    ("/crm/v3/owners", "/crm/owners/{version}"),
    ("/crm/v4/associations", "/crm/associations/{version}"),
)


def versioned_path(path: str, version: HubSpotApiVersion) -> str:
    """The path to call for `version` (a path template or a concrete path; others unchanged)."""
    if version is HubSpotApiVersion.V3:
        return path
    for numeric, dated in _DATED_PREFIXES:
        if path == numeric or path.startswith(numeric + "/"):
            return dated.format(version=version.value) + path[len(numeric) :]
    return path


def v1_fallback_allowed(today: date) -> bool:
    """Whether OAuth v1 may still be tried: strictly before its sunset day."""
    return today < OAUTH_V1_SUNSET
