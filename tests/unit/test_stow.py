"""DICOMweb STOW-RS on loopback with a fake pipeline: the same checks as the SCP, over HTTP."""

from __future__ import annotations

import os

import pytest

from client.pacs import NOT_AUTHORIZED, PacsSettings, StoreSCP
from client.stow import StowRS, split_multipart
from client.synthetic import person
from tests.data.pacs import BOUNDARY, multipart, part10, stow, study
from tests.unit.test_pacs import DID, FakeIntake

PORT = 11112 + int(os.environ.get("TRAZA_TEST_PORT_SHIFT", "5")) + 1100
def _post(body: bytes, ctype: str | None = None) -> tuple[int, dict]:
    return stow(PORT, body, ctype)


@pytest.fixture
def instances():
    return study(person(4), series=2, per_series=1)


def test_parts_are_split_exactly_as_sent():
    data = b"\x00\r\n--not-a-boundary\r\n\xff"
    assert split_multipart(multipart([data, b"x"]), BOUNDARY) == [
        ({"content-type": "application/dicom"}, data), ({"content-type": "application/dicom"},
                                                        b"x")]


def test_expected_instances_are_stored_and_others_listed_as_failed(instances):
    fake = FakeIntake({instances[0].StudyInstanceUID})
    other = study(person(5), series=1, per_series=1)[0]
    with StoreSCP(fake, PacsSettings(port=PORT + 1)) as scp, StowRS(scp, PORT):
        status, body = _post(multipart([part10(d) for d in (*instances, other)] + [b"no DICOM"]))
    assert status == 202
    stored = [s["00081155"]["Value"][0] for s in body["00081199"]["Value"]]
    assert stored == [d.SOPInstanceUID for d in instances]
    reasons = [f["00081197"]["Value"][0] for f in body["00081198"]["Value"]]
    assert reasons == [NOT_AUTHORIZED, 0xC000]
    assert fake.recorded == [DID] and len(fake.staged) == 2  # Acquire before the response


def test_nothing_stored_is_409_and_a_wrong_media_type_415(instances):
    fake = FakeIntake(set())
    with StoreSCP(fake, PacsSettings(port=PORT + 1)) as scp, StowRS(scp, PORT):
        assert _post(multipart([part10(instances[0])]))[0] == 409
        assert _post(b"{}", "application/json")[0] == 415
        assert _post(multipart([]), "multipart/related; type=\"application/dicom+xml\"; "
                     f"boundary={BOUNDARY}")[0] == 415
    assert fake.staged == [] and fake.recorded == []


def test_a_request_over_the_byte_limit_is_413(instances):
    fake = FakeIntake({instances[0].StudyInstanceUID})
    with StoreSCP(fake, PacsSettings(port=PORT + 1, max_bytes=1000)) as scp, StowRS(scp, PORT):
        assert _post(multipart([part10(d) for d in instances]))[0] == 413
    assert fake.staged == []
