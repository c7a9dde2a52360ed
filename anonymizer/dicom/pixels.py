"""Pixel cleaning: burned-in text masked in at-risk images and overlays (PS3.15 E.3.1).

Pixel data without text is left untouched (bit-identical, original transfer syntax);
changed pixel data is written uncompressed, in a little endian transfer syntax.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pydicom.dataset import Dataset, FileDataset
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from anonymizer import known_values
from anonymizer.dicom.context import Context
from anonymizer.dicom.walker import PIXEL_DATA, TEXT_VRS, Walker, tag_str
from anonymizer.errors import PixelCleaningError, UnsupportedTransferSyntax
from anonymizer.known_values import KnownValues
from anonymizer.profile import OVERLAYS, REPEATER_GROUPS, Option
from anonymizer.report import AttributeAction, PixelMask

# Images at risk of burned-in text (PS3.15 E.3.1 Clean Pixel Data): always for these
# modalities and for screen captures (Secondary Capture classes, ImageType SCREEN SAVE:
# dose screens are often CT); any other image unless its BurnedInAnnotation says NO
# (an absent flag is no promise: CT dose screens and ultrasound come without it).
RISK_MODALITIES = frozenset({"US", "SC", "OT", "XA", "ES", "XC"})
CONDITIONAL_MODALITIES = frozenset({"DX", "CR"})
SECONDARY_CAPTURE_CLASS_PREFIX = "1.2.840.10008.5.1.4.1.1.7"
SCREEN_IMAGE_TYPES = frozenset({"SCREEN SAVE", "SCREENSHOT", "SCREEN CAPTURE"})

Box = tuple[int, int, int, int]


def clean_overlays(ds: Dataset, walker: Walker) -> None:
    """Remove overlay groups (60xx), or under Clean Graphics mask text found in them."""
    # Dataset iteration yields elements (decoding raw ones); keys() gives just the tags.
    tags = list(ds.keys())  # noqa: SIM118
    groups = sorted({int(t) >> 16 for t in tags
                     if REPEATER_GROUPS.get(int(t) >> 16) == OVERLAYS})
    ctx = walker.ctx
    for group in groups:
        data_tag = (group << 16) | 0x3000
        action = ctx.profile.action_for(data_tag)
        if action == "C" and data_tag in ds and ctx.engines.find_text_boxes and ctx.engines.mask:
            _clean_overlay(ds, group, walker)
            # Comments, and also Description and Label, which Table E.1-1 does not list but
            # are free text where a name can sit (PS3.3 C.9.2).
            for tag in [int(t) for t in list(ds.keys()) if int(t) >> 16 == group]:
                if ds[tag].VR in TEXT_VRS:
                    walker.apply(ds, ds[tag], tag_str(tag), "C")
            continue
        for tag in [t for t in list(ds.keys()) if int(t) >> 16 == group]:
            walker.remove(ds, ds[tag], tag_str(int(tag)), "X")


def _clean_overlay(ds: Dataset, group: int, walker: Walker) -> None:
    import numpy as np
    from pydicom.pixels.utils import pack_bits

    ctx = walker.ctx
    bits = ds.overlay_array(group)
    frames = bits if bits.ndim == 3 else bits[None]
    found = False
    for i, frame in enumerate(frames):
        image = (frame.astype(np.uint8) * 255)
        boxes = _find(ctx, image, {})
        if boxes:
            masked = ctx.engines.mask(image, boxes)
            image = image if masked is None else masked
            frames[i] = (image > 0).astype(frames.dtype)
            ctx.report.pixel_masks.append(PixelMask(i, tuple(_box(b) for b in boxes), "overlay"))
            found = True
    if found:
        tag = Tag(group, 0x3000)
        old = ds[tag].value
        ds[tag].value = pack_bits(frames.reshape(-1))
        walker.record(tag_str(int(tag)), ds[tag], "C", "overlay_masked", old)


def _find(ctx: Context, frame: Any, options: dict[str, Any]) -> list[Any]:
    assert ctx.engines.find_text_boxes is not None
    try:
        return list(ctx.engines.find_text_boxes(frame, **options))
    except Exception as exc:  # the OCR engine's own errors say what is missing
        raise PixelCleaningError(f"OCR failed: {type(exc).__name__}: {exc}") from None


def _box(b: Any) -> Box:
    if isinstance(b, Sequence):
        return (int(b[0]), int(b[1]), int(b[2]), int(b[3]))
    return (int(b.x0), int(b.y0), int(b.x1), int(b.y1))


def at_risk(ds: Dataset) -> bool:
    """Return True if the image may carry burned-in text (PS3.15 E.3.1)."""
    if PIXEL_DATA not in ds:
        return False
    burned = str(ds.get("BurnedInAnnotation", "") or "").upper()
    if burned == "YES":
        return True
    modality = str(ds.get("Modality", "") or "").upper()
    sop_class = str(ds.get("SOPClassUID", "") or "")
    if modality in RISK_MODALITIES or sop_class.startswith(SECONDARY_CAPTURE_CLASS_PREFIX):
        return True
    image_type = ds.get("ImageType") or ()
    if isinstance(image_type, str):
        image_type = image_type.split("\\")
    if any(str(v).upper() in SCREEN_IMAGE_TYPES for v in image_type):
        return True
    return burned != "NO"


def gated(ds: Dataset) -> bool:
    """Return True when ``ds`` is at risk only because its BurnedInAnnotation is absent
    (CT, MR and other series): searched when the pre-filter flags a frame, not otherwise.

    The pre-filter costs ~2 ms a 512x512 slice where the learned detector costs 50-350;
    on the burned-in evaluation set it flagged every CT/MR image with text and no
    text-free one (bench/README.md). Ultrasound, X-ray angiography, CR/DX, screen
    captures and images flagged YES are searched in full.
    """
    if str(ds.get("BurnedInAnnotation", "") or "").upper() == "YES":
        return False
    modality = str(ds.get("Modality", "") or "").upper()
    sop_class = str(ds.get("SOPClassUID", "") or "")
    if modality in RISK_MODALITIES | CONDITIONAL_MODALITIES \
            or sop_class.startswith(SECONDARY_CAPTURE_CLASS_PREFIX):
        return False
    image_type = ds.get("ImageType") or ()
    if isinstance(image_type, str):
        image_type = image_type.split("\\")
    return not any(str(v).upper() in SCREEN_IMAGE_TYPES for v in image_type)


def _personal_check(ctx: Context, known: KnownValues | None) -> Callable[[str], bool]:
    """Return ``text -> True when it holds personal data``: the Spanish detector (the
    profile's redactor) and the file's known values; without a redactor, always True."""
    redact = ctx.engines.redact

    def is_personal(text: str) -> bool:
        if redact is None:
            return True
        if known and known_values.redact(text, known)[1]:
            return True
        return bool(redact(text)[1])

    return is_personal


def rewritten_syntax(ts: str) -> str:
    """Return the transfer syntax of pixel data rewritten from syntax ``ts``.

    Implicit and Explicit VR Little Endian are kept; compressed, deflated or big endian in,
    Explicit VR Little Endian out (PS3.5 A.2): the masked pixels are written uncompressed.
    """
    if ts in (ExplicitVRLittleEndian, ImplicitVRLittleEndian):
        return ts
    return ExplicitVRLittleEndian


def clean_pixels(ds: FileDataset, ctx: Context, known: KnownValues | None = None) -> bool:
    """Mask text found in every frame of an at-risk image; return True if pixels changed.

    Pixel data without text is left untouched (bit-identical, original transfer syntax).
    Changed pixel data is written uncompressed, in Explicit VR Little Endian unless the input
    already was Implicit or Explicit VR Little Endian. With engines that read text
    (``Engines.reads_text``), clinical lines in which neither the Spanish detector nor
    ``known`` (the file's and the donor's other files' identifying values) finds anything
    stay unmasked.
    """
    if Option.CLEAN_PIXEL_DATA not in ctx.profile.options or not at_risk(ds):
        return False
    if ctx.engines.find_text_boxes is None or ctx.engines.mask is None:
        raise PixelCleaningError("image at risk of burned-in text but no OCR engine is loaded")
    ctx.report.pixel_checked = True
    try:
        arr = ds.pixel_array
    except Exception as exc:  # decoders raise many types; the message names the syntax
        ts = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "?")
        raise UnsupportedTransferSyntax(
            f"cannot decode pixel data with transfer syntax {ts}: {type(exc).__name__}"
        ) from None
    frames_n = int(ds.get("NumberOfFrames", 1) or 1)
    frames = arr if frames_n > 1 else arr[None]
    options: dict[str, Any] = {"monochrome1": True} \
        if ds.get("PhotometricInterpretation") == "MONOCHROME1" else {}
    if ctx.engines.reads_text:
        options["is_personal"] = _personal_check(ctx, known if known is not None else ctx.known)
        options["gate"] = gated(ds)
    changed = False
    if ctx.engines.find_text_boxes_in_frames is not None:
        try:
            per_frame = list(ctx.engines.find_text_boxes_in_frames(frames, **options))
        except Exception as exc:  # the OCR engine's own errors say what is missing
            raise PixelCleaningError(f"OCR failed: {type(exc).__name__}: {exc}") from None
    else:
        per_frame = [_find(ctx, frames[i], options) for i in range(frames.shape[0])]
    for i, boxes in enumerate(per_frame):
        if not boxes:
            continue
        masked = ctx.engines.mask(frames[i], boxes)
        if masked is not None:  # a masker may work in place and return nothing
            frames[i] = masked
        ctx.report.pixel_masks.append(PixelMask(i, tuple(_box(b) for b in boxes)))
        changed = True
    if not changed:
        return False
    photometric = str(ds.PhotometricInterpretation)
    if photometric.startswith("YBR") and arr.ndim >= 3 and arr.shape[-1] == 3:
        photometric = "RGB"  # pydicom decodes YBR to RGB
    ds.file_meta.TransferSyntaxUID = rewritten_syntax(ds.file_meta.TransferSyntaxUID)
    arr = arr.astype(arr.dtype.newbyteorder("<"))
    old_len = len(ds.PixelData) if ds.get("PixelData") is not None else 0
    ds.set_pixel_data(arr, photometric, int(ds.BitsStored), generate_instance_uid=False)
    ds.BurnedInAnnotation = "NO"
    ctx.report.add(AttributeAction("PixelData", tag_str(PIXEL_DATA), "PixelData",
                                   ds["PixelData"].VR, "C", "pixels_masked", None))
    ctx.report.notes.append(f"pixel data rewritten uncompressed ({old_len} bytes before)")
    return True
