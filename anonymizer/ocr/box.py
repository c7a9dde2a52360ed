"""The pixel rectangle every stage of :mod:`anonymizer.ocr` works in, and an OCR word."""

from __future__ import annotations

from dataclasses import dataclass


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
            Pixels to add on each side (anti-aliased glyph edges reach past the ink).
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

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    def overlaps(self, other: Box) -> bool:
        """Return True if the two boxes share at least one pixel."""
        return (self.x0 < other.x1 and other.x0 < self.x1
                and self.y0 < other.y1 and other.y0 < self.y1)



#: A word the OCR read: its box, its text and Tesseract's confidence (0-100).
Word = tuple[Box, str, float]
