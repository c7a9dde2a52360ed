"""The Storage SCP on loopback with a fake pipeline: echo, refusals, limits, TLS.

The real pipeline (MinIO, Fabric) is in tests/integration/test_intake.py.
"""

from __future__ import annotations

import io
import os
import ssl
import time

import pydicom
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from client.donations import Source
from client.pacs import (
    CANNOT_STORE,
    NOT_AUTHORIZED,
    OUT_OF_RESOURCES,
    SUCCESS,
    PacsSettings,
    StoreSCP,
    TLSFiles,
)
from client.synthetic import person
from tests.data.pacs import echo, push, study
from tests.unit.conftest import key_pem, make_cert

PORT = 11112 + int(os.environ.get("TRAZA_TEST_PORT_SHIFT", "5")) + 1000
DID = "d-" + "b" * 24


class FakeIntake:
    """Records what the SCP hands the pipeline."""

    def __init__(self, expected: set[str], fail_staging: bool = False) -> None:
        self.expected, self.fail_staging = expected, fail_staging
        self.staged: list[bytes] = []
        self.recorded: list[str] = []

    def expected_donation(self, study_uid):
        return (DID, Source("synthetic")) if study_uid in self.expected else None

    def stage_received(self, donation_id, instances):
        if self.fail_staging:
            raise OSError("MinIO down")
        self.staged += instances

    def record_received(self, donation_id):
        self.recorded.append(donation_id)
        return ["h"] * len(self.staged)


def _wait(cond, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.05)
    return cond()


@pytest.fixture
def instances():
    return study(person(3), series=2, per_series=2)


def _scp(fake, **settings):
    return StoreSCP(fake, PacsSettings(port=PORT, **settings))


def test_an_expected_study_is_stored_and_acquired_once_at_release(instances):
    fake = FakeIntake({instances[0].StudyInstanceUID})
    with _scp(fake):
        assert echo(PORT) == SUCCESS
        assert push(instances, PORT) == [SUCCESS] * 4
        assert _wait(lambda: fake.recorded == [DID])
    got = {pydicom.dcmread(io.BytesIO(b)).SOPInstanceUID for b in fake.staged}
    assert got == {ds.SOPInstanceUID for ds in instances}
    assert all(b[128:132] == b"DICM" for b in fake.staged)  # Part 10, as the anonymizer reads


def test_an_unknown_study_is_refused_not_authorized_and_nothing_recorded(instances):
    fake = FakeIntake(set())
    with _scp(fake):
        assert push(instances[:2], PORT) == [NOT_AUTHORIZED] * 2
        time.sleep(0.3)
    assert fake.staged == [] and fake.recorded == []


def test_the_per_association_instance_limit_refuses_out_of_resources(instances):
    fake = FakeIntake({instances[0].StudyInstanceUID})
    with _scp(fake, max_instances=3):
        assert push(instances, PORT) == [SUCCESS] * 3 + [OUT_OF_RESOURCES]
        assert _wait(lambda: fake.recorded == [DID])
    assert len(fake.staged) == 3


def test_the_byte_limit_refuses_out_of_resources(instances):
    fake = FakeIntake({instances[0].StudyInstanceUID})
    with _scp(fake, max_instance_bytes=100):
        assert push(instances[:1], PORT) == [OUT_OF_RESOURCES]


def test_staging_down_answers_a_failure_the_scu_can_retry(instances):
    fake = FakeIntake({instances[0].StudyInstanceUID}, fail_staging=True)
    with _scp(fake) as scp:
        assert push(instances[:1], PORT) == [CANNOT_STORE]
        time.sleep(0.3)
    assert fake.recorded == [] and scp.errors


def test_another_called_ae_title_or_calling_ae_is_rejected(instances):
    fake = FakeIntake({instances[0].StudyInstanceUID})
    with _scp(fake, calling_ae_titles=("HGZ32PACS",)):
        assert echo(PORT, called="OTHER") is None
        assert echo(PORT) is None  # calling HOSPITALPACS is not on the list
    with _scp(fake):
        assert echo(PORT, called="OTHER") is None


@pytest.mark.parametrize("title", ["", "A" * 17, "A\\B"])
def test_bad_ae_titles_are_refused(title):
    with pytest.raises(ValueError, match="AE title"):
        PacsSettings(ae_title=title)


def test_tls_with_client_certificates(tmp_path, instances):
    ca_key, srv_key, cli_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = make_cert(ca_key, "Traza test CA", ca=True)
    files = {"ca.pem": ca, "srv.pem": make_cert(srv_key, "scp", issuer_key=ca_key,
                                                issuer_name="Traza test CA",
                                                dns_names=("localhost",)),
             "srv.key": key_pem(srv_key),
             "cli.pem": make_cert(cli_key, "pacs", issuer_key=ca_key,
                                  issuer_name="Traza test CA"), "cli.key": key_pem(cli_key)}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    tls = TLSFiles(tmp_path / "srv.pem", tmp_path / "srv.key", tmp_path / "ca.pem")
    fake = FakeIntake({instances[0].StudyInstanceUID})
    client = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(tmp_path / "ca.pem"))
    with _scp(fake, tls=tls):
        no_cert = (client, "localhost")
        assert echo(PORT, tls=no_cert) is None  # the SCP requires the PACS's certificate
        client.load_cert_chain(str(tmp_path / "cli.pem"), str(tmp_path / "cli.key"))
        assert echo(PORT, tls=(client, "localhost")) == SUCCESS
        assert push(instances[:1], PORT, tls=(client, "localhost")) == [SUCCESS]
        assert echo(PORT) is None  # plain TCP to a TLS port
