"""DICOM frames as PNG, server-side (pydicom -> numpy -> Pillow), for the donor's review.

Grey images are windowed (CT presets in Hounsfield units after the rescale; MR and others a
percentile window), MONOCHROME1 inverted, colour images shown as they are. Masked regions
of the de-identification report are outlined. Images are scaled down to
:data:`MAX_SIDE` pixels: the page is read on a phone.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import pydicom
from PIL import Image, ImageDraw

__all__ = ["CT_PRESETS", "MAX_SIDE", "RenderError", "frame_count", "modality", "presets_for",
           "to_png"]

MAX_SIDE = 768
# name -> (window width, window centre), Hounsfield units.
CT_PRESETS = {"soft": (400, 40), "lung": (1500, -600), "bone": (2000, 300), "brain": (80, 40)}
# name -> (low, high) percentiles of the frame's values.
AUTO_PRESETS = {"auto": (1.0, 99.0), "full": (0.0, 100.0)}
OUTLINE = (255, 196, 0)  # amber: visible on grey and on most colour images


class RenderError(ValueError):
    """The object has no image that can be shown (no pixel data, unknown encoding)."""


def _read(data: bytes) -> pydicom.Dataset:
    try:
        return pydicom.dcmread(io.BytesIO(data), force=True)
    except Exception as e:  # any parse failure: the page says "no image"
        raise RenderError(f"not a DICOM object ({type(e).__name__})") from None


def modality(data: bytes) -> str:
    """The object's Modality (``""`` when absent)."""
    return str(_read(data).get("Modality", "") or "")


def frame_count(data: bytes) -> int:
    """How many frames the object has (0 without pixel data)."""
    ds = _read(data)
    if "PixelData" not in ds:
        return 0
    return int(ds.get("NumberOfFrames", 1) or 1)


def presets_for(mod: str) -> tuple[str, ...]:
    """The window presets offered for a modality (the first is the default)."""
    return tuple(CT_PRESETS) if mod == "CT" else tuple(AUTO_PRESETS)


def _grey(pixels: np.ndarray, ds: pydicom.Dataset, preset: str) -> np.ndarray:
    values = pixels.astype(np.float32)
    if preset in CT_PRESETS:
        values = values * float(ds.get("RescaleSlope", 1) or 1) + \
            float(ds.get("RescaleIntercept", 0) or 0)
        width, centre = CT_PRESETS[preset]
        low, high = centre - width / 2, centre + width / 2
    else:
        lo_p, hi_p = AUTO_PRESETS.get(preset, AUTO_PRESETS["auto"])
        low, high = (float(v) for v in np.percentile(values, (lo_p, hi_p)))
    if high <= low:
        high = low + 1
    out = np.clip((values - low) / (high - low), 0, 1) * 255
    if str(ds.get("PhotometricInterpretation", "")) == "MONOCHROME1":
        out = 255 - out
    return out.astype(np.uint8)


def to_png(data: bytes, *, frame: int = 0, preset: str | None = None,
           boxes: Sequence[Sequence[int]] = ()) -> bytes:
    """Frame ``frame`` of the DICOM object ``data`` as PNG bytes, ``boxes`` outlined.

    Raises
    ------
    RenderError
        No pixel data, a frame out of range, or pixels that cannot be decoded.
    """
    ds = _read(data)
    n = frame_count(data)
    if n == 0:
        raise RenderError("the object has no image")
    if not 0 <= frame < n:
        raise RenderError(f"frame {frame} out of 0..{n - 1}")
    try:
        pixels: Any = ds.pixel_array
    except Exception as e:
        raise RenderError(f"the pixels cannot be decoded ({type(e).__name__})") from None
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    if n > 1:
        pixels = pixels[frame]
    mod = str(ds.get("Modality", "") or "")
    preset = preset if preset in presets_for(mod) else presets_for(mod)[0]
    if samples == 1:
        image = Image.fromarray(_grey(pixels, ds, preset)).convert("RGB")
    else:
        if str(ds.get("PhotometricInterpretation", "")).startswith("YBR"):
            from pydicom.pixels import convert_color_space
            pixels = convert_color_space(pixels, str(ds.PhotometricInterpretation), "RGB")
        image = Image.fromarray(np.asarray(pixels).astype(np.uint8)[..., :3], "RGB")
    draw = ImageDraw.Draw(image)
    for x0, y0, x1, y1 in boxes:
        draw.rectangle((x0, y0, x1, y1), outline=OUTLINE, width=max(2, image.width // 256))
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()
