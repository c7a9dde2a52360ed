"""Find and mask text burned into pixel data (PS3.15 E.1.1, Clean Pixel Data Option).

One frame at a time (:func:`find_text_boxes`), or all frames of an image at once
(:func:`find_text_boxes_in_frames`, which also masks, in every frame that has candidate
text there, a line confirmed as text in any frame):

1. **Pre-filter** (numpy, no OCR, :func:`has_text_candidates`): 16x16 blocks that look like
   text, in lines. A frame without them is left alone, so its pixel data stays bit-identical.
2. **Lines**: inside each candidate region the ink (pixels past the midpoint between the
   background and the brightest stroke) is cut into lines, each reaching as far as its ink
   runs with word gaps bridged. The mask follows the ink, not the OCR's word boxes: a word
   the OCR misses between two others, or a date it boxes short, is still inside the line.
3. **OCR confirms**: Tesseract reads one sample per region (its widest line's first
   words); a word read with confidence makes every candidate line of the region text.
   Verdicts are remembered by the sample's exact pixels, so static annotations (on a
   multi-frame image, or the same label on a series) are read once per process, and an
   output never depends on what else the process saw.

The engine is Tesseract 5 with the Debian models (``tesseract-ocr-spa``, ``-eng``); nothing
is downloaded at run time. With ``tesserocr`` installed the engine stays loaded in the
process (a sample line costs milliseconds); without it each read runs the ``tesseract``
program through pytesseract (about 0.3 s a call); ``TRAZA_OCR_ENGINE=program`` forces
that. 16-bit and MONOCHROME1 frames are windowed to 8 bits *for the analysis only*;
:func:`mask` writes into a copy of the original frame, same dtype.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import shutil
import subprocess
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

__all__ = [
    "Box",
    "OCRUnavailableError",
    "engine_name",
    "find_text_boxes",
    "find_text_boxes_in_frames",
    "has_text_candidates",
    "mask",
    "read_words",
    "to_uint8",
]

#: Debian packages that provide the engine and the models (named in errors).
DEBIAN_PACKAGES = ("tesseract-ocr", "tesseract-ocr-spa")
#: Environment variable choosing the engine: ``tesserocr``, ``program`` (the tesseract
#: command through pytesseract) or unset (tesserocr when installed, else the program).
ENGINE_ENV = "TRAZA_OCR_ENGINE"

#: Language that confirms a region is text: one model reads names, dates and ids as well as
#: two do, in half the time. :func:`read_words` reads with both.
CONFIRM_LANG = "spa"
READ_LANG = "spa+eng"
#: A word confirms a region when it has at least this many letters or digits and this
#: Tesseract confidence (0-100): speckle read as text is short or unsure.
MIN_CONFIRM_CHARS = 2
MIN_CONFIDENCE = 40
#: Reading a whole frame (scanned documents) sees more speckle, where Tesseract finds
#: two-letter words ("de") with confidence: stricter.
MIN_CONFIDENCE_FULL_FRAME = 60
MIN_CHARS_FULL_FRAME = 3
#: Words shorter than this (frame pixels) are speckle, not text.
MIN_HEIGHT = 6
#: Ink bands lower than this are rules and underlines, not lines of text; taller than
#: this, text merged with bright anatomy (or no text).
MIN_LINE_HEIGHT = 4
MAX_LINE_HEIGHT = 48
#: Sample lines sent to the OCR are whole words, SAMPLE_MIN to SAMPLE_WIDTH text heights
#: wide (3 to 12 characters): enough to tell text from texture; OCR time grows with width.
SAMPLE_MIN = 2
SAMPLE_WIDTH = 8
SAMPLE_BACK = 3  # how far before the candidate blocks a sample may start
SAMPLE_MIN_PIXELS = 64  # tiny fonts have wide letters for their height
#: Lines tried per region before it is judged not to be text.
MAX_SAMPLES = 3
#: Lines of ink lower than this (pixels) are read at twice the size: small ultrasound and
#: screen-capture fonts are 6-14 px high, below the ~20 px Tesseract reads best.
UPSCALE_BELOW = 16
#: Height of ordinary text for the OCR, in pixels (sets the white space between crops).
OCR_TEXT_HEIGHT = 24
#: Pixels of context kept around each pre-filter region.
_REGION_PAD = 12
#: Pre-filter block size (pixels) and thresholds, see :func:`has_text_candidates`.
_BLOCK = 16
_MIN_CONTRAST = 80
_MIN_INK_LEVEL = 178  # 70% of full scale
_MIN_INK_EXTREME = 0.2  # share of ink pixels near the block's extreme
_MIN_BG_EXTREME = 0.9  # share of background pixels near the other extreme
_MIN_TRANSITIONS = 1.2  # ink/background changes per block row
#: Verdicts kept per process (keys are hashes of ink patterns, never text).
_VERDICT_CACHE_SIZE = 4096
#: Tesseract page segmentation modes used (``--psm``).
PSM_BLOCK = 6
PSM_SPARSE = 11


class OCRUnavailableError(RuntimeError):
    """Tesseract or its Spanish model is not installed."""


@dataclass(frozen=True)
class Box:
    """A pixel rectangle, half-open: columns ``x0 <= x < x1``, rows ``y0 <= y < y1``."""

    x0: int
    y0: int
    x1: int
    y1: int

    def pad(self, margin: int = 2, shape: tuple[int, ...] | None = None) -> Box:
        """Return the box grown by ``margin`` pixels on every side, clipped to ``shape``.

        Parameters
        ----------
        margin : int
            Pixels to add on each side (anti-aliased glyph edges reach past the ink).
        shape : tuple, optional
            Frame shape ``(rows, columns[, samples])``; the box is clipped to it.
        """
        x0, y0 = max(0, self.x0 - margin), max(0, self.y0 - margin)
        x1, y1 = self.x1 + margin, self.y1 + margin
        if shape is not None:
            x1, y1 = min(x1, shape[1]), min(y1, shape[0])
        return Box(x0, y0, x1, y1)

    @property
    def area(self) -> int:
        return max(0, self.x1 - self.x0) * max(0, self.y1 - self.y0)

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    def overlaps(self, other: Box) -> bool:
        """Return True if the two boxes share at least one pixel."""
        return (self.x0 < other.x1 and other.x0 < self.x1
                and self.y0 < other.y1 and other.y0 < self.y1)


def to_uint8(frame: np.ndarray, *, monochrome1: bool = False) -> np.ndarray:
    """Return a grayscale 8-bit view of ``frame`` for OCR (never for storage).

    Parameters
    ----------
    frame : numpy.ndarray
        ``(rows, columns)`` grayscale of any integer or float dtype, or
        ``(rows, columns, 3|4)`` colour.
    monochrome1 : bool
        Photometric Interpretation MONOCHROME1 (minimum is white): invert so that
        text reads as it is displayed.
    """
    a = np.asarray(frame)
    if a.ndim == 3:
        if a.shape[2] not in (3, 4):
            raise ValueError(f"expected 3 or 4 samples per pixel, got shape {a.shape}")
        # brightest channel: yellow or green annotation text stays bright
        a = a[..., :3].max(axis=2)
    elif a.ndim != 2:
        raise ValueError(f"expected a 2-D frame or a colour frame, got shape {a.shape}")
    if a.dtype == np.uint8 and not monochrome1:
        return a
    a = a.astype(np.float32)
    lo, hi = float(a.min()), float(a.max())
    if hi <= lo:
        out = np.zeros(a.shape, np.uint8)
    else:
        out = ((a - lo) * (255.0 / (hi - lo))).astype(np.uint8)
    return 255 - out if monochrome1 else out


# --------------------------------------------------------------------------- pre-filter

def has_text_candidates(frame: np.ndarray, *, monochrome1: bool = False) -> bool:
    """Return whether ``frame`` may hold burned-in text (cheap; no OCR).

    A 16x16 block looks like text when it has strong contrast, its bright ("ink")
    pixels sit near its brightest value and the others near its darkest (saturated
    strokes on a flat background, either polarity), and rows and columns cross between
    the two several times (thin strokes, not one edge). Text also comes in lines, so
    the frame has candidates only when two text blocks are side by side. Noise,
    gradients and anatomy fail at least one test. Checked at full and half size (large
    fonts); frames over 2048 pixels are halved first.
    """
    return bool(_candidate_grid(to_uint8(frame, monochrome1=monochrome1)).any())


def _light(g: np.ndarray) -> bool:
    """True when the frame is mostly light, so its text is the dark side."""
    return bool(g.mean() > 127)


def _candidate_grid(g: np.ndarray) -> np.ndarray:
    """Return the text-block grid of ``g`` (cells of ``_BLOCK`` pixels), lines only."""
    step = 1
    while max(g.shape) > 2048:
        g, step = g[::2, ::2], step * 2
    light = _light(g)
    grid = _text_blocks(g, light)
    half = _text_blocks(g[::2, ::2], light)
    if half.size:  # a half-size block covers 2x2 full-size blocks
        up = np.repeat(np.repeat(half, 2, axis=0), 2, axis=1)
        r, c = min(up.shape[0], grid.shape[0]), min(up.shape[1], grid.shape[1])
        grid[:r, :c] |= up[:r, :c]
    # keep blocks with a text block beside them on the same row (a line of text)
    beside = np.zeros_like(grid)
    beside[:, 1:] |= grid[:, :-1]
    beside[:, :-1] |= grid[:, 1:]
    grid &= beside
    if step > 1:
        grid = np.repeat(np.repeat(grid, step, axis=0), step, axis=1)
    return grid


def _text_blocks(g: np.ndarray, light: bool) -> np.ndarray:
    b = _BLOCK
    rows, cols = (g.shape[0] // b) * b, (g.shape[1] // b) * b
    if rows == 0 or cols == 0:
        return np.zeros((g.shape[0] // b, g.shape[1] // b), bool)
    blocks = g[:rows, :cols].reshape(rows // b, b, cols // b, b).swapaxes(1, 2)
    lo = blocks.min(axis=(2, 3)).astype(np.int16)
    hi = blocks.max(axis=(2, 3)).astype(np.int16)
    live = (hi - lo) >= _MIN_CONTRAST
    # annotations are drawn at (near) full intensity: white or bright colour on dark,
    # or black on light; speckle and tissue edges rarely reach it
    if light:
        live &= lo <= 255 - _MIN_INK_LEVEL
    else:
        live &= hi >= _MIN_INK_LEVEL
    out = np.zeros(live.shape, bool)
    if not live.any():
        return out
    # only the blocks with contrast are examined further
    sel = blocks[live].astype(np.int16)
    lo_s, hi_s = lo[live][:, None, None], hi[live][:, None, None]
    margin = (hi_s - lo_s) // 5
    ink = sel > (lo_s + hi_s) // 2
    if light:  # dark text on a light background: ink is the dark side
        ink = ~ink
    n_ink = ink.sum(axis=(1, 2))
    n_bg = b * b - n_ink
    near = (sel >= hi_s - margin) | (sel <= lo_s + margin)
    ink_at_extreme = (ink & near).sum(axis=(1, 2))
    bg_at_extreme = (~ink & near).sum(axis=(1, 2))
    share = n_ink / (b * b)
    across = (ink[:, :, 1:] != ink[:, :, :-1]).sum(axis=(1, 2)) / b
    down = (ink[:, 1:, :] != ink[:, :-1, :]).sum(axis=(1, 2)) / b
    # anti-aliased glyphs put many ink pixels at middle values: the background must be
    # flat, the ink only partly saturated
    texty = ((ink_at_extreme >= _MIN_INK_EXTREME * n_ink)
             & (bg_at_extreme >= _MIN_BG_EXTREME * n_bg)
             & (share > 0.04) & (share < 0.6)
             & (across >= _MIN_TRANSITIONS) & (down >= 0.5))
    out[live] = texty
    return out


@dataclass(frozen=True)
class _Candidates:
    """A group of candidate blocks: their extent, the extent with context, their rows.

    ``rows`` maps each block row's pixel rows ``(y0, y1)`` to the pixel columns
    ``(x0, x1)`` its candidate blocks span.
    """

    blocks: Box
    padded: Box
    rows: tuple[tuple[int, int, int, int], ...]  # (y0, y1, x0, x1) per block row


_NEIGHBOURS = tuple((dr, dc) for dr in (-1, 0, 1) for dc in (-2, -1, 0, 1, 2) if dr or dc)


def _regions(grid: np.ndarray, shape: tuple[int, ...], pad: int) -> list[_Candidates]:
    """Return the groups of touching candidate blocks, in frame pixels.

    ``padded`` adds context for the line analysis (more sideways: the first or last block
    of a word may fail the tests).
    """
    # Plain Python tuples in a set: indexing the numpy grid cell by cell cost 2 ms a frame.
    candidates = list(zip(*(axis.tolist() for axis in np.nonzero(grid)), strict=True))
    todo = set(candidates)
    out = []
    for r0, c0 in candidates:  # row-major: regions come out in the order they start
        if (r0, c0) not in todo:
            continue
        stack = [(r0, c0)]
        todo.discard((r0, c0))
        cells: dict[int, list[int]] = {}
        while stack:
            r, c = stack.pop()
            span = cells.setdefault(r, [c, c])
            span[0], span[1] = min(span[0], c), max(span[1], c)
            # 8-neighbours and one gap block sideways: words in a line join up
            for dr, dc in _NEIGHBOURS:
                cell = (r + dr, c + dc)
                if cell in todo:
                    todo.discard(cell)
                    stack.append(cell)
        b = _BLOCK
        rows = tuple((r * b, min(shape[0], (r + 1) * b), c0_ * b, min(shape[1], (c1_ + 1) * b))
                     for r, (c0_, c1_) in sorted(cells.items()))
        blocks = Box(min(r[2] for r in rows), rows[0][0], max(r[3] for r in rows), rows[-1][1])
        wide = Box(max(0, blocks.x0 - 3 * pad), blocks.y0, min(shape[1], blocks.x1 + 3 * pad),
                   blocks.y1)
        out.append(_Candidates(blocks, wide.pad(pad, shape), rows))
    return out


# --------------------------------------------------------------------------- lines of ink

def _runs(on: np.ndarray, gap: int = 0) -> list[tuple[int, int]]:
    """Return half-open (start, end) runs of True in ``on``, bridging gaps up to ``gap``."""
    idx = np.flatnonzero(on)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > gap + 1)
    starts = np.concatenate(([idx[0]], idx[breaks + 1]))
    ends = np.concatenate((idx[breaks], [idx[-1]])) + 1
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


@dataclass(frozen=True)
class _Region:
    """A candidate region, its lines of ink (frame pixels), the ink threshold and the
    candidate block rows ``(y0, y1, x0, x1)`` (see :class:`_Candidates`)."""

    blocks: Box
    lines: tuple[Box, ...]
    threshold: int
    rows: tuple[tuple[int, int, int, int], ...] = ()

    def texty(self, line: Box) -> tuple[int, int]:
        """Return where the candidate blocks start along ``line`` and how much they cover.

        A line can run into speckle or anatomy on either side of the text; the blocks
        say where the text-like part is.
        """
        spans = [(max(x0, line.x0), min(x1, line.x1)) for y0, y1, x0, x1 in self.rows
                 if y0 < line.y1 and line.y0 < y1 and x0 < line.x1 and line.x0 < x1]
        if not spans:
            return line.x0, 0
        return min(a for a, _ in spans), sum(b - a for a, b in spans)


def _region_lines(v: np.ndarray, cand: _Candidates) -> _Region:
    """Cut the ink around one group of candidate blocks into lines (``v``: ink is bright).

    Rows with ink inside the padded region form bands; in each band, columns with ink
    (across the whole frame width, so a line cut by the region's edge goes on) form runs,
    bridged over gaps up to 1.5 text heights (word and field spacing). Runs over candidate
    blocks are the region's lines. A band taller than MAX_LINE_HEIGHT is text run into
    bright anatomy (or no text at all): there the candidate block rows, widened like the
    region, stand in for lines.
    """
    blocks, padded = cand.blocks, cand.padded
    crop = v[padded.y0:padded.y1, padded.x0:padded.x1]
    hi, bg = int(crop.max()), int(np.median(crop))
    if hi - bg < _MIN_CONTRAST // 2:
        return _Region(blocks, (), 255, cand.rows)
    threshold = (hi + bg + 1) // 2
    ink = v[padded.y0:padded.y1] >= threshold  # full width: lines may run past the region
    lines = []
    for r0, r1 in _runs(ink[:, padded.x0:padded.x1].any(axis=1), gap=1):
        h = r1 - r0
        if h < MIN_LINE_HEIGHT:
            continue
        if h > MAX_LINE_HEIGHT:
            y0, y1 = padded.y0 + r0, padded.y0 + r1
            lines += [Box(max(0, x0 - 3 * _REGION_PAD), max(by0, y0),
                          min(v.shape[1], x1 + 3 * _REGION_PAD), min(by1, y1))
                      for by0, by1, x0, x1 in cand.rows if by0 < y1 and y0 < by1]
            continue
        band = ink[r0:r1]
        for c0, c1 in _runs(band.any(axis=0), gap=max(3, (3 * h) // 2)):
            if c1 <= blocks.x0 or c0 >= blocks.x1:
                continue
            rows = np.flatnonzero(band[:, c0:c1].any(axis=1))
            line = Box(c0, padded.y0 + r0 + int(rows[0]), c1, padded.y0 + r0 + int(rows[-1]) + 1)
            if line.height >= MIN_LINE_HEIGHT and any(
                    line.overlaps(Box(x0, y0, x1, y1)) for y0, y1, x0, x1 in cand.rows):
                lines.append(line)
    return _Region(blocks, tuple(dict.fromkeys(lines)), threshold, cand.rows)


# --------------------------------------------------------------------------- engines

_Word = tuple[Box, str, float]


class _Engine(Protocol):
    name: str

    def words(self, img: np.ndarray, psm: int) -> list[_Word]:
        """Return (box, text, confidence) of the words in ``img`` (uint8, dark on light)."""


class _TesserocrEngine:
    """Tesseract through tesserocr: the models stay loaded in this process."""

    def __init__(self, tessdata: str, lang: str) -> None:
        import tesserocr

        self._t = tesserocr
        try:
            self._api = tesserocr.PyTessBaseAPI(path=tessdata, lang=lang)
        except RuntimeError as exc:
            raise OCRUnavailableError(f"tesseract cannot load {lang} from {tessdata}: "
                                      f"install {' and '.join(DEBIAN_PACKAGES)}") from exc
        # Frames are turned dark-on-light before reading: no second, inverted pass.
        self._api.SetVariable("tessedit_do_invert", "0")
        self._lock = threading.Lock()  # one API object is not safe across threads
        self.name = f"tesserocr {tesserocr.tesseract_version().split()[1]} ({lang})"

    def words(self, img: np.ndarray, psm: int) -> list[_Word]:
        t = self._t
        img = np.ascontiguousarray(img, dtype=np.uint8)
        out = []
        with self._lock:
            self._api.SetPageSegMode(psm)
            self._api.SetImageBytes(img.tobytes(), img.shape[1], img.shape[0], 1, img.shape[1])
            self._api.SetSourceResolution(300)
            self._api.Recognize()
            it = self._api.GetIterator()
            level = t.RIL.WORD
            for w in t.iterate_level(it, level) if it is not None else ():
                try:
                    text = w.GetUTF8Text(level)
                except RuntimeError:  # tesserocr's way of saying "no text here"
                    continue
                box = w.BoundingBox(level)
                if text and text.strip() and box:
                    out.append((Box(*box), text, float(w.Confidence(level))))
            self._api.Clear()
        return out


class _CliEngine:
    """Tesseract run as a program through pytesseract (one process per read)."""

    def __init__(self, lang: str) -> None:
        import pytesseract

        self._p = pytesseract
        self._lang = lang
        self.name = f"tesseract program {pytesseract.get_tesseract_version()} ({lang})"

    def words(self, img: np.ndarray, psm: int) -> list[_Word]:
        from PIL import Image

        data = self._p.image_to_data(Image.fromarray(img), lang=self._lang,
                                     config=f"--psm {psm}", output_type=self._p.Output.DICT)
        return [(Box(x, y, x + w, y + h), text, float(conf))
                for text, conf, x, y, w, h in zip(data["text"], data["conf"], data["left"],
                                                  data["top"], data["width"], data["height"],
                                                  strict=True)
                if text.strip()]


_ENGINES: dict[str, _Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _after_fork_in_child() -> None:
    # A lock copied while another thread of the parent held it would stay held forever.
    global _ENGINES_LOCK
    _ENGINES_LOCK = threading.Lock()
    for engine in _ENGINES.values():
        if isinstance(engine, _TesserocrEngine):
            engine._lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _hint() -> str:
    return "install the Debian packages " + " and ".join(DEBIAN_PACKAGES)


def _tessdata_dir(langs: list[str]) -> str | None:
    """Return the folder holding ``<lang>.traineddata`` for every language, if any."""
    places = []
    prefix = os.environ.get("TESSDATA_PREFIX")
    if prefix:
        places += [prefix, os.path.join(prefix, "tessdata")]
    # Debian: /usr/share/tesseract-ocr/<version>/tessdata; newest version first
    places += sorted(glob.glob("/usr/share/tesseract-ocr/*/tessdata"), reverse=True)
    places += ["/usr/share/tessdata", "/usr/local/share/tessdata"]
    for place in places:
        if all(os.path.isfile(os.path.join(place, f"{lang}.traineddata")) for lang in langs):
            return place
    if shutil.which("tesseract"):  # elsewhere: the installed program knows where
        try:
            listing = subprocess.run(["tesseract", "--list-langs"], capture_output=True,
                                     text=True, timeout=30, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        for place in re.findall(r'"([^"]+)"', listing.stdout + listing.stderr):
            if all(os.path.isfile(os.path.join(place, f"{lang}.traineddata"))
                   for lang in langs):
                return place
    return None


def _load_tesserocr(lang: str) -> _Engine | None:
    """Return a tesserocr engine, or None when tesserocr is not installed."""
    try:
        import tesserocr  # noqa: F401
    except ImportError:
        return None
    tessdata = _tessdata_dir(lang.split("+"))
    if tessdata is None:
        raise OCRUnavailableError(f"tesseract models {lang} not found: {_hint()}")
    return _TesserocrEngine(tessdata, lang)


def _load_cli(lang: str) -> _Engine:
    if shutil.which("tesseract") is None:
        raise OCRUnavailableError(f"tesseract is not installed: {_hint()}")
    import pytesseract

    try:
        languages = set(pytesseract.get_languages(config=""))
    except Exception as exc:  # pytesseract raises several types for a broken engine
        raise OCRUnavailableError(f"tesseract does not run ({exc}): {_hint()}") from exc
    missing = set(lang.split("+")) - languages
    if missing:
        raise OCRUnavailableError(f"tesseract models missing {sorted(missing)}: {_hint()}")
    return _CliEngine(lang)


def _engine(lang: str) -> _Engine:
    """Return this process's engine for ``lang``, loading it on first use.

    A worker forked after the engine was loaded uses its copy of it (see :func:`preload`).
    """
    key = lang
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            # One OpenMP thread per Tesseract run: frames and files are parallel already,
            # and oversubscribed threads made each run 2-3x slower on a busy machine.
            os.environ.setdefault("OMP_THREAD_LIMIT", "1")
            forced = os.environ.get(ENGINE_ENV, "").strip().lower()
            if forced not in ("", "tesserocr", "program"):
                raise OCRUnavailableError(f"{ENGINE_ENV}={forced!r}: use tesserocr or program")
            engine = None if forced == "program" else _load_tesserocr(lang)
            if engine is None and forced == "tesserocr":
                raise OCRUnavailableError(f"{ENGINE_ENV}=tesserocr but tesserocr is not "
                                          "installed (pip install tesserocr)")
            engine = engine or _load_cli(lang)
            _ENGINES[key] = engine
        return engine


def preload(lang: str = CONFIRM_LANG) -> None:
    """Load the OCR engine in this process and run it once, for workers forked later.

    Loading Tesseract's models and its first recognition cost about 0.17 s of CPU. Worker
    processes forked after this call use their copy of the loaded engine (tesserocr's
    Tesseract runs no threads of its own, so a forked copy is safe), so a pool of N
    workers pays that once instead of N times. Does nothing when OCR is unavailable: the
    files that need it then fail with the reason.
    """
    from PIL import Image, ImageDraw

    try:
        engine = _engine(lang)
    except OCRUnavailableError:
        return
    if getattr(engine, "warm", False):
        return
    page = Image.new("L", (200, 40), 255)
    ImageDraw.Draw(page).text((10, 12), "Traza 2026", fill=0)
    engine.words(np.asarray(page), PSM_BLOCK)
    engine.warm = True  # type: ignore[attr-defined]


def engine_name(lang: str = CONFIRM_LANG) -> str:
    """Return which OCR engine this process uses, e.g. ``"tesserocr 5.5.4 (spa)"``.

    Raises :class:`OCRUnavailableError` when there is none.
    """
    return _engine(lang).name


# --------------------------------------------------------------------------- reading

def _for_ocr(crop: np.ndarray, height: int) -> tuple[np.ndarray, int]:
    """Return ``crop`` (ink bright) as dark text on white, twice the size if the text is small.

    Twice, smoothly (Lanczos): Tesseract rescales each line itself, and larger blocky
    nearest-neighbour enlargements of 6-10 px fonts read worse, not better.
    """
    from PIL import Image

    img = 255 - crop
    if height >= UPSCALE_BELOW:
        return img, 1
    big = Image.fromarray(img).resize((img.shape[1] * 2, img.shape[0] * 2), Image.LANCZOS)
    return np.asarray(big), 2


_PAGE_GAP = OCR_TEXT_HEIGHT  # white space around each crop on an OCR page


def _stack(crops: list[np.ndarray]) -> tuple[np.ndarray, list[int]]:
    """Stack crops (dark on white) on one white page; return it and each crop's top row.

    Each crop starts ``_PAGE_GAP`` pixels from the left edge.
    """
    gap = _PAGE_GAP
    width = max(c.shape[1] for c in crops) + 2 * gap
    height = sum(c.shape[0] for c in crops) + gap * (len(crops) + 1)
    page = np.full((height, width), 255, np.uint8)
    tops, row = [], gap
    for c in crops:
        page[row:row + c.shape[0], gap:gap + c.shape[1]] = c
        tops.append(row)
        row += c.shape[0] + gap
    return page, tops


def _confirms(word: _Word, min_conf: float, min_chars: int = MIN_CONFIRM_CHARS) -> bool:
    _, text, conf = word
    return sum(ch.isalnum() for ch in text) >= min_chars and conf >= min_conf


_VERDICTS: OrderedDict[bytes, bool] = OrderedDict()


def _signature(sample: np.ndarray, lang: str) -> bytes:
    """Key of a sample as the OCR sees it: the language and scale, shape and exact pixels.

    Exact pixels, not the ink pattern: the verdict must be the one the OCR would give this
    very sample, so that an output never depends on which files a worker saw before.
    """
    return hashlib.blake2b(lang.encode() + np.asarray(sample.shape).tobytes()
                           + np.ascontiguousarray(sample).tobytes(), digest_size=16).digest()


def _remember(key: bytes, verdict: bool) -> None:
    _VERDICTS[key] = verdict
    if len(_VERDICTS) > _VERDICT_CACHE_SIZE:
        _VERDICTS.popitem(last=False)


def _sample(v: np.ndarray, line: Box, threshold: int, start: int) -> np.ndarray:
    """The first words of ``line`` (ink bright) from about ``start``, with a little context.

    When the text-like part of the line starts well inside it (``start``: the line ran
    into speckle), the sample begins at the widest gap in the SAMPLE_BACK text heights
    before ``start``: the start of a word. It ends at the widest gap between SAMPLE_MIN
    and SAMPLE_WIDTH text heights (at least SAMPLE_MIN_PIXELS) further on, since a word
    cut in two reads with low confidence; at SAMPLE_WIDTH when there is no gap.
    """
    h = line.height
    pad = max(2, h // 4)
    left = line.x0
    if start > line.x0 + SAMPLE_MIN * h:
        left = max(line.x0, start - SAMPLE_BACK * h)
        gaps = _runs(~(v[line.y0:line.y1, left:start] >= threshold).any(axis=0))
        if gaps:
            left += max(gaps, key=lambda g: g[1] - g[0])[1]
    end = min(line.x1, left + max(SAMPLE_WIDTH * h, SAMPLE_MIN_PIXELS))
    right = pad
    lo = left + SAMPLE_MIN * h
    if end < line.x1 and lo < end:
        ink = (v[line.y0:line.y1, lo:end] >= threshold).any(axis=0)
        gaps = [(b - a, a) for a, b in _runs(~ink)]
        if gaps:
            end = lo + max(gaps)[1] + 1
            right = 0  # context past the cut would show a sliver of the next word
    box = Box(max(0, left - (pad if left == line.x0 else 0)), max(0, line.y0 - pad),
              min(v.shape[1], end + right), min(v.shape[0], line.y1 + pad))
    return v[box.y0:box.y1, box.x0:box.x1]


def _confirm(v: np.ndarray, regions: list[_Region], lang: str) -> list[bool]:
    """Return, per region, whether OCR reads text in one of its lines.

    Lines over the most candidate blocks are tried first, up to MAX_SAMPLES per region.
    Each sample is read on
    its own page (Tesseract's thresholding looks at the whole page: a neighbour could
    change the verdict), and its verdict is remembered by :func:`_signature`.
    """
    verdict = [False] * len(regions)
    for i, region in enumerate(regions):
        # lines over the most candidate blocks first, then the widest
        ranked = sorted(region.lines, key=lambda b: (-region.texty(b)[1], -(b.x1 - b.x0)))
        for line in ranked[:MAX_SAMPLES]:
            sample = _sample(v, line, region.threshold, region.texty(line)[0])
            img, scale = _for_ocr(sample, line.height)
            key = _signature(img, f"{lang}/{scale}")
            if key in _VERDICTS:
                _VERDICTS.move_to_end(key)
            else:
                page, _ = _stack([img])
                _remember(key, any(_confirms(w, MIN_CONFIDENCE)
                                   for w in _engine(lang).words(page, PSM_BLOCK)
                                   if w[0].height >= MIN_HEIGHT * scale))
            if _VERDICTS[key]:
                verdict[i] = True
                break
    return verdict


def _analyse(g: np.ndarray) -> tuple[np.ndarray, list[_Region]]:
    """Return the frame with ink bright, and its candidate regions with their lines."""
    grid = _candidate_grid(g)
    if not grid.any():
        return g, []
    v = 255 - g if _light(g) else g
    merged: list[_Region] = []
    for cand in _regions(grid, g.shape, _REGION_PAD):
        region = _region_lines(v, cand)
        if not region.lines:
            continue
        # groups of blocks on one line of text (split by a gap the pre-filter left) find
        # the same line: one region, one verdict
        for i, other in enumerate(merged):
            if set(region.lines) & set(other.lines):
                b, o = region.blocks, other.blocks
                merged[i] = _Region(Box(min(b.x0, o.x0), min(b.y0, o.y0), max(b.x1, o.x1),
                                        max(b.y1, o.y1)),
                                    tuple(dict.fromkeys(other.lines + region.lines)),
                                    other.threshold, other.rows + region.rows)
                break
        else:
            merged.append(region)
    return v, merged


def _margin(line: Box, margin: int) -> int:
    # anti-aliased edges and faint serifs fall below the ink threshold: a quarter of the
    # text height more than asked
    return margin + line.height // 4


def find_text_boxes(
    frame: np.ndarray, *, lang: str = CONFIRM_LANG, monochrome1: bool = False,
    margin: int = 2, full_frame: bool = False,
) -> list[Box]:
    """Return boxes around the text burned into one frame.

    Parameters
    ----------
    frame : numpy.ndarray
        One frame: ``(rows, columns)`` grayscale (8/16-bit, signed or not) or
        ``(rows, columns, 3)`` RGB. Multi-frame images: call once per frame (the OCR
        verdicts of text already seen are reused).
    lang : str
        Tesseract language(s) that confirm text, ``"spa"`` by default.
    monochrome1 : bool
        The frame is MONOCHROME1 (inverted grayscale).
    margin : int
        Pixels added around each line (plus a quarter of its height, see :meth:`Box.pad`).
    full_frame : bool
        Read the whole frame instead of only the regions the pre-filter flags (slower:
        scanned documents); lines holding a word read with confidence are masked.

    Returns
    -------
    list of Box
        One box per line of ink in every region the OCR confirms as text, spanning the
        whole line; empty when there is no text. Word strings are not returned: they may
        be personal data.

    Raises
    ------
    OCRUnavailableError
        Tesseract or its models are missing (Debian packages ``tesseract-ocr``,
        ``tesseract-ocr-spa``).
    """
    shape = np.shape(frame)
    g = to_uint8(frame, monochrome1=monochrome1)
    if full_frame:
        return _full_frame_boxes(g, lang, margin)
    v, regions = _analyse(g)
    if not regions:
        return []
    boxes = []
    for region, is_text in zip(regions, _confirm(v, regions, lang), strict=True):
        if is_text:
            boxes += [line.pad(_margin(line, margin), shape) for line in region.lines]
    return boxes


def _same_place(a: Box, b: Box) -> bool:
    """True when two boxes overlap by at least half of the larger one."""
    inter = Box(max(a.x0, b.x0), max(a.y0, b.y0), min(a.x1, b.x1), min(a.y1, b.y1))
    return inter.x1 > inter.x0 and inter.y1 > inter.y0 and 2 * inter.area >= max(a.area, b.area)


def find_text_boxes_in_frames(
    frames: Sequence[np.ndarray], *, lang: str = CONFIRM_LANG, monochrome1: bool = False,
    margin: int = 2,
) -> list[list[Box]]:
    """Return the boxes of text burned into each frame of a multi-frame image.

    As :func:`find_text_boxes` frame by frame, plus one rule: a region whose line lies
    where a line of text was confirmed in another frame of the image is text as well,
    without being read again. Burned-in annotations are static, so a frame where the OCR
    misreads them (compression noise, a moving background) does not keep them; a frame
    without candidate text there is left alone. The result does not depend on frame order.

    Parameters
    ----------
    frames : sequence of numpy.ndarray
        The frames (``frames[i]`` as for :func:`find_text_boxes`).
    lang, monochrome1, margin
        As for :func:`find_text_boxes`.

    Returns
    -------
    list of list of Box
        Per frame, the boxes to mask (empty when the frame has no text).
    """
    found: list[tuple[tuple[int, ...], list[_Region], list[bool]]] = []
    text_lines: list[Box] = []
    for frame in frames:
        v, regions = _analyse(to_uint8(frame, monochrome1=monochrome1))
        known = [any(_same_place(line, t) for line in r.lines for t in text_lines)
                 for r in regions]
        read = iter(_confirm(v, [r for r, k in zip(regions, known, strict=True) if not k],
                             lang))
        verdict = [k or next(read) for k in known]
        text_lines += [line for r, ok in zip(regions, verdict, strict=True) if ok
                       for line in r.lines]
        found.append((np.shape(frame), regions, verdict))
    out = []
    for shape, regions, verdict in found:
        boxes = []
        for region, ok in zip(regions, verdict, strict=True):
            if ok or any(_same_place(line, t) for line in region.lines for t in text_lines):
                boxes += [line.pad(_margin(line, margin), shape) for line in region.lines]
        out.append(boxes)
    return out


def _full_frame_boxes(g: np.ndarray, lang: str, margin: int) -> list[Box]:
    v = 255 - g if _light(g) else g
    whole = Box(0, 0, g.shape[1], g.shape[0])
    # bands taller than a line are pictures or noise, not lines: there the words' own
    # boxes are masked
    lines = [line for line in
             _region_lines(v, _Candidates(whole, whole, ((0, whole.y1, 0, whole.x1),))).lines
             if line.height <= MAX_LINE_HEIGHT]
    img = 255 - v
    words = [w for w in _engine(lang).words(img, PSM_SPARSE)
             if _confirms(w, MIN_CONFIDENCE_FULL_FRAME, MIN_CHARS_FULL_FRAME)
             and w[0].height >= MIN_HEIGHT]
    boxes = [line for line in lines if any(line.overlaps(w[0]) for w in words)]
    boxes += [w[0] for w in words if not any(w[0].overlaps(b) for b in boxes)]
    return [b.pad(_margin(b, margin), g.shape) for b in boxes]


def read_words(
    frame: np.ndarray, *, lang: str = READ_LANG, monochrome1: bool = False,
    full_frame: bool = False,
) -> list[tuple[Box, str]]:
    """Return the words Tesseract reads in ``frame`` with their boxes (frame pixels).

    Only the regions :func:`has_text_candidates` flags are read, unless ``full_frame``
    (slower, and stricter on confidence: use it for scanned documents, where text is
    everywhere). Word strings are for :func:`anonymizer.text_es.find_phi`; never log them.
    Raises :class:`OCRUnavailableError` when the engine or a model is missing.
    """
    g = to_uint8(frame, monochrome1=monochrome1)
    light = _light(g)
    if full_frame:
        img = g if light else 255 - g
        return [(b, t.strip()) for b, t, c in _engine(lang).words(img, PSM_SPARSE)
                if _confirms((b, t, c), MIN_CONFIDENCE_FULL_FRAME, MIN_CHARS_FULL_FRAME)
                and b.height >= MIN_HEIGHT]
    v, regions = _analyse(g)
    crops, places = [], []
    for region in regions:
        for line in region.lines:
            box = line.pad(max(2, line.height // 4), g.shape)
            img, scale = _for_ocr(v[box.y0:box.y1, box.x0:box.x1], line.height)
            crops.append(img)
            places.append((box, scale))
    if not crops:
        return []
    page, tops = _stack(crops)
    words = []
    for b, text, conf in _engine(lang).words(page, PSM_BLOCK):
        if not _confirms((b, text, conf), MIN_CONFIDENCE):
            continue
        for (box, scale), top, crop in zip(places, tops, crops, strict=True):
            if top <= (b.y0 + b.y1) // 2 < top + crop.shape[0]:
                x0 = box.x0 + max(0, b.x0 - _PAGE_GAP) // scale
                x1 = box.x0 + -(-max(0, b.x1 - _PAGE_GAP) // scale)
                y0 = box.y0 + max(0, b.y0 - top) // scale
                y1 = box.y0 + -(-max(0, b.y1 - top) // scale)
                words.append((Box(x0, y0, min(x1, box.x1), min(y1, box.y1)), text.strip()))
                break
    return words


# --------------------------------------------------------------------------- masking

def mask(frame: np.ndarray, boxes: list[Box], *, fill: float | None = None) -> np.ndarray:
    """Return a copy of ``frame`` with every box filled, same dtype and shape.

    Parameters
    ----------
    frame : numpy.ndarray
        Grayscale ``(rows, columns)`` or colour ``(rows, columns, samples)``.
    boxes : list of Box
        Regions to blank; parts outside the frame are ignored.
    fill : number, optional
        Value written; default the frame's minimum (0 for unsigned data, the padding
        value of CT-like signed data), i.e. background.
    """
    out = np.array(frame, copy=True)
    if not boxes:
        return out
    value = out.min() if fill is None else fill
    rows, cols = out.shape[0], out.shape[1]
    for b in boxes:
        x0, y0 = max(0, b.x0), max(0, b.y0)
        x1, y1 = min(cols, b.x1), min(rows, b.y1)
        if x1 > x0 and y1 > y0:
            out[y0:y1, x0:x1, ...] = value
    return out
