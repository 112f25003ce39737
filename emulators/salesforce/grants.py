"""The OAuth grants Salesforce's token endpoint takes, each checked as Salesforce checks it.

- `password`: username and password (+ security token), client id and secret;
- `client_credentials`: the client id and secret (body or HTTP Basic);
- `refresh_token`: a refresh token the org issued (`SalesforceOrgCredentials.refresh_token`);
- `urn:ietf:params:oauth:grant-type:jwt-bearer`: an RS256 JWT whose `iss` is the
  consumer key, `sub` the username, `aud` the login host, signed by the key of
  the connected app's certificate (`SalesforceOrgCredentials.jwt_certificate`)
  and not expired.

Without configured credentials anything logs in, but a JWT's audience and
expiry are still checked. A refusal is Salesforce's `{"error", "error_description"}`.
"""

from __future__ import annotations

import base64
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from emulators.salesforce.context import SalesforceOrgCredentials

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GRANTS = ("password", "client_credentials", "refresh_token", JWT_BEARER)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the token endpoint says no (HTTP 400)."""

    error: str
    description: str


INVALID_CLIENT = Refusal("invalid_client_id", "client identifier invalid")


def client_of(authorization: str, form: dict[str, str]) -> tuple[str | None, str | None]:
    """The OAuth client id and secret: from HTTP Basic when sent, else from the form."""
    if authorization.lower().startswith("basic "):
        try:
            client_id, _, client_secret = base64.b64decode(authorization[6:]).decode().partition(":")
        except ValueError:
            return None, None
        return client_id, client_secret
    return form.get("client_id"), form.get("client_secret")


def check_grant(
    grant: str,
    form: dict[str, str],
    client: tuple[str | None, str | None],
    creds: SalesforceOrgCredentials | None,
    audiences: Collection[str],
) -> Refusal | None:
    """None when the grant logs in, else why not."""
    if grant not in GRANTS:
        return Refusal("unsupported_grant_type", "grant type not supported")
    if grant == JWT_BEARER:
        return _check_jwt(form.get("assertion", ""), creds, audiences)
    if creds is None:
        return None
    if creds.consumer_key is not None and client[0] != creds.consumer_key:
        return INVALID_CLIENT
    # A refresh needs no secret from a public client; when one is sent it must be right.
    secret_needed = grant != "refresh_token" or client[1] is not None
    if creds.consumer_key is not None and secret_needed and client[1] != creds.consumer_secret:
        return Refusal("invalid_client", "invalid client credentials")
    if grant == "password" and (
        form.get("username") != creds.username
        or form.get("password") not in (creds.password, creds.password + creds.security_token)
    ):
        return Refusal("invalid_grant", "authentication failure")
    if grant == "refresh_token" and (
        not creds.refresh_token or form.get("refresh_token") != creds.refresh_token
    ):
        return Refusal("invalid_grant", "expired access/refresh token")
    return None


def _verification_key(certificate: str) -> Any:
    """The public key of a PEM certificate (as uploaded to a connected app) or a PEM public key."""
    pem = certificate.encode()
    if b"BEGIN CERTIFICATE" in pem:
        return x509.load_pem_x509_certificate(pem).public_key()
    return load_pem_public_key(pem)


def _check_jwt(
    assertion: str, creds: SalesforceOrgCredentials | None, audiences: Collection[str]
) -> Refusal | None:
    verify = creds is not None and creds.jwt_certificate is not None
    try:
        claims = jwt.decode(
            assertion,
            key=_verification_key(creds.jwt_certificate)
            if verify and creds and creds.jwt_certificate
            else "",
            algorithms=["RS256"],
            audience=list(audiences),
            options={
                "verify_signature": verify,
                "verify_aud": True,
                "verify_exp": True,
                "require": ["iss", "sub", "aud", "exp"],
            },
        )
    except jwt.InvalidAudienceError:
        return Refusal("invalid_grant", "audience is invalid")
    except jwt.ExpiredSignatureError:
        return Refusal("invalid_grant", "expired authorization code")
    except jwt.PyJWTError:
        return Refusal("invalid_grant", "invalid assertion")
    if creds is None:
        return None
    if creds.consumer_key is not None and claims["iss"] != creds.consumer_key:
        return INVALID_CLIENT
    if claims["sub"] != creds.username:
        return Refusal("invalid_grant", "user hasn't approved this consumer")
    return None
