"""The web's signed-in pages on the real network (Fabric, MinIO, SMTP, SQLite).

Staff accounts get their own Fabric identities from the orgs' CAs (``network.staff``); an
operator uploads a study through the intake page, a university clinician records a finding,
and each of those transactions is created (signed) by that person's own certificate. The
donor signs in with the code the SMTP server received, reviews, asks for changes (the
pipeline de-identifies and resubmits), signs in again and accepts; the decisions are
created by the intake org's service identity, as the contract's lifecycle says.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import io
import logging
import re
import time
from pathlib import Path

import pydicom
import pyotp
import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from fabric_protos.common import common_pb2
from pydicom.data import get_testdata_file

from client.cli import cli
from client.db import Database
from client.db.models import StaffAccount
from client.donations import Donations
from client.evidence import parse_transactions
from client.gateway import Identity
from client.index import EventIndex
from client.mail import MailSettings
from client.settings import Settings, open_pipeline
from client.synthetic import person
from client.workflow import PipelineConfig
from network.staff import enroll_person
from web import WebConfig, accounts, create_app
from web.security import TokenBucket

from .helpers import leaks

pytestmark = pytest.mark.timeout(900)
BASE = "https://localhost"
PASSWORD = "una contraseña larga de prueba"


def _token(client, path: str) -> str:
    html = client.get(path, base_url=BASE).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _post(client, path: str, data=None, *, form: str | None = None, **kw):
    return client.post(path, data={"csrf_token": _token(client, form or path), **(data or {})},
                       base_url=BASE, **kw)


def _wait_code(folder: Path, before: set[Path], timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = sorted(set(folder.glob("*.eml")) - before)
        if new:
            msg = email.message_from_bytes(new[-1].read_bytes(), policy=email.policy.default)
            body = msg.get_body(("plain",)).get_content()
            return re.search(r"\b(\d{6})\b", body).group(1)
        time.sleep(0.2)
    raise AssertionError("no code e-mail arrived")


def _creator_sha256(network, tx_id: str) -> str:
    """SHA-256 of the DER certificate that signed transaction ``tx_id`` (its creator)."""
    raw = network.get_contract("qscc").evaluate_transaction(
        "GetBlockByTxID", network.name, tx_id)
    tx = next(t for t in parse_transactions(common_pb2.Block.FromString(raw))
              if t.tx_id == tx_id)
    cert = x509.load_pem_x509_certificate(tx.creator.id_bytes)
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


def _study(seed: int) -> tuple[bytes, list[str]]:
    p = person(seed)
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.PatientName, ds.PatientID, ds.InstitutionName = p.name.pn, p.mrn, p.institution.name
    buf = io.BytesIO()
    ds.save_as(buf)
    return buf.getvalue(), [p.name.pn, p.mrn]


@pytest.fixture(scope="module")
def site(fabric, tmp_path_factory):
    """The web app of Hospital's pipeline, with an operator and a university clinician.

    The operator is added with ``traza web user add`` (the composition root enrolls them
    at Hospital's CA); the clinician with :func:`network.staff.enroll_person` directly.
    """
    tmp = tmp_path_factory.mktemp("web-site")
    wallet = fabric.run / "web" / "wallet" / "profiles"
    settings = Settings(home=tmp / "pipeline", profiles_dir=fabric.run / "profiles",
                        objects_file=fabric.run / "minio" / "hospital.json",
                        database_url=f"sqlite:///{tmp / 'traza.db'}",
                        mail=MailSettings(fabric.mail.host, fabric.mail.port,
                                          "no-responder@traza.local"),
                        pipeline=PipelineConfig(intake_org="hospital"),
                        identity_dirs=(wallet,))
    app = create_app(WebConfig(database_url=settings.database, home=fabric.run / "web",
                               pipeline=settings, intake_org="hospital"),
                     limiter=TokenBucket(6000, 1000))
    app.extensions["traza_auth_bucket"] = TokenBucket(6000, 1000)
    db = app.extensions["traza_db"]
    r = CliRunner().invoke(cli, ["web", "user", "add", "opera", "--role", "operator",
                                 "--org", "hospital", "--database-url", settings.database],
                           input=f"{PASSWORD}\n{PASSWORD}\n",
                           env={"TRAZA_TOPOLOGY": str(fabric.run / "topology.yaml"),
                                "TRAZA_NETWORK_RUN": str(fabric.run), "TRAZA_MAIL": "off"})
    assert r.exit_code == 0, r.output
    secret = re.search(r"secret: (\w+)",
                       (fabric.run / "web" / "totp" / "opera.txt").read_text()).group(1)
    with db.session() as s:
        cert = s.query(StaffAccount).filter_by(username="opera").one().certificate_sha256
    people = {"opera": (secret, cert)}
    _, cert = enroll_person(fabric, "university", accounts.fabric_user("clara"), "clinician")
    with db.session() as s:
        made = accounts.create(s, app.extensions["traza_accounts_key"], "clara", PASSWORD,
                               role="clinician", org="university", certificate_sha256=cert)
    people["clara"] = (made.totp_secret, cert)
    return app, settings, people


def _staff(app, username: str, secret: str):
    client = app.test_client()
    r = _post(client, "/personal/entrar", {"username": username, "password": PASSWORD,
                                           "code": pyotp.TOTP(secret).now()})
    assert r.status_code == 302, r.get_data(as_text=True)
    return client


def _index(settings: Settings, profiles) -> None:
    reader = profiles("imss", "regulator1")
    db = Database.open(settings.database)
    with reader.gateway() as gw:
        EventIndex(db).rebuild(gw.get_network(reader.channel), reader.chaincode)
    db.dispose()


def _donor(app, fabric, email_addr: str):
    client = app.test_client()
    before = set((fabric.run / "mail").glob("*.eml"))
    assert _post(client, "/entrar", {"email": email_addr}).status_code == 302
    code = _wait_code(fabric.run / "mail", before)
    assert _post(client, "/entrar/codigo", {"code": code}).status_code == 302
    return client


def test_staff_and_donor_steps_are_signed_by_their_own_identities(site, fabric, profiles,
                                                                  caplog):
    caplog.set_level(logging.INFO)
    app, settings, people = site
    study, planted = _study(31)
    donor_email = person(31).email
    with open_pipeline(settings) as p:
        did = p.register(donor_email).donation_id
        p.consent(did)
    # the operator's intake through the web: Acquire and Deidentify signed by them
    operator = _staff(app, "opera", people["opera"][0])
    r = _post(operator, "/personal/ingreso",
              {"donation_id": did, "source": "human", "age_band": "40-64",
               "files": (io.BytesIO(study), "estudio.dcm", "application/dicom")},
              content_type="multipart/form-data")
    assert r.status_code == 200, r.get_data(as_text=True)
    # the university clinician's finding: Diagnose signed by them
    clinician = _staff(app, "clara", people["clara"][0])
    r = _post(clinician, "/personal/hallazgos",
              {"donation_id": did, "finding_code": "R91.8", "text": "nódulo pulmonar"})
    assert r.status_code == 200, r.get_data(as_text=True)
    with open_pipeline(settings) as p:
        p.submit_for_review(did)
    _index(settings, profiles)

    # the donor: code by e-mail, review, ask for changes
    donor = _donor(app, fabric, donor_email)
    html = donor.get("/revision/", base_url=BASE).get_data(as_text=True)
    assert planted[0] in html  # the donor sees their own original values
    sha = re.search(r"/revision/imagen/([0-9a-f]{64})/0\.png", html).group(1)
    png = donor.get(f"/revision/imagen/{sha}/0.png", base_url=BASE)
    assert png.status_code == 200 and png.data[:4] == b"\x89PNG"
    r = _post(donor, "/revision/cambios", {"comment": "Oculten también la institución."},
              form="/revision/")
    assert r.status_code == 302
    assert donor.get(f"/revision/imagen/{sha}/0.png", base_url=BASE).status_code == 404

    # the pipeline de-identifies again and resubmits; the donor signs in again and accepts
    with open_pipeline(settings) as p:
        p.deidentify(did)
        p.submit_for_review(did)
    _index(settings, profiles)
    donor = _donor(app, fabric, donor_email)
    assert "Revise su donación" in donor.get("/revision/", base_url=BASE).get_data(as_text=True)
    assert _post(donor, "/revision/aceptar", form="/revision/").status_code == 302
    assert "ya no se pueden ver" in donor.get("/revision/", base_url=BASE).get_data(
        as_text=True)

    # the ledger: the state, and who created each step's transaction
    service = profiles("hospital", "service1")
    service_sha = hashlib.sha256(Identity.from_msp_dir(service.msp_id, service.msp_dir)
                                 .x509.public_bytes(Encoding.DER)).hexdigest()
    with service.gateway() as gw:
        network = gw.get_network(service.channel)
        donations = Donations(network.get_contract(service.chaincode))
        assert donations.get(did)["state"] == "ACCEPTED"
        steps = [v["event"] for v in reversed(donations.history(did)) if v.get("event")]
        by_step: dict[str, list[dict]] = {}
        for ev in steps:
            by_step.setdefault(ev["step"], []).append(ev)
        expected = {"Acquire": people["opera"][1], "Diagnose": people["clara"][1],
                    "RequestChanges": service_sha, "Accept": service_sha}
        for step, cert in expected.items():
            ev = by_step[step][0]
            assert ev["executor"] == cert, step
            assert _creator_sha256(network, ev["txId"]) == cert, step
        assert by_step["Deidentify"][0]["executor"] == people["opera"][1]  # the web's
        assert by_step["Diagnose"][0]["mspId"] == "UniversityMSP"
    # staff accounts keep the certificate the steps were signed with; no PHI in the web's log
    with app.extensions["traza_db"].session() as s:
        certs = {a.username: a.certificate_sha256 for a in s.query(StaffAccount)}
    assert certs == {u: c for u, (_, c) in people.items()}
    assert leaks(planted + [donor_email], caplog.text.encode()) == []
