"""Paper records: rasterize scans, OCR proposes boxes, the operator's boxes burned in, SC out.

A generated scanned form (:mod:`tests.data.paper`) carries a synthetic person's data in
several fonts and positions. The proposal must cover what was planted; after the operator's
boxes, OCR of the Secondary Capture finds none of it and still reads the clinical lines.
"""

from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np
import pydicom
import pytest
from PIL import Image

from anonymizer.fold import fold
from anonymizer.ocr import Box, read_words
from anonymizer.uids import patient_pseudonym
from client import paper
from client.errors import InvalidInput
from client.paper_dicom import secondary_capture
from client.paper_steps import manual_report
from client.synthetic import person
from tests.data.paper import fonts_available, scanned_form

pytestmark = pytest.mark.skipif(not fonts_available(), reason="fonts-dejavu-core and "
                                "fonts-liberation are needed (scripts/install-system.sh)")
SECRET = b"k" * 32
DONATION = "d-" + "a" * 24


def _png(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.fixture(scope="module")
def record():
    """Two pages of one person's form: a PDF page and a PNG page, and what is on them."""
    who = person(7)
    p1, planted1, clinical = scanned_form(who, seed=7, page=1)
    p2, planted2, _ = scanned_form(who, seed=7, page=2)
    files = [_png(p1, "PDF", resolution=paper.DPI), _png(p2)]
    return files, [planted1, planted2], clinical, who


@pytest.fixture(scope="module")
def pages(record):
    return paper.rasterize(record[0])


@pytest.fixture(scope="module")
def proposals(pages):
    return paper.propose(pages)


def _covered(box: Box, boxes) -> bool:
    return any(b.x0 <= box.x0 and b.y0 <= box.y0 and b.x1 >= box.x1 and b.y1 >= box.y1
               for b in boxes)


def test_a_pdf_page_is_rasterized_at_200_dpi_and_an_image_kept_as_is(record, pages):
    assert len(pages) == 2
    assert all(p.mode == "L" for p in pages)
    assert pages[1].size == (1700, 2200)
    assert abs(pages[0].width - 1700) <= 2 and abs(pages[0].height - 2200) <= 2


def test_multi_page_tiff_and_jpeg_are_pages(record):
    a, b = (Image.new("L", (300, 200), 255), Image.new("L", (300, 200), 128))
    tiff = io.BytesIO()
    a.save(tiff, "TIFF", save_all=True, append_images=[b])
    got = paper.rasterize([tiff.getvalue(), _png(a, "JPEG")])
    assert [p.size for p in got] == [(300, 200)] * 3
    assert np.asarray(got[1]).mean() == 128


@pytest.mark.parametrize(("files", "message"), [
    ([], "at least one scanned page"),
    ([b"GIF89a......"], "file 1 of 1: not a PDF, JPEG, PNG or TIFF"),
    ([b"%PDF-1.4 broken"], "file 1 of 1: unreadable PDF"),
    ([b"\x89PNG\r\n\x1a\n" + b"\0" * 20], "file 1 of 1: unreadable image"),
])
def test_bad_scans_are_refused_by_position(files, message):
    with pytest.raises(InvalidInput, match=message):
        paper.rasterize(files)


def test_a_huge_page_is_refused_before_it_is_decoded():
    big = _png(Image.new("1", (8000, 6000), 1))
    with pytest.raises(InvalidInput, match="over 40000000 pixels"):
        paper.rasterize([big])


def test_ocr_proposes_a_box_over_every_planted_value(record, proposals, capsys):
    planted = record[1]
    covered = [sum(_covered(Box(*p.box), proposals[i].boxes) for p in planted[i])
               for i in range(2)]
    total = sum(len(p) for p in planted)
    with capsys.disabled():
        print(f"\n[paper] proposed {sum(len(p.boxes) for p in proposals)} boxes; planted "
              f"values covered {sum(covered)}/{total}")
    assert sum(covered) >= total - 1  # the operator adds what OCR missed; at most one here
    assert all(c for p in proposals for c in p.categories)


def _operator_boxes(proposals, planted) -> list[paper.PageBoxes]:
    """What an operator does: keep the proposals and add a box over anything they missed."""
    out = []
    for page, values in zip(proposals, planted, strict=True):
        added = [Box(*v.box).pad(6, (page.height, page.width)) for v in values
                 if not _covered(Box(*v.box), page.boxes)]
        out.append(paper.PageBoxes(page.page, page.width, page.height,
                                   page.boxes + tuple(added)))
    return out


def _words(frame: np.ndarray) -> str:
    return fold(" ".join(t for _, t in read_words(frame, full_frame=True)))


def test_after_the_operator_boxes_ocr_reads_no_planted_value_and_the_clinical_text(
        record, pages, proposals):
    _, planted, clinical, who = record
    boxes = _operator_boxes(proposals, planted)
    data = secondary_capture(paper.redact(pages, boxes), secret=SECRET, donation_id=DONATION)
    ds = pydicom.dcmread(io.BytesIO(data))
    assert int(ds.NumberOfFrames) == 2
    before = _words(np.asarray(pages[0]))
    assert fold(who.name.surname1) in before  # the check can see a name when it is there
    for i in range(2):
        text = _words(ds.pixel_array[i])
        parts = [w for v in planted[i] for w in v.value.replace("/", " ").split() if len(w) >= 4]
        assert [w for w in parts if fold(w) in text] == []
        for line in clinical:
            words = [fold(w) for w in line.split() if len(w) >= 6]
            assert sum(w in text for w in words) >= len(words) - 1, line


def test_the_secondary_capture_has_the_donations_pseudonym_and_no_text(pages):
    data = secondary_capture(pages, secret=SECRET, donation_id=DONATION)
    ds = pydicom.dcmread(io.BytesIO(data))
    assert ds.SOPClassUID.name == "Multi-frame Grayscale Byte Secondary Capture Image Storage"
    assert ds.PatientID == patient_pseudonym(SECRET, DONATION) == str(ds.PatientName)
    assert ds.ConversionType == "SD" and ds.BurnedInAnnotation == "NO"
    assert list(ds.PageNumberVector) == [1, 2] and ds.FrameIncrementPointer == 0x00182001
    again = pydicom.dcmread(io.BytesIO(secondary_capture(pages, secret=SECRET,
                                                         donation_id=DONATION)))
    assert again.StudyInstanceUID == ds.StudyInstanceUID  # keyed by the donation


@pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dicom3tools not installed")
def test_the_secondary_capture_passes_dciodvfy(tmp_path):
    pages = [Image.new("L", (320, 400), 250), Image.new("L", (300, 420), 200)]
    path = tmp_path / "sc.dcm"
    path.write_bytes(secondary_capture(pages, secret=SECRET, donation_id=DONATION))
    run = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    errors = [ln for ln in (run.stdout + run.stderr).splitlines() if ln.startswith("Error")]
    assert errors == []


def test_boxes_json_round_trips_and_the_report_lists_boxes_per_page(pages, proposals):
    data = paper.boxes_to_json(proposals)
    back = paper.boxes_from_json(data, pages)
    assert [p.boxes for p in back] == [p.boxes for p in proposals]
    report = manual_report(back, operator_sha256="e" * 64, input_sha256="1" * 64,
                           output_sha256="2" * 64)
    assert report["method"] == "manual" and report["operator_sha256"] == "e" * 64
    assert [len(m["boxes"]) for m in report["pixel_masks"]] == [
        len(p.boxes) for p in proposals if p.boxes]
    assert report["profile_id"] == "manual"


def _edit(pages, **change):
    w, h = pages[0].size
    page = {"page": 1, "width": w, "height": h, "boxes": [{"x0": 1, "y0": 1, "x1": 9, "y1": 9}]}
    page.update(change)
    other = {"page": 2, "width": pages[1].width, "height": pages[1].height, "boxes": []}
    return {"format": paper.BOXES_FORMAT, "pages": [page, other]}


@pytest.mark.parametrize(("change", "message"), [
    ({"page": 2}, "listed in order"),
    ({"width": 10}, "drawn on a 10x"),
    ({"boxes": [{"x0": 5, "y0": 1, "x1": 5, "y1": 9}]}, "box 1: outside the page or empty"),
    ({"boxes": [{"x0": 0, "y0": 0, "x1": 99999, "y1": 9}]}, "outside the page"),
    ({"boxes": [{"x0": "a", "y0": 0, "x1": 9, "y1": 9}]}, "needs integers"),
])
def test_bad_operator_boxes_are_refused(pages, change, message):
    with pytest.raises(InvalidInput, match=message):
        paper.boxes_from_json(_edit(pages, **change), pages)


def test_boxes_for_another_record_are_refused(pages):
    with pytest.raises(InvalidInput, match="expected 2 pages"):
        paper.boxes_from_json({"format": paper.BOXES_FORMAT, "pages": []}, pages)
    with pytest.raises(InvalidInput, match="format"):
        paper.boxes_from_json({"pages": []}, pages)
