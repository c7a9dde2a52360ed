"""A scanned paper form with known personal data, in several fonts and positions (Pillow).

The personal data comes from :mod:`client.synthetic`; the fonts are Debian's
(``fonts-dejavu-core``, ``fonts-liberation``). :func:`scanned_form` draws one page at
200 dpi on slightly noisy paper and says where each planted value and each clinical line is.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from client.synthetic import Person

FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
)
CLINICAL = (
    "Motivo de consulta: dolor toracico de tres dias de evolucion",
    "Exploracion: murmullo vesicular disminuido en base derecha",
    "Plan: radiografia de torax y control en consulta externa",
)
WIDTH, HEIGHT = 1700, 2200  # letter at 200 dpi


@dataclass(frozen=True)
class Planted:
    """A value drawn on the page and its box (x0, y0, x1, y1)."""

    value: str
    box: tuple[int, int, int, int]


def fonts_available() -> bool:
    return all(Path(f).is_file() for f in FONTS)


def _draw(d: ImageDraw.ImageDraw, xy: tuple[int, int], text: str,
          font: ImageFont.FreeTypeFont) -> tuple[int, int, int, int]:
    d.text(xy, text, fill=20, font=font)
    x0, y0, x1, y1 = d.textbbox(xy, text, font=font)
    return int(x0), int(y0), int(x1), int(y1)


def scanned_form(person: Person, seed: int = 0, page: int = 1
                 ) -> tuple[Image.Image, list[Planted], list[str]]:
    """One page: a header, labelled fields of ``person`` and clinical lines.

    Returns the page, the planted values (each label's value, with its box) and the clinical
    lines that must stay legible. Page 2 puts the fields lower and in other fonts.
    """
    rng = random.Random(seed * 10 + page)
    paper = np.clip(np.full((HEIGHT, WIDTH), 238.0) + np.random.default_rng(seed).normal(
        0, 4, (HEIGHT, WIDTH)), 0, 255).astype(np.uint8)
    img = Image.fromarray(paper, "L")
    d = ImageDraw.Draw(img)
    title = ImageFont.truetype(FONTS[4], 44)
    d.text((140, 110), "HOJA DE REFERENCIA Y CONTRARREFERENCIA", fill=20, font=title)
    n = person.name
    fields = [("Nombre:", n.title), ("CURP:", person.curp), ("NSS:", person.nss),
              ("Fecha de nacimiento:", f"{person.birth:%d/%m/%Y}"),
              ("Telefono:", person.phone), ("Expediente:", person.mrn),
              ("Medico tratante: Dr.", person.physician.title)]
    planted: list[Planted] = []
    top = 260 + (page - 1) * 120
    for k, (label, value) in enumerate(fields):
        font = ImageFont.truetype(FONTS[(k + page) % 4], 38 + rng.randint(-4, 6))
        x = 140 + rng.randint(0, 120)
        y = top + k * 95
        lx0, _, lx1, _ = _draw(d, (x, y), label, font)
        planted.append(Planted(value, _draw(d, (lx1 + 22, y), value, font)))
    body = ImageFont.truetype(FONTS[1], 40)
    y = top + len(fields) * 95 + 120
    for line in CLINICAL:
        _draw(d, (140, y), line, body)
        y += 80
    return img, planted, list(CLINICAL)
