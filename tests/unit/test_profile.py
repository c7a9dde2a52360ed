"""Profile table and lookups: PS3.15 Table E.1-1 as data."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from anonymizer import _annex_e
from anonymizer.errors import ProfileError
from anonymizer.profile import OPTION_CODES, Option, action_for, get_profile, row_for

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "anonymizer" / "data"
VALID = {"D", "Z", "X", "K", "C", "U", "X/Z", "X/D", "X/Z/D", "Z/D", "X/Z/U*", ""}


def test_generated_module_is_up_to_date():
    gen = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_annex_e.py"), "--check"],
                         capture_output=True, text=True)
    assert gen.returncode == 0, gen.stderr


def test_every_row_of_the_source_is_in_the_table():
    source = json.loads((DATA / f"ps3.15_table_e.1-1_{_annex_e.EDITION}.source.json").read_text())
    with (DATA / f"ps3.15_table_e.1-1_{_annex_e.EDITION}.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == source["rows"] >= 600
    total = len(_annex_e.AnnexE) + len(_annex_e.RepeatersAnnexE) + 1  # + the private row
    assert total == len(rows)
    assert set(_annex_e.RepeatersAnnexE) == {"50xxxxxx", "60xx3000", "60xx4000"}


def test_every_action_is_a_table_e1_1_code():
    for row in [*_annex_e.AnnexE.values(), *_annex_e.RepeatersAnnexE.values(),
                _annex_e.PRIVATE_ROW]:
        assert len(row) == 2 + len(_annex_e.OPTION_COLUMNS)
        assert row[1] and set(row[1:]) <= VALID


def test_every_option_column_is_used():
    for i, col in enumerate(_annex_e.OPTION_COLUMNS, start=2):
        assert any(row[i] for row in _annex_e.AnnexE.values()) or _annex_e.PRIVATE_ROW[i], col


@pytest.mark.parametrize(
    ("tag", "options", "expected"),
    [
        (0x00100010, set(), "Z"),  # Patient's Name
        (0x00100020, set(), "Z/D"),  # Patient ID
        (0x00080018, set(), "U"),  # SOP Instance UID
        (0x00080018, {Option.RETAIN_UIDS}, "K"),
        (0x00020003, set(), "U"),  # Media Storage SOP Instance UID (file meta)
        (0x00080020, set(), "Z"),  # Study Date
        (0x00080020, {Option.RETAIN_LONGITUDINAL_MODIFIED_DATES}, "C"),
        (0x00080020, {Option.RETAIN_LONGITUDINAL_FULL_DATES}, "K"),
        (0x00080080, set(), "X/Z/D"),  # Institution Name
        (0x00080080, {Option.RETAIN_INSTITUTION_IDENTITY}, "K"),
        (0x00181000, {Option.RETAIN_DEVICE_IDENTITY}, "K"),  # Device Serial Number
        (0x00101010, {Option.RETAIN_PATIENT_CHARACTERISTICS}, "K"),  # Patient's Age
        (0x00081030, {Option.CLEAN_DESCRIPTORS}, "C"),  # Study Description
        (0x0040A730, {Option.CLEAN_STRUCTURED_CONTENT}, "C"),  # Content Sequence
        (0x00081140, set(), "X/Z/U*"),  # Referenced Image Sequence
        # Device-dated calibration: Retain Device Identity says K, modified dates C: C wins.
        (0x00181200, {Option.RETAIN_DEVICE_IDENTITY,
                      Option.RETAIN_LONGITUDINAL_MODIFIED_DATES}, "C"),
        (0x60003000, set(), "X"),  # Overlay Data, group 6000
        (0x601E3000, {Option.CLEAN_GRAPHICS}, "C"),  # Overlay Data, last overlay group
        (0x50023000, set(), "X"),  # Curve Data
        (0x00091001, set(), "X"),  # private
        (0x00091001, {Option.RETAIN_SAFE_PRIVATE}, "C"),
        (0x00020016, set(), "X"),  # Source AE Title: Traza supplement
        (0x00080060, set(), None),  # Modality: not listed
        (0x60000010, set(), None),  # Overlay Rows: not listed
    ],
)
def test_action_for(tag, options, expected):
    assert action_for(tag, frozenset(options)) == expected


def test_row_names_come_from_the_standard():
    assert row_for(0x00100010)[0] == "Patient's Name"
    assert row_for(0x60023000)[0] == "Overlay Data"


def test_library_profile_is_basic_plus_the_library_options():
    library = get_profile("library")
    assert library.options == {
        Option.RETAIN_LONGITUDINAL_MODIFIED_DATES, Option.RETAIN_PATIENT_CHARACTERISTICS,
        Option.CLEAN_DESCRIPTORS, Option.CLEAN_STRUCTURED_CONTENT, Option.CLEAN_GRAPHICS,
        Option.CLEAN_PIXEL_DATA,
    }
    assert not library.has(Option.RETAIN_DEVICE_IDENTITY)
    assert not library.has(Option.RETAIN_INSTITUTION_IDENTITY)
    assert not library.has(Option.RETAIN_SAFE_PRIVATE)
    assert [c for c, _ in library.codes()] == [
        "113100", "113101", "113103", "113104", "113105", "113107", "113108"]
    assert get_profile("basic").codes() == [("113100",
                                             "Basic Application Confidentiality Profile")]
    assert len(library.describe()) <= 64 and _annex_e.EDITION in library.describe()


def test_every_option_has_its_cid_7050_code():
    assert set(OPTION_CODES) == set(Option)
    assert sorted(c for c, _ in OPTION_CODES.values()) == [f"1131{n:02d}" for n in
                                                           range(1, 13) if n != 2]


@pytest.mark.parametrize(("name", "message"), [("nope", "unknown profile 'nope'"),
                                               ("", "unknown profile ''")])
def test_unknown_profile(name, message):
    with pytest.raises(ProfileError, match=message):
        get_profile(name)


def test_library_overrides_birth_date_only():
    library = get_profile("library")
    assert library.action_for(0x00100030) == "C"
    assert action_for(0x00100030, library.options) == "Z"
    assert get_profile("basic").action_for(0x00100030) == "Z"
    assert [tag for tag, _ in library.overrides] == [0x00100030]


def test_profile_with_changes():
    p = get_profile("library", uid_root="1.2.484.1")
    assert p.uid_root == "1.2.484.1" and p.id == "library"
