"""``traza web serve --tls-cert/--tls-key``: the app over HTTPS (cheroot), key kept 0600."""

from __future__ import annotations

import datetime as dt
import http.client
import ipaddress
import os
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from anonymizer.files import LooseSecretError, write_secret
from client.db import Database
from client.db.database import sqlite_url
from web import WebConfig, create_app
from web.tls import tls_server

PORT = 18280 + int(os.environ.get("TRAZA_TEST_PORT_SHIFT", "5"))


def _self_signed(folder):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path = folder / "cert.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path = write_secret(folder / "key.pem", key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def app(tmp_path):
    db = Database.open(sqlite_url(tmp_path / "web.db"))
    yield create_app(WebConfig(database_url=str(db.url), secret_key=b"k" * 32), database=db)
    db.dispose()


def test_the_app_answers_over_tls_only(app, tmp_path):
    cert, key = _self_signed(tmp_path)
    server = tls_server(app, "127.0.0.1", PORT, cert=cert, key=key, threads=2)
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        ctx = ssl.create_default_context(cafile=str(cert))
        conn = http.client.HTTPSConnection("127.0.0.1", PORT, context=ctx, timeout=10)
        conn.request("GET", "/healthz")
        r = conn.getresponse()
        assert r.status == 200 and r.read() and r.getheader("Strict-Transport-Security")
        assert conn.sock.version() in ("TLSv1.2", "TLSv1.3")
        conn.close()
        plain = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
        try:  # refused at the handshake, or answered with an error: never the page
            plain.request("GET", "/healthz")
            status = plain.getresponse().status
        except (OSError, http.client.HTTPException):
            status = None
        plain.close()
        assert status != 200
    finally:
        server.stop()
        thread.join(5)


def test_a_key_others_may_read_is_refused(app, tmp_path):
    cert, key = _self_signed(tmp_path)
    key.chmod(0o644)
    with pytest.raises(LooseSecretError):
        tls_server(app, "127.0.0.1", PORT, cert=cert, key=key)


def test_plain_http_has_no_hsts(app):
    r = app.test_client().get("/healthz")
    assert r.status_code == 200 and "Strict-Transport-Security" not in r.headers
