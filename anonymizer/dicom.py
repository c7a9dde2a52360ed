"""Apply a PS3.15 Annex E profile to a pydicom data set, in place, recording every action.

:func:`deidentify_dataset` walks everything: the preamble and file meta (0002), all nested
sequences, private blocks (with or without creators), curves (50xx), overlays (60xx) and
pixel data. Table E.1-1 says what to do with each listed attribute; :data:`UNLISTED_RULES`
says what to do with the rest, by VR.

References
----------
DICOM PS3.15 2024b Annex E (E.1.1 actions, E.3 options); PS3.5 6.2 (VRs), 7.8 (private
data elements); PS3.3 C.12.1 (SOP Common: de-identification attributes).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydicom.datadict import dictionary_has_tag, dictionary_VR
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import Tag
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from anonymizer import dates, known_values
from anonymizer.errors import DeidError, PixelCleaningError, UnsupportedTransferSyntax
from anonymizer.known_values import KnownValues
from anonymizer.profile import EDITION, Option, Profile, codes
from anonymizer.report import AttributeAction, PixelMask, Report, TextSpan
from anonymizer.uids import UIDMapper, patient_pseudonym

PATIENT_ID = 0x00100020
PATIENT_AGE = 0x00101010
PATIENT_BIRTH_DATE = 0x00100030
PIXEL_DATA = 0x7FE00010
SPECIFIC_CHARACTER_SET = 0x00080005
# Markers written by the engine (PS3.3 C.12.1 / C.7.1.1); never acted on by the walk.
MARKERS = frozenset({0x00120062, 0x00120063, 0x00120064, 0x00280303, 0x00280301})

# Dummy values for the D action, by VR (PS3.15 E.1.1: "a non-zero length value that may be a
# dummy value and consistent with the VR").
DUMMY: dict[str, Any] = {
    "AE": "ANONIMO",
    "AS": "000Y",
    "CS": "ANONIMO",
    "DA": "19000101",
    "DS": "0",
    "DT": "19000101000000",
    "FD": 0.0,
    "FL": 0.0,
    "IS": "0",
    "LO": "ANONIMIZADO",
    "LT": "ANONIMIZADO",
    "PN": "ANONIMO^ANONIMO",
    "SH": "ANONIMIZADO",
    "SL": 0,
    "SS": 0,
    "ST": "ANONIMIZADO",
    "SV": 0,
    "TM": "000000",
    "UC": "ANONIMIZADO",
    "UL": 0,
    "UR": "urn:traza:anonimizado",
    "US": 0,
    "UT": "ANONIMIZADO",
    "UV": 0,
}
BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
STRING_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST",
                        "TM", "UC", "UI", "UR", "UT"})
TEXT_VRS = frozenset({"LO", "LT", "SH", "ST", "UT", "UC", "PN"})
FREE_TEXT_VRS = frozenset({"LT", "ST", "UT", "UC"})
# UIDs that name classes or encodings, not instances: kept wherever they appear.
CLASS_UID_SUFFIXES = ("ClassUID", "TransferSyntaxUID", "CodingSchemeUID", "ContextUID")

# Sequences with an X/Z action that are Type 2 where they are used, so Z (zero items) is the
# valid choice (PS3.3 C.7.6.14 Acquisition Context Module).
TYPE2_SEQUENCES = frozenset({0x00400555})

# What to do with a public attribute Table E.1-1 does not list, by VR (Traza's rules; the
# table covers what PS3.15 knows to identify, these cover the rest conservatively).
#   "U?": remap unless a class/transfer-syntax UID; "Cx": clean if a clean option is active,
#   else D; "KV": keep, but replace the values the file itself identifies its patient with
#   (short texts such as codes and labels, where Spanish text rules would misfire on code
#   numbers, yet a descriptor may name the patient); None: keep (sequences are walked).
UNLISTED_RULES: dict[str, str | None] = {
    "UI": "U?",
    "PN": "Z",
    "LT": "Cx",
    "ST": "Cx",
    "UT": "Cx",
    "UC": "Cx",
    "LO": "KV",
    "SH": "KV",
    "UN": "X",
}

# Images at risk of burned-in text (PS3.15 E.3.1 Clean Pixel Data): always for these
# modalities; for CONDITIONAL ones when BurnedInAnnotation is YES or absent; any image whose
# BurnedInAnnotation is YES.
RISK_MODALITIES = frozenset({"US", "SC", "OT", "XA", "ES", "XC"})
CONDITIONAL_MODALITIES = frozenset({"DX", "CR"})
SECONDARY_CAPTURE_CLASS_PREFIX = "1.2.840.10008.5.1.4.1.1.7"

Box = tuple[int, int, int, int]
Redactor = Callable[[str], tuple[str, list[Any]]]
BoxFinder = Callable[[Any], list[Any]]
FramesBoxFinder = Callable[[Any], list[list[Any]]]
Masker = Callable[[Any, list[Any]], Any]


@dataclass
class Context:
    """Everything one file's de-identification needs: profile, keys, engines, report."""

    profile: Profile
    secret: bytes
    donor: str
    report: Report
    redact: Redactor | None = None
    find_text_boxes: BoxFinder | None = None
    mask: Masker | None = None
    # Identifying values known from elsewhere (the donor's other files), added to the file's.
    known: KnownValues | None = None
    # All frames of an image at once (text confirmed in one frame masked in all), if given.
    find_text_boxes_in_frames: FramesBoxFinder | None = None
    uids: UIDMapper = field(init=False)
    date_offset: int = field(init=False)
    pseudonym: str = field(init=False)
    _report_key: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.uids = UIDMapper(self.secret, self.donor, self.profile.uid_root)
        self.date_offset = dates.donor_offset(self.secret, self.donor)
        self.pseudonym = patient_pseudonym(self.secret, self.donor)
        report_key = self.secret + b"\0report\0" + self.donor.encode()
        self._report_key = hashlib.sha256(report_key).digest()

    def digest(self, value: Any) -> str | None:
        """Return the keyed HMAC-SHA256 of an old value for the report (None for sequences)."""
        raw = _value_bytes(value)
        if raw is None:
            return None
        return hmac.digest(self._report_key, raw, "sha256").hex()


def _value_bytes(value: Any) -> bytes | None:
    if value is None:
        return b""
    if isinstance(value, DicomSequence):
        return None
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, MultiValue | list | tuple):
        return "\\".join(str(v) for v in value).encode("utf-8")
    return str(value).encode("utf-8")


def _tag_str(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == b"" or (
        isinstance(value, MultiValue | list | DicomSequence) and len(value) == 0
    )


class Walker:
    """Applies the profile to one data set and its sequences, recording into the report."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.options = ctx.profile.options
        # Creators compared without case: vendors write "Philips Imaging DD 001" and
        # "PHILIPS IMAGING DD 001" for the same block.
        self.safe = {(s.creator.upper(), s.group, s.element) for s in ctx.profile.safe_private}
        self.latest_date = ""
        self.known = ctx.known or KnownValues()  # deidentify_dataset adds the file's own
        self.clean_text = bool(
            self.options & {Option.CLEAN_DESCRIPTORS, Option.CLEAN_STRUCTURED_CONTENT}
        )

    # -- recording ---------------------------------------------------------------------
    def _record(self, path: str, elem: DataElement, action: str, operation: str,
                old: Any) -> None:
        self.ctx.report.add(
            AttributeAction(
                path=path,
                tag=_tag_str(int(elem.tag)),
                keyword=elem.keyword or "",
                vr=elem.VR,
                action=action,
                operation=operation,
                old_hmac=self.ctx.digest(old),
            )
        )

    # -- the walk -----------------------------------------------------------------------
    def walk(self, ds: Dataset, prefix: str = "", *, file_meta: bool = False) -> None:
        """Apply the profile to every element of ``ds`` (recursively)."""
        kept_blocks: set[tuple[int, int]] = set()
        creators: list[int] = []
        for tag in list(ds.keys()):
            tag = int(tag)
            group, element = tag >> 16, tag & 0xFFFF
            if tag in MARKERS and not prefix:
                continue
            if not group & 1 and self._keep_raw(ds, tag, group, element):
                continue
            elem = ds[tag]
            path = f"{prefix}{elem.keyword or _tag_str(tag)}"
            if group & 1:
                if 0x0010 <= element <= 0x00FF:
                    creators.append(tag)
                    continue
                if self._private_kept(ds, group, element):
                    kept_blocks.add((group, element >> 8))
                    continue
                self._remove(ds, elem, path, "X")
                continue
            if element == 0 and not file_meta:
                # Group lengths are retired (PS3.5 7.2); pydicom need not keep them.
                del ds[tag]
                continue
            if 0x6000 <= group <= 0x601E or tag == PIXEL_DATA:
                continue  # overlays and pixel data: see clean_overlays / clean_pixels
            if 0x5000 <= group <= 0x501E:
                # Curves (retired, PS3.3 2004): their data cannot be cleaned, so even Clean
                # Graphics removes them.
                self._remove(ds, elem, path, "X")
                continue
            action = self.ctx.profile.action_for(tag)
            if action is None:
                action = self._unlisted(elem)
            self.apply(ds, elem, path, action)
        for tag in creators:
            group, block = tag >> 16, tag & 0xFF
            if (group, block) not in kept_blocks:
                self._remove(ds, ds[tag], f"{prefix}{_tag_str(tag)}", "X")

    def _keep_raw(self, ds: Dataset, tag: int, group: int, element: int) -> bool:
        # Most elements are kept as they are: deciding that from the tag and the raw VR
        # spares decoding them and lets pydicom write their original bytes.
        raw = ds.get_item(tag)
        if not isinstance(raw, RawDataElement) or element == 0 or 0x5000 <= group <= 0x501E:
            return False
        if 0x6000 <= group <= 0x601E or tag == PIXEL_DATA:
            return True  # handled by clean_overlays / clean_pixels
        vr = raw.VR or (dictionary_VR(tag) if dictionary_has_tag(tag) else None)
        if vr is None or vr in ("SQ", "UN") or " or " in vr:
            return False
        action = self.ctx.profile.action_for(tag)
        if action is None:
            return dictionary_has_tag(tag) and vr not in UNLISTED_RULES
        return action == "K" and tag != PATIENT_AGE

    def _private_kept(self, ds: Dataset, group: int, element: int) -> bool:
        if Option.RETAIN_SAFE_PRIVATE not in self.options:
            return False
        creator_tag = (group << 16) | (element >> 8)
        if element >> 8 < 0x10 or creator_tag not in ds:
            return False  # a private element without its creator cannot be known safe
        creator = str(ds[creator_tag].value).strip().upper()
        return (creator, group, element & 0xFF) in self.safe

    def _unlisted(self, elem: DataElement) -> str:
        vr = elem.VR
        if not dictionary_has_tag(elem.tag):
            return "X"  # public but unknown to the dictionary: cannot judge it, drop it
        rule = UNLISTED_RULES.get(vr)
        if rule == "U?":
            return "K" if (elem.keyword or "").endswith(CLASS_UID_SUFFIXES) else "U"
        if rule == "Cx":
            return "C" if self.clean_text else "D"
        return rule or "K"

    # -- actions ------------------------------------------------------------------------
    def apply(self, ds: Dataset, elem: DataElement, path: str, action: str) -> None:
        """Apply one Table E.1-1 action (possibly a combination) to ``elem``."""
        action = resolve(action, elem.VR, int(elem.tag))
        vr = elem.VR
        if action == "X":
            self._remove(ds, elem, path, "X")
        elif vr == "SQ":
            self._sequence(ds, elem, path, action)
        elif action == "K":
            if int(elem.tag) == PATIENT_AGE:
                self._cap_age(elem, path)
        elif action == "Z":
            if not _is_empty(elem.value):
                old = elem.value
                elem.value = "" if vr in STRING_VRS else None
                self._record(path, elem, "Z", "emptied", old)
        elif action == "D":
            self._dummy(elem, path)
        elif action == "U":
            self._uid(elem, path)
        elif action == "C":
            self._clean(ds, elem, path)
        elif action == "KV" and not _is_empty(elem.value):
            self._redact(elem, path, known_only=True)

    def _remove(self, ds: Dataset, elem: DataElement, path: str, action: str) -> None:
        old = elem.value if elem.VR != "SQ" else None
        del ds[elem.tag]
        self._record(path, elem, action, "removed", old)

    def _sequence(self, ds: Dataset, elem: DataElement, path: str, action: str) -> None:
        if action == "Z":
            if len(elem.value):
                elem.value = DicomSequence([])
                self._record(path, elem, "Z", "emptied", None)
            return
        # D, U, C and K on a sequence: walk its items with the same profile (PS3.15 E.1.1
        # "U*": replace the UIDs inside; D/C: the items' own rows remove what identifies).
        for i, item in enumerate(elem.value):
            self.walk(item, f"{path}[{i}].")

    def _dummy(self, elem: DataElement, path: str) -> None:
        old = elem.value
        if int(elem.tag) == PATIENT_ID:
            elem.value = self.ctx.pseudonym
            self._record(path, elem, "D", "pseudonym", old)
            return
        if elem.VR == "UI":
            self._uid(elem, path)
            return
        if elem.VR in BINARY_VRS:
            elem.value = b"\0\0"
        elif elem.VR in DUMMY:
            elem.value = DUMMY[elem.VR]
        else:
            return  # AT and other structural VRs carry no identity
        if old != elem.value:
            self._record(path, elem, "D", "dummy", old)

    def _uid(self, elem: DataElement, path: str) -> None:
        if elem.VR != "UI":
            self._dummy(elem, path)
            return
        if Option.RETAIN_UIDS in self.options or _is_empty(elem.value):
            return
        old = elem.value
        if isinstance(old, MultiValue | list):
            new: Any = [self.ctx.uids.map(str(v)) for v in old]
        else:
            new = self.ctx.uids.map(str(old))
        if new != old and [new] != old:
            elem.value = new
            self._record(path, elem, "U", "uid", old)

    def _cap_age(self, elem: DataElement, path: str) -> None:
        # HIPAA Safe Harbor: ages over 89 are grouped as 90 or older.
        value = str(elem.value or "")
        if len(value) == 4 and value.endswith("Y") and value[:3].isdigit() and int(value[:3]) > 89:
            elem.value = "090Y"
            self._record(path, elem, "C", "age_capped", value)

    def _clean(self, ds: Dataset, elem: DataElement, path: str) -> None:
        vr = elem.VR
        if _is_empty(elem.value):
            return
        if vr in ("DA", "DT"):
            self._shift(ds, elem, path)
        elif vr in TEXT_VRS:
            self._redact(elem, path)
        elif vr == "AE":
            self._dummy(elem, path)
        # TM and the SH timezone offset are kept: whole-day shifts leave times valid.

    def _shift(self, ds: Dataset, elem: DataElement, path: str) -> None:
        if Option.RETAIN_LONGITUDINAL_FULL_DATES in self.options:
            return
        if Option.RETAIN_LONGITUDINAL_MODIFIED_DATES not in self.options:
            return
        if int(elem.tag) == PATIENT_BIRTH_DATE and _over_89(self.latest_date, str(elem.value)):
            # Safe Harbor: a birth date that shows an age over 89 is not kept, even shifted.
            old = elem.value
            elem.value = ""
            self._record(path, elem, "Z", "emptied", old)
            return
        shift = dates.shift_da if elem.VR == "DA" else dates.shift_dt
        old = elem.value
        values = list(old) if isinstance(old, MultiValue | list) else [old]
        try:
            new = [shift(str(v), self.ctx.date_offset) for v in values]
        except ValueError:
            elem.value = ""
            self._record(path, elem, "Z", "emptied", old)
            return
        elem.value = new if len(new) > 1 else new[0]
        self._record(path, elem, "C", "date_shift", old)

    def _redact(self, elem: DataElement, path: str, *, known_only: bool = False) -> None:
        # The text rules, then the file's own identifying values, which need no cue (see
        # known_values); the result fits the VR's length (PS3.5 6.2).
        redact = None if known_only else self.ctx.redact
        if redact is None and not known_only:
            raise DeidError("text cleaning requested but no text redactor is loaded")
        if known_only and not self.known:
            return
        old = elem.value
        values = list(old) if isinstance(old, MultiValue | list) else [old]
        changed = False
        new = []
        limit = known_values.MAX_LENGTH.get(elem.VR)
        for i, v in enumerate(values):
            text, spans = known_values.clean(str(v), self.known, redact, max_length=limit)
            for s in spans:
                sub = f"{path}[{i}]" if len(values) > 1 else path
                self.ctx.report.text_spans.append(
                    TextSpan(sub, int(s.start), int(s.end), str(s.category))
                )
            changed = changed or text != str(v)
            new.append(text)
        if changed:
            elem.value = new if len(new) > 1 else new[0]
            self._record(path, elem, "C", "text_clean", old)


def latest_date(ds: Dataset) -> str:
    """Return the latest of the study, series, acquisition and content dates (``""`` if none)."""
    return max((str(ds.get(k, "") or "") for k in ("StudyDate", "SeriesDate",
                                                     "AcquisitionDate", "ContentDate")),
               default="")


def _over_89(latest: str, birth: str) -> bool:
    # Ages come from the original dates, read before the walk shifted any of them.
    try:
        born = dt.date(int(birth[:4]), int(birth[4:6]), int(birth[6:8]))
        seen = dt.date(int(latest[:4]), int(latest[4:6]), int(latest[6:8])) if latest else \
            dt.date.today()
    except ValueError:
        return True  # cannot tell: do not keep it
    years = seen.year - born.year - ((seen.month, seen.day) < (born.month, born.day))
    return years > 89


def resolve(action: str, vr: str, tag: int = 0) -> str:
    """Return the single action to apply for a Table E.1-1 action and the element's VR.

    Combinations (``X/Z``, ``X/D``, ``X/Z/D``, ``Z/D``, ``X/Z/U*``) depend on the attribute's
    Type in the IOD (PS3.15 E.1.1). Without the IOD at hand the engine picks the choice that is
    valid for every Type: D if allowed (Type 1 safe), else U for UIDs and sequences of UIDs,
    else Z (valid for Type 2 and 3). A sequence emptied to zero items is invalid where it is
    Type 3, so ``X/Z`` on a sequence removes it unless it is in :data:`TYPE2_SEQUENCES`.
    """
    if "/" not in action:
        return action
    choices = action.replace("*", "").split("/")
    if "D" in choices:
        return "D"
    if "U" in choices and vr in ("UI", "SQ"):
        return "U"
    if vr == "SQ" and "X" in choices and tag not in TYPE2_SEQUENCES:
        return "X"
    if "Z" in choices:
        return "Z"
    return choices[0]


def _walk_file_meta(ds: FileDataset, walker: Walker) -> None:
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        walker.walk(meta, "file_meta.", file_meta=True)
    if getattr(ds, "preamble", None) and any(ds.preamble):
        # A non-zero preamble can hold another format's header (PS3.10 7.1), e.g. TIFF.
        ds.preamble = b"\0" * 128
        walker.ctx.report.notes.append("preamble zeroed")


def clean_overlays(ds: Dataset, walker: Walker) -> None:
    """Remove overlay groups (60xx), or under Clean Graphics mask text found in them."""
    # Dataset iteration yields elements (decoding raw ones); keys() gives just the tags.
    tags = list(ds.keys())  # noqa: SIM118
    groups = sorted({int(t) >> 16 for t in tags if 0x6000 <= int(t) >> 16 <= 0x601E})
    ctx = walker.ctx
    for group in groups:
        data_tag = (group << 16) | 0x3000
        action = ctx.profile.action_for(data_tag)
        if action == "C" and data_tag in ds and ctx.find_text_boxes and ctx.mask:
            _clean_overlay(ds, group, walker)
            # Comments, and also Description and Label, which Table E.1-1 does not list but
            # are free text where a name can sit (PS3.3 C.9.2).
            for tag in [int(t) for t in list(ds.keys()) if int(t) >> 16 == group]:
                if ds[tag].VR in TEXT_VRS:
                    walker.apply(ds, ds[tag], _tag_str(tag), "C")
            continue
        for tag in [t for t in list(ds.keys()) if int(t) >> 16 == group]:
            walker._remove(ds, ds[tag], _tag_str(int(tag)), "X")


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
            masked = ctx.mask(image, boxes)
            image = image if masked is None else masked
            frames[i] = (image > 0).astype(frames.dtype)
            ctx.report.pixel_masks.append(PixelMask(i, tuple(_box(b) for b in boxes), "overlay"))
            found = True
    if found:
        tag = Tag(group, 0x3000)
        old = ds[tag].value
        ds[tag].value = pack_bits(frames.reshape(-1))
        walker._record(_tag_str(int(tag)), ds[tag], "C", "overlay_masked", old)


def _find(ctx: Context, frame: Any, options: dict[str, Any]) -> list[Any]:
    assert ctx.find_text_boxes is not None
    try:
        return list(ctx.find_text_boxes(frame, **options))
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
    return modality in CONDITIONAL_MODALITIES and burned != "NO"


def clean_pixels(ds: FileDataset, ctx: Context) -> bool:
    """Mask text found in every frame of an at-risk image; return True if pixels changed.

    Pixel data without text is left untouched (bit-identical, original transfer syntax).
    Changed pixel data is written uncompressed, in Explicit VR Little Endian unless the input
    already was Implicit or Explicit VR Little Endian.
    """
    if Option.CLEAN_PIXEL_DATA not in ctx.profile.options or not at_risk(ds):
        return False
    if ctx.find_text_boxes is None or ctx.mask is None:
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
    options = {"monochrome1": True} if ds.get("PhotometricInterpretation") == "MONOCHROME1" \
        else {}
    changed = False
    if ctx.find_text_boxes_in_frames is not None:
        try:
            per_frame = list(ctx.find_text_boxes_in_frames(frames, **options))
        except Exception as exc:  # the OCR engine's own errors say what is missing
            raise PixelCleaningError(f"OCR failed: {type(exc).__name__}: {exc}") from None
    else:
        per_frame = [_find(ctx, frames[i], options) for i in range(frames.shape[0])]
    for i, boxes in enumerate(per_frame):
        if not boxes:
            continue
        masked = ctx.mask(frames[i], boxes)
        if masked is not None:  # a masker may work in place and return nothing
            frames[i] = masked
        ctx.report.pixel_masks.append(PixelMask(i, tuple(_box(b) for b in boxes)))
        changed = True
    if not changed:
        return False
    photometric = str(ds.PhotometricInterpretation)
    if photometric.startswith("YBR") and arr.ndim >= 3 and arr.shape[-1] == 3:
        photometric = "RGB"  # pydicom decodes YBR to RGB
    meta = ds.file_meta
    if meta.TransferSyntaxUID not in (ExplicitVRLittleEndian, ImplicitVRLittleEndian):
        # Compressed, deflated or big endian in, plain little endian out (PS3.5 A.2).
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
    arr = arr.astype(arr.dtype.newbyteorder("<"))
    old_len = len(ds.PixelData) if ds.get("PixelData") is not None else 0
    ds.set_pixel_data(arr, photometric, int(ds.BitsStored), generate_instance_uid=False)
    ds.BurnedInAnnotation = "NO"
    ctx.report.add(AttributeAction("PixelData", _tag_str(PIXEL_DATA), "PixelData",
                                   ds["PixelData"].VR, "C", "pixels_masked", None))
    ctx.report.notes.append(f"pixel data rewritten uncompressed ({old_len} bytes before)")
    return True


def write_markers(ds: Dataset, profile: Profile) -> None:
    """Write PatientIdentityRemoved, DeidentificationMethod(+CodeSequence) and the date flag.

    References
    ----------
    PS3.3 C.7.1.1 (Patient Identity Removed), C.12.1 (Longitudinal Temporal Information
    Modified); PS3.16 CID 7050.
    """
    meta = getattr(ds, "file_meta", None)
    ts = UID(getattr(meta, "TransferSyntaxUID", None) or ExplicitVRLittleEndian)
    for raw in _markers(profile.describe(), profile.options, ts.is_implicit_VR,
                        ts.is_little_endian):
        ds[raw.tag] = raw


@functools.lru_cache(maxsize=16)
def _markers(method: str, options: frozenset[Option], implicit_vr: bool,
             little_endian: bool) -> tuple[RawDataElement, ...]:
    # Built and encoded once per profile and encoding: creating, validating and writing
    # these elements (a sequence of seven items) for every file cost a tenth of a small
    # file's time. Raw elements are immutable: each file that changes one gets its own.
    ds = Dataset()
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = method
    items = []
    for value, meaning in codes(options):
        item = Dataset()
        item.CodeValue = value
        item.CodingSchemeDesignator = "DCM"
        item.CodeMeaning = meaning
        items.append(item)
    ds.DeidentificationMethodCodeSequence = items
    if Option.RETAIN_LONGITUDINAL_FULL_DATES in options:
        ds.LongitudinalTemporalInformationModified = "UNMODIFIED"
    elif Option.RETAIN_LONGITUDINAL_MODIFIED_DATES in options:
        ds.LongitudinalTemporalInformationModified = "MODIFIED"
    else:
        ds.LongitudinalTemporalInformationModified = "REMOVED"
    fp = DicomBytesIO()
    fp.is_implicit_VR, fp.is_little_endian = implicit_vr, little_endian
    write_dataset(fp, ds)
    encoded = read_dataset(DicomBytesIO(fp.getvalue()), implicit_vr, little_endian)
    # iterating a data set would decode the elements; keys() gives just the tags
    return tuple(encoded.get_item(tag) for tag in encoded.keys())  # noqa: SIM118


def deidentify_dataset(ds: FileDataset, ctx: Context) -> Report:
    """De-identify ``ds`` in place under ``ctx.profile``; return the filled report.

    Order: file meta and preamble, overlays, the data set (recursively), pixel data, markers;
    the file meta's Media Storage SOP Instance UID maps with the same key as the SOP
    Instance UID, so they stay equal.
    """
    walker = Walker(ctx)
    walker.known = known_values.collect(ds, ctx.known)  # before the walk removes them
    walker.latest_date = latest_date(ds)
    _walk_file_meta(ds, walker)
    clean_overlays(ds, walker)
    walker.walk(ds)
    clean_pixels(ds, ctx)
    write_markers(ds, ctx.profile)
    ctx.report.edition = EDITION
    return ctx.report
