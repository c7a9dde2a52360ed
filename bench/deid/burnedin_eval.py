"""A burned-in text set the engine was not tuned on, and its scoring.

``python -m bench.deid.burnedin_eval [--half heldout|tuning|fresh] [--n 60]`` builds
images in memory from a seed (tuning half: seed 1, held-out half: seed 2, whose errors were
looked at once its blind runs were on record; fresh half: seed 3, for the next blind run;
the same seed gives the same images), runs them through Traza's pixel cleaning as a
de-identification would (:func:`anonymizer.dicom.pixels.clean_pixels`: the at-risk rule,
the finder, the masks) and prints:

- **recall**: personal-data text lines masked / all, by box (90 % of the line's text box
  under a mask) and by ink (98 % of its glyph pixels under a mask: what a reader sees);
- **precision**: masked area outside any drawn text line (padded by a quarter of its
  height) / masked area, and text-free images that got a mask;
- **kept clinical**: clinical lines (no personal data) with under 10 % of their ink masked.

What it draws, unlike ``bench/deid/pixels.py`` (the corpus the pre-filter was tuned on,
Pillow's bundled font): Debian fonts (DejaVu, Liberation, Noto, URW base35) at 8-40 px,
light/regular/bold, white on dark, dark on light, text on a banner; backgrounds of
ultrasound speckle, gradients, CT-like noise in 16 bits, screen captures (panels, table
rules), large radiographs (1760-2304 px a side); placements in corners, along edges, in a
column, mid-image; modalities US, CT, MR, CR, DX, SC, OT with BurnedInAnnotation YES or
absent; multi-frame ultrasound (moving speckle, static text, a changing clock).
Personal lines come from templates of their own (names not in ``client/synthetic``);
clinical lines are measurements, settings, markers and dose tables.
"""

from __future__ import annotations

import argparse
import glob
import json
import random
import time
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SEEDS = {"tuning": 1, "heldout": 2, "fresh": 3}
#: A personal line is masked (by ink) when this share of its glyph pixels is under a mask.
INK_COVERED = 0.98

_FONT_GLOBS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans*.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif*.ttf",
    "/usr/share/fonts/truetype/liberation/Liberation*.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-*.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansMono-*.ttf",
    "/usr/share/fonts/truetype/noto/NotoSerif-*.ttf",
    "/usr/share/fonts/opentype/urw-base35/Nimbus*.otf",
    "/usr/share/fonts/opentype/urw-base35/URW*.otf",
    "/usr/share/fonts/opentype/urw-base35/C059-*.otf",
    "/usr/share/fonts/opentype/urw-base35/P052-*.otf",
)

_GIVEN = ("Rosalba", "Teodoro", "Maricela", "Eustaquio", "Yolotzin", "Anselmo", "Guadalupe",
          "Itzel", "Baltazar", "Xochitl", "Leopoldo", "Citlali", "Heriberto", "Nayeli",
          "Florencio", "Araceli", "Cuauhtemoc", "Dulce Maria", "Rigoberto", "Zenaida")
_SURNAMES = ("Tlapanco", "Villaseñor", "Cienfuegos", "Arriaga", "Quintanar", "Balderas",
             "Ocampo", "Zavaleta", "Huerta", "Mendiola", "Escamilla", "Ibarra", "Olvera",
             "Pacheco", "Saucedo", "Tovar", "Uribe", "Yañez", "Zepeda", "Landeros")
_HOSPITALS = ("HOSP. GRAL. ZONA 14 TEPIC", "CLINICA SAN RAFAEL", "UMF 33 ZACATECAS",
              "HOSPITAL REGIONAL SALTILLO", "CENTRO MEDICO DEL BAJIO")
_DOCTORS = ("Dr. {s}", "DRA. {S}", "Ref: Dr {g} {s}", "Medico: {S} {S2}")


def _curp(rng: random.Random) -> str:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return ("".join(rng.choice(letters) for _ in range(4)) + f"{rng.randint(40, 99):02d}"
            f"{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}" + rng.choice("HM")
            + "".join(rng.choice(letters) for _ in range(5)) + f"{rng.randint(0, 99):02d}")


def _personal(rng: random.Random) -> str:
    g, s, s2 = rng.choice(_GIVEN), rng.choice(_SURNAMES), rng.choice(_SURNAMES)
    date = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(1940, 2020)}"
    iso = f"{rng.randint(2019, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    templates = (
        f"{s.upper()} {s2.upper()} {g.upper()}", f"{s}, {g}", f"Pac: {g} {s} {s2}",
        f"NOMBRE {s2.upper()}^{g.upper()}", f"{g} {s}",
        f"NSS {rng.randint(10, 99)}{rng.randint(10, 99)}{rng.randint(10, 99)}"
        f"{rng.randint(1000, 9999)}-{rng.randint(0, 9)}",
        f"CURP {_curp(rng)}", f"F.Nac. {date}", f"Nac {date}",
        f"ID {rng.randint(100000, 9999999)}",
        f"Exp. {rng.randint(10, 99)}-{rng.randint(10000, 99999)}",
        f"{iso} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}",
        f"Estudio {date}",
        rng.choice(_HOSPITALS), rng.choice(_DOCTORS).format(g=g, s=s, S=s.upper(),
                                                           S2=s2.upper()),
        f"{s.upper()} {g.upper()}  {rng.randint(20, 90)}A  {rng.choice('FM')}",
        f"Tel {rng.randint(33, 99)} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}",
    )
    return rng.choice(templates)


def _clinical(rng: random.Random) -> str:
    f = rng.uniform
    templates = (
        f"DBP {f(20, 95):.1f} mm", f"BPD {f(20, 95):.1f}mm", f"HC {f(80, 340):.0f} mm",
        f"AC {f(60, 360):.1f} mm", f"FL {f(10, 80):.1f} mm", f"Prof {f(4, 24):.0f} cm",
        f"Gan {rng.randint(20, 90)}%", f"G {rng.randint(20, 90)}", f"{f(2, 15):.1f} MHz",
        rng.choice(("R", "L", "D", "I", "AP", "PA", "LAT")),
        f"CTDIvol {f(2, 40):.2f} mGy", f"DLP {f(50, 1500):.1f} mGy*cm",
        f"kV {rng.choice((80, 100, 120, 140))} mAs {rng.randint(50, 400)}",
        f"FR {rng.randint(10, 60)} Hz", f"MI {f(0.1, 1.9):.1f} TIS {f(0.1, 2):.1f}",
        f"WL {rng.randint(-600, 80)} WW {rng.randint(80, 1600)}",
        f"Se {rng.randint(1, 12)} Im {rng.randint(1, 300)}", f"{f(0.5, 10):.1f} mm",
        f"EG {rng.randint(12, 40)}s{rng.randint(0, 6)}d", f"Dist {f(1, 90):.2f} cm",
        f"Vol {f(1, 400):.1f} ml", f"x{f(1, 4):.1f}", f"TR {rng.randint(300, 6000)} TE "
        f"{rng.randint(10, 120)}",
    )
    return rng.choice(templates)


@dataclass
class Line:
    """A drawn line: its text, label and ink box ``(x0, y0, x1, y1)`` in one frame."""

    text: str
    personal: bool
    box: tuple[int, int, int, int]
    height: int
    ink: np.ndarray | None = None  # glyph pixels (bool) inside ``box``


@dataclass
class Sample:
    """One image of the set, the attributes the at-risk rule reads, and its lines."""

    name: str
    modality: str
    sop_class: str
    burned: str | None  # BurnedInAnnotation, None = absent
    photometric: str
    frames: np.ndarray  # (n, rows, cols) or (n, rows, cols, 3)
    lines: list[Line] = field(default_factory=list)
    image_type: str | None = None


def _fonts() -> list[str]:
    found = sorted({p for g in _FONT_GLOBS for p in glob.glob(g)
                    if "Math" not in p and "Symbol" not in p})
    if not found:
        raise SystemExit("no Debian fonts: run scripts/install-system.sh (fonts-dejavu, "
                         "fonts-liberation, fonts-noto-core, fonts-urw-base35)")
    return found


def _background(rng: random.Random, kind: str, rows: int, cols: int) -> np.ndarray:
    nrng = np.random.default_rng(rng.randint(0, 2**31))
    if kind == "speckle":  # ultrasound: a fan of Rayleigh speckle on black
        sp = nrng.rayleigh(40, (rows, cols))
        yy, xx = np.mgrid[0:rows, 0:cols]
        cx, top = cols / 2, rows * 0.08
        ang = np.abs(np.arctan2(xx - cx, yy - top + 1e-3))
        r = np.hypot(xx - cx, yy - top)
        fan = (ang < 0.6) & (r < rows * 0.85) & (yy > top)
        return np.clip(sp * fan, 0, 255).astype(np.float32)
    if kind == "gradient":
        yy, xx = np.mgrid[0:rows, 0:cols]
        a, b = rng.uniform(-1, 1), rng.uniform(-1, 1)
        g = (a * xx / cols + b * yy / rows)
        g = (g - g.min()) / (np.ptp(g) + 1e-6) * rng.uniform(120, 240)
        return (g + nrng.normal(0, 4, (rows, cols))).astype(np.float32)
    if kind == "ct":  # a body disk with noise and bones, on a dark field
        yy, xx = np.mgrid[0:rows, 0:cols]
        r = np.hypot((xx - cols / 2) / (cols * 0.42), (yy - rows / 2) / (rows * 0.36))
        img = np.where(r < 1, 110, 8) + nrng.normal(0, 14, (rows, cols))
        for _ in range(5):
            bx, by = rng.uniform(0.3, 0.7) * cols, rng.uniform(0.3, 0.7) * rows
            img[np.hypot(xx - bx, yy - by) < rng.uniform(8, 30)] = 230
        return np.clip(img, 0, 255).astype(np.float32)
    if kind == "screen":  # a console: panels, table rules, a flat colour field
        img = np.full((rows, cols), rng.choice((30.0, 45.0, 200.0, 225.0)), np.float32)
        for _ in range(rng.randint(2, 5)):
            x0, y0 = rng.randrange(cols // 2), rng.randrange(rows // 2)
            img[y0:y0 + rng.randint(40, rows // 2), x0:x0 + rng.randint(60, cols // 2)] = \
                rng.uniform(60, 170)
        for y in range(rng.randrange(20, 60), rows, rng.randint(24, 40)):
            img[y, :] = 128
        return img
    # radiograph: smooth anatomy-like blobs and noise on a large plate
    small = nrng.normal(0, 1, (rows // 64 + 2, cols // 64 + 2))
    img = np.asarray(Image.fromarray(small.astype(np.float32)).resize((cols, rows),
                                                                      Image.BICUBIC))
    img = (img - img.min()) / (np.ptp(img) + 1e-6) * 180 + 20
    return (img + nrng.normal(0, 6, (rows, cols))).astype(np.float32)


_KINDS = (
    # (background, modality, sop class, BurnedInAnnotation, size range, frames)
    ("speckle", "US", "1.2.840.10008.5.1.4.1.1.6.1", None, (480, 800), 1),
    ("speckle", "US", "1.2.840.10008.5.1.4.1.1.3.1", "YES", (480, 640), 6),
    ("ct", "CT", "1.2.840.10008.5.1.4.1.1.2", None, (512, 512), 1),
    ("ct", "MR", "1.2.840.10008.5.1.4.1.1.4", None, (256, 512), 1),
    ("screen", "CT", "1.2.840.10008.5.1.4.1.1.7", None, (512, 1024), 1),  # dose screen
    ("screen", "OT", "1.2.840.10008.5.1.4.1.1.7", None, (600, 1024), 1),
    ("gradient", "SC", "1.2.840.10008.5.1.4.1.1.7", "YES", (400, 900), 1),
    ("xray", "CR", "1.2.840.10008.5.1.4.1.1.1", None, (1760, 2304), 1),
    ("xray", "DX", "1.2.840.10008.5.1.4.1.1.1.1", None, (1760, 2048), 1),
)


def _draw_lines(rng: random.Random, img: Image.Image, fonts: list[str],
                n_lines: int) -> list[Line]:
    d = ImageDraw.Draw(img)
    cols, rows = img.size
    lines: list[Line] = []
    mean = float(np.asarray(img).mean())
    for _ in range(n_lines):
        personal = rng.random() < 0.55
        text = _personal(rng) if personal else _clinical(rng)
        size = rng.choice((8, 9, 10, 11, 12, 14, 16, 18, 20, 24, 28, 32, 40))
        font = ImageFont.truetype(rng.choice(fonts), size)
        style = rng.choice(("light", "normal", "normal", "inverted", "banner"))
        for _attempt in range(30):
            place = rng.choice(("corner", "edge", "column", "mid"))
            x0, y0, x1, y1 = d.textbbox((0, 0), text, font=font)
            w, h = x1 - x0, y1 - y0
            if w + 8 >= cols:
                break
            if place == "corner":
                x = rng.choice((4, cols - w - 6)) + rng.randint(0, 10)
                y = rng.choice((4, rows - h - 6)) + rng.randint(-3, 3)
            elif place == "edge":
                x, y = rng.randint(2, max(3, cols - w - 4)), rng.choice((2, rows - h - 4))
            elif place == "column":
                x, y = rng.choice((6, cols - w - 8)), rng.randint(0, rows - h - 4)
            else:
                x, y = rng.randint(0, cols - w - 4), rng.randint(0, rows - h - 4)
            x, y = max(0, min(x, cols - w - 2)), max(0, min(y, rows - h - 2))
            box = (x + x0, y + y0, x + x1, y + y1)
            grown = (box[0] - 6, box[1] - 6, box[2] + 6, box[3] + 6)
            if any(not (grown[2] <= b.box[0] or b.box[2] <= grown[0] or grown[3] <= b.box[1]
                        or b.box[3] <= grown[1]) for b in lines):
                continue
            break
        else:
            continue
        if w + 8 >= cols:
            continue
        if style == "banner":
            bg = 0 if mean > 127 else 235
            d.rectangle((box[0] - 4, box[1] - 4, box[2] + 4, box[3] + 4), fill=bg)
            ink = 255 - bg
        elif style == "inverted":
            ink = 15 if mean > 100 else 20
            d.rectangle((box[0] - 3, box[1] - 3, box[2] + 3, box[3] + 3), fill=235)
        elif style == "light":
            ink = rng.randint(150, 200) if mean < 128 else rng.randint(40, 90)
        else:
            ink = rng.randint(225, 255) if mean < 128 else rng.randint(0, 30)
        d.text((x, y), text, font=font, fill=ink)
        glyphs = Image.new("L", img.size, 0)
        ImageDraw.Draw(glyphs).text((x, y), text, font=font, fill=255)
        g = np.asarray(glyphs)[max(0, box[1]):box[3], max(0, box[0]):box[2]] > 96
        lines.append(Line(text, personal, box, h, g))
    return lines


def generate(seed: int, n: int) -> list[Sample]:
    """Return ``n`` samples built from ``seed`` (a fifth of them text-free)."""
    rng = random.Random(seed)
    fonts = _fonts()
    out = []
    for i in range(n):
        bg, modality, sop, burned, (lo, hi), n_frames = rng.choice(_KINDS)
        rows, cols = rng.randint(lo, hi) // 2 * 2, rng.randint(lo, hi) // 2 * 2
        base = _background(rng, bg, rows, cols)
        text_free = rng.random() < 0.2
        img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
        lines = [] if text_free else _draw_lines(rng, img, fonts, rng.randint(2, 8))
        ink = np.asarray(img).astype(np.float32)
        textmask = np.zeros(base.shape, bool)
        for ln in lines:
            x0, y0, x1, y1 = ln.box
            textmask[max(0, y0 - 4):y1 + 4, max(0, x0 - 4):x1 + 4] = True
        frames = []
        nrng = np.random.default_rng(seed * 1000 + i)
        for f in range(n_frames):
            if f == 0:
                frames.append(ink)
                continue
            moved = _background(rng, bg, rows, cols) if bg == "speckle" else \
                base + nrng.normal(0, 3, base.shape)
            frames.append(np.where(textmask, ink, moved))
        arr = np.stack(frames)
        if bg == "ct" and rng.random() < 0.6:  # 16-bit CT-like numbers
            arr = (arr * 8 - 1024).astype(np.int16)
        elif bg == "xray":
            arr = (arr * 16).astype(np.uint16)
        else:
            arr = np.clip(arr, 0, 255).astype(np.uint8)
        photometric = "MONOCHROME2"
        if bg == "xray" and rng.random() < 0.4:  # stored inverted: displayed as drawn
            arr = (4095 - arr).astype(np.uint16)
            photometric = "MONOCHROME1"
        if modality in ("US", "SC") and rng.random() < 0.5:
            arr = np.repeat(arr[..., None], 3, axis=-1)
            photometric = "RGB"
        image_type = "DERIVED\\SECONDARY\\SCREEN SAVE" if bg == "screen" else None
        out.append(Sample(f"{seed}-{i:03d}-{modality}-{bg}", modality, sop, burned,
                          photometric, arr, lines, image_type))
    return out


def _dataset(s: Sample):  # noqa: ANN202 - a pydicom FileDataset
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = s.sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    ds = FileDataset(s.name, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = s.sop_class, meta.MediaStorageSOPInstanceUID
    ds.Modality = s.modality
    if s.burned is not None:
        ds.BurnedInAnnotation = s.burned
    if s.image_type:
        ds.ImageType = s.image_type.split("\\")
    arr = s.frames if s.frames.shape[0] > 1 else s.frames[0]
    bits = 8 if s.frames.dtype == np.uint8 else 16
    ds.set_pixel_data(arr, s.photometric, bits if bits == 8 else 12,
                      generate_instance_uid=False)
    if s.frames.shape[0] > 1:
        ds.NumberOfFrames = s.frames.shape[0]
    return ds


_ENGINES = None


def run_sample(s: Sample) -> tuple[list[list[tuple[int, int, int, int]]], bool]:
    """Clean one sample's pixels as a de-identification does; return masks per frame."""
    from anonymizer import engines, profile
    from anonymizer.dicom.context import Context
    from anonymizer.dicom.pixels import clean_pixels
    from anonymizer.report import Report

    global _ENGINES
    if _ENGINES is None:
        _ENGINES = engines.default_engines()
    ds = _dataset(s)
    prof = profile.get_profile("library")
    report = Report("library", "eval", "eval")
    ctx = Context(prof, b"k" * 32, "eval", report, _ENGINES)
    clean_pixels(ds, ctx)
    per_frame: list[list[tuple[int, int, int, int]]] = [[] for _ in range(s.frames.shape[0])]
    for m in report.pixel_masks:
        per_frame[m.frame] += list(m.boxes)
    return per_frame, bool(report.pixel_checked)


def score(samples: list[Sample], results: list[list[list[tuple[int, int, int, int]]]]) -> dict:
    """Return recall, precision and kept clinical lines over ``samples``."""
    personal = personal_masked = clinical = clinical_kept = 0
    personal_ink = clinical_ink_kept = 0
    masked_px = masked_off_text = 0
    text_free = text_free_masked = 0
    missed: list[str] = []
    masked_clinical: list[str] = []
    for s, per_frame in zip(samples, results, strict=True):
        shape = s.frames.shape[1:3]
        if not s.lines:
            text_free += 1
            text_free_masked += any(per_frame)
        textish = np.zeros(shape, bool)
        for ln in s.lines:
            x0, y0, x1, y1 = ln.box
            p = max(2, ln.height // 4)
            textish[max(0, y0 - p):y1 + p, max(0, x0 - p):x1 + p] = True
        for boxes in per_frame:
            m = np.zeros(shape, bool)
            for x0, y0, x1, y1 in boxes:
                m[max(0, y0):y1, max(0, x0):x1] = True
            masked_px += int(m.sum())
            masked_off_text += int((m & ~textish).sum())
        # a line counts in frame 0 (static text is in every frame)
        m0 = np.zeros(shape, bool)
        for x0, y0, x1, y1 in per_frame[0]:
            m0[max(0, y0):y1, max(0, x0):x1] = True
        for ln in s.lines:
            x0, y0 = max(0, ln.box[0]), max(0, ln.box[1])
            x1, y1 = min(shape[1], ln.box[2]), min(shape[0], ln.box[3])
            cover = float(m0[y0:y1, x0:x1].mean()) if (y1 > y0 and x1 > x0) else 1.0
            ink = ln.ink[:y1 - y0, :x1 - x0] if ln.ink is not None else None
            ink_cover = float(m0[y0:y1, x0:x1][ink].mean()) if ink is not None and ink.any() \
                else cover
            if ln.personal:
                personal += 1
                personal_ink += ink_cover >= INK_COVERED
                if cover >= 0.9:
                    personal_masked += 1
                else:
                    missed.append(f"{s.name}: {ln.height}px cover {cover:.2f} ink "
                                  f"{ink_cover:.2f} {ln.text!r}")
            else:
                clinical += 1
                clinical_kept += cover < 0.1
                if cover >= 0.1:
                    masked_clinical.append(f"{s.name}: {ln.height}px {ln.text!r}")
                clinical_ink_kept += ink_cover == 0
    return {
        "personal_lines": personal, "personal_masked": personal_masked,
        "recall": personal_masked / personal if personal else 1.0,
        "personal_ink_masked": personal_ink,
        "recall_ink": personal_ink / personal if personal else 1.0,
        "clinical_ink_kept": clinical_ink_kept,
        "masked_px": masked_px, "masked_px_off_text": masked_off_text,
        "precision_area": 1 - masked_off_text / masked_px if masked_px else 1.0,
        "text_free": text_free, "text_free_masked": text_free_masked,
        "clinical_lines": clinical, "clinical_kept": clinical_kept,
        "kept_clinical": clinical_kept / clinical if clinical else 0.0,
        "missed": missed, "masked_clinical": masked_clinical,
    }


def main(argv: list[str] | None = None) -> None:
    """Build one half, clean it, print the figures (and the misses with --verbose)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--half", choices=sorted(SEEDS), default="heldout")
    p.add_argument("--n", type=int, default=60)
    p.add_argument("--verbose", action="store_true")
    p.add_argument("--json", help="write the figures here")
    a = p.parse_args(argv)
    samples = generate(SEEDS[a.half], a.n)
    t0 = time.process_time()
    results = []
    checked = 0
    for s in samples:
        per_frame, was_checked = run_sample(s)
        results.append(per_frame)
        checked += was_checked
    cpu = time.process_time() - t0
    fig = score(samples, results)
    print(f"{a.half} half (seed {SEEDS[a.half]}), {len(samples)} images, "
          f"{checked} searched, CPU {cpu:.1f} s")
    print(f"  recall (personal lines masked)   {fig['personal_masked']}/{fig['personal_lines']}"
          f" = {fig['recall']:.3f}")
    print(f"  recall by ink ({INK_COVERED:.0%} of glyph pixels) "
          f"{fig['personal_ink_masked']}/{fig['personal_lines']} = {fig['recall_ink']:.3f}")
    print(f"  precision (masked area on text)  {fig['precision_area']:.3f} "
          f"({fig['masked_px_off_text']} of {fig['masked_px']} px off text)")
    print(f"  text-free images masked          {fig['text_free_masked']}/{fig['text_free']}")
    print(f"  clinical lines kept              {fig['clinical_kept']}/{fig['clinical_lines']}"
          f" = {fig['kept_clinical']:.3f} (no glyph pixel masked: {fig['clinical_ink_kept']})")
    if a.verbose:
        for m in fig["missed"]:
            print("  missed", m)
        for m in fig["masked_clinical"]:
            print("  clinical masked", m)
    if a.json:
        with open(a.json, "w", encoding="utf-8") as fh:
            json.dump(fig | {"cpu_s": cpu, "half": a.half, "n": a.n}, fh, indent=1)


if __name__ == "__main__":
    main()
