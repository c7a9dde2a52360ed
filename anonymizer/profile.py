"""De-identification profiles: PS3.15 Annex E Table E.1-1 lookups and named option sets.

A :class:`Profile` is the Basic Application Level Confidentiality Profile plus a set of
:class:`Option`; :func:`action_for` answers "what does this profile do to this tag" from the
generated table in :mod:`anonymizer._annex_e`.

References
----------
DICOM PS3.15 2024b, Annex E "Attribute Confidentiality Profiles", Table E.1-1;
Section E.3 "Profile Options"; PS3.16 CID 7050 "De-identification Method".
"""

from __future__ import annotations

import csv
import enum
import functools
from dataclasses import dataclass, field
from pathlib import Path

from anonymizer import _annex_e
from anonymizer.errors import ProfileError

EDITION = _annex_e.EDITION
# Edition of the Table E.3.10-1 copy in anonymizer/data (see its .source.json).
SAFE_PRIVATE_EDITION = "2026d"
SAFE_PRIVATE_CSV = (Path(__file__).parent / "data"
                    / f"ps3.15_safe_private_{SAFE_PRIVATE_EDITION}.csv")


class Option(enum.Enum):
    """An Annex E profile option; the value is its column in ``_annex_e.OPTION_COLUMNS``."""

    RETAIN_SAFE_PRIVATE = "rtn_safe_priv"
    RETAIN_UIDS = "rtn_uids"
    RETAIN_DEVICE_IDENTITY = "rtn_dev_id"
    RETAIN_INSTITUTION_IDENTITY = "rtn_inst_id"
    RETAIN_PATIENT_CHARACTERISTICS = "rtn_pat_chars"
    RETAIN_LONGITUDINAL_FULL_DATES = "rtn_long_full_dates"
    RETAIN_LONGITUDINAL_MODIFIED_DATES = "rtn_long_modif_dates"
    CLEAN_DESCRIPTORS = "clean_desc"
    CLEAN_STRUCTURED_CONTENT = "clean_struct_cont"
    CLEAN_GRAPHICS = "clean_graph"
    # Not a column of Table E.1-1: it acts on Pixel Data (PS3.15 E.3.1).
    CLEAN_PIXEL_DATA = "clean_pixel"


# PS3.16 CID 7050 codes (scheme DCM) written in DeidentificationMethodCodeSequence.
BASIC_CODE = ("113100", "Basic Application Confidentiality Profile")
OPTION_CODES: dict[Option, tuple[str, str]] = {
    Option.CLEAN_PIXEL_DATA: ("113101", "Clean Pixel Data Option"),
    Option.CLEAN_GRAPHICS: ("113103", "Clean Graphics Option"),
    Option.CLEAN_STRUCTURED_CONTENT: ("113104", "Clean Structured Content Option"),
    Option.CLEAN_DESCRIPTORS: ("113105", "Clean Descriptors Option"),
    Option.RETAIN_LONGITUDINAL_FULL_DATES: (
        "113106",
        "Retain Longitudinal Temporal Information Full Dates Option",
    ),
    Option.RETAIN_LONGITUDINAL_MODIFIED_DATES: (
        "113107",
        "Retain Longitudinal Temporal Information Modified Dates Option",
    ),
    Option.RETAIN_PATIENT_CHARACTERISTICS: ("113108", "Retain Patient Characteristics Option"),
    Option.RETAIN_DEVICE_IDENTITY: ("113109", "Retain Device Identity Option"),
    Option.RETAIN_UIDS: ("113110", "Retain UIDs Option"),
    Option.RETAIN_SAFE_PRIVATE: ("113111", "Retain Safe Private Option"),
    Option.RETAIN_INSTITUTION_IDENTITY: ("113112", "Retain Institution Identity Option"),
}


@dataclass(frozen=True)
class SafePrivate:
    """A private attribute known to carry no identity (PS3.15 E.3.10), kept under the option.

    ``element`` is the low byte of the element number inside the creator's block
    (``0x0019,0x10xx`` has ``element`` ``xx``).
    """

    creator: str
    group: int
    element: int


@dataclass(frozen=True)
class Profile:
    """A named, versioned Annex E profile: the Basic Profile plus options.

    Attributes
    ----------
    id, version
        Written in the action report and DeidentificationMethod; change ``version`` whenever
        the behaviour for the same input changes.
    options
        The Annex E options applied on top of the Basic Profile.
    uid_root
        Root of the replacement UIDs (``2.25`` = UUID-derived, PS3.5 B.2).
    safe_private
        The private attributes kept under Retain Safe Private; nothing else private is kept.
    overrides
        Deliberate departures from Table E.1-1, tag -> action, each one documented where the
        profile is defined.
    """

    id: str
    version: str
    options: frozenset[Option] = frozenset()
    uid_root: str = "2.25"
    safe_private: tuple[SafePrivate, ...] = field(default=())
    overrides: tuple[tuple[int, str], ...] = field(default=())

    def has(self, option: Option) -> bool:
        """Return True if ``option`` is part of this profile."""
        return option in self.options

    def action_for(self, tag: int) -> str | None:
        """Return this profile's action for ``tag``: its override, else :func:`action_for`."""
        return _profile_action(tag, self.options, self.overrides)

    def codes(self) -> list[tuple[str, str]]:
        """Return the CID 7050 (code value, meaning) pairs describing this profile."""
        return codes(self.options)

    def describe(self) -> str:
        """Return the DeidentificationMethod text (LO, at most 64 characters)."""
        return f"Traza {self.id} {self.version} PS3.15-{EDITION} E.1-1"[:64]


def codes(options: frozenset[Option]) -> list[tuple[str, str]]:
    """Return the CID 7050 (code value, meaning) pairs of the Basic Profile and ``options``."""
    return [BASIC_CODE] + sorted(OPTION_CODES[o] for o in options)


# Asked for every element of every file: answered once per tag and set of options.
@functools.lru_cache(maxsize=8192)
def _profile_action(tag: int, options: frozenset[Option],
                    overrides: tuple[tuple[int, str], ...]) -> str | None:
    for key, action in overrides:
        if key == tag:
            return action
    return action_for(tag, options)


def safe_private_rows(path: Path = SAFE_PRIVATE_CSV) -> list[dict[str, str]]:
    """Return every row of the shipped PS3.15 Table E.3.10-1 copy, loaded or not, as dicts.

    Columns: ``creator``, ``group`` (4 hex digits), ``element`` (2 hex digits, the low byte
    inside the creator's block), ``vr``, ``vm``, ``meaning``, ``condition`` (a condition the
    standard states, empty in every row of this edition) and ``skip`` (why Traza does not
    load the row, empty if it does).
    """
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@functools.cache
def safe_private_table(path: Path = SAFE_PRIVATE_CSV) -> tuple[SafePrivate, ...]:
    """Return the Safe Private Attributes (PS3.15 Table E.3.10-1) that the walker can honour.

    A row is loaded when it has no ``condition`` (the engine checks none) and no ``skip``.
    Rows are skipped by their VR: ``SQ``, because the walker keeps a listed private element
    whole and does not clean the items of a kept sequence; ``UI``, because an original UID
    kept verbatim would link the output to its source while the profile replaces UIDs;
    ``OB``/``OW``, because Clean Pixel Data and the text checks do not look inside them.
    The skipped rows stay in the CSV, with the reason, so the choice can be reviewed.

    References
    ----------
    DICOM PS3.15 2026d, Section E.3.10 and Table E.3.10-1; Table E.1-1 (Private Attributes:
    X, C under Retain Safe Private).
    """
    return tuple(
        SafePrivate(row["creator"], int(row["group"], 16), int(row["element"], 16))
        for row in safe_private_rows(path)
        if not row["condition"] and not row["skip"]
    )


_COLUMN = {col: i for i, col in enumerate(_annex_e.OPTION_COLUMNS, start=2)}

#: The masks of Table E.1-1's repeating groups: retired curves and overlays.
CURVES, OVERLAYS = "50xx", "60xx"
#: What the ``xx`` of a repeating group stands for: an even offset 00-1E, 16 groups each
#: (PS3.5 7.6 "Repeating Groups"; PS3.3 C.9 Overlays; curves retired in PS3.3 2004).
_REPEATER_OFFSETS = range(0x00, 0x20, 2)


def _repeaters() -> tuple[dict[int, str], tuple[tuple[int, int, tuple[str, ...]], ...]]:
    # Each mask key ("60xx3000") as (bits that must match, their value, row), as pydicom's
    # RepeatersDictionary; and each group a mask covers (0x6002) with its mask ("60xx").
    masks, groups = [], {}
    for key, row in _annex_e.RepeatersAnnexE.items():
        bits = int("".join("0" if c == "x" else "F" for c in key), 16)
        masks.append((bits, int(key.replace("x", "0"), 16), row))
        base = int(key[:4].replace("x", "0"), 16)
        groups.update({base | offset: key[:4] for offset in _REPEATER_OFFSETS})
    return groups, tuple(masks)


#: Group -> its Table E.1-1 mask (``0x6002`` -> ``"60xx"``), for the repeating groups only.
REPEATER_GROUPS, _REPEATER_MASKS = _repeaters()
if {CURVES, OVERLAYS} != set(REPEATER_GROUPS.values()):
    raise ImportError("anonymizer._annex_e: repeating groups are not curves and overlays")


def row_for(tag: int) -> tuple[str, ...] | None:
    """Return the table row for ``tag`` (exact, repeating group, private), or None if unlisted."""
    row = _annex_e.AnnexE.get(tag) or _annex_e.SupplementAnnexE.get(tag)
    if row is not None:
        return row
    group = tag >> 16
    if group & 1:
        # Private creators (gggg,0010-00FF) are handled with their blocks by the walker.
        return _annex_e.PRIVATE_ROW
    if group in REPEATER_GROUPS:
        for bits, value, row in _REPEATER_MASKS:
            if tag & bits == value:
                return row
    return None


def action_for(tag: int, options: frozenset[Option] | set[Option] = frozenset()) -> str | None:
    """Return the Table E.1-1 action for ``tag`` under ``options``, or None if the tag is unlisted.

    The result is the Basic Profile action (``D``, ``Z``, ``X``, ``K``, ``C``, ``U`` or a
    combination such as ``X/Z/D``) unless an active option has an action for the tag. When
    several active options disagree the more protective wins: ``C`` (clean or modify) over
    ``K`` (keep), because PS3.15 E.3 leaves the precedence to the implementation.

    Parameters
    ----------
    tag
        The attribute tag as an int, e.g. ``0x00100010``.
    options
        Active :class:`Option` members.

    References
    ----------
    DICOM PS3.15 2024b Table E.1-1 and E.3.
    """
    row = row_for(tag)
    if row is None:
        return None
    picked = {row[_COLUMN[o.value]] for o in options if o.value in _COLUMN} - {""}
    if "C" in picked:
        return "C"
    if "K" in picked:
        return "K"
    return row[1]


_LIBRARY_OPTIONS = frozenset(
    {
        Option.RETAIN_LONGITUDINAL_MODIFIED_DATES,
        Option.RETAIN_PATIENT_CHARACTERISTICS,
        Option.CLEAN_DESCRIPTORS,
        Option.CLEAN_STRUCTURED_CONTENT,
        Option.CLEAN_GRAPHICS,
        Option.CLEAN_PIXEL_DATA,
    }
)

# Table E.1-1 empties Patient's Birth Date (Z) under every option. The library shifts it
# with the donor's date offset instead (C), so that the interval from birth to each study is
# kept, as the data library needs for age-dependent research; a birth date that shows an age
# over 89 is still emptied (HIPAA Safe Harbor).
_LIBRARY_OVERRIDES = ((0x00100030, "C"),)

PROFILES: dict[str, Profile] = {
    "basic": Profile(id="basic", version="1"),
    "library": Profile(id="library", version="2", options=_LIBRARY_OPTIONS,
                       overrides=_LIBRARY_OVERRIDES),
    # The library profile plus Retain Safe Private, keeping the loadable rows of Table
    # E.3.10-1 (safe_private_table); every other private attribute is still removed. The
    # walker compares creators without case or surrounding spaces.
    "library-private": Profile(id="library-private", version="1",
                               options=_LIBRARY_OPTIONS | {Option.RETAIN_SAFE_PRIVATE},
                               safe_private=safe_private_table(),
                               overrides=_LIBRARY_OVERRIDES),
}


def get_profile(name: str | Profile, **changes: object) -> Profile:
    """Return the named profile, optionally with fields replaced (``uid_root=``, ``options=``).

    Raises
    ------
    ProfileError
        If ``name`` is not a known profile.
    """
    if isinstance(name, Profile):
        profile = name
    else:
        try:
            profile = PROFILES[name]
        except KeyError:
            known = ", ".join(sorted(PROFILES))
            raise ProfileError(f"unknown profile {name!r} (known: {known})") from None
    if changes:
        from dataclasses import replace

        profile = replace(profile, **changes)  # type: ignore[arg-type]
    return profile
