"""Issue 9 item 5 on the real network: re-issuing a QR invalidates the previous token.

The contract's ReissueQR replaces the donation's ``qrTokenSha256``; the event index then maps
the new token's hash to the donation and the old one to nothing. Through the pipeline the new
QR goes out by e-mail (network/mailserver.py, a real SMTP server) to the address sealed in the
donor's account.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
import secrets

import pytest
from sqlalchemy import select

from client.db import Database, DonationIndex
from client.db.models import OutboxItem
from client.donor import sha256_hex
from client.errors import InvalidInput, Unauthorized, WrongState
from client.index import EventIndex
from client.settings import Settings, open_pipeline
from client.workflow import PipelineError

from .donation_flow import HAPPY, Flow, wait_state
from .helpers import request_id
from .test_mail import run_server, wait_message

pytestmark = pytest.mark.timeout(900)

DONOR_EMAIL = "maria.lopez.reissue@correo-de-maria.example"


def indexed(db: Database, qr_sha256: str) -> list[str]:
    with db.session() as s:
        return list(s.scalars(select(DonationIndex.donation_id).where(
            DonationIndex.qr_token_sha256 == qr_sha256)))


def rebuilt_index(profiles, tmp_path) -> Database:
    """A fresh index rebuilt from the ledger alone, read as IMSS's regulator."""
    db = Database.open(f"sqlite:///{tmp_path / f'index-{secrets.token_hex(4)}.sqlite'}")
    profile = profiles("imss", "regulator1")
    with profile.gateway() as gw:
        EventIndex(db).rebuild(gw.get_network(profile.channel))
    return db


def test_reissue_replaces_the_token_hash_on_the_ledger_and_in_the_index(as_, profiles, tmp_path):
    flow = Flow(as_)
    flow.run("register", user="operator1")
    old = flow.donor.qr_token_sha256
    new = sha256_hex(secrets.token_urlsafe(32))
    rid = request_id("r")
    with as_("hospital", "service1") as d:
        step = d.reissue_qr(flow.id, new, request_id=rid)
        assert step.evidence["step"] == "ReissueQR"
        assert step.evidence["from"] == step.evidence["to"] == "REGISTERED"
        assert step.evidence["data"] == {"qrReissue": {"qrTokenSha256": new}}
        assert d.get(flow.id)["qrTokenSha256"] == new
        # A retry with the same request id is answered with the first commit.
        again = d.reissue_qr(flow.id, new, request_id=rid)
        assert again.evidence["txId"] == step.evidence["txId"]
        with pytest.raises(InvalidInput, match="must differ from the current one"):
            d.reissue_qr(flow.id, new)
    flow.state = "REGISTERED"

    # Another member may not re-issue the intake org's QR.
    wait_state(as_, "university", flow.id, "REGISTERED")
    for org, user in (("university", "service1"), ("imss", "operator1")):
        with as_(org, user) as d, pytest.raises(Unauthorized, match="intake org HospitalMSP"):
            d.reissue_qr(flow.id, sha256_hex(secrets.token_urlsafe(32)))
    with as_("hospital", "clinician1") as d, pytest.raises(Unauthorized, match="traza.role"):
        d.reissue_qr(flow.id, sha256_hex(secrets.token_urlsafe(32)))
    with as_("hospital", "operator1") as d:
        assert d.get(flow.id)["qrTokenSha256"] == new

    db = rebuilt_index(profiles, tmp_path)
    assert indexed(db, new) == [flow.id]
    assert indexed(db, old) == []


def test_no_reissue_once_stored(as_):
    flow = Flow(as_)
    for step, org, user in HAPPY:
        flow.run(step, org, user)
    wait_state(as_, "hospital", flow.id, "STORED")
    with as_("hospital", "operator1") as d:
        with pytest.raises(WrongState, match="is STORED: step ReissueQR needs state"):
            d.reissue_qr(flow.id, sha256_hex(secrets.token_urlsafe(32)))
        assert d.get(flow.id)["qrTokenSha256"] == flow.donor.qr_token_sha256


def _token(url: str) -> str:
    return url.rsplit("/t/", 1)[1]


def _body(path) -> str:
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    return msg.get_body(("plain",)).get_content()


def test_pipeline_reissue_mails_a_new_qr_and_the_old_one_opens_nothing(fabric, profiles,
                                                                       tmp_path):
    with run_server(tmp_path) as server:
        base = Settings.for_run_dir(fabric.run, "hospital", mail=server.settings())
        settings = dataclasses.replace(base, home=tmp_path / "pipeline")  # a database of its own
        with open_pipeline(settings) as p:
            reg = p.register(DONOR_EMAIL)
            first_mail = wait_message(server.folder)
            re1 = p.reissue_qr(reg.donation_id)  # the address unsealed from the account
            second_mail = wait_message(server.folder, 2)
            # The operator may type the address, but only the donor's own.
            with pytest.raises(InvalidInput, match="not the donor's"):
                p.reissue_qr(reg.donation_id, "someone.else@example.org")
            re2 = p.reissue_qr(reg.donation_id, "  " + DONOR_EMAIL.upper())
            third_mail = wait_message(server.folder, 3)
            donation = p.ledger.donations(p.config.operator_actor).get(reg.donation_id)

            tokens = [_token(r.viewer_url) for r in (reg, re1, re2)]
            assert len(set(tokens)) == 3
            assert (re1.donation_id, re1.account_id) == (reg.donation_id, reg.account_id)
            assert re1.message_id and re2.message_id and re1.message_id != re2.message_id
            assert donation["qrTokenSha256"] == sha256_hex(tokens[2])
            assert donation["state"] == "REGISTERED"
            assert reg.viewer_url in _body(first_mail)
            assert re1.viewer_url in _body(second_mail)
            assert re2.viewer_url in _body(third_mail)
            assert len(list(server.folder.glob("*.eml"))) == 3, "a refused re-issue mails nothing"

            # Only hashes went through SQL and the ledger: no token in the outbox rows.
            with p.db.session() as s:
                payloads = " ".join(i.payload for i in s.scalars(select(OutboxItem)))
            for t in tokens:
                assert t not in payloads
            assert sha256_hex(tokens[2]) in payloads

            db = rebuilt_index(profiles, tmp_path)
            assert indexed(db, sha256_hex(tokens[2])) == [reg.donation_id]
            assert indexed(db, sha256_hex(tokens[0])) == []
            assert indexed(db, sha256_hex(tokens[1])) == []

            # Once erased, nothing here links the donor to the donation: no re-issue.
            p.revoke(reg.donation_id)
            with pytest.raises(PipelineError, match="has no open record here"):
                p.reissue_qr(reg.donation_id)
        assert len(list(server.folder.glob("*.eml"))) == 3
