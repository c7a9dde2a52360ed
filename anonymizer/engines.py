"""The optional engines of a de-identification: Spanish text redaction and burned-in text.

One :class:`Engines` object goes from :func:`anonymizer.pipeline.run` (or the caller) to
each file's :class:`anonymizer.dicom.Context`; nothing below reaches for an engine of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: Text -> (redacted text, spans), e.g. :func:`anonymizer.text_es.redact`.
Redactor = Callable[[str], tuple[str, list[Any]]]
#: Frame -> boxes of text, e.g. :func:`anonymizer.ocr.find_text_boxes`.
BoxFinder = Callable[[Any], list[Any]]
#: Frames -> boxes per frame, e.g. :func:`anonymizer.ocr.find_text_boxes_in_frames`.
FramesBoxFinder = Callable[[Any], list[list[Any]]]
#: (frame, boxes) -> masked frame (or None when masked in place), e.g. :func:`anonymizer.ocr.mask`.
Masker = Callable[[Any, list[Any]], Any]


@dataclass(frozen=True)
class Engines:
    """Optional engines: Spanish text redaction and burned-in text detection/masking."""

    redact: Redactor | None = None
    find_text_boxes: BoxFinder | None = None
    mask: Masker | None = None
    #: All frames of an image at once; images go frame by frame to ``find_text_boxes``
    #: when None.
    find_text_boxes_in_frames: FramesBoxFinder | None = None
    #: Loads the OCR models in this process before worker processes are forked from it.
    preload: Callable[[], None] | None = None
    #: ``find_text_boxes_in_frames`` reads the text it finds and takes ``is_personal=``
    #: (``text -> bool``) and ``gate=`` (search only frames the pre-filter flags):
    #: lines it clears that are only measurements or markers stay unmasked.
    reads_text: bool = False


def default_engines() -> Engines:
    """Return the engines of :mod:`anonymizer.text_es` and :mod:`anonymizer.ocr` if present.

    A missing engine is None; the engine then refuses files that need it rather than let
    text or pixels through unchecked.
    """
    redact = find = mask = in_frames = preload = None
    try:
        from anonymizer import text_es

        redact = text_es.redact
    except ImportError:
        pass
    try:
        from anonymizer import ocr

        # overlay planes (binary bitmaps: saturated strokes the pre-filter's tests fit) go
        # frame by frame to the pre-filter + Tesseract path; pixel data to both detectors
        find, mask, in_frames = ocr.find_text_boxes, ocr.mask, ocr.find_text_lines_in_frames
        preload = ocr.preload
    except ImportError:
        pass
    return Engines(redact, find, mask, in_frames, preload, reads_text=in_frames is not None)
