"""Pre-filter: 16x16 blocks that look like text, in lines (numpy, no OCR).

A frame without candidate blocks is left alone, so its pixel data stays bit-identical.
:func:`to_uint8` gives the 8-bit view every stage analyses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from anonymizer.ocr.box import Box

#: Pixels of context kept around each pre-filter region.
_REGION_PAD = 12
#: Pre-filter block size (pixels) and thresholds, see :func:`has_text_candidates`.
_BLOCK = 16
_MIN_CONTRAST = 80
_MIN_INK_LEVEL = 178  # 70% of full scale
_MIN_INK_EXTREME = 0.2  # share of ink pixels near the block's extreme
_MIN_BG_EXTREME = 0.9  # share of background pixels near the other extreme
_MIN_TRANSITIONS = 1.2  # ink/background changes per block row


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

