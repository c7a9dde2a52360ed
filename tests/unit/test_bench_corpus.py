"""The bench corpus is deterministic and readable, and its scorer can both pass and fail."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset

from bench.deid import run as bench_run
from bench.deid.corpus import MANIFEST_NAME, MIN_FILES, Manifest, generate_corpus
from bench.deid.phi import DONORS
from bench.deid.score import Scorer, ocr_engine
from client.synthetic import DEMO_PERSON

SMALL = MIN_FILES


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    root = tmp_path_factory.mktemp("corpus")
    return root, generate_corpus(root, n_files=SMALL, seed=7, quiet=True)


def _contains_phi(value: Any, variants: list[str]) -> bool:
    if isinstance(value, bytes):  # e.g. a private text read as UN from implicit VR
        text = "\n".join(value.decode(enc, "ignore")
                         for enc in ("utf-8", "latin-1", "utf-16-le", "utf-16-be"))
    elif isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        text = "\\".join(map(str, value))
    else:
        text = str(value)
    text = text.lower()
    return any(v in text for v in variants)


def _strip(ds: Dataset, variants: list[str]) -> None:
    for elem in list(ds):
        if elem.VR == "SQ":
            for item in elem.value:
                _strip(item, variants)
        elif elem.tag != 0x7FE00010 and _contains_phi(elem.value, variants):
            del ds[elem.tag]


def _blank_copy(corpus_dir: Path, manifest: Manifest, out: Path) -> None:
    """Copy the corpus removing every element holding planted PHI and painting text boxes."""
    for entry in manifest.files:
        ds = pydicom.dcmread(corpus_dir / entry["path"])
        variants = [v.lower() for info in manifest.labels_for(entry).values()
                    for v in info["variants"]]
        _strip(ds.file_meta, variants)
        _strip(ds, variants)
        if entry["overlay"]:
            del ds[(entry["overlay"]["group"], 0x3000)]
        if entry["burned_in"]:
            if ds.file_meta.TransferSyntaxUID.is_compressed:
                ds.decompress(generate_instance_uid=False)
            arr = ds.pixel_array.copy()
            frames = arr if int(ds.get("NumberOfFrames", 1)) > 1 else arr[None]
            for b in entry["burned_in"]:
                x0, y0, x1, y1 = b["box"]
                frames[b["frame"], y0:y1, x0:x1] = 0
            ds.PixelData = frames.tobytes()
        (out / entry["path"]).parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(out / entry["path"])


@pytest.fixture(scope="module")
def blank(corpus: tuple[Path, Manifest], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("blank")
    _blank_copy(*corpus, out)
    return out


def test_same_seed_writes_same_bytes(corpus, tmp_path):
    root, manifest = corpus
    again = generate_corpus(tmp_path, n_files=SMALL, seed=7, quiet=True)
    assert again.files == manifest.files
    for entry in manifest.files:
        assert (tmp_path / entry["path"]).read_bytes() == (root / entry["path"]).read_bytes()


def test_other_seed_other_uids(corpus, tmp_path):
    _, manifest = corpus
    other = generate_corpus(tmp_path, n_files=SMALL, seed=8, quiet=True)
    assert {f["sop_instance_uid"] for f in other.files}.isdisjoint(
        {f["sop_instance_uid"] for f in manifest.files})


def test_files_parse_and_pixels_decode(corpus):
    root, manifest = corpus
    assert len(manifest.files) == SMALL
    for entry in manifest.files:
        ds = pydicom.dcmread(root / entry["path"])
        assert ds.file_meta.TransferSyntaxUID == entry["transfer_syntax"]
        assert ds.SOPInstanceUID == entry["sop_instance_uid"]
        if entry["text_free"] is not None:
            assert ds.pixel_array.size > 0


def test_corpus_covers_the_kinds_syntaxes_and_charsets(corpus):
    _, manifest = corpus
    kinds = {f["kind"] for f in manifest.files}
    assert kinds == {"ct", "mr", "us", "doc", "xa", "es", "cr", "dx", "rt", "seg", "sr"}
    assert any(f["overlay"] for f in manifest.files)
    syntaxes = {f["transfer_syntax"] for f in manifest.files}
    assert {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.1.99",
            "1.2.840.10008.1.2.2"} <= syntaxes
    assert {"ISO_IR 100", "ISO_IR 192", None} <= {f["charset"] for f in manifest.files}
    assert {f["donor"] for f in manifest.files} == {"A", "B"}


def test_manifest_lists_phi_refs_and_boxes(corpus):
    root, manifest = corpus
    assert (root / MANIFEST_NAME).exists()
    catalog = manifest.donors["A"]["phi"]
    assert "HELM850312MDFRPR07" in catalog["curp"]["variants"]
    assert "HERNANDEZ LOPEZ^MARIA GUADALUPE" in catalog["name"]["variants"]
    for entry in manifest.files:
        assert {"name", "curp", "birth_date", "ae_title"} <= set(entry["phi"])
        if entry["kind"] in ("us", "doc", "xa", "es", "cr"):
            assert entry["burned_in"] and entry["text_free"] is False
        if entry["kind"] in ("rt", "seg", "sr"):
            assert entry["refs"] and all(r["target"] for r in entry["refs"])
    assert next(f for f in manifest.files if f["kind"] == "dx")["text_free"] is True


def test_corpus_donors_are_the_shared_synthetic_people(corpus):
    """The planted identities are client.synthetic's (donor A is the demo's person)."""
    _, manifest = corpus
    for donor in DONORS:
        catalog = manifest.donors[donor.key]["phi"]
        p = donor.person
        inst = p.institution
        for label, value in (("curp", p.curp), ("rfc", p.rfc), ("nss", p.nss),
                             ("name", p.name.pn), ("phone", p.phone), ("mrn", p.mrn),
                             ("hospital", inst.name), ("ae_title", inst.ae_title)):
            assert value in catalog[label]["variants"], label
    assert DEMO_PERSON.curp.lower() in manifest.donors["A"]["phi"]["curp"]["variants"]


def test_scorer_finds_every_planted_fact_in_the_input(corpus):
    root, manifest = corpus
    result = Scorer(root, manifest, ocr=False).score(root)
    planted = sum(len(f["phi"]) for f in manifest.files)
    boxes = sum(len(f["burned_in"]) for f in manifest.files)
    overlays = sum(1 for f in manifest.files if f["overlay"])
    assert overlays > 0
    assert result["leaks"] == planted + boxes + overlays
    assert result["files_with_leaks"] == len(manifest.files)
    assert result["boxes_masked"] == 0
    assert result["markers"] == 0
    assert result["broken_refs"] == 0


def test_scorer_finds_no_leak_once_phi_is_removed(corpus, blank):
    root, manifest = corpus
    result = Scorer(root, manifest, ocr=False).score(blank)
    assert result["files_failed"] == 0
    assert result["leaks"] == 0, result["leaks_by_kind"]
    assert result["boxes_masked"] == result["boxes_total"] > 0
    assert result["text_free_identical"][0] == result["text_free_identical"][1] > 0
    assert result["broken_refs"] == 0
    assert result["files_with_original_uids"] == len(manifest.files)


@pytest.mark.parametrize(("where", "expected_path"), [
    ("meta", "file_meta.SourceApplicationEntityTitle"),
    ("deep", "RequestAttributesSequence[0].ScheduledProtocolCodeSequence[0]."
             "ProtocolContextSequence[0].TextValue"),
    ("private_un", "(0013,1001)"),
])
def test_scorer_locates_a_single_leak(corpus, blank, tmp_path, where, expected_path):
    root, manifest = corpus
    out = tmp_path / "out"
    shutil.copytree(blank, out)
    entry = next(f for f in manifest.files if f["kind"] == "ct")
    ds = pydicom.dcmread(out / entry["path"])
    curp = manifest.donors[entry["donor"]]["phi"]["curp"]["variants"][0]
    if where == "meta":
        ds.file_meta.SourceApplicationEntityTitle = "HGZ32PACS"
    elif where == "deep":
        ctx = Dataset()
        ctx.TextValue = f"curp {curp.lower()}"
        code = Dataset()
        code.ProtocolContextSequence = [ctx]
        req = Dataset()
        req.ScheduledProtocolCodeSequence = [code]
        ds.RequestAttributesSequence = [req]
    else:
        ds.add_new(0x00131001, "UN", curp.encode("utf-16-le"))
    ds.save_as(out / entry["path"])
    result = Scorer(root, manifest, ocr=False).score(out)
    assert result["leaks"] == 1
    leak = next(f for f in result["per_file"] if f["leaks"])["leaks"][0]
    assert leak["paths"] == [expected_path]


def test_scorer_reports_broken_references_and_failed_files(corpus, blank, tmp_path):
    root, manifest = corpus
    out = tmp_path / "out"
    shutil.copytree(blank, out)
    rt = next(f for f in manifest.files if f["kind"] == "rt")
    ds = pydicom.dcmread(out / rt["path"])
    item = ds.ROIContourSequence[0].ContourSequence[0].ContourImageSequence[0]
    item.ReferencedSOPInstanceUID = "2.25.1"
    ds.save_as(out / rt["path"])
    dx = next(f for f in manifest.files if f["kind"] == "dx")
    (out / dx["path"]).write_bytes(b"not dicom")
    result = Scorer(root, manifest, ocr=False).score(out)
    assert result["broken_refs"] == 1
    assert result["files_failed"] == 1


def test_scorer_sees_text_left_in_pixels(corpus, blank, tmp_path):
    root, manifest = corpus
    out = tmp_path / "out"
    shutil.copytree(blank, out)
    us = next(f for f in manifest.files if f["kind"] == "us")
    ds = pydicom.dcmread(root / us["path"])  # original pixels, text and all
    ds.BurnedInAnnotation = "NO"  # ... and a false claim that they are clean
    ds.save_as(out / us["path"])
    result = Scorer(root, manifest, ocr=False).score(out)
    assert result["boxes_masked"] == result["boxes_total"] - len(us["burned_in"])
    assert result["leaks_by_kind"]["pixel"] == len(us["burned_in"])
    assert result["burned_in_no_with_text"] == 1
    assert result["outside_text_kept"][0] == result["outside_text_kept"][1]


@pytest.mark.skipif(ocr_engine() is None, reason="tesseract not installed")
def test_ocr_catches_faint_text_the_ink_check_lets_through(corpus, blank, tmp_path):
    root, manifest = corpus
    out = tmp_path / "out"
    shutil.copytree(blank, out)
    us = next(f for f in manifest.files if f["kind"] == "us")
    original = pydicom.dcmread(root / us["path"]).pixel_array.astype(np.float64)
    ds = pydicom.dcmread(out / us["path"])
    arr = ds.pixel_array.astype(np.float64)
    box = us["burned_in"][0]["box"]
    x0, y0, x1, y1 = box
    region = original[y0:y1, x0:x1]
    ground = np.median(region, axis=(0, 1))
    arr[y0:y1, x0:x1] = ground + (region - ground) * 0.15  # faint, still legible
    ds.PixelData = arr.round().astype(ds.pixel_array.dtype).tobytes()
    ds.save_as(out / us["path"])
    assert Scorer(root, manifest, ocr=False).score(out)["leaks"] == 0
    result = Scorer(root, manifest).score(out)
    assert result["boxes_ocr_readable"] == 1
    assert result["leaks_by_kind"] == {"pixel": 1}


def test_runner_scores_each_tool_on_the_same_corpus(tmp_path, capsys):
    code = bench_run.main(["--files", str(SMALL), "--jobs", "1", "--repeat", "1", "--no-ocr",
                           "--tools", "dicognito,dicom-anonymizer", "--out", str(tmp_path)])
    assert code == 0
    results = json.loads((tmp_path / "results.json").read_text("utf-8"))
    assert [t["tool"] for t in results["tools"]] == ["dicognito", "dicom-anonymizer"]
    for tool in results["tools"]:
        assert tool["score"]["files"] == SMALL
        assert tool["files_per_s"] > 0
    assert "dicom-anonymizer" in capsys.readouterr().out


def test_floor_prints_the_at_risk_share_and_the_bounds(tmp_path, capsys):
    from bench.deid import floor

    assert floor.main(["--files", str(SMALL), "--repeat", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    at_risk = int(out.split(" at risk")[0].rsplit(": ", 1)[1])
    assert 0 < at_risk < SMALL
    assert "decode + detector reads on the at-risk files" in out
    assert "(a) traza on the plain files" in out and "(b) traza on the at-risk files" in out
    assert out.count("its plain files would have to take at most") == 2
