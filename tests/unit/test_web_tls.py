"""``traza web serve --tls-cert/--tls-key``: the app over HTTPS (cheroot), key kept 0600."""

from __future__ import annotations

import http.client
import os
import ssl
import threading

import pytest

from anonymizer.files import LooseSecretError
from client.db import Database
from client.db.database import sqlite_url
from tests.integration.helpers import throwaway_tls
from web import WebConfig, create_app
from web.tls import tls_server

PORT = 18280 + int(os.environ.get("TRAZA_TEST_PORT_SHIFT", "5"))


def _self_signed(folder):
    """A server pair for 127.0.0.1 and the CA that signed it (the client's trust)."""
    ca, cert, key = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    throwaway_tls(ca, cert, key, name="localhost", hosts=["127.0.0.1"])
    return ca, cert, key


@pytest.fixture
def app(tmp_path):
    db = Database.open(sqlite_url(tmp_path / "web.db"))
    yield create_app(WebConfig(database_url=str(db.url), secret_key=b"k" * 32), database=db)
    db.dispose()


def test_the_app_answers_over_tls_only(app, tmp_path):
    ca, cert, key = _self_signed(tmp_path)
    server = tls_server(app, "127.0.0.1", PORT, cert=cert, key=key, threads=2)
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        ctx = ssl.create_default_context(cafile=str(ca))
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
    _, cert, key = _self_signed(tmp_path)
    key.chmod(0o644)
    with pytest.raises(LooseSecretError):
        tls_server(app, "127.0.0.1", PORT, cert=cert, key=key)


def test_plain_http_has_no_hsts(app):
    r = app.test_client().get("/healthz")
    assert r.status_code == 200 and "Strict-Transport-Security" not in r.headers
