"""Outputs pass dciodvfy (dicom3tools) with no error that the input did not already have."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from pydicom.uid import JPEG2000Lossless, RLELossless

from anonymizer.pipeline import deidentify_bytes
from tests.data.dicom import fakes, synth

DCIODVFY = shutil.which("dciodvfy")
pytestmark = pytest.mark.skipif(
    DCIODVFY is None, reason="dciodvfy not installed (Debian package dicom3tools)")


def errors(path) -> set[str]:
    run = subprocess.run([DCIODVFY, str(path)], capture_output=True, text=True,
                         errors="replace", timeout=60)
    return {line.strip() for line in (run.stdout + run.stderr).splitlines()
            if line.startswith("Error")}


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
}


@pytest.mark.parametrize("profile", ["library", "basic"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_no_new_dciodvfy_errors(tmp_path, case, profile):
    data = synth.to_bytes(CASES[case]())
    out, _ = deidentify_bytes(data, profile=profile, secret=b"k" * 32, donor="d",
                              engines=fakes.ENGINES)
    src, dst = tmp_path / "in.dcm", tmp_path / "out.dcm"
    src.write_bytes(data)
    dst.write_bytes(out)
    before, after = errors(src), errors(dst)
    assert after - before == set()


def test_dciodvfy_does_catch_errors(tmp_path):
    ds = synth.make_dataset()
    del ds.SOPInstanceUID
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(synth.to_bytes(ds))
    assert any("SOPInstanceUID" in e for e in errors(bad))
