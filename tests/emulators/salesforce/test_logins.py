"""Salesforce emulator logins: refresh-token and JWT bearer grants; instance URLs that lead back to it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed

from connectors.salesforce.client import RedirectingSession
from emulators.salesforce import SalesforceOrgCredentials
from emulators.seed import SeedOrg
from tests.fixtures.salesforce import EmulatorFactory


def _key_pair() -> tuple[bytes, str]:
    """A private key (PEM) and a self-signed certificate for it (PEM), as a connected app holds."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "territory-sync test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return private, cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def app_key() -> tuple[bytes, str]:
    return _key_pair()


def _creds(certificate: str) -> SalesforceOrgCredentials:
    return SalesforceOrgCredentials(
        username="ops@acme.example",
        password="s3cret",
        security_token="TOKEN123",
        consumer_key="3MVG9.key",
        consumer_secret="consumer-secret",
        refresh_token="5Aep861.refresh",
        jwt_certificate=certificate,
    )


def _token(url: str, **form: str) -> httpx.Response:
    return httpx.post(f"{url}/services/oauth2/token", data=form)


def test_a_refresh_token_logs_in_and_the_instance_url_leads_back_to_the_emulator(
    salesforce_emulator: EmulatorFactory, small_org: SeedOrg, app_key: tuple[bytes, str]
) -> None:
    with salesforce_emulator(small_org, credentials=_creds(app_key[1])) as emu:
        answer = _token(
            emu.url,
            grant_type="refresh_token",
            refresh_token="5Aep861.refresh",
            client_id="3MVG9.key",
            client_secret="consumer-secret",
        )
        assert answer.status_code == 200
        body = answer.json()
        assert body["instance_url"] == emu.url
        # A client that knows nothing of the emulator follows instance_url and the id URL as they are.
        headers = {"Authorization": f"Bearer {body['access_token']}"}
        count = requests.get(
            f"{body['instance_url']}/services/data/v59.0/query/",
            params={"q": "SELECT COUNT() FROM Account"},
            headers=headers,
            timeout=10,
        )
        assert count.json()["totalSize"] == 200
        identity = requests.get(body["id"], headers=headers, timeout=10).json()
        assert identity["organization_id"] == emu.org.org_id and identity["urls"]["rest"].startswith(emu.url)

        expired = _token(emu.url, grant_type="refresh_token", refresh_token="old", client_id="3MVG9.key")
        assert expired.status_code == 400
        assert expired.json() == {
            "error": "invalid_grant",
            "error_description": "expired access/refresh token",
        }
        wrong_app = _token(
            emu.url, grant_type="refresh_token", refresh_token="5Aep861.refresh", client_id="x"
        )
        assert wrong_app.json()["error"] == "invalid_client_id"


def test_a_jwt_bearer_login_is_checked_for_signature_audience_subject_and_expiry(
    salesforce_emulator: EmulatorFactory, small_org: SeedOrg, app_key: tuple[bytes, str]
) -> None:
    private, certificate = app_key
    with salesforce_emulator(small_org, credentials=_creds(certificate)) as emu:
        sf = Salesforce(
            username="ops@acme.example",
            consumer_key="3MVG9.key",
            privatekey=private.decode(),
            session=RedirectingSession(emu.url),
        )
        assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 200

        def assertion(key: bytes = private, **claims: object) -> str:
            base = {
                "iss": "3MVG9.key",
                "sub": "ops@acme.example",
                "aud": "https://login.salesforce.com",
                "exp": int(time.time()) + 180,
            }
            return jwt.encode({**base, **claims}, key, algorithm="RS256")

        def refusal(token: str) -> tuple[str, str]:
            answer = _token(
                emu.url, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=token
            )
            assert answer.status_code == 400
            return answer.json()["error"], answer.json()["error_description"]

        stranger = _key_pair()[0]
        assert refusal(assertion(stranger)) == ("invalid_grant", "invalid assertion")
        assert refusal(assertion(aud="https://evil.example")) == ("invalid_grant", "audience is invalid")
        assert refusal(assertion(exp=int(time.time()) - 60)) == (
            "invalid_grant",
            "expired authorization code",
        )
        assert refusal(assertion(sub="someone@else.example"))[1] == "user hasn't approved this consumer"
        assert refusal(assertion(iss="another.app"))[0] == "invalid_client_id"
        with pytest.raises(SalesforceAuthenticationFailed):
            Salesforce(
                username="ops@acme.example",
                consumer_key="3MVG9.key",
                privatekey=stranger.decode(),
                session=RedirectingSession(emu.url),
            )


def test_logins_can_name_a_realistic_instance_host_instead(
    salesforce_emulator: EmulatorFactory, small_org: SeedOrg
) -> None:
    with salesforce_emulator(small_org, echo_instance_url=False) as emu:
        sf = emu.client()
        assert sf.sf_instance == "territory-sync-emulator.my.salesforce.com"
        assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 200
        token = _token(emu.url, grant_type="client_credentials", client_id="a", client_secret="b").json()
        assert token["instance_url"] == "https://territory-sync-emulator.my.salesforce.com"
        assert _token(emu.url, grant_type="authorization_code").json()["error"] == "unsupported_grant_type"
