"""Outputs pass dciodvfy (dicom3tools) with no error that the input did not already have.

Run over every DICOM corpus the tests generate: the synthetic cases below, the fuzzer's
seeds (big endian, deflated, RLE, character sets), the SR of ``tests/data/dicom/sr.py``
and the bench corpus (``bench.deid.corpus``, the size its own tests use).
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from pydicom.uid import JPEG2000Lossless, RLELossless

from anonymizer.pipeline import deidentify_bytes
from tests.data.dicom import fakes, mutate, sr, synth

DCIODVFY = shutil.which("dciodvfy")
VALUE = re.compile(r"\] = <[^>]*>")
pytestmark = pytest.mark.skipif(
    DCIODVFY is None, reason="dciodvfy not installed (Debian package dicom3tools)")


def errors(path) -> set[str]:
    run = subprocess.run([DCIODVFY, str(path)], capture_output=True, text=True,
                         errors="replace", timeout=60)
    # Values are blanked: an error the input had stays the same error with a cleaned value.
    return {VALUE.sub("] = <value>", line.strip())
            for line in (run.stdout + run.stderr).splitlines() if line.startswith("Error")}


def _compressed(syntax, **kw):
    ds = synth.make_dataset(5, modality="US", frames=2, **kw)
    ds.compress(syntax, **({"encoding_plugin": "pydicom"} if syntax == RLELossless else {}))
    return ds


CASES = {
    "ct": lambda: synth.make_dataset(),
    "ct-latin1": synth.latin1_dataset,
    "ct-iso2022": synth.japanese_dataset,
    "us-masked": lambda: synth.make_dataset(3, modality="US", frames=2, text_box=True),
    "us-clean": lambda: synth.make_dataset(3, modality="US", frames=2),
    "ot": lambda: synth.make_dataset(4, modality="OT", text_box=True),
    "us-rle-masked": lambda: _compressed(RLELossless, text_box=True),
    "us-j2k": lambda: _compressed(JPEG2000Lossless),
    "sr-comprehensive": sr.sr,
}


def _new_errors(tmp_path, data: bytes, profile: str) -> set[str]:
    out, _ = deidentify_bytes(data, profile=profile, secret=b"k" * 32, donor="d",
                              engines=fakes.ENGINES)
    src, dst = tmp_path / "in.dcm", tmp_path / "out.dcm"
    src.write_bytes(data)
    dst.write_bytes(out)
    return errors(dst) - errors(src)


@pytest.mark.parametrize("profile", ["library", "basic"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_no_new_dciodvfy_errors(tmp_path, case, profile):
    data = CASES[case]()
    data = data if isinstance(data, bytes) else synth.to_bytes(data)
    assert _new_errors(tmp_path, data, profile) == set()


@pytest.mark.parametrize("seed", range(len(mutate.seeds())))
def test_no_new_dciodvfy_errors_on_the_fuzzers_seeds(tmp_path, seed):
    assert _new_errors(tmp_path, mutate.seeds()[seed], "library") == set()


@pytest.fixture(scope="module")
def bench_corpus(tmp_path_factory):
    from bench.deid.corpus import MIN_FILES, generate_corpus

    root = tmp_path_factory.mktemp("corpus")
    manifest = generate_corpus(root, n_files=MIN_FILES, seed=7, quiet=True)
    return [root / f["path"] for f in manifest.files]


def test_no_new_dciodvfy_errors_on_the_bench_corpus(tmp_path, bench_corpus):
    found = {}
    for i, path in enumerate(bench_corpus):
        new = _new_errors(tmp_path, path.read_bytes(), "library")
        if new:
            found[f"{i}:{path.name}"] = sorted(new)
    assert found == {}


def test_sr_keeps_type_2_and_drops_orphaned_conditionals():
    out, report = deidentify_bytes(synth.to_bytes(sr.sr()), secret=b"k" * 32, donor="d",
                                   engines=fakes.ENGINES)
    ds = synth.read(out)
    assert "ResponsiblePerson" not in ds and "ResponsiblePersonRole" not in ds
    request = ds.ReferencedRequestSequence[0]
    assert request.RequestedProcedureID == "" and "RequestedProcedureID" in request
    assert "ReferencedStudySequence" in request and len(request.ReferencedStudySequence) == 0
    ops = {(a.path, a.operation) for a in report.attributes}
    assert ("ResponsiblePersonRole", "removed") in ops
    assert ("ReferencedRequestSequence[0].RequestedProcedureID", "emptied") in ops


def test_dciodvfy_does_catch_errors(tmp_path):
    ds = synth.make_dataset()
    del ds.SOPInstanceUID
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(synth.to_bytes(ds))
    assert any("SOPInstanceUID" in e for e in errors(bad))


def test_type_1_attribute_gets_a_dummy_in_its_format():
    from anonymizer.dicom import conformance

    # A Type 1 attribute that Table E.1-1 removes (X) gets a dummy instead, where its IOD
    # makes it Type 1: TimezoneOffsetFromUTC's dummy keeps the &ZZXX format.
    iods = [uid for uid in conformance._rules()["sop_classes"]
            if (req := conformance.requirements(uid)) and req.type_of((0x00080201,)) == "1"]
    assert iods, "the tables name an IOD with TimezoneOffsetFromUTC as Type 1"
    ds = synth.make_dataset()
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = iods[0]
    ds.TimezoneOffsetFromUTC = "-0600"
    out, _ = deidentify_bytes(synth.to_bytes(ds), profile="basic", secret=b"k" * 32,
                              donor="d", engines=fakes.ENGINES)
    assert synth.read(out).TimezoneOffsetFromUTC == "+0000"
