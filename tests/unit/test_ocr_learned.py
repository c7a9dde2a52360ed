"""The learned detector path: small text on large images, inverted text, screens without a
flag, text-free images, clinical lines kept and lines with a name masked."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from anonymizer.ocr import Box, clinical_words, find_text_lines, find_text_lines_in_frames

pytest.importorskip("rapidocr_onnxruntime")
text_es = pytest.importorskip("anonymizer.text_es")

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def _personal(text: str) -> bool:
    return bool(text_es.redact(text)[1])


def _draw(img: Image.Image, xy: tuple[int, int], text: str, size: int, fill: int,
          font: str = FONT) -> Box:
    f = ImageFont.truetype(font, size)
    d = ImageDraw.Draw(img)
    d.text(xy, text, font=f, fill=fill)
    return Box(*d.textbbox(xy, text, font=f))


def _masked(truth: Box, boxes: list[Box]) -> float:
    """Share of the text box ``truth`` under ``boxes``."""
    m = np.zeros((truth.y1 + 1, truth.x1 + 1), bool)
    for b in boxes:
        m[max(0, b.y0):b.y1, max(0, b.x0):b.x1] = True
    return float(m[truth.y0:truth.y1, truth.x0:truth.x1].mean())


def _speckle(rows: int, cols: int, seed: int = 0) -> np.ndarray:
    return np.clip(np.random.default_rng(seed).rayleigh(35, (rows, cols)), 0, 255)


def test_small_text_on_a_large_radiograph_is_found_in_tiles() -> None:
    yy, xx = np.mgrid[0:1800, 0:1900]
    base = (60 + 80 * xx / 1900 + 40 * yy / 1800).astype(np.uint8)
    img = Image.fromarray(base)
    truth = _draw(img, (1700, 1760), "Olvera, Xochitl", 11, 240)
    frame = (np.asarray(img).astype(np.uint16) * 16)  # 12-bit film
    boxes = find_text_lines(frame, is_personal=_personal)
    assert _masked(truth, boxes) >= 0.9
    assert all(b.y0 > 1600 for b in boxes)  # nothing on the film itself


def test_inverted_text_dark_on_a_light_banner_is_found() -> None:
    img = Image.fromarray(_speckle(400, 600).astype(np.uint8))
    ImageDraw.Draw(img).rectangle((20, 20, 330, 50), fill=235)
    truth = _draw(img, (26, 24), "ZAVALETA HUERTA ROSALBA", 18, 15, BOLD)
    boxes = find_text_lines(np.asarray(img), is_personal=_personal)
    assert _masked(truth, boxes) >= 0.9


def test_text_free_image_gets_no_mask() -> None:
    frame = _speckle(480, 640, seed=3).astype(np.uint8)
    assert find_text_lines(frame, is_personal=_personal) == []


def test_clinical_line_is_kept_and_a_line_with_a_name_is_masked() -> None:
    img = Image.fromarray(_speckle(480, 640, seed=1).astype(np.uint8) // 3)
    clinical = _draw(img, (20, 20), "DBP 48.2 mm", 16, 250)
    named = _draw(img, (20, 80), "DBP 51.0 mm Rosalba Tlapanco", 16, 250)
    boxes = find_text_lines(np.asarray(img), is_personal=_personal)
    assert _masked(named, boxes) >= 0.9
    assert _masked(clinical, boxes) == 0.0
    # without a personal check nothing is kept
    assert _masked(clinical, find_text_lines(np.asarray(img))) >= 0.9


def test_multi_frame_static_text_masked_everywhere_and_new_text_found() -> None:
    frames = []
    for i in range(7):
        img = Image.fromarray(_speckle(300, 400, seed=10 + i).astype(np.uint8) // 3)
        _draw(img, (10, 10), "Pac: Teodoro Olvera", 14, 250)
        if i == 4:  # a frame that is not sampled, with a line of its own
            _draw(img, (10, 250), "NSS 1650303168-1", 14, 250)
        a = np.asarray(img).copy()
        if i:
            a[:40] = frames[0][:40]  # the label area is static
        frames.append(a)
    per_frame = find_text_lines_in_frames(frames, is_personal=_personal)
    assert all(any(b.y0 < 30 for b in boxes) for boxes in per_frame)
    assert any(b.y0 > 230 for b in per_frame[4])
    assert not any(b.y0 > 230 for b in per_frame[3])


@pytest.mark.parametrize(("text", "clinical"), [
    ("DBP 48.2 mm", True), ("BPD48.2mm", True), ("CTDIvol 12.30 mGy", True), ("R", True),
    ("TR 2413 TE 40", True), ("Gan 54%", True),
    ("12/03/1980", False), ("12 03 1980", False), ("2019-05-23", False), ("10:42", False),
    ("ID 4587123", False), ("BPD 48.2 mm Olvera", False), ("48.2", False), ("", False),
])
def test_clinical_words(text: str, clinical: bool) -> None:
    assert clinical_words(text) is clinical


def _dicom(frame: np.ndarray, modality: str, sop_class: str, burned: str | None):  # noqa: ANN202
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    ds = FileDataset("t", {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    ds.Modality = modality
    if burned is not None:
        ds.BurnedInAnnotation = burned
    ds.set_pixel_data(frame, "MONOCHROME2", 8, generate_instance_uid=False)
    return ds


def _clean(ds) -> list:  # noqa: ANN001
    from anonymizer.dicom.context import Context
    from anonymizer.dicom.pixels import clean_pixels
    from anonymizer.engines import default_engines
    from anonymizer.profile import get_profile
    from anonymizer.report import Report

    report = Report("library", "t", "t")
    clean_pixels(ds, Context(get_profile("library"), b"k" * 32, "d", report, default_engines()))
    return report.pixel_masks


@pytest.mark.parametrize(("modality", "sop_class", "burned", "masked"), [
    ("CT", "1.2.840.10008.5.1.4.1.1.7", None, True),  # a dose screen: SC class, no flag
    ("OT", "1.2.840.10008.5.1.4.1.1.7", "NO", True),  # screens are searched whatever
    ("CT", "1.2.840.10008.5.1.4.1.1.2", None, True),  # no flag: searched (pre-filter gate)
    ("CT", "1.2.840.10008.5.1.4.1.1.2", "NO", False),  # the flag says NO: trusted
])
def test_screen_capture_and_images_without_the_flag_are_searched(
        modality: str, sop_class: str, burned: str | None, masked: bool) -> None:
    img = Image.new("L", (512, 400), 40)
    truth = _draw(img, (30, 30), "BALDERAS OCAMPO ANSELMO  CTDIvol 12.3 mGy", 14, 250)
    ds = _dicom(np.asarray(img), modality, sop_class, burned)
    masks = _clean(ds)
    assert bool(masks) is masked
    if masked:
        assert ds.BurnedInAnnotation == "NO"
        assert int(ds.pixel_array[truth.y0:truth.y1, truth.x0:truth.x1].max()) <= 40


def test_missing_detector_models_are_a_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from anonymizer.errors import PixelCleaningError
    from anonymizer.ocr import learned

    monkeypatch.setattr(learned, "PROCESS", learned._Process())
    monkeypatch.setattr(learned.importlib.util, "find_spec", lambda name: None)
    img = Image.new("L", (320, 240), 30)
    _draw(img, (10, 10), "ZEPEDA IBARRA", 14, 250)
    ds = _dicom(np.asarray(img), "US", "1.2.840.10008.5.1.4.1.1.6.1", None)
    with pytest.raises(PixelCleaningError, match="rapidocr_onnxruntime>=1.4.4"):
        _clean(ds)


class _BandEngine:
    """Stands in for the detector's second look along a line: returns fixed boxes."""

    def __init__(self, boxes: list[Box]) -> None:
        self.boxes = boxes

    def detect_band(self, g: np.ndarray, line: Box) -> list[Box]:
        return self.boxes


def test_a_line_cut_short_is_joined_with_its_rest_but_never_into_a_kept_line() -> None:
    from anonymizer.ocr.detect import _look_again

    g = np.zeros((100, 400), np.uint8)
    line = Box(100, 40, 200, 60)
    label = Box(20, 42, 98, 58)            # the same line's faint label, found on a 2nd look
    above = Box(20, 10, 200, 30)           # another line: not joined
    kept = Box(250, 40, 330, 60)           # a clinical line kept on the same row
    beyond = Box(180, 41, 390, 59)         # runs over the kept line
    out = _look_again(_BandEngine([label, above, beyond]), g, line, [kept])  # type: ignore[arg-type]
    assert (out.x0, out.y0, out.x1, out.y1) == (20, 40, 250, 60)
    assert _look_again(_BandEngine([]), g, line, [kept]) == line  # type: ignore[arg-type]
