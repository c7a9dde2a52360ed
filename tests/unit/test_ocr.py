"""Burned-in text: pre-filter, OCR boxes and masking on synthetic frames."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from anonymizer import ocr
from anonymizer.ocr import Box

FONT_PATH = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
LINES = [
    ((10, 8), "MARIA GUADALUPE HERNANDEZ LOPEZ"),
    ((10, 28), "03/03/2021 10:42  HGZ No. 32"),
    ((440, 8), "ID 4587123"),
]

needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None,
    reason="tesseract not installed (Debian: tesseract-ocr tesseract-ocr-spa)",
)


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.truetype(FONT_PATH, size)
    except OSError:
        return ImageFont.load_default(size=size)


def _ultrasound(seed: int = 0) -> np.ndarray:
    """A 640x480 fan of blurred speckle on black, like an ultrasound frame."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:480, 0:640]
    fan = ((xx - 320) ** 2 + (yy - 40) ** 2 < 420**2) & (np.abs(xx - 320) < (yy - 40) * 0.8)
    speckle = Image.fromarray(rng.integers(0, 256, (480, 640)).astype(np.uint8))
    s = np.asarray(speckle.filter(ImageFilter.GaussianBlur(1.5)), dtype=float)
    s = (s - s.min()) / (s.max() - s.min()) * 230
    return np.where(fan, s, 0).astype(np.uint8)


def _with_text(frame: np.ndarray, size: int = 14) -> tuple[np.ndarray, list[Box]]:
    """Draw LINES in white; return the frame and the true text boxes."""
    img = Image.fromarray(frame)
    draw = ImageDraw.Draw(img)
    boxes = []
    for xy, text in LINES:
        draw.text(xy, text, fill=255, font=_font(size))
        x0, y0, x1, y1 = draw.textbbox(xy, text, font=_font(size))
        boxes.append(Box(x0, y0, x1, y1))
    return np.asarray(img), boxes


def _covered(truth: Box, boxes: list[Box], frame: np.ndarray) -> float:
    """Share of the glyph pixels inside ``truth`` that some box covers."""
    glyph = np.zeros(frame.shape[:2], bool)
    region = frame[truth.y0:truth.y1, truth.x0:truth.x1]
    glyph[truth.y0:truth.y1, truth.x0:truth.x1] = (region if region.ndim == 2 else
                                                   region.max(axis=2)) > 200
    hit = np.zeros_like(glyph)
    for b in boxes:
        hit[b.y0:b.y1, b.x0:b.x1] = True
    return (glyph & hit).sum() / max(1, glyph.sum())


# --- pre-filter (no OCR) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "frame"),
    [
        ("noise", np.random.default_rng(1).integers(0, 256, (480, 640)).astype(np.uint8)),
        ("gradient", np.tile(np.linspace(0, 255, 640).astype(np.uint8), (480, 1))),
        ("ultrasound fan", _ultrasound()),
        ("flat", np.full((256, 256), 1000, np.uint16)),
        ("ct-like disc", (np.hypot(*np.mgrid[-256:256, -256:256]) < 200).astype(np.int16) * 1400
         - 1000),
    ],
)
def test_prefilter_skips_text_free_frames(name: str, frame: np.ndarray) -> None:
    assert not ocr.has_text_candidates(frame), name


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_prefilter_flags_annotated_frames(dtype: type) -> None:
    frame, _ = _with_text(_ultrasound())
    if dtype is np.uint16:
        frame = frame.astype(np.uint16) * 257  # 16-bit full scale
    assert ocr.has_text_candidates(frame)


def test_prefilter_flags_dark_text_on_light_and_monochrome1() -> None:
    light = 255 - _with_text(np.zeros((200, 640), np.uint8))[0]
    assert ocr.has_text_candidates(light)
    assert ocr.has_text_candidates(light, monochrome1=True)


def test_to_uint8_windows_16_bit_and_inverts_monochrome1() -> None:
    frame = np.array([[0, 2048], [4095, 1024]], np.uint16)
    assert ocr.to_uint8(frame).tolist() == [[0, 127], [255, 63]]
    assert ocr.to_uint8(frame, monochrome1=True).tolist() == [[255, 128], [0, 192]]
    with pytest.raises(ValueError, match="shape"):
        ocr.to_uint8(np.zeros((2, 2, 2, 2), np.uint8))


# --- masking --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "fill"),
    [
        (np.full((20, 30), 200, np.uint8), 0),
        (np.full((20, 30), 60000, np.uint16), 0),
        (np.full((20, 30, 3), 255, np.uint8), 0),
    ],
)
def test_mask_fills_boxes_keeps_dtype_and_input(frame: np.ndarray, fill: int) -> None:
    frame = frame.copy()
    frame[0, 0] = 0  # the minimum is the fill value
    before = frame.copy()
    out = ocr.mask(frame, [Box(5, 2, 10, 6), Box(25, 15, 99, 99)])
    assert out.dtype == frame.dtype and out.shape == frame.shape
    assert (out[2:6, 5:10] == fill).all()
    assert (out[15:, 25:] == fill).all()
    assert out[10, 15].tolist() == frame[10, 15].tolist()
    assert np.array_equal(frame, before)  # input untouched


def test_mask_uses_minimum_of_signed_frames() -> None:
    frame = np.full((10, 10), 40, np.int16)
    frame[9, 9] = -1024
    assert ocr.mask(frame, [Box(0, 0, 3, 3)])[0, 0] == -1024


def test_mask_without_boxes_is_bit_identical() -> None:
    frame = _ultrasound()
    assert np.array_equal(ocr.mask(frame, []), frame)


def test_box_pad_clips_to_frame() -> None:
    assert Box(1, 1, 10, 10).pad(3, (11, 12)) == Box(0, 0, 12, 11)
    assert Box(5, 5, 6, 6).pad(2) == Box(3, 3, 8, 8)


# --- OCR ------------------------------------------------------------------------------


@needs_tesseract
@pytest.mark.parametrize(("colour", "size"), [(False, 10), (False, 14), (False, 28), (True, 14)])
def test_boxes_cover_burned_in_text_and_mask_removes_it(colour: bool, size: int) -> None:
    frame, truth = _with_text(_ultrasound(), size=size)
    if colour:
        frame = np.stack([frame, frame, np.zeros_like(frame)], axis=2)  # yellow text
    boxes = ocr.find_text_boxes(frame)
    assert boxes
    for t in truth:
        assert _covered(t, boxes, frame) > 0.95, t
    masked = ocr.mask(frame, boxes)
    assert ocr.find_text_boxes(masked) == []
    assert ocr.find_text_boxes(masked, full_frame=True) == []


@needs_tesseract
def test_words_are_read_in_spanish() -> None:
    frame, _ = _with_text(np.zeros((120, 640), np.uint8), size=16)
    words = {w for _, w in ocr.read_words(frame)}
    assert {"GUADALUPE", "HERNANDEZ", "03/03/2021"} <= words


@needs_tesseract
def test_sixteen_bit_frame_is_read_and_masked_in_place_dtype() -> None:
    frame, truth = _with_text(_ultrasound())
    frame16 = frame.astype(np.uint16) * 16  # 12-bit data in 16-bit words
    boxes = ocr.find_text_boxes(frame16)
    assert all(_covered(t, boxes, frame) > 0.95 for t in truth)
    masked = ocr.mask(frame16, boxes)
    assert masked.dtype == np.uint16
    assert ocr.find_text_boxes(masked) == []


@needs_tesseract
@pytest.mark.parametrize(
    "frame",
    [
        np.random.default_rng(2).integers(0, 256, (480, 640)).astype(np.uint8),
        np.tile(np.linspace(0, 255, 640).astype(np.uint8), (480, 1)),
        _ultrasound(3),
    ],
)
def test_text_free_frames_give_no_boxes(frame: np.ndarray) -> None:
    assert ocr.find_text_boxes(frame) == []
    assert ocr.find_text_boxes(frame, full_frame=True) == []


def test_missing_engine_names_debian_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    ocr._tesseract.cache_clear()
    monkeypatch.setattr(ocr.shutil, "which", lambda name: None)
    try:
        with pytest.raises(ocr.OCRUnavailableError, match="tesseract-ocr-spa"):
            ocr.find_text_boxes(np.zeros((32, 32), np.uint8))
    finally:
        ocr._tesseract.cache_clear()
