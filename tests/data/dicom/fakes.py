"""Fast stand-ins for the text and OCR engines, for unit tests of the DICOM plumbing.

Module-level functions so that worker processes can import them. ``redact`` replaces exactly
the fake PHI of :mod:`tests.data.dicom.synth`; ``find_text_boxes`` finds the synthetic label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from anonymizer.engines import Engines
from tests.data.dicom import synth

_PATTERN = re.compile("|".join(re.escape(v) for v in sorted(synth.PHI, key=len, reverse=True)))
LABEL_BOX = (2, 2, 20, 6)


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    category: str


def redact(text: str) -> tuple[str, list[Span]]:
    """Replace the known fake PHI with ``[DATO]``."""
    spans = [Span(m.start(), m.end(), "NOMBRE_SUJETO_ASISTENCIA") for m in
             _PATTERN.finditer(text)]
    return _PATTERN.sub("[DATO]", text), spans


def find_text_boxes(frame: np.ndarray, **_options: object) -> list[tuple[int, int, int, int]]:
    """Return the label box if the frame holds the synthetic label value."""
    return [LABEL_BOX] if int(frame.max()) in synth.LABEL.values() else []


def mask(frame: np.ndarray, boxes: list[tuple[int, int, int, int]]) -> np.ndarray:
    """Return ``frame`` with the boxes set to 0."""
    out = frame.copy()
    for x0, y0, x1, y1 in boxes:
        out[y0:y1, x0:x1] = 0
    return out


ENGINES = Engines(redact, find_text_boxes, mask)
