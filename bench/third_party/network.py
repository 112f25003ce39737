"""The network path that lets unpatched clients reach the emulators: a test CA, a certificate for the
CRM hosts, and a CONNECT proxy that sends each host to its emulator.

Clients that hard-code `https://login.salesforce.com` or `https://api.hubapi.com`
are run with `HTTPS_PROXY` set to the proxy and `REQUESTS_CA_BUNDLE` /
`SSL_CERT_FILE` set to the CA: their own code is untouched, their TLS
connection ends at the emulator's HTTPS listener.
"""

from __future__ import annotations

import asyncio
import ipaddress
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

CRM_HOSTS = (
    "login.salesforce.com",
    "test.salesforce.com",
    "*.salesforce.com",
    "*.my.salesforce.com",
    "api.hubapi.com",
)


@dataclass(frozen=True)
class Certificates:
    ca: Path  # what clients trust
    cert: Path  # the emulators' certificate (CRM hosts and 127.0.0.1)
    key: Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_certificates(folder: Path) -> Certificates:
    """A throwaway CA and a leaf certificate it signs for the CRM hosts, as PEM files in `folder`
    (kept, and reused by later runs while it is valid)."""
    folder.mkdir(parents=True, exist_ok=True)
    kept = Certificates(folder / "ca.pem", folder / "cert.pem", folder / "key.pem")
    if all(p.exists() for p in (kept.ca, kept.cert, kept.key)):
        leaf_cert = x509.load_pem_x509_certificate(kept.cert.read_bytes())
        if leaf_cert.not_valid_after_utc > datetime.now(UTC) + timedelta(days=1):
            return kept  # the clients' trust stores already hold this CA
    now = datetime.now(UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    # A name of its own: a trust store holding an older bench CA must not take that one for the issuer.
    ca_name = _name(f"territory-sync bench CA {now:%Y%m%d%H%M%S}")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    names: list[x509.GeneralName] = [x509.DNSName(h) for h in CRM_HOSTS]
    names += [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("login.salesforce.com"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=7))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    out = Certificates(folder / "ca.pem", folder / "cert.pem", folder / "key.pem")
    out.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    out.cert.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    out.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return out


def _target(host: str, routes: Mapping[str, int]) -> int | None:
    """The emulator port for a CONNECT host (`*.salesforce.com` matches every Salesforce host)."""
    for pattern, port in routes.items():
        if host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:])):
            return port
    return None


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def _handle(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, routes: Mapping[str, int]
) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    method, target, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
    host = target.rsplit(":", 1)[0]
    port = _target(host, routes)
    if method != "CONNECT" or port is None:
        writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()
        return
    upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
    await writer.drain()
    await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))


@contextmanager
def connect_proxy(routes: Mapping[str, int]) -> Iterator[int]:
    """A CONNECT proxy on a free loopback port, sending each host pattern to its local port."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, object] = {}

    async def start() -> None:
        server = await asyncio.start_server(lambda r, w: _handle(r, w, routes), "127.0.0.1", 0)
        holder["server"], holder["port"] = server, server.sockets[0].getsockname()[1]
        started.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=run, name="crm-connect-proxy", daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield int(holder["port"])  # type: ignore[call-overload]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
