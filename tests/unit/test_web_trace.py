"""The trace viewer on a temporary SQLite index: the page, its languages, 404s, evidence."""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets

import pytest

from client.db import Database
from client.db.database import sqlite_url
from client.db.models import DonationIndex, StepIndex
from client.donor import sha256_hex
from web import WebConfig, create_app
from web.security import TokenBucket

DONATION = "don-5f3a9c"
EXECUTOR = "ab12cd34ef56" + "0" * 52
ORIGINAL = "1" * 64
STEPS = [  # step, from, to, msp, UTC time, evidence data
    ("RegisterDonation", "", "REGISTERED", "HospitalMSP", dt.datetime(2026, 3, 1, 15, 0, 5),
     {"registration": {"qrTokenSha256": "f" * 64}}),
    ("Consent", "REGISTERED", "CONSENTED", "HospitalMSP", dt.datetime(2026, 3, 1, 15, 1),
     {"consent": {"documentSha256": "2" * 64}}),
    ("Acquire", "CONSENTED", "ACQUIRED", "HospitalMSP", dt.datetime(2026, 3, 1, 15, 2),
     {"acquisition": {"originalSha256": [ORIGINAL]}}),
]


def add_donation(db: Database, token: str, *, donation: str = DONATION,
                 steps=STEPS, state: str = "ACQUIRED") -> None:
    """Index rows as EventIndex writes them, for ``token``'s donation."""
    with db.session() as s:
        s.add(DonationIndex(donation_id=donation, state=state, intake_msp="HospitalMSP",
                            qr_token_sha256=sha256_hex(token),
                            registered_at=steps[0][4].replace(tzinfo=dt.UTC),
                            updated_at=steps[-1][4].replace(tzinfo=dt.UTC),
                            last_block=len(steps) + 4))
        for i, (step, frm, to, msp, when, data) in enumerate(steps):
            tx = sha256_hex(f"{donation}-{i}")
            ev = {"donationId": donation, "step": step, "from": frm, "to": to, "mspId": msp,
                  "txId": tx, "timestamp": when.isoformat() + "Z", "data": data}
            s.add(StepIndex(donation_id=donation, step=step, from_state=frm, to_state=to,
                            transaction_id=tx, block_number=5 + i,
                            timestamp=when.replace(tzinfo=dt.UTC), msp=msp, executor=EXECUTOR,
                            chaincode_version="1.2", package_id="traza_1.2:" + "9" * 64,
                            evidence=json.dumps(ev)))


class FakeBundler:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, dict[str, int]]] = []
        self.fail = fail

    def __call__(self, donation_id, tx_blocks):
        self.calls.append((donation_id, dict(tx_blocks)))
        if self.fail:
            raise ConnectionError("peer down")
        return {"format": "traza-evidence-bundle", "version": 1, "donationId": donation_id}


@pytest.fixture
def db(tmp_path):
    database = Database.open(sqlite_url(tmp_path / "index.db"))
    yield database
    database.dispose()


@pytest.fixture
def token() -> str:
    return secrets.token_urlsafe(32)


@pytest.fixture
def bundler() -> FakeBundler:
    return FakeBundler()


def make_app(db, bundler=None, *, burst: int = 1000):
    config = WebConfig(database_url=str(db.url), rate_burst=burst, rate_per_minute=60)
    return create_app(config, database=db, bundler=bundler,
                      limiter=TokenBucket(60, burst))


@pytest.fixture
def client(db, token, bundler):
    add_donation(db, token)
    return make_app(db, bundler).test_client()


def test_the_page_shows_the_steps_in_spanish(client, token):
    r = client.get(f"/t/{token}")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert '<html lang="es">' in html
    for words in ("Registro", "Consentimiento", "Adquisición", "Estudios recibidos",
                  "Cómo verificar", "traza verify bundle archivo.json",
                  "nunca muestra contenido clínico"):
        assert words in html
    assert html.index("Registro") < html.index("Consentimiento") < html.index("Adquisición")
    # 15:00:05 UTC is 09:00:05 in Mexico City (UTC-6, no DST since 2022)
    assert "09:00:05" in html and "15:00:05" not in html
    assert EXECUTOR[:12] + "…" in html and f'title="{EXECUTOR}"' in html
    assert sha256_hex(f"{DONATION}-2") in html  # tx id
    assert ORIGINAL in html and "acquisition.originalSha256" in html
    assert "qrTokenSha256" not in html and "f" * 64 not in html
    assert "traza 1.2" in html and "traza_1.2:" + "9" * 64 in html
    assert ">7<" in html  # block number of the third step
    assert f"/t/{token}/evidence.json" in html


@pytest.mark.parametrize("how", [{"query_string": {"lang": "en"}},
                                 {"headers": {"Accept-Language": "en-US,en;q=0.9"}}])
def test_the_page_in_english(client, token, how):
    html = client.get(f"/t/{token}", **how).get_data(as_text=True)
    assert '<html lang="en">' in html
    for words in ("Registration", "Consent", "Acquisition", "Studies received",
                  "How to verify", "traza verify bundle file.json"):
        assert words in html
    assert "Adquisición" not in html


def test_spanish_wins_over_accept_language_with_lang(client, token):
    html = client.get(f"/t/{token}?lang=es", headers={"Accept-Language": "en"}).get_data(
        as_text=True)
    assert '<html lang="es">' in html and "Registro" in html


def test_every_step_name_has_spanish(db, token):
    from web.i18n import STATE_NAMES, STEP_NAMES

    app = make_app(db)
    with app.test_request_context("/?lang=es"):
        spanish = {str(v) for v in [*STEP_NAMES.values(), *STATE_NAMES.values()]}
    with app.test_request_context("/?lang=en"):
        english = {str(v) for v in [*STEP_NAMES.values(), *STATE_NAMES.values()]}
    assert "Resguardo en la biblioteca" in spanish and "Nuevo código QR" in spanish
    assert not spanish & english - {"Consentimiento"}


def test_unknown_and_malformed_tokens_get_the_same_404(client, token):
    unknown = client.get(f"/t/{secrets.token_urlsafe(32)}")
    malformed = client.get("/t/not..a*token")
    short = client.get("/t/abc")
    assert unknown.status_code == malformed.status_code == short.status_code == 404
    assert unknown.data == malformed.data == short.data
    assert b"token" not in unknown.data.lower()
    ev = client.get(f"/t/{secrets.token_urlsafe(32)}/evidence.json")
    assert ev.status_code == 404 and ev.data == unknown.data


def test_evidence_download(client, token, bundler):
    r = client.get(f"/t/{token}/evidence.json")
    assert r.status_code == 200
    assert r.mimetype == "application/json"
    assert r.headers["Content-Disposition"] == (
        f'attachment; filename="evidencia-{DONATION}.json"')
    assert r.json["donationId"] == DONATION
    assert bundler.calls == [(DONATION, {sha256_hex(f"{DONATION}-{i}"): 5 + i
                                         for i in range(3)})]


def test_evidence_is_503_when_the_ledger_fails(db, token):
    add_donation(db, token)
    r = make_app(db, FakeBundler(fail=True)).test_client().get(f"/t/{token}/evidence.json")
    assert r.status_code == 503
    assert "Inténtelo más tarde" in r.get_data(as_text=True)


def test_evidence_is_503_without_a_reader(db, token):
    add_donation(db, token)
    app = create_app(WebConfig(database_url=str(db.url)), database=db)
    assert app.test_client().get(f"/t/{token}/evidence.json").status_code == 503


def test_script_in_a_step_or_evidence_is_escaped(db, token):
    evil = "<script>alert(1)</script>"
    steps = [("Register" + evil, "", "REGISTERED", "Hosp" + evil, dt.datetime(2026, 3, 1),
              {"x": {"evilSha256": evil}})]
    add_donation(db, token, steps=steps, state=evil)
    html = make_app(db).test_client().get(f"/t/{token}").get_data(as_text=True)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_token_never_reaches_the_logs(client, token, caplog):
    caplog.set_level(logging.DEBUG)
    client.get(f"/t/{token}")
    client.get(f"/t/{token}/evidence.json")
    client.get(f"/t/{token}x")
    messages = "\n".join(r.getMessage() for r in caplog.records)
    assert sha256_hex(token)[:16] in messages
    assert token not in messages and sha256_hex(token) not in messages


def test_an_error_inside_the_page_does_not_log_the_token(db, token, caplog, monkeypatch):
    add_donation(db, token)
    app = make_app(db)

    def boom(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr("web.trace._steps", boom)
    caplog.set_level(logging.DEBUG)
    r = app.test_client().get(f"/t/{token}")
    assert r.status_code == 500
    assert token not in "\n".join(r.getMessage() for r in caplog.records)
    assert any("RuntimeError" in r.getMessage() for r in caplog.records)


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json == {"status": "ok"}
