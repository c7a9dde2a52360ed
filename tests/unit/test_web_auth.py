"""Sign-in: donor codes (hashed, few tries, short, no hint), staff password + TOTP with
lockout, session rotation and lifetimes, cookie flags, no secret or personal data in logs,
and the ``traza web user`` commands."""

from __future__ import annotations

import datetime as dt
import logging
import os
import stat
import time

import pyotp
import pytest
from click.testing import CliRunner
from sqlalchemy import select
from web_fixtures import (
    ACCOUNTS_KEY,
    BASE,
    PASSWORD,
    World,
    code_of,
    make_app,
    post,
    sign_in_donor,
    sign_in_staff,
)

from client.db.models import ReviewSession, StaffAccount
from client.donor_login import MAX_ATTEMPTS
from web import accounts


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    yield w
    w.db.dispose()


@pytest.fixture
def app(world):
    return make_app(world)


def test_unknown_and_known_addresses_get_the_same_answer(app, world):
    donor = world.add_donor(21)
    answers = []
    for email in (donor.email, "nadie@correo.example", "not an address"):
        r = post(app.test_client(), "/entrar", {"email": email})
        answers.append((r.status_code, r.headers["Location"]))
    assert len(set(answers)) == 1
    assert len(world.sent) == 1 and world.sent[0]["To"] == donor.email
    # the code is kept hashed only
    code = code_of(world.sent[0])
    with world.db.session() as s:
        row = s.scalars(select(ReviewSession)).one()
        assert code not in row.code_hash and len(row.code_hash) == 64
        assert row.expires_at - row.created_at == dt.timedelta(minutes=10)


def test_a_donor_not_under_review_gets_no_code(app, world):
    donor = world.add_donor(22, state="ACQUIRED")
    post(app.test_client(), "/entrar", {"email": donor.email})
    assert world.sent == []


def test_code_guessing_is_limited_and_a_code_is_used_once(app, world):
    donor = world.add_donor(23)
    client = app.test_client()
    post(client, "/entrar", {"email": donor.email})
    post(client, "/entrar", {"email": donor.email})  # within a minute: no second code
    assert len(world.sent) == 1
    code = code_of(world.sent[-1])
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    for _ in range(MAX_ATTEMPTS - 1):
        assert post(client, "/entrar/codigo", {"code": wrong}).status_code == 400
    assert post(client, "/entrar/codigo", {"code": code}).status_code == 302  # 5th try
    again = app.test_client()
    post(again, "/entrar", {"email": donor.email})  # a new session, a new code
    assert len(world.sent) == 2
    assert post(again, "/entrar/codigo", {"code": code}).status_code == 400  # spent


def test_after_max_attempts_even_the_right_code_fails(app, world):
    donor = world.add_donor(24)
    client = app.test_client()
    post(client, "/entrar", {"email": donor.email})
    code = code_of(world.sent[-1])
    for _ in range(MAX_ATTEMPTS):
        post(client, "/entrar/codigo", {"code": "000000" if code != "000000" else "111111"})
    assert post(client, "/entrar/codigo", {"code": code}).status_code == 400


def test_an_expired_code_fails(app, world):
    donor = world.add_donor(25)
    client = app.test_client()
    post(client, "/entrar", {"email": donor.email})
    with world.db.session() as s:
        s.scalars(select(ReviewSession)).one().expires_at = dt.datetime.now(dt.UTC)
    assert post(client, "/entrar/codigo", {"code": code_of(world.sent[-1])}).status_code == 400


def _cookie(client) -> str:
    return client.get_cookie("traza_session", domain="localhost").value


def test_the_session_rotates_at_sign_in_and_cookies_are_strict(app, world):
    donor = world.add_donor(26)
    client = app.test_client()
    r = client.get("/entrar", base_url=BASE)
    header = r.headers["Set-Cookie"]
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Strict" in header
    post(client, "/entrar", {"email": donor.email})
    before = _cookie(client)
    r = post(client, "/entrar/codigo", {"code": code_of(world.sent[-1])})
    after = _cookie(client)
    assert before != after
    with app.test_request_context():
        serializer = app.session_interface.get_signing_serializer(app)
        old, new = serializer.loads(before), serializer.loads(after)
    assert "pending_review" in old and "pending_review" not in new
    assert "csrf_token" not in new or new["csrf_token"] != old.get("csrf_token")
    assert new["principal"]["subject"] == donor.donation_id


def test_a_donor_session_ends_after_its_minutes(app, world, monkeypatch):
    donor = world.add_donor(27)
    client = app.test_client()
    sign_in_donor(client, world, donor)
    assert client.get("/revision/", base_url=BASE).status_code == 200
    later = time.time() + 16 * 60
    monkeypatch.setattr(time, "time", lambda: later)
    assert client.get("/revision/", base_url=BASE).status_code == 302


def test_a_staff_session_ends_when_idle(app, world, monkeypatch):
    secret = world.add_staff("olga", "operator")
    client = app.test_client()
    assert sign_in_staff(client, "olga", secret).status_code == 302
    assert client.get("/personal/", base_url=BASE).status_code == 200
    later = time.time() + 31 * 60
    monkeypatch.setattr(time, "time", lambda: later)
    assert client.get("/personal/", base_url=BASE).status_code == 302


def test_staff_sign_in_needs_password_and_a_fresh_totp(app, world):
    secret = world.add_staff("beto", "clinician")
    client = app.test_client()
    good = pyotp.TOTP(secret).now()
    for data in ({"username": "beto", "password": "wrong password!!", "code": good},
                 {"username": "beto", "password": PASSWORD, "code": "123456"},
                 {"username": "nadie", "password": PASSWORD, "code": good}):
        r = post(client, "/personal/entrar", data)
        assert r.status_code == 400 and "Falló el inicio de sesión" in r.get_data(as_text=True)
    assert post(client, "/personal/entrar",
                {"username": "beto", "password": PASSWORD, "code": good}).status_code == 302
    # the same code cannot be used again
    other = app.test_client()
    assert post(other, "/personal/entrar",
                {"username": "beto", "password": PASSWORD, "code": good}).status_code == 400


def test_staff_lockout_after_failures(world):
    world.add_staff("caro", "operator")
    with world.db.session() as s:
        secret = None
    for _ in range(accounts.FREE_FAILURES):
        with world.db.session() as s:
            assert accounts.authenticate(s, ACCOUNTS_KEY, "caro", "nope" * 4, "000000") is None
    with world.db.session() as s:
        account = s.scalars(select(StaffAccount)).one()
        assert account.locked_until is not None and account.failed_attempts == 5
        totp = pyotp.TOTP(accounts.unseal(ACCOUNTS_KEY, account.totp_sealed,
                                          b"staff-totp:caro").decode())
        secret = totp.now()
    with world.db.session() as s:  # right password and code, but locked
        assert accounts.authenticate(s, ACCOUNTS_KEY, "caro", PASSWORD, secret) is None
    with world.db.session() as s:
        s.scalars(select(StaffAccount)).one().locked_until = dt.datetime.now(dt.UTC)
    with world.db.session() as s:
        who = accounts.authenticate(s, ACCOUNTS_KEY, "caro", PASSWORD, secret)
        assert who is not None and who.role == "operator" and who.org == "hospital"
    with world.db.session() as s:
        accounts.set_disabled(s, "caro")
    with world.db.session() as s:
        assert accounts.authenticate(s, ACCOUNTS_KEY, "caro", PASSWORD,
                                     totp.at(time.time() + 30)) is None


def test_the_password_is_argon2_and_the_totp_secret_sealed(world):
    secret = world.add_staff("dora", "regulator")
    with world.db.session() as s:
        row = s.scalars(select(StaffAccount)).one()
        assert row.password_hash.startswith("$argon2id$") and PASSWORD not in row.password_hash
        assert secret.encode() not in row.totp_sealed and row.fabric_user == "w-dora"


def test_no_code_secret_or_personal_data_in_logs(app, world, caplog):
    caplog.set_level(logging.DEBUG)
    donor = world.add_donor(28)
    client = app.test_client()
    sign_in_donor(client, world, donor)
    client.get("/revision/", base_url=BASE)
    client.get(f"/revision/imagen/{donor.original_sha256}/0.png", base_url=BASE)
    post(client, "/revision/cambios", {"comment": donor.planted[0]}, form="/revision/")
    secret = world.add_staff("eva", "operator")
    sign_in_staff(app.test_client(), "eva", secret)
    code = code_of(world.sent[0])
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    for value in [*donor.planted, code, secret, PASSWORD]:
        assert value not in text


def test_user_add_list_disable(tmp_path, world):
    from web.cli import web

    enrolled = []

    def enroll(org, user, role):
        enrolled.append((org, user, role))
        return tmp_path / "p.json", "c" * 64

    run = tmp_path / "run"
    url = f"sqlite:///{tmp_path / 'accounts.db'}"
    runner = CliRunner()
    args = ["user", "add", "fer", "--role", "clinician", "--org", "imss", "--run-dir", str(run),
            "--database-url", url]
    r = runner.invoke(web, args, input=f"{PASSWORD}\n{PASSWORD}\n",
                      obj={"enroll_staff": enroll})
    assert r.exit_code == 0, r.output
    assert enrolled == [("imss", "w-fer", "clinician")]
    assert PASSWORD not in r.output and "otpauth" not in r.output
    totp = run / "web" / "totp" / "fer.txt"
    assert stat.S_IMODE(os.stat(totp).st_mode) == 0o600 and "otpauth://" in totp.read_text()
    assert stat.S_IMODE(os.stat(run / "web" / "accounts.key").st_mode) == 0o600
    r = runner.invoke(web, args, input=f"{PASSWORD}\n{PASSWORD}\n",
                      obj={"enroll_staff": enroll})
    assert r.exit_code == 1 and "exists" in r.output and len(enrolled) == 1
    short = ["user", "add", "gil", "--role", "operator", "--org", "hospital",
             "--run-dir", str(run), "--database-url", url]
    r = runner.invoke(web, short, input="corta\ncorta\n", obj={"enroll_staff": enroll})
    assert r.exit_code == 1 and "at least 12" in r.output and len(enrolled) == 1
    common = ["--run-dir", str(run), "--database-url", url]
    r = runner.invoke(web, ["user", "disable", "fer", *common])
    assert r.exit_code == 0
    r = runner.invoke(web, ["user", "list", *common])
    assert "fer\tclinician\timss\tw-fer\tdisabled" in r.output
    r = runner.invoke(web, ["user", "add", "hal", "--role", "admin", "--org", "imss", *common],
                      input=f"{PASSWORD}\n{PASSWORD}\n", obj={})
    assert r.exit_code == 1 and "no network" in r.output

    def down(org, user, role):
        raise RuntimeError("fabric-ca-client: connection refused")

    r = runner.invoke(web, ["user", "add", "hal", "--role", "admin", "--org", "imss", *common],
                      input=f"{PASSWORD}\n{PASSWORD}\n", obj={"enroll_staff": down})
    assert r.exit_code == 1 and "cannot enroll w-hal at imss's CA" in r.output
    r = runner.invoke(web, ["user", "list", *common])
    assert "hal" not in r.output  # no account without its identity


def test_sign_in_posts_are_rate_limited_per_address(world):
    from web.security import TokenBucket

    app = make_app(world)
    app.extensions["traza_auth_bucket"] = TokenBucket(10, 5)
    client = app.test_client()
    codes = [post(client, "/entrar/codigo", {"code": "123456"}).status_code for _ in range(7)]
    assert codes == [400] * 5 + [429] * 2
    other = {"REMOTE_ADDR": "10.1.1.1"}
    assert post(client, "/entrar/codigo", {"code": "1"}, environ_base=other).status_code == 400


def test_reads_and_sign_ins_are_audited_without_personal_data(app, world):
    from client.db.models import AuditEntry

    donor = world.add_donor(29)
    client = app.test_client()
    sign_in_donor(client, world, donor)
    client.get("/revision/", base_url=BASE)
    client.get(f"/revision/imagen/{donor.original_sha256}/0.png", base_url=BASE)
    post(app.test_client(), "/personal/entrar", {"username": "x", "password": "y", "code": "1"})
    with world.db.session() as s:
        rows = [(a.action, a.actor, a.role, a.entity, a.outcome)
                for a in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert rows == [
        ("donor-code-request", "anonymous", "anonymous", None, "success"),
        ("donor-sign-in", donor.donation_id, "donor", donor.donation_id, "success"),
        ("review-read", donor.donation_id, "donor", donor.donation_id, "success"),
        ("review-image", donor.donation_id, "donor", donor.donation_id, "success"),
        ("staff-sign-in", "anonymous", "anonymous", None, "failure")]
    assert not any(donor.email in str(r) for r in rows)


def test_the_language_survives_sign_in(app, world):
    donor = world.add_donor(30)
    client = app.test_client()
    client.get("/entrar?lang=en", base_url=BASE)
    sign_in_donor(client, world, donor)
    assert "Review your donation" in client.get("/revision/", base_url=BASE).get_data(
        as_text=True)


def test_disabling_an_account_ends_its_open_session(app, world):
    secret = world.add_staff("iris", "operator")
    client = app.test_client()
    sign_in_staff(client, "iris", secret)
    assert client.get("/personal/ingreso", base_url=BASE).status_code == 200
    with world.db.session() as s:
        accounts.set_disabled(s, "iris")
    assert client.get("/personal/ingreso", base_url=BASE).status_code == 302
