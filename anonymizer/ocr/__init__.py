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

Modules, one per stage: :mod:`~anonymizer.ocr.prefilter` (candidate blocks),
:mod:`~anonymizer.ocr.lines` (lines of ink), :mod:`~anonymizer.ocr.engines` (Tesseract and
the per-process engines), :mod:`~anonymizer.ocr.confirm` (samples and the verdict cache),
:mod:`~anonymizer.ocr.find` (the functions below) and :mod:`~anonymizer.ocr.masking`.
"""

from anonymizer.ocr import learned as _learned
from anonymizer.ocr.box import Box
from anonymizer.ocr.clinical import KEEP_MIN_SCORE, VOCABULARY, clinical_words, keep
from anonymizer.ocr.confirm import (
    MAX_SAMPLES,
    MIN_CONFIDENCE,
    MIN_CONFIRM_CHARS,
    MIN_HEIGHT,
    OCR_TEXT_HEIGHT,
    SAMPLE_BACK,
    SAMPLE_MIN,
    SAMPLE_MIN_PIXELS,
    SAMPLE_WIDTH,
    UPSCALE_BELOW,
)
from anonymizer.ocr.detect import find_text_lines, find_text_lines_in_frames
from anonymizer.ocr.engines import (
    CONFIRM_LANG,
    DEBIAN_PACKAGES,
    ENGINE_ENV,
    PSM_BLOCK,
    PSM_SPARSE,
    READ_LANG,
    OCRUnavailableError,
    engine,
    engine_name,
)
from anonymizer.ocr.engines import preload as _preload_tesseract
from anonymizer.ocr.find import (
    MIN_CHARS_FULL_FRAME,
    MIN_CONFIDENCE_FULL_FRAME,
    find_text_boxes,
    find_text_boxes_in_frames,
    read_words,
)
from anonymizer.ocr.lines import MAX_LINE_HEIGHT, MIN_LINE_HEIGHT
from anonymizer.ocr.masking import mask
from anonymizer.ocr.prefilter import has_text_candidates, to_uint8


def preload() -> None:
    """Load Tesseract and the learned detector in this process and run them once, so that
    worker processes forked later share them (see :func:`anonymizer.ocr.engines.preload`).
    Does nothing for an engine that is not installed: files that need it then fail."""
    _preload_tesseract()
    _learned.PROCESS.preload()


#: The name bench/deid/floor.py uses (before the package split); prefer :func:`engine`.
_engine = engine

__all__ = [
    "CONFIRM_LANG",
    "DEBIAN_PACKAGES",
    "ENGINE_ENV",
    "MAX_LINE_HEIGHT",
    "MAX_SAMPLES",
    "MIN_CHARS_FULL_FRAME",
    "MIN_CONFIDENCE",
    "MIN_CONFIDENCE_FULL_FRAME",
    "MIN_CONFIRM_CHARS",
    "MIN_HEIGHT",
    "MIN_LINE_HEIGHT",
    "OCR_TEXT_HEIGHT",
    "PSM_BLOCK",
    "PSM_SPARSE",
    "READ_LANG",
    "SAMPLE_BACK",
    "SAMPLE_MIN",
    "SAMPLE_MIN_PIXELS",
    "SAMPLE_WIDTH",
    "UPSCALE_BELOW",
    "KEEP_MIN_SCORE",
    "VOCABULARY",
    "Box",
    "OCRUnavailableError",
    "engine",
    "engine_name",
    "find_text_boxes",
    "find_text_boxes_in_frames",
    "find_text_lines",
    "find_text_lines_in_frames",
    "clinical_words",
    "keep",
    "has_text_candidates",
    "mask",
    "preload",
    "read_words",
    "to_uint8",
]
