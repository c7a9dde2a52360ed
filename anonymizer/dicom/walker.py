"""The walk: Table E.1-1 actions applied to every element of a data set, recursively.

Everything is walked: the preamble and file meta (0002), all nested sequences, private
blocks (with or without creators) and curves (50xx); overlays (60xx) and pixel data are
left to :mod:`anonymizer.dicom.pixels`. Table E.1-1 says what to do with each listed
attribute; :data:`UNLISTED_RULES` says what to do with the rest, by VR.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from pydicom.datadict import dictionary_has_tag, dictionary_VR
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileDataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence as DicomSequence

from anonymizer import dates, known_values
from anonymizer.dicom.context import Context

if TYPE_CHECKING:
    from anonymizer.dicom.conformance import Requirements
from anonymizer.dicom.markers import MARKERS
from anonymizer.errors import DeidError
from anonymizer.known_values import KnownValues
from anonymizer.profile import CURVES, OVERLAYS, REPEATER_GROUPS, Option
from anonymizer.report import AttributeAction, TextSpan

PATIENT_ID = 0x00100020
PATIENT_AGE = 0x00101010
PATIENT_BIRTH_DATE = 0x00100030
PIXEL_DATA = 0x7FE00010

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
# Dummies whose format the attribute fixes beyond its VR (a D on a Type 1 attribute).
DUMMY_BY_TAG: dict[int, str] = {0x00080201: "+0000"}  # Timezone Offset From UTC: &ZZXX
BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
STRING_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST",
                        "TM", "UC", "UI", "UR", "UT"})
TEXT_VRS = frozenset({"LO", "LT", "SH", "ST", "UT", "UC", "PN"})
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


def tag_str(tag: int) -> str:
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
        # The IOD's Type 1 and 2 paths (anonymizer.dicom.conformance), set before the walk;
        # and the report paths of what the walk removed, for the conditions after it.
        self.requirements: Requirements | None = None
        self.removed: set[str] = set()

    # -- recording ---------------------------------------------------------------------
    def record(self, path: str, elem: DataElement, action: str, operation: str,
                old: Any) -> None:
        self.ctx.report.add(
            AttributeAction(
                path=path,
                tag=tag_str(int(elem.tag)),
                keyword=elem.keyword or "",
                vr=elem.VR,
                action=action,
                operation=operation,
                old_hmac=self.ctx.digest(old),
            )
        )

    # -- the walk -----------------------------------------------------------------------
    def walk(self, ds: Dataset, prefix: str = "", *, file_meta: bool = False,
             tags: tuple[int, ...] = ()) -> None:
        """Apply the profile to every element of ``ds`` (recursively).

        ``tags`` are the sequence tags down to ``ds`` (for the Types of the IOD).
        """
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
            path = f"{prefix}{elem.keyword or tag_str(tag)}"
            if group & 1:
                if 0x0010 <= element <= 0x00FF:
                    creators.append(tag)
                    continue
                if self._private_kept(ds, group, element):
                    kept_blocks.add((group, element >> 8))
                    continue
                self.remove(ds, elem, path, "X")
                continue
            if element == 0 and not file_meta:
                # Group lengths are retired (PS3.5 7.2); pydicom need not keep them.
                del ds[tag]
                continue
            repeater = REPEATER_GROUPS.get(group)
            if repeater == OVERLAYS or tag == PIXEL_DATA:
                continue  # overlays and pixel data: see clean_overlays / clean_pixels
            if repeater == CURVES:
                # Curves (retired, PS3.3 2004): their data cannot be cleaned, so even Clean
                # Graphics removes them.
                self.remove(ds, elem, path, "X")
                continue
            action = self.ctx.profile.action_for(tag)
            if action is None:
                action = self._unlisted(elem)
            self.apply(ds, elem, path, action, () if file_meta else tags + (tag,))
        for tag in creators:
            group, block = tag >> 16, tag & 0xFF
            if (group, block) not in kept_blocks:
                self.remove(ds, ds[tag], f"{prefix}{tag_str(tag)}", "X")

    def _keep_raw(self, ds: Dataset, tag: int, group: int, element: int) -> bool:
        # Most elements are kept as they are: deciding that from the tag and the raw VR
        # spares decoding them and lets pydicom write their original bytes.
        raw = ds.get_item(tag)
        repeater = REPEATER_GROUPS.get(group)
        if not isinstance(raw, RawDataElement) or element == 0 or repeater == CURVES:
            return False
        if repeater == OVERLAYS or tag == PIXEL_DATA:
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
    def apply(self, ds: Dataset, elem: DataElement, path: str, action: str,
              tags: tuple[int, ...] = ()) -> None:
        """Apply one Table E.1-1 action (possibly a combination) to ``elem``.

        ``tags`` locate it in the IOD: an X on an attribute that is Type 1 there becomes D
        (a sequence: its items cleaned), on a Type 2 one Z (PS3.15 E.1.1).
        """
        action = resolve(action, elem.VR, int(elem.tag))
        vr = elem.VR
        if action == "X" and tags and self.requirements is not None:
            kind = self.requirements.type_of(tags)
            if kind == "2":
                action = "Z"
            elif kind == "1":
                action = "D"
        if action == "X":
            self.remove(ds, elem, path, "X")
        elif vr == "SQ":
            self._sequence(ds, elem, path, action, tags)
        elif action == "K":
            if int(elem.tag) == PATIENT_AGE:
                self._cap_age(elem, path)
        elif action == "Z":
            if not _is_empty(elem.value):
                old = elem.value
                elem.value = "" if vr in STRING_VRS else None
                self.record(path, elem, "Z", "emptied", old)
        elif action == "D":
            self._dummy(elem, path)
        elif action == "U":
            self._uid(elem, path)
        elif action == "C":
            self._clean(ds, elem, path)
        elif action == "KV" and not _is_empty(elem.value):
            self._redact(elem, path, known_only=True)

    def remove(self, ds: Dataset, elem: DataElement, path: str, action: str) -> None:
        old = elem.value if elem.VR != "SQ" else None
        del ds[elem.tag]
        self.removed.add(path)
        self.record(path, elem, action, "removed", old)

    def _sequence(self, ds: Dataset, elem: DataElement, path: str, action: str,
                  tags: tuple[int, ...] = ()) -> None:
        if action == "Z":
            if len(elem.value):
                elem.value = DicomSequence([])
                self.record(path, elem, "Z", "emptied", None)
            return
        # D, U, C and K on a sequence: walk its items with the same profile (PS3.15 E.1.1
        # "U*": replace the UIDs inside; D/C: the items' own rows remove what identifies).
        for i, item in enumerate(elem.value):
            self.walk(item, f"{path}[{i}].", tags=tags)

    def _dummy(self, elem: DataElement, path: str) -> None:
        old = elem.value
        if int(elem.tag) == PATIENT_ID:
            elem.value = self.ctx.pseudonym
            self.record(path, elem, "D", "pseudonym", old)
            return
        if elem.VR == "UI":
            self._uid(elem, path)
            return
        if elem.VR in BINARY_VRS:
            elem.value = b"\0\0"
        elif int(elem.tag) in DUMMY_BY_TAG:
            elem.value = DUMMY_BY_TAG[int(elem.tag)]
        elif elem.VR in DUMMY:
            elem.value = DUMMY[elem.VR]
        else:
            return  # AT and other structural VRs carry no identity
        if old != elem.value:
            self.record(path, elem, "D", "dummy", old)

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
            self.record(path, elem, "U", "uid", old)

    def _cap_age(self, elem: DataElement, path: str) -> None:
        # HIPAA Safe Harbor: ages over 89 are grouped as 90 or older.
        value = str(elem.value or "")
        if len(value) == 4 and value.endswith("Y") and value[:3].isdigit() and int(value[:3]) > 89:
            elem.value = "090Y"
            self.record(path, elem, "C", "age_capped", value)

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
            self.record(path, elem, "Z", "emptied", old)
            return
        shift = dates.shift_da if elem.VR == "DA" else dates.shift_dt
        old = elem.value
        values = list(old) if isinstance(old, MultiValue | list) else [old]
        try:
            new = [shift(str(v), self.ctx.date_offset) for v in values]
        except ValueError:
            elem.value = ""
            self.record(path, elem, "Z", "emptied", old)
            return
        elem.value = new if len(new) > 1 else new[0]
        self.record(path, elem, "C", "date_shift", old)

    def _redact(self, elem: DataElement, path: str, *, known_only: bool = False) -> None:
        # The text rules, then the file's own identifying values, which need no cue (see
        # known_values); the result fits the VR's length (PS3.5 6.2).
        redact = None if known_only else self.ctx.engines.redact
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
            self.record(path, elem, "C", "text_clean", old)


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


def walk_file_meta(ds: FileDataset, walker: Walker) -> None:
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        walker.walk(meta, "file_meta.", file_meta=True)
    if getattr(ds, "preamble", None) and any(ds.preamble):
        # A non-zero preamble can hold another format's header (PS3.10 7.1), e.g. TIFF.
        ds.preamble = b"\0" * 128
        walker.ctx.report.notes.append("preamble zeroed")
