"""Item: a name only file A's header carries is removed from file B's text and pixels."""

from __future__ import annotations

import pytest

from anonymizer.engines import Engines
from anonymizer.pipeline import run
from tests.data.dicom import fakes, synth

SECRET = b"s" * 32
MOTHER = "QUETZALLI^XOCHIQUETZAL"  # in no lexicon, and not the fake redactor's PHI


def _donor(folder):
    folder.mkdir()
    a = synth.make_dataset(1)
    a.PatientMotherBirthName = MOTHER
    b = synth.make_dataset(2)
    b.ImageComments = "Acompañada por Xochiquetzal Quetzalli, sin incidencias"
    (folder / "a.dcm").write_bytes(synth.to_bytes(a))
    (folder / "b.dcm").write_bytes(synth.to_bytes(b))


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_name_from_file_a_is_removed_from_file_b(tmp_path, jobs):
    _donor(tmp_path / "in")
    result = run(tmp_path / "in", tmp_path / "out", jobs=jobs, secret=SECRET, donor="d",
                 engines=fakes.ENGINES, keep_names=True)
    assert result.ok
    b = synth.read((tmp_path / "out" / "b.dcm").read_bytes())
    assert "Quetzalli" not in b.ImageComments and "Xochiquetzal" not in b.ImageComments
    assert b.ImageComments.startswith("Acompañada por [")
    assert "sin incidencias" in b.ImageComments


def test_without_the_first_pass_each_file_knows_only_its_own(tmp_path):
    _donor(tmp_path / "in")
    run(tmp_path / "in", tmp_path / "out", jobs=1, secret=SECRET, donor="d",
        engines=fakes.ENGINES, keep_names=True, known_pass=False)
    b = synth.read((tmp_path / "out" / "b.dcm").read_bytes())
    assert "Quetzalli" in b.ImageComments  # what the first pass is for


def test_scopes_do_not_share_values_without_a_donor(tmp_path):
    src = tmp_path / "in"
    _donor(src)
    for name, pid in (("a", "P-1"), ("b", "P-2")):
        ds = synth.read((src / f"{name}.dcm").read_bytes())
        ds.PatientID = pid
        (src / f"{name}.dcm").write_bytes(synth.to_bytes(ds))
    run(src, tmp_path / "out", jobs=1, secret=SECRET, donor=None, engines=fakes.ENGINES,
        keep_names=True)
    b = synth.read((tmp_path / "out" / "b.dcm").read_bytes())
    # Another patient's mother is not this patient's: per-patient scopes stay apart.
    assert "Quetzalli" in b.ImageComments


seen_checks: list = []


def _frames_finder(frames, *, is_personal=None, **_options):
    seen_checks.append(is_personal)
    return [[] for _ in frames]


def test_the_ocr_gets_the_donors_known_values(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    a = synth.make_dataset(1)
    a.PatientMotherBirthName = MOTHER
    (src / "a.dcm").write_bytes(synth.to_bytes(a))
    (src / "us.dcm").write_bytes(synth.to_bytes(synth.make_dataset(3, modality="US")))
    engines = Engines(fakes.redact, fakes.find_text_boxes, fakes.mask, _frames_finder,
                      reads_text=True)
    seen_checks.clear()
    assert run(src, tmp_path / "out", jobs=1, secret=SECRET, donor="d", engines=engines).ok
    (is_personal,) = seen_checks
    # The mother's name is only in a.dcm's header: us.dcm's burned-in lines are checked
    # against it too, so a line naming her is never kept as a clinical line.
    assert is_personal("MADRE XOCHIQUETZAL")
    assert not is_personal("DBP 48.2 mm")
