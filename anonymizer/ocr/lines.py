"""Lines of ink inside each candidate region, and the regions of a frame.

Inside each region the ink (pixels past the midpoint between the background and the
brightest stroke) is cut into lines, each reaching as far as its ink runs with word gaps
bridged. The mask follows the ink, not the OCR's word boxes: a word the OCR misses
between two others, or a date it boxes short, is still inside the line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from anonymizer.ocr.box import Box
from anonymizer.ocr.prefilter import (
    _MIN_CONTRAST,
    _REGION_PAD,
    _candidate_grid,
    _Candidates,
    _light,
    _regions,
)

#: Ink bands lower than this are rules and underlines, not lines of text; taller than
#: this, text merged with bright anatomy (or no text).
MIN_LINE_HEIGHT = 4
MAX_LINE_HEIGHT = 48


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
