"""The viewer's headers, its deny-by-default routes and the rate limit."""

from __future__ import annotations

import re
import secrets

import pytest
from test_web_trace import add_donation, make_app

from client.db import Database
from client.db.database import sqlite_url
from web.security import CSP, TokenBucket

OPEN = {"/t/<token>", "/t/<token>/evidence.json", "/t/<token>/verify", "/healthz",
        "/static/<path:filename>"}
SIGN_IN = {"/entrar", "/entrar/codigo", "/personal/entrar", "/salir"}


@pytest.fixture
def db(tmp_path):
    database = Database.open(sqlite_url(tmp_path / "index.db"))
    yield database
    database.dispose()


@pytest.fixture
def token() -> str:
    return secrets.token_urlsafe(32)


@pytest.fixture
def app(db, token):
    add_donation(db, token)
    return make_app(db)


def test_the_csp_and_headers_are_exact(app, token):
    client = app.test_client()
    for path in (f"/t/{token}", "/t/unknown-token-unknown-token", "/nothing", "/healthz",
                 "/static/traza.css"):
        with client.get(path) as r:
            h = r.headers
        assert h["Content-Security-Policy"] == (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'self'") == CSP
        assert h["X-Content-Type-Options"] == "nosniff"
        assert h["Referrer-Policy"] == "no-referrer"
        assert h["Permissions-Policy"].startswith("camera=()")
        assert ("Cache-Control" in h and h["Cache-Control"] == "no-store") == (
            path.startswith("/t/"))


def test_pages_have_no_inline_script_or_style(app, token):
    html = app.test_client().get(f"/t/{token}").get_data(as_text=True)
    assert "<script" not in html and "<style" not in html and " style=" not in html
    assert re.search(r' on[a-z]+=', html) is None


def test_only_the_allowlist_answers(app, token):
    client = app.test_client()
    rules = {r.rule for r in app.url_map.iter_rules()
             if not r.endpoint.startswith(("review.", "staff.", "redaction.", "regulator."))}
    assert rules == OPEN | SIGN_IN  # a public route must be added here on purpose
    # (the guarded ones are walked for every role in test_web_routes.py)
    for path in ("/", "/admin", "/t", "/t/", f"/t/{token}/other", "/static/",
                 "/static/../__init__.py", "/healthz/x"):
        assert client.get(path).status_code == 404, path
    for method in ("post", "put", "delete", "patch"):
        assert getattr(client, method)(f"/t/{token}").status_code in (404, 405)
    assert client.post(f"/t/{token}").data == client.get("/nothing").data


def test_the_rate_limit_answers_429_with_retry_after(db, token):
    add_donation(db, token)
    client = make_app(db, burst=3).test_client()
    codes = [client.get(f"/t/{token}").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    r = client.get(f"/t/{token}")
    assert int(r.headers["Retry-After"]) >= 1
    assert "Demasiadas solicitudes" in r.get_data(as_text=True)
    # another address has its own bucket; /healthz is not limited
    assert client.get(f"/t/{token}", environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 200
    assert client.get("/healthz").status_code == 200


def test_the_token_bucket_refills():
    now = [0.0]
    bucket = TokenBucket(60, 2, clock=lambda: now[0])
    assert [bucket.take("a"), bucket.take("a")] == [0.0, 0.0]
    assert bucket.take("a") == pytest.approx(1.0)
    now[0] = 0.5
    assert bucket.take("a") == pytest.approx(0.5)
    now[0] = 1.6
    assert bucket.take("a") == 0.0
    assert TokenBucket.retry_after(0.2) == "1" and TokenBucket.retry_after(2.1) == "3"


def test_the_bucket_forgets_the_oldest_keys():
    bucket = TokenBucket(60, 1, max_keys=2, clock=lambda: 0.0)
    for key in ("a", "b", "c"):
        bucket.take(key)
    assert bucket.take("a") == 0.0  # "a" was dropped, so it starts full again
    assert bucket.take("c") > 0


def test_the_catalogues_are_complete_and_compiled():
    from pathlib import Path

    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parents[2] / "web" / "translations"
    with open(root / "es" / "LC_MESSAGES" / "messages.po", "rb") as f:
        po = read_po(f)
    with open(root / "es" / "LC_MESSAGES" / "messages.mo", "rb") as f:
        mo = read_mo(f)
    ids = {m.id for m in po if m.id}
    assert ids and all(m.string and not m.fuzzy for m in po if m.id)
    assert {m.id: m.string for m in mo if m.id} == {m.id: m.string for m in po if m.id}
    with open(root / "messages.pot", "rb") as f:
        assert {m.id for m in read_po(f) if m.id} == ids


def test_behind_a_trusted_proxy_the_forwarded_address_is_limited(db, token):
    from web import WebConfig, create_app

    add_donation(db, token)
    config = WebConfig(database_url=str(db.url), rate_burst=1, trusted_proxies=1)
    client = create_app(config, database=db).test_client()
    one = {"X-Forwarded-For": "203.0.113.1"}
    assert client.get(f"/t/{token}", headers=one).status_code == 200
    assert client.get(f"/t/{token}", headers=one).status_code == 429
    assert client.get(f"/t/{token}", headers={"X-Forwarded-For": "203.0.113.2"}
                      ).status_code == 200
    # without a trusted proxy the header is ignored: one socket address, one bucket
    direct = create_app(WebConfig(database_url=str(db.url), rate_burst=1),
                        database=db).test_client()
    assert direct.get(f"/t/{token}", headers=one).status_code == 200
    assert direct.get(f"/t/{token}", headers={"X-Forwarded-For": "203.0.113.2"}
                      ).status_code == 429
