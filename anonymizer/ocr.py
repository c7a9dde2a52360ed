"""Find and mask text burned into pixel data (PS3.15 E.1.1, Clean Pixel Data Option).

The OCR engine is Tesseract 5 run offline through pytesseract, with the Spanish and
English models from Debian (``tesseract-ocr``, ``tesseract-ocr-spa``); nothing is
downloaded at run time. Frames are handled one at a time: for a multi-frame image the
caller loops over frames. 16-bit and MONOCHROME1 frames are windowed to 8 bits *for
the OCR only*; :func:`mask` writes into a copy of the original frame, same dtype.

:func:`has_text_candidates` is a cheap numpy pre-filter: images where it returns False
can skip OCR (and keep their pixel data bit-identical).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = [
    "Box",
    "OCRUnavailableError",
    "find_text_boxes",
    "has_text_candidates",
    "mask",
    "read_words",
    "to_uint8",
]

#: Debian packages that provide the engine and the models (named in errors).
DEBIAN_PACKAGES = ("tesseract-ocr", "tesseract-ocr-spa")

#: Words below this Tesseract confidence (0-100) are ignored; low enough to keep small
#: annotation fonts, high enough that speckle and anatomy are not read as text.
MIN_CONFIDENCE = 40
#: Without the pre-filter's regions, speckle is read as short words more often.
MIN_CONFIDENCE_FULL_FRAME = 60
#: Images narrower than this are enlarged 2x before OCR: small ultrasound and screen-capture
#: fonts are 8-14 px high, below the ~20 px Tesseract reads best.
UPSCALE_BELOW = 700
#: Words shorter than this (frame pixels) are speckle, not text.
MIN_HEIGHT = 6
#: Pixels of context kept around each pre-filter region given to Tesseract.
_REGION_PAD = 12
#: Pre-filter block size (pixels) and thresholds, see :func:`has_text_candidates`.
_BLOCK = 16
_MIN_CONTRAST = 80
_MIN_INK_LEVEL = 178  # 70% of full scale
_MIN_INK_EXTREME = 0.2  # share of ink pixels near the block's extreme
_MIN_BG_EXTREME = 0.9  # share of background pixels near the other extreme
_MIN_TRANSITIONS = 1.2  # ink/background changes per block row
_MIN_TEXT_BLOCKS = 2


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
            Pixels to add on each side (anti-aliased glyph edges reach past the box
            Tesseract reports).
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


def _candidate_grid(g: np.ndarray) -> np.ndarray:
    """Return the text-block grid of ``g`` (cells of ``_BLOCK`` pixels), lines only."""
    step = 1
    while max(g.shape) > 2048:
        g, step = g[::2, ::2], step * 2
    grid = _text_blocks(g)
    half = _text_blocks(g[::2, ::2])
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


def _text_blocks(g: np.ndarray) -> np.ndarray:
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
    if g.mean() > 127:
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
    if g.mean() > 127:  # dark text on a light background: ink is the dark side
        ink = ~ink
    n_ink = ink.sum(axis=(1, 2))
    n_bg = b * b - n_ink
    near_hi = sel >= hi_s - margin
    near_lo = sel <= lo_s + margin
    ink_at_extreme = np.where(ink, near_hi | near_lo, False).sum(axis=(1, 2))
    bg_at_extreme = np.where(~ink, near_lo | near_hi, False).sum(axis=(1, 2))
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


def _regions(grid: np.ndarray, shape: tuple[int, ...], pad: int) -> list[Box]:
    """Return bounding boxes (frame pixels, padded) of the connected candidate blocks."""
    seen = np.zeros_like(grid)
    boxes = []
    for r0, c0 in zip(*np.nonzero(grid), strict=True):
        if seen[r0, c0]:
            continue
        stack = [(r0, c0)]
        seen[r0, c0] = True
        rmin, rmax, cmin, cmax = r0, r0, c0, c0
        while stack:
            r, c = stack.pop()
            rmin, rmax, cmin, cmax = min(rmin, r), max(rmax, r), min(cmin, c), max(cmax, c)
            # 8-neighbours and one gap block sideways: words in a line join up
            for dr in (-1, 0, 1):
                for dc in (-2, -1, 0, 1, 2):
                    rr, cc = r + dr, c + dc
                    if 0 <= rr < grid.shape[0] and 0 <= cc < grid.shape[1] \
                            and grid[rr, cc] and not seen[rr, cc]:
                        seen[rr, cc] = True
                        stack.append((rr, cc))
        # wider sideways: the first or last block of a word may fail the tests
        x0, x1 = max(0, int(cmin) * _BLOCK - 3 * pad), int(cmax + 1) * _BLOCK + 3 * pad
        box = Box(x0, int(rmin) * _BLOCK, min(shape[1], x1), int(rmax + 1) * _BLOCK)
        boxes.append(box.pad(pad, shape))
    return boxes


@lru_cache(maxsize=1)
def _tesseract() -> object:
    """Return the pytesseract module after checking the engine and models are there."""
    hint = "install the Debian packages " + " and ".join(DEBIAN_PACKAGES)
    # One OpenMP thread per Tesseract run: frames and files are parallel already, and
    # oversubscribed threads made each run 2-3x slower on a busy machine.
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    if shutil.which("tesseract") is None:
        raise OCRUnavailableError(f"tesseract is not installed: {hint}")
    import pytesseract

    try:
        languages = set(pytesseract.get_languages(config=""))
    except Exception as exc:  # pytesseract raises several types for a broken engine
        raise OCRUnavailableError(f"tesseract does not run ({exc}): {hint}") from exc
    missing = {"spa", "eng"} - languages
    if missing:
        raise OCRUnavailableError(f"tesseract models missing {sorted(missing)}: {hint}")
    return pytesseract


def _prepare(g: np.ndarray) -> tuple[np.ndarray, int]:
    # Tesseract reads dark text on light paper best; most burned-in text is light on dark.
    if g.mean() < 128:
        g = 255 - g
    scale = 2 if g.shape[1] < UPSCALE_BELOW else 1
    if scale == 2:
        g = np.repeat(np.repeat(g, 2, axis=0), 2, axis=1)
    return g, scale


def _ocr(tess: object, g: np.ndarray, lang: str, min_conf: float) -> list[tuple[Box, str]]:
    from PIL import Image

    img, scale = _prepare(g)
    # --psm 11: sparse text, as much as possible in no order (annotations, not pages)
    data = tess.image_to_data(  # type: ignore[attr-defined]
        Image.fromarray(img), lang=lang, config="--psm 11",
        output_type=tess.Output.DICT,  # type: ignore[attr-defined]
    )
    words = []
    for text, conf, x, y, w, h in zip(
        data["text"], data["conf"], data["left"], data["top"], data["width"], data["height"],
        strict=True,
    ):
        text = text.strip()
        alnum = sum(c.isalnum() for c in text)
        conf = float(conf)
        if alnum == 0 or conf < min_conf or h < MIN_HEIGHT * scale:
            continue
        if alnum == 1 and conf < 80:  # lone letters in speckle are not text
            continue
        box = Box(x // scale, y // scale, -(-(x + w) // scale), -(-(y + h) // scale))
        words.append((box, text))
    return words


def _canvas(g: np.ndarray, regions: list[Box]) -> tuple[np.ndarray, list[tuple[Box, int]]]:
    """Stack the regions of ``g`` in one image (one Tesseract run instead of many).

    Returns the image and, per region, its box and the row where it starts.
    """
    gap = _REGION_PAD * 2
    width = max(r.x1 - r.x0 for r in regions)
    height = sum(r.y1 - r.y0 for r in regions) + gap * (len(regions) - 1)
    background = 255 if g.mean() > 127 else 0
    canvas = np.full((height, width), background, np.uint8)
    placed = []
    row = 0
    for r in regions:
        canvas[row:row + r.y1 - r.y0, :r.x1 - r.x0] = g[r.y0:r.y1, r.x0:r.x1]
        placed.append((r, row))
        row += r.y1 - r.y0 + gap
    return canvas, placed


def read_words(
    frame: np.ndarray, *, lang: str = "spa+eng", monochrome1: bool = False,
    full_frame: bool = False,
) -> list[tuple[Box, str]]:
    """Return the words Tesseract reads in ``frame`` with their boxes (frame pixels).

    Only the regions :func:`has_text_candidates` flags are read, unless ``full_frame``
    (slower, and stricter on confidence: use it for scanned documents, where text is
    everywhere). Word strings are for :func:`anonymizer.text_es.find_phi`; never log them.
    Raises :class:`OCRUnavailableError` when the engine or a model is missing.
    """
    tess = _tesseract()
    g = to_uint8(frame, monochrome1=monochrome1)
    if full_frame:
        return _ocr(tess, g, lang, MIN_CONFIDENCE_FULL_FRAME)
    regions = _regions(_candidate_grid(g), g.shape, _REGION_PAD)
    if not regions:
        return []
    canvas, placed = _canvas(g, regions)
    words = []
    for box, text in _ocr(tess, canvas, lang, MIN_CONFIDENCE):
        for region, row in placed:  # map back from the canvas to the frame
            if row <= box.y0 < row + region.y1 - region.y0:
                dy = region.y0 - row
                words.append((Box(box.x0 + region.x0, box.y0 + dy,
                                  min(box.x1 + region.x0, region.x1),
                                  min(box.y1 + dy, region.y1)), text))
                break
    return words


def find_text_boxes(
    frame: np.ndarray, *, lang: str = "spa+eng", monochrome1: bool = False, margin: int = 2,
    full_frame: bool = False,
) -> list[Box]:
    """Return boxes around the text burned into one frame.

    Parameters
    ----------
    frame : numpy.ndarray
        One frame: ``(rows, columns)`` grayscale (8/16-bit, signed or not) or
        ``(rows, columns, 3)`` RGB. Multi-frame images: call once per frame.
    lang : str
        Tesseract languages, ``"spa+eng"`` by default.
    monochrome1 : bool
        The frame is MONOCHROME1 (inverted grayscale).
    margin : int
        Pixels added around each word box (see :meth:`Box.pad`).
    full_frame : bool
        Read the whole frame instead of only the regions the pre-filter flags.

    Returns
    -------
    list of Box
        One box per line of words read with confidence >= ``MIN_CONFIDENCE``, widened
        by one text height at both ends and by ``margin`` all round; empty when there
        is no text. Word strings are not returned: they may be personal data.

    Raises
    ------
    OCRUnavailableError
        Tesseract or its ``spa``/``eng`` models are missing (Debian packages
        ``tesseract-ocr``, ``tesseract-ocr-spa``).
    """
    shape = np.shape(frame)
    words = read_words(frame, lang=lang, monochrome1=monochrome1, full_frame=full_frame)
    return [box.pad(margin, shape) for box in _lines([box for box, _ in words], shape)]


def _lines(boxes: list[Box], shape: tuple[int, ...]) -> list[Box]:
    """Merge word boxes into line boxes, each reaching one text height past its ends.

    Short words Tesseract drops at low confidence (``ID``, ``F``, ``Dr``) sit next to
    the words it reads; masking the whole line, a little wider, takes them too.
    """
    merged: list[Box] = []
    for b in sorted(boxes, key=lambda b: (b.y0, b.x0)):
        h = b.y1 - b.y0
        for i, m in enumerate(merged):
            overlap = min(b.y1, m.y1) - max(b.y0, m.y0)
            gap = max(b.x0 - m.x1, m.x0 - b.x1)
            if overlap >= 0.5 * min(h, m.y1 - m.y0) and gap <= 2 * max(h, m.y1 - m.y0):
                merged[i] = Box(min(m.x0, b.x0), min(m.y0, b.y0), max(m.x1, b.x1),
                                max(m.y1, b.y1))
                break
        else:
            merged.append(b)
    out = []
    for m in merged:
        h = m.y1 - m.y0
        out.append(Box(max(0, m.x0 - h), m.y0, min(shape[1], m.x1 + h), m.y1))
    return out


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
