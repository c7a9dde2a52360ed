"""Burned-in text found by the learned detector and by Tesseract; clinical lines kept.

For one frame (:func:`find_text_lines`):

1. The learned detector (:mod:`anonymizer.ocr.learned`, PP-OCRv4) boxes every line of
   text, in tiles at full resolution on large frames; its recognizer reads each box.
2. A line read with confidence that is only measurements, settings or markers and that
   ``is_personal`` clears is kept (:func:`anonymizer.ocr.clinical.keep`); every other
   line is masked. A box whose reading has no letter or digit at all is not text. A line
   to mask is looked at again along its row with the contrast equalized (the detector
   ends a line where its background changes) and follows its strokes (:func:`_along_ink`).
3. The pre-filter and Tesseract path (:func:`anonymizer.ocr.find.find_text_boxes`) runs
   too, as a second detector: each line it confirms is masked unless it is the very line
   the learned path kept. The masks are the union: a line either path finds is masked.

For the frames of one image (:func:`find_text_lines_in_frames`): the first, middle and
last frames are searched; every other frame is compared with the nearest searched one
inside the lines found there (their pixels unchanged: the same masks) and run through the
pre-filter outside them (nothing new: the same masks); a frame that fails either check is
searched on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from anonymizer.ocr import learned
from anonymizer.ocr.box import Box
from anonymizer.ocr.clinical import keep
from anonymizer.ocr.engines import CONFIRM_LANG
from anonymizer.ocr.find import find_text_boxes
from anonymizer.ocr.prefilter import _BLOCK, _candidate_grid, to_uint8

#: ``text -> True when it holds personal data`` (Spanish detector, known values).
PersonalCheck = Callable[[str], bool]
#: A searched frame's lines are the same in another frame when no pixel inside them
#: moved by more than this (8-bit view): lossy compression noise, not new text.
SAME_TEXT_DIFF = 24
#: Detector boxes taller than this are not one line (40 px fonts give ~60 px boxes).
MAX_LINE_BOX = 80
#: A box read as a single character is text (an L/R marker) only from this score.
MIN_SINGLE_SCORE = 0.6
#: How far (text heights, each side) a masked line may grow along its ink.
MAX_EXTEND = 12
#: Frames searched in full in a multi-frame image (first, middle, last).
SAMPLED_FRAMES = 3


def _inside(a: Box, boxes: list[Box]) -> float:
    """Share of ``a``'s area covered by ``boxes`` (they may overlap: an upper bound)."""
    if a.area == 0:
        return 0.0
    covered = 0
    for b in boxes:
        w = min(a.x1, b.x1) - max(a.x0, b.x0)
        h = min(a.y1, b.y1) - max(a.y0, b.y0)
        if w > 0 and h > 0:
            covered += w * h
    return covered / a.area


def _is_text(box: Box, text: str, score: float) -> bool:
    """Whether a detector box holds text, by what the recognizer read in it.

    Bones and vessels in noise make the detector box a blob the recognizer reads as one
    unsure character or as a Chinese glyph (the models' other script); annotations here are
    Latin letters and digits. A box far taller than a text line must read well.
    """
    n = sum(c.isascii() and c.isalnum() for c in text)
    if box.height > MAX_LINE_BOX:
        return n >= 3 and score >= 0.8
    return n >= 2 or (n == 1 and score >= MIN_SINGLE_SCORE)


def _lines(g: np.ndarray, is_personal: PersonalCheck | None, margin: int,
           lang: str) -> tuple[list[Box], list[Box]]:
    """Return (lines to mask, clinical lines kept) of one 8-bit frame."""
    engine = learned.PROCESS.get()
    found = engine.detect(g)
    masked: list[Box] = []
    kept: list[Box] = []
    for box, (text, score) in zip(found, engine.read(g, found), strict=True):
        if not _is_text(box, text, score):
            continue
        personal = True if is_personal is None else is_personal(text)
        (kept if keep(text, score, personal) else masked).append(box)
    masked = [_along_ink(g, _look_again(engine, g, b, kept), kept)
              .pad(margin + b.height // 8, g.shape) for b in masked]
    for t in find_text_boxes(g, lang=lang, margin=margin):
        masked += _outside(t, kept)
    return masked, kept


def _stops(box: Box, stops: list[Box], lo: int, hi: int) -> tuple[int, int]:
    """``(lo, hi)`` narrowed so that ``box`` grown to them enters no box of ``stops`` on
    its line."""
    for k in stops:
        if k.y0 < box.y1 and box.y0 < k.y1:
            if k.x1 <= box.x0:
                lo = max(lo, k.x1)
            elif k.x0 >= box.x1:
                hi = min(hi, k.x0)
    return lo, hi


def _look_again(engine: learned.LearnedEngine, g: np.ndarray, box: Box,
                stops: list[Box]) -> Box:
    """``box`` (a line to mask) joined with the boxes the detector finds on the same line
    once the band's contrast is equalized (:meth:`LearnedEngine.detect_band`), never into
    a kept line (``stops``).

    The detector ends a line where its background changes (a label on brighter film than
    its name, a number running onto a bright patch); the rest of the line is the same
    text, so it is masked with it.
    """
    lo, hi = _stops(box, stops, 0, g.shape[1])
    x0, x1 = box.x0, box.x1
    for b in engine.detect_band(g, box):
        inter = min(b.y1, box.y1) - max(b.y0, box.y0)
        if 2 * inter < min(b.height, box.height) or b.x1 <= lo or b.x0 >= hi:
            continue
        x0, x1 = min(x0, max(lo, b.x0)), max(x1, min(hi, b.x1))
    return Box(x0, box.y0, x1, box.y1)


def _along_ink(g: np.ndarray, box: Box, stops: list[Box]) -> Box:
    """``box`` widened to where its line's strokes run (gaps up to 1.5 text heights).

    The detector may end a line early (a name after a caret, a date after its day); the
    mask follows the strokes, as the Tesseract path's lines do: columns where the band
    changes sharply from row to row (glyphs; a gradient or a flat field does not), up to
    MAX_EXTEND text heights each side and never into a kept line (``stops``).
    """
    h = box.height
    band = g[box.y0:box.y1].astype(np.int16)
    if band.shape[0] < 3 or box.x1 <= box.x0:
        return box
    step = np.abs(np.diff(band, axis=0)).max(axis=0)
    reach = int(step[box.x0:box.x1].max())
    if reach < 40:
        return box
    ink = step > reach // 2
    gap = max(3, (3 * h) // 2)
    lo, hi = _stops(box, stops, max(0, box.x0 - MAX_EXTEND * h),
                    min(g.shape[1], box.x1 + MAX_EXTEND * h))
    x0, x1 = box.x0, box.x1
    while x0 > lo:
        left = np.flatnonzero(ink[max(lo, x0 - gap):x0])
        if left.size == 0:
            break
        x0 = max(lo, x0 - gap) + int(left[0])
    while x1 < hi:
        right = np.flatnonzero(ink[x1:min(hi, x1 + gap)])
        if right.size == 0:
            break
        x1 += int(right[-1]) + 1
    return Box(x0, box.y0, x1, box.y1)


def _outside(t: Box, kept: list[Box]) -> list[Box]:
    """The parts of ``t`` (a line Tesseract confirmed) left and right of the kept lines
    it crosses; parts narrower than a text height are the kept line's own margins."""
    parts = [t]
    for k in kept:
        if not (k.y0 < t.y1 and t.y0 < k.y1) or 2 * (min(k.y1, t.y1) - max(k.y0, t.y0)) \
                < min(k.height, t.height):
            continue  # not the same line
        nxt = []
        for p in parts:
            if k.x1 <= p.x0 or p.x1 <= k.x0:
                nxt.append(p)
                continue
            nxt += [b for b in (Box(p.x0, p.y0, k.x0, p.y1), Box(k.x1, p.y0, p.x1, p.y1))
                    if b.x1 - b.x0 >= p.height]
        parts = nxt
    return parts


def find_text_lines(
    frame: np.ndarray, *, monochrome1: bool = False, is_personal: PersonalCheck | None = None,
    margin: int = 2, lang: str = CONFIRM_LANG,
) -> list[Box]:
    """Return the boxes to mask in one frame: every line of text but safe clinical ones.

    Parameters
    ----------
    frame : numpy.ndarray
        ``(rows, columns)`` grayscale of any integer dtype or ``(rows, columns, 3)`` RGB.
    monochrome1 : bool
        The frame is MONOCHROME1 (inverted grayscale).
    is_personal : callable, optional
        ``text -> bool``: True when a read line holds personal data. Without it no line
        is kept: every line of text is masked.
    margin : int
        Pixels added around each masked line.
    lang : str
        Tesseract language of the second detector.

    Raises
    ------
    OCRUnavailableError
        The learned detector or Tesseract is not installed.
    """
    g = to_uint8(frame, monochrome1=monochrome1)
    return _lines(g, is_personal, margin, lang)[0]


def _sampled(n: int) -> list[int]:
    return sorted({0, n // 2, n - 1})[:SAMPLED_FRAMES]


def _unchanged(g: np.ndarray, ref: np.ndarray, boxes: list[Box]) -> bool:
    for b in boxes:
        a = g[b.y0:b.y1, b.x0:b.x1].astype(np.int16)
        r = ref[b.y0:b.y1, b.x0:b.x1].astype(np.int16)
        if a.size and int(np.abs(a - r).max()) > SAME_TEXT_DIFF:
            return False
    return True


def _new_candidates(g: np.ndarray, boxes: list[Box]) -> bool:
    """True when the pre-filter flags text blocks outside ``boxes``."""
    grid = _candidate_grid(g)
    for b in boxes:
        grid[b.y0 // _BLOCK:-(-b.y1 // _BLOCK), b.x0 // _BLOCK:-(-b.x1 // _BLOCK)] = False
    return bool(grid.any())


def find_text_lines_in_frames(
    frames: Sequence[np.ndarray], *, monochrome1: bool = False,
    is_personal: PersonalCheck | None = None, margin: int = 2, lang: str = CONFIRM_LANG,
    gate: bool = False,
) -> list[list[Box]]:
    """Return, per frame, the boxes to mask (see the module docstring for the sampling).

    Parameters as for :func:`find_text_lines`; ``frames[i]`` is one frame. ``gate``: only
    frames the pre-filter flags are searched (CT/MR series whose BurnedInAnnotation is
    absent, see :func:`anonymizer.dicom.pixels.gated`); the others get no mask.
    """
    views = [to_uint8(f, monochrome1=monochrome1) for f in frames]
    if gate:
        flagged = [i for i, g in enumerate(views) if _candidate_grid(g).any()]
        out: list[list[Box]] = [[] for _ in views]
        if flagged:
            for i, boxes in zip(flagged, _search([views[i] for i in flagged], is_personal,
                                                 margin, lang), strict=True):
                out[i] = boxes
        return out
    return _search(views, is_personal, margin, lang)


def _search(views: list[np.ndarray], is_personal: PersonalCheck | None, margin: int,
            lang: str) -> list[list[Box]]:
    n = len(views)
    found: dict[int, tuple[list[Box], list[Box]]] = {
        i: _lines(views[i], is_personal, margin, lang) for i in _sampled(n)}
    out = []
    for i in range(n):
        if i not in found:
            ref = min(found, key=lambda j: abs(j - i))
            masked, kept = found[ref]
            lines = masked + kept
            if not (_unchanged(views[i], views[ref], lines)
                    and not _new_candidates(views[i], lines)):
                found[i] = _lines(views[i], is_personal, margin, lang)
            else:
                found[i] = found[ref]
        out.append(list(found[i][0]))
    return out
