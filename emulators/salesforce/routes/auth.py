"""Logins: SOAP `POST /services/Soap/u/{v}` and OAuth `POST /services/oauth2/token`.

Both answer with a realistic `serverUrl`/`instance_url`
(`https://territory-sync-emulator.my.salesforce.com`); clients reach the
emulator through a URL-rewriting session. OAuth takes the password and
client-credentials grants, the client id and secret in the body or as HTTP
Basic. Failures are Salesforce's: a SOAP `LoginFault` (HTTP 500) or an OAuth
`{"error", "error_description"}` (HTTP 400).
"""

from __future__ import annotations

import base64
import secrets
import time
import xml.etree.ElementTree as ET
from html import escape
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from emulators.salesforce.context import Emulator, SalesforceEmulator, SalesforceOrgCredentials

INSTANCE_HOST = "territory-sync-emulator.my.salesforce.com"
_PARTNER_NS = "urn:partner.soap.sforce.com"
_INVALID_LOGIN = "Invalid username, password, security token; or user locked out."

router = APIRouter()


def soap_fault(code: str, message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body><soapenv:Fault>"
        f"<faultcode>sf:{code}</faultcode><faultstring>{code}: {escape(message)}</faultstring>"
        '<detail><sf:LoginFault xsi:type="sf:LoginFault">'
        f"<sf:exceptionCode>{code}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage>"
        "</sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return Response(body, status_code=500, media_type="text/xml;charset=UTF-8")


def _soap_login_ok(emulator: SalesforceEmulator, username: str, version: str) -> Response:
    org_id = emulator.org.org_id
    session = emulator.sessions.new(org_id)
    server = f"https://{INSTANCE_HOST}/services/Soap/u/{version}/{org_id}"
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns="{_PARTNER_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body><loginResponse><result>"
        f"<metadataServerUrl>https://{INSTANCE_HOST}/services/Soap/m/{version}/{org_id}"
        "</metadataServerUrl><passwordExpired>false</passwordExpired><sandbox>false</sandbox>"
        f"<serverUrl>{server}</serverUrl><sessionId>{session}</sessionId>"
        f"<userId>{emulator.api_user_id}</userId><userInfo><organizationId>{org_id}</organizationId>"
        f"<userName>{escape(username)}</userName><userEmail>{escape(username)}</userEmail>"
        "<userFullName>Integration User</userFullName></userInfo>"
        "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
    )
    return Response(body, media_type="text/xml;charset=UTF-8")


@router.post("/services/Soap/u/{version}", include_in_schema=False)
@router.post("/services/Soap/u/{version}/", include_in_schema=False)
async def soap_login(request: Request, version: str, emulator: Emulator) -> Response:
    try:
        root = ET.fromstring(await request.body())
    except ET.ParseError:
        return soap_fault("INVALID_LOGIN", _INVALID_LOGIN)
    username = root.findtext(f".//{{{_PARTNER_NS}}}username") or ""
    password = root.findtext(f".//{{{_PARTNER_NS}}}password") or ""
    creds = emulator.credentials
    if creds is not None and (
        username != creds.username or password != creds.password + creds.security_token
    ):
        return soap_fault("INVALID_LOGIN", _INVALID_LOGIN)
    return _soap_login_ok(emulator, username, version)


def oauth_refusal(error: str, description: str) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status_code=400)


def _client_of(request: Request, form: dict[str, str]) -> tuple[str | None, str | None]:
    """The OAuth client id and secret: from HTTP Basic when sent, else from the form."""
    basic = request.headers.get("authorization", "")
    if basic.lower().startswith("basic "):
        try:
            client_id, _, client_secret = base64.b64decode(basic[6:]).decode().partition(":")
        except ValueError:
            return None, None
        return client_id, client_secret
    return form.get("client_id"), form.get("client_secret")


def _oauth_refusal_for(
    creds: SalesforceOrgCredentials, grant: str, form: dict[str, str], client: tuple[str | None, str | None]
) -> Response | None:
    if creds.consumer_key is not None and client != (creds.consumer_key, creds.consumer_secret):
        return oauth_refusal("invalid_client_id", "client identifier invalid")
    if grant == "password" and (
        form.get("username") != creds.username
        or form.get("password") not in (creds.password, creds.password + creds.security_token)
    ):
        return oauth_refusal("invalid_grant", "authentication failure")
    return None


def token_answer(emulator: SalesforceEmulator) -> Response:
    org_id = emulator.org.org_id
    return JSONResponse(
        {
            "access_token": emulator.sessions.new(org_id),
            "instance_url": f"https://{INSTANCE_HOST}",
            "id": f"https://login.salesforce.com/id/{org_id}/{emulator.api_user_id}",
            "token_type": "Bearer",
            "issued_at": str(int(time.time() * 1000)),
            "signature": base64.b64encode(secrets.token_bytes(32)).decode(),
            "scope": "api",
        }
    )


@router.post("/services/oauth2/token", include_in_schema=False)
async def oauth_token(request: Request, emulator: Emulator) -> Response:
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
    grant = form.get("grant_type", "")
    if grant not in ("password", "client_credentials"):
        return oauth_refusal("unsupported_grant_type", "grant type not supported")
    if emulator.credentials is not None:
        refused = _oauth_refusal_for(emulator.credentials, grant, form, _client_of(request, form))
        if refused is not None:
            return refused
    return token_answer(emulator)
