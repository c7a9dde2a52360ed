"""The pipeline's small parts that need no server: intake, receipts, secrets."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

from client import intake
from client.errors import InvalidInput, NotFound
from client.receipt import Receipt, build_receipt, verify_receipt
from client.settings import load_secrets

CT = Path(get_testdata_file("CT_small.dcm")).read_bytes()
SHA = ["a" * 64, "b" * 64]


def test_inputs_are_read_in_name_order_and_non_dicom_named_by_position(tmp_path):
    (tmp_path / "b.dcm").write_bytes(CT)
    (tmp_path / "a.dcm").write_bytes(CT)
    assert len(list(intake.read_inputs(tmp_path))) == 2
    (tmp_path / "maria_hernandez_lopez.txt").write_text("no soy DICOM")
    with pytest.raises(InvalidInput, match="input file 3 of 3 is not DICOM") as e:
        list(intake.read_inputs(tmp_path))
    assert "maria" not in str(e.value)


def test_missing_input_is_a_clear_error(tmp_path):
    with pytest.raises(InvalidInput, match="no such file"):
        list(intake.read_inputs(tmp_path / "nope"))


def test_deidentify_staged_works_in_a_scratch_folder_it_removes(monkeypatch, tmp_path):
    monkeypatch.setattr(intake, "SCRATCH", tmp_path)
    out = intake.deidentify_staged([CT], secret=b"k" * 32,
                                   donor="d-" + "1" * 24, jobs=1)
    assert len(out) == 1 and out[0].data[128:132] == b"DICM"
    assert out[0].report["profile_id"] == "library" and len(out[0].report_sha256) == 64
    assert "datos" in out[0].summary_es
    assert list(tmp_path.iterdir()) == []


def _receipt() -> Receipt:
    erased = {"txId": "e" * 64, "blockNumber": 9, "timestamp": "2026-12-01T10:00:00Z",
              "step": "Erase", "data": {"deletion": {"deletedSha256": SHA}}}
    revoked = {"txId": "r" * 64, "blockNumber": 8, "step": "Revoke"}
    deleted = [{"object": "s-" + "1" * 32, "kind": "original", "sha256": SHA[0]},
               {"object": "s-" + "2" * 32, "kind": "report", "sha256": SHA[1]}]
    return build_receipt("d-" + "1" * 24, erased, revoked, deleted, staging_bucket="staging")


def test_receipt_round_trip_and_spanish_text():
    r = _receipt()
    again = Receipt.from_json(r.to_json())
    assert again.to_dict() == r.to_dict()
    text = r.text_es()
    assert "bloque 9" in text and SHA[0] in text and "reporte de desidentificación" in text
    with pytest.raises(ValueError, match="not a Traza erasure receipt"):
        Receipt.from_json('{"kind": "other"}')


class FakeDonations:
    def __init__(self, state="ERASED", link_purged=True):
        self.state, self.link_purged = state, link_purged

    def get(self, did):
        return {"state": self.state, "stagedSha256": [SHA[0]]}

    def history(self, did):
        return [{"event": {"step": "Erase", "txId": "e" * 64, "data": {"deletion": {
            "deletedSha256": SHA, "keyDestroyed": True, "linkPurged": True}}}}]

    def donor_link(self, did):
        if self.link_purged:
            raise NotFound("NOT_FOUND: donation has no donor link")
        return {}


def test_verify_receipt_passes_and_names_each_failure():
    r = _receipt()
    assert all(c.ok for c in verify_receipt(r, FakeDonations(), lambda name: False))
    failed = {c.what for c in verify_receipt(r, FakeDonations("REVOKED", False),
                                             lambda name: name.endswith("1"))
              if not c.ok}
    assert failed == {"la donación está en estado ERASED", "el vínculo con el donante fue purgado",
                      "ningún objeto listado sigue en MinIO"}


def test_pipeline_secrets_are_0600_and_stable(tmp_path):
    first = load_secrets(tmp_path)
    assert load_secrets(tmp_path) == first and len(first.deid) == 32
    folder = tmp_path / "secrets"
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert {stat.S_IMODE(os.stat(f).st_mode) for f in folder.iterdir()} == {0o600}
