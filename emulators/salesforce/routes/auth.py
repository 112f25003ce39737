"""Logins: SOAP `POST /services/Soap/u/{v}` and OAuth `POST /services/oauth2/token`.

Both answer with a `serverUrl`/`instance_url` that is the emulator's own
address (so clients that follow it, as they must, reach it), or with
`echo_instance_url=False` a realistic
`https://territory-sync-emulator.my.salesforce.com` that clients reach through
a URL-rewriting session. OAuth takes the password, client-credentials,
refresh-token and JWT bearer grants (`grants.py`). `GET /id/{org}/{user}` is
the identity URL a login names. Failures are Salesforce's: a SOAP
`LoginFault` (HTTP 500) or an OAuth `{"error", "error_description"}` (HTTP 400).
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

from emulators.salesforce.context import Emulator, SalesforceEmulator, require_session
from emulators.salesforce.grants import check_grant, client_of

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


def _soap_login_ok(request: Request, emulator: SalesforceEmulator, username: str, version: str) -> Response:
    org_id = emulator.org.org_id
    session = emulator.sessions.new(org_id)
    base = instance_url(request, emulator)
    server = f"{base}/services/Soap/u/{version}/{org_id}"
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns="{_PARTNER_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body><loginResponse><result>"
        f"<metadataServerUrl>{base}/services/Soap/m/{version}/{org_id}"
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
    return _soap_login_ok(request, emulator, username, version)


def oauth_refusal(error: str, description: str) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status_code=400)


def instance_url(request: Request, emulator: SalesforceEmulator) -> str:
    """Where clients must send API calls after a login: the emulator itself, unless told otherwise."""
    if emulator.echo_instance_url:
        return str(request.base_url).rstrip("/")
    return f"https://{INSTANCE_HOST}"


def login_audiences(request: Request) -> set[str]:
    """The `aud` a JWT bearer assertion may name: the login hosts, or the emulator itself."""
    return {"https://login.salesforce.com", "https://test.salesforce.com", str(request.base_url).rstrip("/")}


def token_answer(request: Request, emulator: SalesforceEmulator) -> Response:
    org_id = emulator.org.org_id
    return JSONResponse(
        {
            "access_token": emulator.sessions.new(org_id),
            "instance_url": instance_url(request, emulator),
            "id": f"{instance_url(request, emulator)}/id/{org_id}/{emulator.api_user_id}",
            "token_type": "Bearer",
            "issued_at": str(int(time.time() * 1000)),
            "signature": base64.b64encode(secrets.token_bytes(32)).decode(),
            "scope": "api refresh_token",
        }
    )


@router.post("/services/oauth2/token", include_in_schema=False)
async def oauth_token(request: Request, emulator: Emulator) -> Response:
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
    client = client_of(request.headers.get("authorization", ""), form)
    refused = check_grant(
        form.get("grant_type", ""), form, client, emulator.credentials, login_audiences(request)
    )
    if refused is not None:
        return oauth_refusal(refused.error, refused.description)
    return token_answer(request, emulator)


@router.get("/id/{org_id}/{user_id}", include_in_schema=False)
async def identity(request: Request, org_id: str, user_id: str, emulator: Emulator) -> Response:
    """The identity URL a login names: who the session belongs to."""
    require_session(request, emulator)
    user = emulator.org.get("User", user_id)
    if user is None or org_id != emulator.org.org_id:
        return JSONResponse([{"message": "Bad_Id", "errorCode": "BAD_ID"}], status_code=404)
    base = instance_url(request, emulator)
    rest = f"{base}/services/data/v{{version}}/"
    return JSONResponse(
        {
            "id": f"{base}/id/{org_id}/{user_id}",
            "asserted_user": True,
            "user_id": user_id,
            "organization_id": org_id,
            "username": user["Username"],
            "nick_name": (user["Email"] or "").split("@")[0],
            "display_name": user["Name"],
            "email": user["Email"],
            "active": user["IsActive"],
            "user_type": "STANDARD",
            "language": "en_US",
            "locale": "en_US",
            "utcOffset": 0,
            "timezone": user.get("TimeZoneSidKey") or "America/New_York",
            "urls": {
                "enterprise": f"{base}/services/Soap/c/{{version}}/{org_id}",
                "partner": f"{base}/services/Soap/u/{{version}}/{org_id}",
                "rest": rest,
                "sobjects": f"{rest}sobjects/",
                "query": f"{rest}query/",
                "limits": f"{rest}limits/",
            },
        }
    )


@router.get("/services/oauth2/userinfo", include_in_schema=False)
async def userinfo(request: Request, emulator: Emulator) -> Response:
    """OpenID Connect user info of the session's user (the API user)."""
    require_session(request, emulator)
    user = emulator.org.get("User", emulator.api_user_id) or {}
    org_id = emulator.org.org_id
    base = instance_url(request, emulator)
    return JSONResponse(
        {
            "sub": f"{base}/id/{org_id}/{emulator.api_user_id}",
            "user_id": emulator.api_user_id,
            "organization_id": org_id,
            "preferred_username": user.get("Username"),
            "name": user.get("Name"),
            "email": user.get("Email"),
            "email_verified": True,
            "active": user.get("IsActive", True),
            "user_type": "STANDARD",
            "zoneinfo": user.get("TimeZoneSidKey") or "America/New_York",
            "urls": {
                "rest": f"{base}/services/data/v{{version}}/",
                "query": f"{base}/services/data/v{{version}}/query/",
            },
        }
    )
