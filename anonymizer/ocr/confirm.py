"""Confirmation: the OCR reads one sample per candidate region; its verdict is remembered.

Tesseract reads one sample per region (its widest line's first words); a word read with
confidence makes every candidate line of the region text. Verdicts are remembered by the
sample's exact pixels (:class:`Verdicts`), so static annotations (on a multi-frame image,
or the same label on a series) are read once per process, and an output never depends on
what else the process saw.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np

from anonymizer.ocr.box import Box, Word
from anonymizer.ocr.engines import PSM_BLOCK, Engines
from anonymizer.ocr.lines import _Region, _runs

#: A word confirms a region when it has at least this many letters or digits and this
#: Tesseract confidence (0-100): speckle read as text is short or unsure.
MIN_CONFIRM_CHARS = 2
MIN_CONFIDENCE = 40
#: Words shorter than this (frame pixels) are speckle, not text.
MIN_HEIGHT = 6
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
#: Verdicts kept per process (keys are hashes of ink patterns, never text).
_VERDICT_CACHE_SIZE = 4096


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


def _confirms(word: Word, min_conf: float, min_chars: int = MIN_CONFIRM_CHARS) -> bool:
    _, text, conf = word
    return sum(ch.isalnum() for ch in text) >= min_chars and conf >= min_conf


class Verdicts:
    """OCR verdicts remembered by :func:`_signature`, the oldest forgotten past ``size``."""

    def __init__(self, size: int = _VERDICT_CACHE_SIZE) -> None:
        self.size = size
        self._seen: OrderedDict[bytes, bool] = OrderedDict()

    def get(self, key: bytes) -> bool | None:
        """Return the verdict remembered for ``key`` (None if unknown), now the newest."""
        if key not in self._seen:
            return None
        self._seen.move_to_end(key)
        return self._seen[key]

    def remember(self, key: bytes, verdict: bool) -> None:
        """Keep ``verdict`` for ``key``."""
        self._seen[key] = verdict
        if len(self._seen) > self.size:
            self._seen.popitem(last=False)

    def clear(self) -> None:
        """Forget every verdict."""
        self._seen.clear()

    def __len__(self) -> int:
        return len(self._seen)


#: This process's verdicts.
VERDICTS = Verdicts()


def _signature(sample: np.ndarray, lang: str) -> bytes:
    """Key of a sample as the OCR sees it: the language and scale, shape and exact pixels.

    Exact pixels, not the ink pattern: the verdict must be the one the OCR would give this
    very sample, so that an output never depends on which files a worker saw before.
    """
    return hashlib.blake2b(lang.encode() + np.asarray(sample.shape).tobytes()
                           + np.ascontiguousarray(sample).tobytes(), digest_size=16).digest()


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


def _confirm(v: np.ndarray, regions: list[_Region], lang: str, engines: Engines,
             verdicts: Verdicts) -> list[bool]:
    """Return, per region, whether OCR reads text in one of its lines.

    Lines over the most candidate blocks are tried first, up to MAX_SAMPLES per region.
    Each sample is read on its own page (Tesseract's thresholding looks at the whole
    page: a neighbour could change the verdict), and its verdict is remembered in
    ``verdicts`` by :func:`_signature`.
    """
    verdict = [False] * len(regions)
    for i, region in enumerate(regions):
        # lines over the most candidate blocks first, then the widest
        ranked = sorted(region.lines, key=lambda b: (-region.texty(b)[1], -(b.x1 - b.x0)))
        for line in ranked[:MAX_SAMPLES]:
            sample = _sample(v, line, region.threshold, region.texty(line)[0])
            img, scale = _for_ocr(sample, line.height)
            key = _signature(img, f"{lang}/{scale}")
            seen = verdicts.get(key)
            if seen is None:
                page, _ = _stack([img])
                seen = any(_confirms(w, MIN_CONFIDENCE)
                           for w in engines.get(lang).words(page, PSM_BLOCK)
                           if w[0].height >= MIN_HEIGHT * scale)
                verdicts.remember(key, seen)
            if seen:
                verdict[i] = True
                break
    return verdict
