"""Register and enroll identities through a Fabric CA's REST API, from Python.

Why not ``fabric-ca-client``: it takes the enrollment secret in its ``-u`` URL
(``https://name:secret@host``) — on a command line, in an environment variable or in a
config file — and writes keys with the process umask. Here the secret travels only in the
HTTPS request (Basic authentication for ``enroll``, the request body for ``register``), and
every private key is generated in this process and written 0600 from its first byte.

The requests are Fabric CA 1.5's (``lib/client.go``, ``lib/serverenroll.go``,
``lib/serverregister.go``); a registrar authenticates ``register`` with Fabric CA's token,
``base64(cert PEM) "." base64(ECDSA-SHA256 low-S signature of
method "." base64(uri) "." base64(body) "." base64(cert PEM))`` (``util.GenECDSAToken``).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from anonymizer.files import write_secret
from client.gateway import Signer

from .process import NetworkError


@dataclass(frozen=True)
class CAEndpoint:
    """One CA of a Fabric CA server: its URL, name and the certificate its TLS chains to."""

    url: str  # https://host:port
    name: str  # the CA's name in the server (``caname``)
    tls_root: Path  # PEM that the server's TLS certificate chains to


@dataclass(frozen=True)
class Enrollment:
    """What ``enroll`` returns: the certificate, the CA chain, and where the key was written."""

    cert_pem: bytes
    ca_chain_pem: bytes
    key_path: Path


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _post(ca: CAEndpoint, path: str, raw: bytes, headers: dict[str, str], what: str) -> dict:
    """POST JSON to the CA; return its ``result`` or raise NetworkError with its errors only."""
    req = urllib.request.Request(
        ca.url + path,
        data=raw,
        method="POST",
        headers={"Content-Type": "application/json", **headers},
    )
    context = ssl.create_default_context(cafile=str(ca.tls_root))
    try:
        with urllib.request.urlopen(req, timeout=30, context=context) as resp:  # noqa: S310
            doc = json.loads(resp.read())
    except urllib.error.HTTPError as e:
        doc = _json_or_empty(e.read())
        if not doc:
            raise NetworkError(f"{what} at {ca.name}: HTTP {e.code}") from None
    except (OSError, ValueError) as e:
        raise NetworkError(f"{what} at {ca.name} ({ca.url}) failed: {e}") from None
    if not doc.get("success"):
        # The CA's error messages name the identity and the reason, never its secret.
        errors = "; ".join(str(x.get("message", x)) for x in doc.get("errors") or []) or str(doc)
        raise NetworkError(f"{what} at {ca.name}: {errors}")
    return doc.get("result") or {}


def _json_or_empty(raw: bytes) -> dict:
    try:
        doc = json.loads(raw)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def subject_alt_names(hosts: list[str]) -> list[x509.GeneralName]:
    """``hosts`` as certificate SANs: IP addresses as such, anything else as a DNS name."""
    sans: list[x509.GeneralName] = []
    for h in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            sans.append(x509.DNSName(h))
    return sans


def _csr(key: ec.EllipticCurvePrivateKey, name: str, hosts: list[str]) -> bytes:
    """A CSR whose CN is the enrollment id (the CA requires it) with ``hosts`` as SANs."""
    sans = subject_alt_names(hosts)
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def ski(key: ec.EllipticCurvePrivateKey) -> str:
    """Fabric's subject key identifier of an EC key: SHA-256 of the uncompressed point (hex).

    Fabric's file keystore names a key ``<ski>_sk``.
    """
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return hashlib.sha256(point).hexdigest()


def enroll(
    ca: CAEndpoint,
    name: str,
    secret: str,
    keystore: Path,
    *,
    hosts: list[str],
    profile: str = "",
) -> Enrollment:
    """Enroll ``name``: a new P-256 key (written 0600 into ``keystore``) and its certificate.

    Parameters
    ----------
    ca : CAEndpoint
        The CA to enroll at.
    name, secret : str
        The enrollment id and secret (sent by Basic authentication over TLS only).
    keystore : Path
        Folder of the key file ``<ski>_sk`` (created 0700).
    hosts : list of str
        Subject alternative names (DNS names or IP addresses).
    profile : str, optional
        The CA's signing profile (``tls`` for TLS certificates; default the enrollment one).
    """
    key = ec.generate_private_key(ec.SECP256R1())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    body = {
        "certificate_request": _csr(key, name, hosts).decode(),
        "hosts": hosts,
        "profile": profile,
        "caname": ca.name,
    }
    auth = "Basic " + _b64(f"{name}:{secret}".encode())
    raw = json.dumps(body).encode()
    result = _post(ca, "/api/v1/enroll", raw, {"Authorization": auth}, f"enroll {name}")
    key_path = write_secret(keystore / f"{ski(key)}_sk", key_pem)
    return Enrollment(
        cert_pem=base64.b64decode(result["Cert"]),
        ca_chain_pem=base64.b64decode(result.get("ServerInfo", {}).get("CAChain", "")),
        key_path=key_path,
    )


def token(signer: Signer, cert_pem: bytes, method: str, uri: str, body: bytes) -> str:
    """Fabric CA's authorization token of a registrar's request."""
    b64cert = _b64(cert_pem)
    payload = f"{method}.{_b64(uri.encode())}.{_b64(body)}.{b64cert}".encode()
    return f"{b64cert}.{_b64(signer.sign(payload))}"


def register(
    ca: CAEndpoint,
    registrar_cert: bytes,
    registrar: Signer,
    name: str,
    secret: str,
    id_type: str,
    attrs: dict[str, str] | None = None,
) -> bool:
    """Register ``name`` with ``secret``; False if it was registered already.

    ``attrs`` become certificate attributes (``ecert``: in every enrollment certificate).
    """
    body = {
        "id": name,
        "type": id_type,
        "secret": secret,
        "affiliation": "",
        "max_enrollments": 0,  # the CA's own limit (unlimited)
        "attrs": [{"name": k, "value": v, "ecert": True} for k, v in (attrs or {}).items()],
        "caname": ca.name,
    }
    raw = json.dumps(body).encode()
    uri = "/api/v1/register"
    auth = token(registrar, registrar_cert, "POST", uri, raw)
    try:
        _post(ca, uri, raw, {"Authorization": auth}, f"register {name}")
    except NetworkError as e:
        if "already registered" in str(e):
            return False
        raise
    return True
