"""Find burned-in text in one frame, in all frames of an image, or read its words.

One frame at a time (:func:`find_text_boxes`), or all frames of an image at once
(:func:`find_text_boxes_in_frames`, which also masks, in every frame that has candidate
text there, a line confirmed as text in any frame). The engines and verdicts are this
process's (:data:`anonymizer.ocr.engines.PROCESS`, :data:`anonymizer.ocr.confirm.VERDICTS`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from anonymizer.ocr import engines as _engines
from anonymizer.ocr.box import Box
from anonymizer.ocr.confirm import (
    _PAGE_GAP,
    MIN_CONFIDENCE,
    MIN_HEIGHT,
    VERDICTS,
    _confirm,
    _confirms,
    _for_ocr,
    _stack,
)
from anonymizer.ocr.engines import CONFIRM_LANG, PSM_BLOCK, PSM_SPARSE, READ_LANG
from anonymizer.ocr.lines import MAX_LINE_HEIGHT, _analyse, _Region, _region_lines
from anonymizer.ocr.prefilter import _Candidates, _light, to_uint8

#: Reading a whole frame (scanned documents) sees more speckle, where Tesseract finds
#: two-letter words ("de") with confidence: stricter.
MIN_CONFIDENCE_FULL_FRAME = 60
MIN_CHARS_FULL_FRAME = 3


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
    verdicts = _confirm(v, regions, lang, _engines.PROCESS, VERDICTS)
    for region, is_text in zip(regions, verdicts, strict=True):
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
                             lang, _engines.PROCESS, VERDICTS))
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
    words = [w for w in _engines.PROCESS.get(lang).words(img, PSM_SPARSE)
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
        return [(b, t.strip()) for b, t, c in _engines.PROCESS.get(lang).words(img, PSM_SPARSE)
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
    for b, text, conf in _engines.PROCESS.get(lang).words(page, PSM_BLOCK):
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

