"""client.findings: signed findings verify from the certificate alone; bad ones are refused."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from client import findings
from client.gateway import Identity, Signer

STUDY = ["a" * 64, "b" * 64]


def _identity(key: ec.EllipticCurvePrivateKey) -> Identity:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "clinician1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return Identity("IMSSMSP", cert.public_bytes(Encoding.PEM))


@pytest.fixture
def clinician():
    key = ec.generate_private_key(ec.SECP256R1())
    return _identity(key), Signer(key)


def test_signed_finding_verifies_after_a_round_trip(clinician):
    doc = findings.finding_document("d-" + "1" * 24, "R91.8", "Nódulo de 8 mm.",
                                    study_sha256=STUDY)
    signed = findings.sign(doc, *clinician)
    again = findings.SignedFinding.from_json(signed.to_json())
    again.verify()
    assert again.sha256 == signed.sha256 and len(signed.sha256) == 64
    assert again.signer_sha256 == signed.signer_sha256


def test_a_changed_document_does_not_verify(clinician):
    signed = findings.sign(findings.finding_document("d-1", "R91.8", study_sha256=STUDY),
                           *clinician)
    forged = findings.SignedFinding({**signed.document, "findingCode": "C34.1"},
                                    signed.signature, signed.certificate_pem, signed.msp_id)
    with pytest.raises(findings.FindingError, match="does not verify"):
        forged.verify()


def test_another_key_is_refused(clinician):
    identity, _ = clinician
    other = Signer(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(findings.FindingError, match="does not match"):
        findings.sign(findings.finding_document("d-1", "R91.8", study_sha256=STUDY),
                      identity, other)


@pytest.mark.parametrize(("code", "text", "message"), [
    ("R918", "", "ICD-10"),
    ("maria", "", "ICD-10"),
    ("R91.8", "Paciente María Guadalupe Hernández López, CURP HELM850312MDFRPR09",
     "personal data"),
    ("R91.8", "x" * 2001, "over 2000"),
])
def test_bad_findings_are_refused(code, text, message):
    with pytest.raises(findings.FindingError, match=message) as e:
        findings.finding_document("d-1", code, text, study_sha256=STUDY)
    assert "Hernández" not in str(e.value) and "HELM" not in str(e.value)
