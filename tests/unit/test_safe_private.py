"""Retain Safe Private: the shipped PS3.15 Table E.3.10-1 copy, its loader, "library-private"."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from anonymizer import cli as deid_cli
from anonymizer.pipeline import deidentify_bytes
from anonymizer.profile import (
    PROFILES,
    SAFE_PRIVATE_CSV,
    Option,
    SafePrivate,
    get_profile,
    safe_private_rows,
    safe_private_table,
)
from tests.data.dicom import fakes, synth

SECRET = b"k" * 32
SOURCE = SAFE_PRIVATE_CSV.with_suffix(".source.json")
COLUMNS = ["creator", "group", "element", "vr", "vm", "meaning", "condition", "skip"]
# Odd groups that PS3.5 7.8.1 does not allow for private data.
NOT_PRIVATE = {0x0001, 0x0003, 0x0005, 0x0007, 0xFFFF}


def deid(ds, profile):
    out, _ = deidentify_bytes(synth.to_bytes(ds), profile=profile, secret=SECRET,
                              donor="donante-1", engines=fakes.ENGINES)
    return out, synth.read(out)


def private(ds) -> dict[int, object]:
    return {int(e.tag): e.value for e in ds if e.tag.is_private}


# -- the data file ---------------------------------------------------------------------------
def test_csv_parses_with_its_columns_and_the_row_count_of_its_source():
    with SAFE_PRIVATE_CSV.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert reader.fieldnames == COLUMNS
    source = json.loads(SOURCE.read_text(encoding="utf-8"))
    assert len(rows) == source["rows"] == 479
    assert len({r["creator"] for r in rows}) == source["creators"] == 20
    assert sum(1 for r in rows if not r["skip"]) == source["rows_loaded"]


def test_rows_are_unique_private_tags_in_odd_groups():
    rows = safe_private_rows()
    keys = [(r["creator"], int(r["group"], 16), int(r["element"], 16)) for r in rows]
    assert len(keys) == len(set(keys))
    for r in rows:
        assert len(r["group"]) == 4 and len(r["element"]) == 2, r
        group, element = int(r["group"], 16), int(r["element"], 16)
        assert group & 1 and group not in NOT_PRIVATE, r
        assert 0x00 <= element <= 0xFF, r
        assert r["creator"] == r["creator"].strip() != "", r


@pytest.mark.parametrize(
    ("creator", "group", "element", "vr", "meaning"),
    [
        ("SIEMENS MR HEADER", "0019", "0C", "IS", "B Value"),
        ("GEMS_PARM_01", "0043", "27", "SH", 'Scan Pitch Ratio in the form "n.nnn:1"'),
        ("Philips Imaging DD 001", "2001", "0A", "IS", "Image Plane Number"),
        ("HOLOGIC, Inc.", "7E01", "12", "OB", "Codec Content"),
        ("SIEMENS Ultrasound SC2000", "0119", "11", "", "Stage Timer Time"),
    ],
)
def test_known_rows_of_the_table(creator, group, element, vr, meaning):
    match = [r for r in safe_private_rows()
             if (r["creator"], r["group"], r["element"]) == (creator, group, element)]
    assert len(match) == 1
    assert (match[0]["vr"], match[0]["meaning"]) == (vr, meaning)


def test_skipped_rows_are_exactly_sequences_uids_and_opaque_bytes():
    rows = safe_private_rows()
    for r in rows:
        assert bool(r["skip"]) == (r["vr"] in {"SQ", "UI", "OB", "OW", "OW/OB"}), r
        assert r["condition"] == ""  # this edition states no condition for any row


# -- the loader ------------------------------------------------------------------------------
def test_loader_returns_the_unskipped_rows_and_is_cached():
    table = safe_private_table()
    assert table is safe_private_table()
    expected = [SafePrivate(r["creator"], int(r["group"], 16), int(r["element"], 16))
                for r in safe_private_rows() if not r["skip"]]
    assert list(table) == expected and len(table) == 397
    assert SafePrivate("SIEMENS MR HEADER", 0x0019, 0x0C) in table
    assert SafePrivate("HOLOGIC, Inc.", 0x7E01, 0x10) not in table  # SQ: skipped
    assert SafePrivate("NQHeader", 0x0099, 0x02) not in table  # UI: skipped


def test_loader_skips_rows_with_a_condition_or_a_skip_reason(tmp_path):
    path = tmp_path / "table.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        w.writerow(["A", "0019", "01", "DS", "1", "kept", "", ""])
        w.writerow(["A", "0019", "02", "DS", "1", "conditional", "only for CT Image Storage", ""])
        w.writerow(["A", "0019", "03", "SQ", "1", "skipped", "", "SQ: not walked"])
    assert safe_private_table(path) == (SafePrivate("A", 0x0019, 0x01),)


# -- the profiles ----------------------------------------------------------------------------
def test_library_private_is_library_plus_retain_safe_private():
    library, private_ = get_profile("library"), get_profile("library-private")
    assert Option.RETAIN_SAFE_PRIVATE not in library.options and library.safe_private == ()
    assert private_.options == library.options | {Option.RETAIN_SAFE_PRIVATE}
    assert private_.overrides == library.overrides
    assert private_.safe_private == safe_private_table()
    assert private_.id == "library-private" and private_.version


def test_cli_offers_library_private():
    res = CliRunner().invoke(deid_cli.deid, ["--help"])
    assert res.exit_code == 0
    assert "library-private" in res.output
    assert "library-private" in sorted(PROFILES)


# -- the walker with the shipped list --------------------------------------------------------
def with_private_blocks():
    ds = synth.make_dataset()
    ds.add_new(0x00430010, "LO", "GEMS_PARM_01")
    ds.add_new(0x00431027, "SH", "1.375:1")  # listed: Scan Pitch Ratio
    ds.add_new(0x00431001, "LO", synth.NAME_TEXT)  # same block, not listed
    ds.add_new(0x00430011, "LO", "OTHER VENDOR")
    ds.add_new(0x00431127, "SH", "1.375:1")  # same group and element byte, other creator
    ds.add_new(0x00431227, "SH", "1.375:1")  # same element byte, block without a creator
    ds.add_new(0x00990010, "LO", "NQHeader")
    ds.add_new(0x00991002, "UI", synth.SERIES_UID)  # listed, skipped by the loader (UI)
    return ds


def test_listed_element_is_kept_only_under_library_private():
    _, out = deid(with_private_blocks(), "library-private")
    assert private(out) == {0x00430010: "GEMS_PARM_01", 0x00431027: "1.375:1"}
    _, out = deid(with_private_blocks(), "library")
    assert private(out) == {}


def test_library_private_keeps_no_phi_and_no_original_uid():
    data, out = deid(with_private_blocks(), "library-private")
    planted = synth.PHI + [synth.SERIES_UID, synth.STUDY_UID]
    assert [v for v in planted for e in synth.encodings(v) if e in data] == []
    assert 0x00991002 not in out and 0x00990010 not in out


def test_library_private_declares_retain_safe_private():
    _, out = deid(with_private_blocks(), "library-private")
    codes = [i.CodeValue for i in out.DeidentificationMethodCodeSequence]
    assert "113111" in codes and codes[0] == "113100"
    _, out = deid(with_private_blocks(), "library")
    assert "113111" not in [i.CodeValue for i in out.DeidentificationMethodCodeSequence]


def test_creator_matches_without_case():
    ds = with_private_blocks()
    ds[0x00430010].value = "gems_parm_01 "
    _, out = deid(ds, "library-private")
    assert private(out) == {0x00430010: "gems_parm_01", 0x00431027: "1.375:1"}
