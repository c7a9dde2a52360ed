"""Identities and signers loaded from MSP folders and PEM files."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fabric_protos.msp import identities_pb2

from client.gateway import Identity, Signer


def test_identity_from_msp_dir(gateway_member):
    identity = Identity.from_msp_dir("UniversityMSP", gateway_member.msp_dir)
    assert identity.msp_id == "UniversityMSP"
    assert identity.certificate == gateway_member.cert_pem


def test_creator_is_serialized_identity(gateway_member):
    creator = gateway_member.identity.creator
    serialized = identities_pb2.SerializedIdentity.FromString(creator)
    assert serialized.mspid == "UniversityMSP"
    assert serialized.id_bytes == gateway_member.cert_pem


def test_identity_from_pem_file(gateway_member):
    path = gateway_member.msp_dir / "signcerts" / "cert.pem"
    assert Identity.from_pem_file("HospitalMSP", path).msp_id == "HospitalMSP"


def test_identity_accepts_str_pem(gateway_member):
    identity = Identity("IMSSMSP", gateway_member.cert_pem.decode())
    assert identity.certificate == gateway_member.cert_pem


def test_signer_from_msp_dir_signs_for_the_certificate(gateway_member):
    signer = Signer.from_msp_dir(gateway_member.msp_dir)
    identity = Identity.from_msp_dir("UniversityMSP", gateway_member.msp_dir)
    assert signer.matches(identity.x509)
    identity.x509.public_key().verify(signer.sign(b"m"), b"m", ec.ECDSA(hashes.SHA256()))


def test_signer_from_pem_file(gateway_member):
    key_file = next((gateway_member.msp_dir / "keystore").iterdir())
    assert Signer.from_pem_file(key_file).matches(gateway_member.identity.x509)


def test_signer_picks_key_matching_signcert_among_several(gateway_member, gateway_kit):
    keystore = gateway_member.msp_dir / "keystore"
    # An old key left by a re-enrolment, sorted before the current one.
    (keystore / "0000_sk").write_bytes(gateway_kit.key_pem(ec.generate_private_key(ec.SECP256R1())))
    signer = Signer.from_msp_dir(gateway_member.msp_dir)
    assert signer.matches(gateway_member.identity.x509)


def test_signer_refuses_when_no_key_matches(gateway_member, gateway_kit):
    keystore = gateway_member.msp_dir / "keystore"
    for path in keystore.iterdir():
        path.unlink()
    for name in ("a_sk", "b_sk"):
        key = ec.generate_private_key(ec.SECP256R1())
        (keystore / name).write_bytes(gateway_kit.key_pem(key))
    with pytest.raises(ValueError, match="matches the signcert"):
        Signer.from_msp_dir(gateway_member.msp_dir)


def _remove_signcerts(msp):
    for path in (msp / "signcerts").iterdir():
        path.unlink()


def _second_signcert(msp):
    (msp / "signcerts" / "other.pem").write_bytes((msp / "signcerts" / "cert.pem").read_bytes())


def _garbage_signcert(msp):
    (msp / "signcerts" / "cert.pem").write_bytes(b"not a certificate")


@pytest.mark.parametrize(
    ("damage", "error", "message"),
    [
        (_remove_signcerts, FileNotFoundError, "no certificate"),
        (_second_signcert, ValueError, "holds 2 certificates"),
        (_garbage_signcert, ValueError, "not PEM X.509"),
    ],
)
def test_bad_msp_signcerts(gateway_member, damage, error, message):
    damage(gateway_member.msp_dir)
    with pytest.raises(error, match=message):
        Identity.from_msp_dir("UniversityMSP", gateway_member.msp_dir)


def test_empty_keystore(gateway_member):
    for path in (gateway_member.msp_dir / "keystore").iterdir():
        path.unlink()
    with pytest.raises(FileNotFoundError, match="no private key"):
        Signer.from_msp_dir(gateway_member.msp_dir)


def test_missing_msp_dir(tmp_path):
    with pytest.raises(FileNotFoundError):
        Identity.from_msp_dir("UniversityMSP", tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError):
        Signer.from_msp_dir(tmp_path / "nowhere")


def test_msp_id_required(gateway_member):
    with pytest.raises(ValueError, match="MSP id"):
        Identity("", gateway_member.cert_pem)


def test_signer_does_not_match_other_certificate(gateway_member):
    other = Signer(ec.generate_private_key(ec.SECP256R1()))
    assert not other.matches(gateway_member.identity.x509)
