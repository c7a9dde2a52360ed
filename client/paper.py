"""Paper records: scanned pages in, boxes proposed by OCR, boxes burned in by an operator.

A paper record is one or more files (PDF, JPEG, PNG, TIFF; a PDF or a TIFF may hold several
pages). :func:`rasterize` turns them into 8-bit grey pages (PDFs rendered with pypdfium2,
PDFium's Python binding, at :data:`DPI`: no text layer survives, only pixels). :func:`propose`
runs Tesseract over each page (:func:`anonymizer.ocr.read_words`), joins the words into lines
and runs the Spanish detector (:func:`anonymizer.text_es.find_phi`) on them: every word inside
a span of personal data gives a box. The operator confirms, moves, adds or removes boxes
(the JSON of :func:`boxes_to_json` / :func:`boxes_from_json`, or the web page), and
:func:`redact` burns them into the pixels. :mod:`client.paper_dicom` writes the result as a
multi-frame Secondary Capture.

Word strings never leave this module: a proposal holds boxes and MEDDOCAN categories only.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageSequence, UnidentifiedImageError

from anonymizer.ocr import Box, mask, read_words
from anonymizer.text_es import find_phi

from .errors import InvalidInput

#: Resolution PDFs are rendered at: 200 dpi keeps 8-point print legible (and read by OCR)
#: while a letter page stays under 4 megapixels.
DPI = 200
MAX_PAGES = 100
MAX_FILE_BYTES = 64 * 1024 * 1024
#: A page above this is refused before it is decoded (a decompression bomb, or 600 dpi A3).
MAX_PAGE_PIXELS = 40_000_000
FORMATS = ("PDF", "JPEG", "PNG", "TIFF")
BOXES_FORMAT = "traza-paper-boxes/1"
#: Ink is black: a box is filled with 0 (no grey a reader could lift text from).
FILL = 0


@dataclass(frozen=True)
class PageBoxes:
    """The boxes of one page (0-based ``page``), with the category OCR proposed, if any."""

    page: int
    width: int
    height: int
    boxes: tuple[Box, ...]
    categories: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        cats = self.categories or ("",) * len(self.boxes)
        return {"page": self.page + 1, "width": self.width, "height": self.height,
                "boxes": [{"x0": b.x0, "y0": b.y0, "x1": b.x1, "y1": b.y1,
                           **({"category": c} if c else {})}
                          for b, c in zip(self.boxes, cats, strict=True)]}


def file_kind(data: bytes) -> str:
    """``"PDF"``, ``"JPEG"``, ``"PNG"`` or ``"TIFF"`` from the first bytes; else InvalidInput."""
    if data.startswith(b"%PDF-"):
        return "PDF"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    raise InvalidInput("not a PDF, JPEG, PNG or TIFF scan")


def check_files(files: Sequence[bytes]) -> None:
    """Refuse an empty record, a file over :data:`MAX_FILE_BYTES` or of another format.

    The message names the file by its position (file names can carry a patient's name).
    """
    if not files:
        raise InvalidInput("a paper record needs at least one scanned page")
    for i, data in enumerate(files, 1):
        if len(data) > MAX_FILE_BYTES:
            raise InvalidInput(f"file {i} of {len(files)} is over {MAX_FILE_BYTES >> 20} MiB")
        try:
            file_kind(data)
        except InvalidInput as e:
            raise InvalidInput(f"file {i} of {len(files)}: {e}") from None


def _pdf_pages(data: bytes, dpi: int) -> list[Image.Image]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        raise InvalidInput(f"unreadable PDF ({e})") from None
    try:
        pages = []
        scale = dpi / 72
        for page in pdf:
            w, h = page.get_size()
            if w * h * scale * scale > MAX_PAGE_PIXELS:
                raise InvalidInput(f"a PDF page is over {MAX_PAGE_PIXELS} pixels at {dpi} dpi")
            # grayscale: what OCR reads and what the Secondary Capture holds
            pages.append(page.render(scale=scale, grayscale=True).to_pil().convert("L"))
            page.close()
        return pages
    finally:
        pdf.close()


def _image_pages(data: bytes) -> list[Image.Image]:
    try:
        img = Image.open(io.BytesIO(data))
        if img.format not in FORMATS:
            raise InvalidInput(f"{img.format} images are not accepted")
        pages = []
        for frame in ImageSequence.Iterator(img):
            if frame.width * frame.height > MAX_PAGE_PIXELS:
                raise InvalidInput(f"a page is over {MAX_PAGE_PIXELS} pixels")
            pages.append(frame.convert("L"))
        return pages
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as e:
        raise InvalidInput(f"unreadable image ({type(e).__name__})") from None


def rasterize(files: Sequence[bytes], *, dpi: int = DPI) -> list[Image.Image]:
    """The pages of a paper record as 8-bit grey images, in file and page order.

    Raises
    ------
    client.errors.InvalidInput
        An empty record, a file that is not a PDF/JPEG/PNG/TIFF or cannot be read, a page
        over :data:`MAX_PAGE_PIXELS`, more than :data:`MAX_PAGES` pages.
    """
    check_files(files)
    pages: list[Image.Image] = []
    for i, data in enumerate(files, 1):
        try:
            pages += _pdf_pages(data, dpi) if file_kind(data) == "PDF" else _image_pages(data)
        except InvalidInput as e:
            raise InvalidInput(f"file {i} of {len(files)}: {e}") from None
        if len(pages) > MAX_PAGES:
            raise InvalidInput(f"a paper record has at most {MAX_PAGES} pages")
    return pages


# -- proposals ----------------------------------------------------------------------------

def _lines(words: list[tuple[Box, str]]) -> list[list[tuple[Box, str]]]:
    """Words grouped into lines: a word joins the line its vertical centre falls in."""
    lines: list[list[tuple[Box, str]]] = []
    for w in sorted(words, key=lambda w: (w[0].y0 + w[0].y1) / 2):
        centre = (w[0].y0 + w[0].y1) / 2
        for line in lines:
            top, bottom = min(b.y0 for b, _ in line), max(b.y1 for b, _ in line)
            if top <= centre < bottom:
                line.append(w)
                break
        else:
            lines.append([w])
    return [sorted(line, key=lambda w: w[0].x0) for line in lines]


def _union(boxes: Sequence[Box]) -> Box:
    return Box(min(b.x0 for b in boxes), min(b.y0 for b in boxes),
               max(b.x1 for b in boxes), max(b.y1 for b in boxes))


def _widen(run: Box, others: list[Box]) -> Box:
    """``run`` stretched along its line up to the next word read on either side.

    Tesseract drops short words on a full page (``33`` of ``33 2013 7499``): ink between a
    span and the next word it did read belongs to the span. At most three text heights.
    """
    reach = 3 * run.height
    left = max([b.x1 for b in others if b.x1 <= run.x0] + [run.x0 - reach])
    right = min([b.x0 for b in others if b.x0 >= run.x1] + [run.x1 + reach])
    return Box(max(left + 4, run.x0 - reach), run.y0, min(right - 4, run.x1 + reach), run.y1)


def propose_page(page: Image.Image, index: int = 0) -> PageBoxes:
    """The boxes OCR and the Spanish detector propose on one page.

    The page's words are joined line by line into one text (lines kept apart by a newline,
    so a label and its value on one line are read together); each run of words of a line
    inside one span of personal data becomes one box, padded by a quarter of its height.
    """
    g = np.asarray(page.convert("L"))
    lines = _lines(read_words(g, full_frame=True))
    text, places = "", []  # places: (start, end, line number, box) per word
    for n, line in enumerate(lines):
        for box, word in line:
            if text and not text.endswith("\n"):
                text += " "
            places.append((len(text), len(text) + len(word), n, box))
            text += word
        text += "\n"
    out: list[tuple[Box, str]] = []
    for span in find_phi(text):
        hit = [p for p in places if p[0] < span.end and span.start < p[1]]
        for n in sorted({p[2] for p in hit}):
            run = _widen(_union([p[3] for p in hit if p[2] == n]),
                         [p[3] for p in places if p[2] == n and p not in hit])
            out.append((run.pad(2 + run.height // 4, g.shape), span.category))
    return PageBoxes(index, page.width, page.height, tuple(b for b, _ in out),
                     tuple(c for _, c in out))


def propose(pages: Sequence[Image.Image]) -> list[PageBoxes]:
    """:func:`propose_page` for every page of a record."""
    return [propose_page(p, i) for i, p in enumerate(pages)]


# -- operator's boxes -------------------------------------------------------------------

def boxes_to_json(pages: Sequence[PageBoxes]) -> dict[str, Any]:
    """The JSON the operator edits (``--propose`` writes it; ``--boxes`` reads it back)."""
    return {"format": BOXES_FORMAT, "pages": [p.to_json() for p in pages]}


def boxes_from_json(data: dict[str, Any] | str | bytes,
                    pages: Sequence[Image.Image]) -> list[PageBoxes]:
    """Check the operator's boxes against the pages; one :class:`PageBoxes` per page.

    Every page must be listed once with its pixel size (boxes drawn on other pages, or at
    another resolution, are refused) and every box must lie inside it with ``x0 < x1``,
    ``y0 < y1``. A page without personal data is listed with no boxes.
    """
    raw = json.loads(data) if isinstance(data, str | bytes) else data
    if not isinstance(raw, dict) or raw.get("format") != BOXES_FORMAT:
        raise InvalidInput(f"boxes: expected an object with format {BOXES_FORMAT!r}")
    listed = raw.get("pages")
    if not isinstance(listed, list) or len(listed) != len(pages):
        raise InvalidInput(f"boxes: expected {len(pages)} pages, got "
                           f"{len(listed) if isinstance(listed, list) else 'none'}")
    out = []
    for i, (entry, page) in enumerate(zip(listed, pages, strict=True)):
        where = f"boxes: page {i + 1}"
        if not isinstance(entry, dict) or entry.get("page") != i + 1:
            raise InvalidInput(f"{where}: pages must be listed in order from 1")
        if (entry.get("width"), entry.get("height")) != page.size:
            raise InvalidInput(f"{where}: drawn on a {entry.get('width')}x{entry.get('height')} "
                               f"page, the page is {page.width}x{page.height}")
        boxes, cats = [], []
        for k, b in enumerate(entry.get("boxes") or [], 1):
            try:
                box = Box(*(int(b[c]) for c in ("x0", "y0", "x1", "y1")))
            except (TypeError, KeyError, ValueError):
                raise InvalidInput(f"{where}, box {k}: needs integers x0, y0, x1, y1") from None
            if not (0 <= box.x0 < box.x1 <= page.width and 0 <= box.y0 < box.y1 <= page.height):
                raise InvalidInput(f"{where}, box {k}: outside the page or empty")
            boxes.append(box)
            cats.append(str(b.get("category") or "")[:40])
        out.append(PageBoxes(i, page.width, page.height, tuple(boxes), tuple(cats)))
    return out


def redact(pages: Sequence[Image.Image], boxes: Sequence[PageBoxes]) -> list[Image.Image]:
    """New grey rasters with every box filled black: the pixels are all that is left."""
    if len(boxes) != len(pages):
        raise InvalidInput(f"boxes for {len(boxes)} pages, the record has {len(pages)}")
    return [Image.fromarray(mask(np.asarray(p.convert("L")), list(b.boxes), fill=FILL), "L")
            for p, b in zip(pages, boxes, strict=True)]


__all__ = ["BOXES_FORMAT", "DPI", "MAX_PAGES", "PageBoxes", "boxes_from_json", "boxes_to_json",
           "check_files", "file_kind", "propose", "propose_page", "rasterize", "redact"]
