"""Burned-in text: pre-filter, OCR boxes and masking on synthetic frames."""

from __future__ import annotations

import shutil
from collections import OrderedDict

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from anonymizer import ocr
from anonymizer.ocr import Box, engines, lines
from anonymizer.ocr.confirm import VERDICTS

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


@pytest.fixture(autouse=True)
def _fresh_verdicts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no remembered OCR verdicts (a cached one could pass it)."""
    monkeypatch.setattr(VERDICTS, "_seen", OrderedDict())


@pytest.fixture(params=["tesserocr", "program"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with tesserocr (engine kept loaded) and with the tesseract program."""
    monkeypatch.setattr(engines.PROCESS, "_loaded", {})
    if request.param == "tesserocr":
        monkeypatch.delenv(ocr.ENGINE_ENV, raising=False)
        pytest.importorskip("tesserocr")
        if engines._tessdata_dir(["spa", "eng"]) is None:
            pytest.skip("Debian tesseract-ocr-spa models not installed")
    else:
        if shutil.which("tesseract") is None:
            pytest.skip("tesseract not installed (Debian: tesseract-ocr tesseract-ocr-spa)")
        monkeypatch.setenv(ocr.ENGINE_ENV, "program")
    return request.param


class FakeEngine:
    """Reads one short, sure word at the left end of every crop it is shown, or nothing."""

    name = "fake"

    def __init__(self, reads: bool = True) -> None:
        self.reads = reads
        self.calls = 0

    def words(self, img: np.ndarray, psm: int) -> list[tuple[Box, str, float]]:
        self.calls += 1
        if not self.reads:
            return []
        dark = img < 128
        out = []
        for top, bottom in lines._runs(dark.any(axis=1), gap=2):
            cols = np.flatnonzero(dark[top:bottom].any(axis=0))
            # a box far shorter than the line, like Tesseract's on a date it half reads
            out.append((Box(int(cols[0]), top, int(cols[0]) + 6, bottom), "AB", 95.0))
        return out


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    engine = FakeEngine()
    monkeypatch.setattr(engines.PROCESS, "get", lambda lang: engine)
    return engine


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


@needs_tesseract
def test_program_fallback_masks_text_when_tesserocr_is_absent(engine: str) -> None:
    frame, truth = _with_text(_ultrasound())
    boxes = ocr.find_text_boxes(frame)
    assert all(_covered(t, boxes, frame) > 0.95 for t in truth)
    assert engine in ocr.engine_name()
    assert ocr.find_text_boxes(_ultrasound(3)) == []


@needs_tesseract
def test_whole_line_is_masked_around_a_word_the_ocr_cannot_read() -> None:
    """A scribble between two names is inside the mask: it follows the ink, not the words."""
    img = Image.fromarray(np.zeros((120, 400), np.uint8))
    draw = ImageDraw.Draw(img)
    font = _font(14)
    draw.text((10, 10), "GARCIA", fill=255, font=font)
    draw.line([(80, 24), (86, 12), (92, 24), (98, 12), (104, 24), (110, 12)], fill=255)
    draw.text((120, 10), "LOPEZ 12/03/1985", fill=255, font=font)
    frame = np.asarray(img)
    x1 = draw.textbbox((120, 10), "LOPEZ 12/03/1985", font=font)[2]
    boxes = ocr.find_text_boxes(frame)
    assert _covered(Box(8, 8, x1 + 1, 28), boxes, frame) == 1.0


@needs_tesseract
def test_boxes_do_not_depend_on_what_was_read_before() -> None:
    frame, _ = _with_text(_ultrasound())
    alone = ocr.find_text_boxes(frame)
    VERDICTS.clear()
    for seed in (1, 3, 5):  # other text and speckle first: their verdicts are remembered
        ocr.find_text_boxes(_with_text(_ultrasound(seed), size=12)[0])
    assert ocr.find_text_boxes(frame) == alone


@needs_tesseract
def test_label_whose_line_runs_into_speckle_is_read_where_the_text_is() -> None:
    """Inside the fan the line of ink starts in speckle: the sample starts at the text."""
    img = Image.fromarray(_ultrasound(7))
    draw = ImageDraw.Draw(img)
    font = _font(12)
    box = draw.textbbox((400, 440), "HGZ No. 32 10:42", font=font)
    draw.rectangle((box[0] - 2, box[1] - 2, box[2] + 2, box[3] + 2), fill=0)
    draw.text((400, 440), "HGZ No. 32 10:42", fill=255, font=font)
    frame = np.asarray(img)
    assert _covered(Box(*box), ocr.find_text_boxes(frame), frame) > 0.95


def test_mask_spans_the_line_when_the_ocr_box_is_short(fake: FakeEngine) -> None:
    frame, truth = _with_text(_ultrasound())
    boxes = ocr.find_text_boxes(frame)
    assert fake.calls == len(lines._analyse(ocr.to_uint8(frame))[1])  # a sample per region
    for t in truth:
        assert _covered(t, boxes, frame) > 0.99, t


def test_regions_the_ocr_does_not_read_are_left_alone(fake: FakeEngine) -> None:
    fake.reads = False
    frame, _ = _with_text(_ultrasound())
    assert ocr.has_text_candidates(frame)
    assert ocr.find_text_boxes(frame) == []
    regions = lines._analyse(ocr.to_uint8(frame))[1]
    assert fake.calls == sum(min(len(r.lines), ocr.MAX_SAMPLES) for r in regions)


def test_mask_of_a_region_in_bright_speckle_stays_near_its_blocks(fake: FakeEngine) -> None:
    """Were speckle ever read as text, its band runs into anatomy: mask the blocks only."""
    frame = _ultrasound(1)
    assert ocr.has_text_candidates(frame)  # the pre-filter's false positive
    boxes = ocr.find_text_boxes(frame)
    assert boxes and sum(b.area for b in boxes) < 0.03 * frame.size


@needs_tesseract
def test_scale_ruler_passes_the_prefilter_but_is_not_text() -> None:
    frame = _ultrasound(4)
    for x in range(20, 600, 5):
        frame[440:450 if x % 25 else 456, x] = 255
    frame[456, 20:600] = 255
    assert ocr.has_text_candidates(frame)
    assert ocr.find_text_boxes(frame) == []


def _angiogram(frame: int) -> np.ndarray:
    """A dark frame with a grey vessel that moves, and the patient's name on top."""
    img = Image.fromarray(np.full((256, 256), 20, np.uint8))
    draw = ImageDraw.Draw(img)
    draw.line([(40 + 8 * frame, 250), (200 - 4 * frame, 60)], fill=120, width=9)
    draw.text((6, 6), "PEREZ GUTIERREZ^JOSE LUIS", fill=255, font=_font(12))
    return np.asarray(img)


def test_static_text_of_a_multi_frame_image_is_read_once(fake: FakeEngine) -> None:
    frames = [_angiogram(f) for f in range(4)]
    assert not np.array_equal(frames[0], frames[3])
    boxes = [ocr.find_text_boxes(f) for f in frames]
    assert fake.calls == 1
    assert all(b == boxes[0] for b in boxes) and boxes[0]
    assert ocr.find_text_boxes(_ultrasound(0)) == [] and fake.calls == 1  # no text: no read


def test_text_read_in_one_frame_is_masked_in_every_frame_it_is_in(fake: FakeEngine) -> None:
    """Frames where the OCR reads nothing (noise changes each sample) keep no text."""
    rng = np.random.default_rng(0)
    frames = []
    for f in range(4):
        frame = _angiogram(f).copy()
        frame[:30] = np.clip(frame[:30].astype(int) + rng.integers(0, 9, (30, 256)), 0, 255)
        frames.append(frame.astype(np.uint8))
    frames.insert(2, _angiogram(0) * 0)  # a black frame: nothing to mask
    calls = []

    def reads_once(img: np.ndarray, psm: int) -> list[tuple[Box, str, float]]:
        calls.append(psm)
        return FakeEngine.words(fake, img, psm) if len(calls) == 1 else []

    fake.words = reads_once  # type: ignore[method-assign]
    boxes = ocr.find_text_boxes_in_frames(frames)
    assert len(calls) == 1  # the other frames' lines are where text was read: no read
    assert [bool(b) for b in boxes] == [True, True, False, True, True]
    assert all(_covered(Box(6, 6, 200, 20), b, f) == 1.0
               for b, f in zip(boxes, frames, strict=True) if b)
    assert ocr.find_text_boxes_in_frames(frames[::-1]) == boxes[::-1]  # order does not matter
    assert ocr.find_text_boxes(frames[3]) == []  # alone, that frame is not read as text


def test_changed_text_is_read_again(fake: FakeEngine) -> None:
    frames = [_angiogram(0), _angiogram(0)]
    ImageDraw.Draw(img := Image.fromarray(frames[1])).text((6, 6), "GARCIA", fill=255,
                                                           font=_font(12))
    assert ocr.find_text_boxes(frames[0]) and fake.calls == 1
    assert ocr.find_text_boxes(np.asarray(img)) and fake.calls == 2


def test_missing_engine_names_debian_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engines.PROCESS, "_loaded", {})
    monkeypatch.setattr(engines, "_load_tesserocr", lambda lang: None)
    monkeypatch.setattr(engines.shutil, "which", lambda name: None)
    frame, _ = _with_text(_ultrasound())
    with pytest.raises(ocr.OCRUnavailableError, match="tesseract-ocr-spa"):
        ocr.find_text_boxes(frame)
    assert ocr.find_text_boxes(_ultrasound()) == []  # no candidates: no engine needed


@pytest.mark.parametrize(("value", "message"), [
    ("magic", "use tesserocr or program"),
    ("tesserocr", "tesserocr is not installed"),
])
def test_engine_choice_is_checked(monkeypatch: pytest.MonkeyPatch, value: str,
                                  message: str) -> None:
    monkeypatch.setattr(engines.PROCESS, "_loaded", {})
    monkeypatch.setattr(engines, "_load_tesserocr", lambda lang: None)
    monkeypatch.setenv(ocr.ENGINE_ENV, value)
    with pytest.raises(ocr.OCRUnavailableError, match=message):
        ocr.engine_name()


def test_tesserocr_without_models_names_debian_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("tesserocr")
    monkeypatch.delenv(ocr.ENGINE_ENV, raising=False)
    monkeypatch.setattr(engines.PROCESS, "_loaded", {})
    monkeypatch.setattr(engines, "_tessdata_dir", lambda langs: None)
    with pytest.raises(ocr.OCRUnavailableError, match="tesseract-ocr-spa"):
        ocr.engine_name()


def _child_reads(_: int) -> tuple[bool, int, list[str]]:
    from PIL import Image, ImageDraw

    loads = []
    engines._load_tesserocr = lambda lang: loads.append(lang)  # a new load would show here
    page = Image.new("L", (360, 60), 255)
    ImageDraw.Draw(page).text((10, 20), "PACIENTE HERNANDEZ", fill=0)
    page = page.resize((1080, 180))
    engine = ocr.engine(ocr.CONFIRM_LANG)
    words = [t for _, t, _ in engine.words(np.asarray(page), ocr.PSM_BLOCK)]
    return getattr(engine, "warm", False), len(loads), words


def test_workers_forked_after_preload_use_the_loaded_engine(engine, tmp_path):
    """preload() in the parent: forked workers neither load the models again nor fail."""
    import multiprocessing

    ocr.preload()
    assert getattr(ocr.engine(ocr.CONFIRM_LANG), "warm", False)
    with multiprocessing.get_context("fork").Pool(1) as pool:
        warm, loads, words = pool.map(_child_reads, [0])[0]
    assert warm and loads == 0
    assert any("PACIENTE" in w or "HERNANDEZ" in w for w in words)


def test_candidate_blocks_group_across_one_gap_block_and_diagonals():
    from anonymizer.ocr.prefilter import _BLOCK, _regions

    grid = np.zeros((6, 12), bool)
    grid[1, [0, 2]] = True  # one empty block between: one word gap, the same line
    grid[2, 3] = True  # diagonal neighbour: still the same region
    grid[1, 6] = True  # three blocks from (2, 3): a region of its own
    grid[4, 10] = True  # alone
    regions = _regions(grid, (6 * _BLOCK, 12 * _BLOCK), pad=0)
    spans = [[(y0 // _BLOCK, x0 // _BLOCK, x1 // _BLOCK - 1) for y0, _, x0, x1 in r.rows]
             for r in regions]
    assert spans == [[(1, 0, 2), (2, 3, 3)], [(1, 6, 6)], [(4, 10, 10)]]
