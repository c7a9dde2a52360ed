"""Pixels of the bench corpus: text-free phantoms, burned-in text, and encoding per syntax."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
    RLELossless,
)

from bench.deid.phi import fold


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def phantom(rng: np.random.Generator, rows: int, cols: int, maxval: int,
             offset: float = 0.0) -> np.ndarray:
    """A round body with a lesion and noise: a text-free image."""
    y, x = np.mgrid[0:rows, 0:cols]
    r = np.hypot(y - rows / 2, x - cols / 2)
    img = np.where(r < rows * 0.42, maxval * 0.35, maxval * 0.02)
    lesion = np.hypot(y - rows * (0.4 + offset), x - cols * 0.6) < rows * 0.08
    img = img + lesion * maxval * 0.25
    img = img + rng.normal(0, maxval * 0.02, size=img.shape)
    return np.clip(img, 0, maxval)


def burn(img: Image.Image, texts: list[tuple[int, int, str]], size: int,
          ink: int | tuple[int, ...], band: int | tuple[int, ...] | None
          ) -> list[list[int]]:
    """Draw each text (folded to ASCII) at its place, on a band if given; return the boxes."""
    draw = ImageDraw.Draw(img)
    font = _font(size)
    boxes = []
    for x, y, label in texts:
        # Devices burn ASCII; Pillow's bundled font also has no accented glyphs.
        text = fold(label)
        x0, y0, x1, y1 = draw.textbbox((x, y), text, font=font)
        if band is not None:
            draw.rectangle((x0 - 2, y0 - 2, x1 + 2, y1 + 2), fill=band)
        draw.text((x, y), text, font=font, fill=ink)
        boxes.append([max(0, x0 - 1), max(0, y0 - 1), x1 + 1, y1 + 1])
    return boxes


def encoders_missing() -> dict[str, str]:
    """Transfer syntaxes this machine cannot write, with the reason."""
    from pydicom.pixels.encoders import (
        JPEG2000LosslessEncoder,
        JPEGLSLosslessEncoder,
        RLELosslessEncoder,
    )

    missing = {}
    for uid, enc, hint in ((RLELossless, RLELosslessEncoder, "pylibjpeg-rle"),
                           (JPEGLSLossless, JPEGLSLosslessEncoder, "pyjpegls"),
                           (JPEG2000Lossless, JPEG2000LosslessEncoder, "pylibjpeg-openjpeg")):
        if not enc.is_available:
            missing[uid] = f"no encoder for {UID(uid).name} (install {hint})"
    try:
        import imagecodecs

        imagecodecs.jpeg8_encode  # noqa: B018 - probe the codec
    except (ImportError, AttributeError):
        missing[JPEGLosslessSV1] = "no JPEG lossless encoder (install imagecodecs)"
    return missing


def store_frames(ds: Dataset, frames: np.ndarray, syntax: str, missing: dict[str, str]) -> str:
    """Store ``frames`` as the pixel data of ``ds`` encoded in ``syntax``; return the syntax.

    A syntax in ``missing`` (no encoder here) falls back to explicit VR little endian.
    """
    if syntax in missing:
        syntax = ExplicitVRLittleEndian
    ds.file_meta.TransferSyntaxUID = syntax
    arr = frames if int(ds.get("NumberOfFrames", 1)) > 1 else frames[0]
    native = (ExplicitVRLittleEndian, ImplicitVRLittleEndian, DeflatedExplicitVRLittleEndian)
    if syntax in native:
        ds.PixelData = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        ds["PixelData"].VR = "OW" if ds.BitsAllocated > 8 else "OB"
    elif syntax == ExplicitVRBigEndian:
        ds.PixelData = arr.astype(arr.dtype.newbyteorder(">")).tobytes()
        ds["PixelData"].VR = "OW" if ds.BitsAllocated > 8 else "OB"
    elif syntax == JPEGBaseline8Bit:
        chunks = []
        for frame in frames:
            buf = io.BytesIO()
            mode = "RGB" if frame.ndim == 3 else "L"
            Image.fromarray(frame, mode).save(buf, "JPEG", quality=92, subsampling=1)
            chunks.append(buf.getvalue())
        ds.PixelData = encapsulate(chunks)
        ds["PixelData"].VR = "OB"
        if ds.SamplesPerPixel == 3:
            ds.PhotometricInterpretation = "YBR_FULL_422"
        ds.LossyImageCompression = "01"
        ds.LossyImageCompressionMethod = "ISO_10918_1"
    elif syntax == JPEGLosslessSV1:
        import imagecodecs

        chunks = [imagecodecs.jpeg8_encode(f, lossless=True, predictor=1,
                                           bitspersample=int(ds.BitsStored)) for f in frames]
        ds.PixelData = encapsulate(chunks)
        ds["PixelData"].VR = "OB"
    else:
        ds.compress(syntax, arr, generate_instance_uid=False)
    ds.file_meta.TransferSyntaxUID = syntax
    return syntax
