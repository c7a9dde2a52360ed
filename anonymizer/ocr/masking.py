"""Masking: boxes filled in a copy of the original frame, same dtype."""

from __future__ import annotations

import numpy as np

from anonymizer.ocr.box import Box


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
