"""The DICOM engine: leaks, UIDs, dates, markers, private data, overlays, pixel data."""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    RLELossless,
)

from anonymizer import dates
from anonymizer.dicom import resolve
from anonymizer.engines import Engines
from anonymizer.pipeline import deidentify_bytes
from anonymizer.profile import Option, SafePrivate, get_profile
from anonymizer.uids import UIDMapper, patient_pseudonym
from tests.data.dicom import fakes, synth

SECRET = b"k" * 32


def deid(ds_or_bytes, profile="library", donor="donante-1", engines=fakes.ENGINES, **kw):
    data = ds_or_bytes if isinstance(ds_or_bytes, bytes) else synth.to_bytes(ds_or_bytes)
    out, report = deidentify_bytes(data, profile=profile, secret=SECRET, donor=donor,
                                   engines=engines, **kw)
    return out, report, synth.read(out)


def leaks(out: bytes, values=synth.PHI) -> list[str]:
    return [v for v in values for e in synth.encodings(v) if e in out]


ORIGINAL_UIDS = [synth.STUDY_UID, synth.SERIES_UID, synth.FRAME_UID]


@pytest.mark.parametrize("make", [synth.make_dataset, synth.latin1_dataset,
                                  synth.japanese_dataset])
@pytest.mark.parametrize("profile", ["library", "basic"])
def test_no_phi_anywhere_in_the_output_bytes(make, profile):
    ds = make()
    data = synth.to_bytes(ds)
    present = leaks(data, synth.PHI + [synth.JAPANESE] + ORIGINAL_UIDS)
    assert len(present) >= 10, "the fixture must carry the PHI it is testing for"
    out, _, _ = deid(data, profile=profile)
    assert leaks(out, synth.PHI + [synth.JAPANESE] + ORIGINAL_UIDS) == []
    assert synth.sop_uid(1).encode() not in out


def test_file_meta_and_preamble_are_cleaned():
    ds = synth.make_dataset()
    ds.preamble = b"II*\0" + b"TIFF " + synth.CURP.encode() + b"\0" * (128 - 27)
    _, report, out = deid(ds)
    meta = out.file_meta
    for kw in ("SourceApplicationEntityTitle", "SendingApplicationEntityTitle",
               "ReceivingApplicationEntityTitle", "PrivateInformationCreatorUID",
               "PrivateInformation"):
        assert kw not in meta
    assert out.preamble == b"\0" * 128
    assert meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID != synth.sop_uid(1)
    assert meta.MediaStorageSOPClassUID == out.SOPClassUID == synth.make_dataset().SOPClassUID
    paths = {a.path for a in report.attributes}
    assert "file_meta.SourceApplicationEntityTitle" in paths


def test_private_blocks_removed_with_and_without_creators():
    _, _, out = deid(synth.make_dataset())
    assert [e.tag for e in out if e.tag.is_private] == []


def test_safe_private_kept_only_when_listed_and_opted_in():
    safe = (SafePrivate("SAFE VENDOR", 0x0019, 0x01),)
    profile = get_profile("library", safe_private=safe,
                          options=get_profile("library").options | {Option.RETAIN_SAFE_PRIVATE})
    _, _, out = deid(synth.make_dataset(), profile=profile)
    private = {int(e.tag): e.value for e in out if e.tag.is_private}
    assert private == {0x00190010: "SAFE VENDOR", 0x00191001: "2.5"}
    _, _, out = deid(synth.make_dataset(), profile=get_profile("library", safe_private=safe))
    assert not [e for e in out if e.tag.is_private]


def test_nested_sequences_to_any_depth():
    _, report, out = deid(synth.make_dataset())
    deep = out.AcquisitionContextSequence[0].ContentSequence[0].ContentSequence
    assert deep[0].PersonName == "ANONIMO^ANONIMO"  # (0040,A123) D
    assert "[DATO]" in deep[1].TextValue and "torácico" in deep[1].TextValue
    assert "OtherPatientIDsSequence" not in out
    paths = {a.path for a in report.attributes}
    assert "AcquisitionContextSequence[0].ContentSequence[0].ContentSequence[0].PersonName" \
        in paths


def test_uids_are_consistent_across_a_donors_files_and_references_survive():
    _, _, a = deid(synth.make_dataset(1))
    _, _, b = deid(synth.make_dataset(2))
    _, _, other = deid(synth.make_dataset(1), donor="donante-2")
    assert a.StudyInstanceUID == b.StudyInstanceUID != synth.STUDY_UID
    assert a.SeriesInstanceUID == b.SeriesInstanceUID
    assert a.FrameOfReferenceUID == b.FrameOfReferenceUID
    assert a.SOPInstanceUID != b.SOPInstanceUID
    # File 1 references instance 1001; a file whose own UID is 1001 maps to the same value.
    _, _, target = deid(synth.make_dataset(1001))
    assert a.SourceImageSequence[0].ReferencedSOPInstanceUID == target.SOPInstanceUID
    assert a.SourceImageSequence[0].ReferencedSOPClassUID == a.SOPClassUID  # class kept
    assert other.StudyInstanceUID != a.StudyInstanceUID
    for uid in (a.StudyInstanceUID, a.SOPInstanceUID):
        assert uid.startswith("2.25.") and len(uid) <= 64 and uid.is_valid


def test_uid_root_is_configurable():
    _, _, out = deid(synth.make_dataset(), profile=get_profile("library", uid_root="1.2.484.9"))
    assert out.StudyInstanceUID.startswith("1.2.484.9.") and len(out.StudyInstanceUID) <= 64


def test_uid_mapper_keeps_registry_uids():
    m = UIDMapper(SECRET, "d")
    assert m.map("1.2.840.10008.1.2.1") == "1.2.840.10008.1.2.1"
    assert m.map("1.2.3.4") == m.map("1.2.3.4") != UIDMapper(b"x", "d").map("1.2.3.4")
    with pytest.raises(ValueError):
        UIDMapper(SECRET, "d", root="1..2")


def test_patient_id_becomes_the_donors_pseudonym():
    _, _, a = deid(synth.make_dataset(1))
    _, _, b = deid(synth.make_dataset(2))
    assert a.PatientID == b.PatientID == patient_pseudonym(SECRET, "donante-1")
    assert a.PatientName == ""


def test_birth_date_shifted_with_the_studies_in_the_library_emptied_in_basic():
    _, report, lib = deid(synth.make_dataset())
    offset = dates.donor_offset(SECRET, "donante-1")
    assert lib.PatientBirthDate == dates.shift_da(synth.BIRTH, offset)
    assert any(a.keyword == "PatientBirthDate" and a.operation == "date_shift"
               for a in report.attributes)
    _, _, basic = deid(synth.make_dataset(), profile="basic")
    assert basic.PatientBirthDate == ""


def test_birth_date_showing_an_age_over_89_is_emptied():
    ds = synth.make_dataset()
    ds.PatientBirthDate = "19300101"
    _, _, out = deid(ds)
    assert out.PatientBirthDate == ""


def test_dates_shift_by_one_offset_per_donor_keeping_intervals_and_times():
    _, _, a = deid(synth.make_dataset())
    offset = dates.donor_offset(SECRET, "donante-1")
    assert -3650 <= offset <= -365
    assert a.StudyDate == dates.shift_da("20240315", offset) != "20240315"
    assert a.ContentDate == dates.shift_da("20240316", offset)  # one day after, still
    assert a.AcquisitionDateTime == a.StudyDate + "103000.000000-0600"
    assert a.StudyTime == "103000"
    assert a.LongitudinalTemporalInformationModified == "MODIFIED"
    _, _, other = deid(synth.make_dataset(), donor="donante-2")
    assert other.StudyDate != a.StudyDate or dates.donor_offset(SECRET, "donante-2") == offset


def test_basic_profile_removes_dates_and_descriptions():
    _, _, out = deid(synth.make_dataset(), profile="basic")
    assert out.StudyDate == "" and "SeriesDescription" not in out and out.Manufacturer
    assert "StudyDescription" not in out and "PatientAge" not in out
    assert out.LongitudinalTemporalInformationModified == "REMOVED"
    assert [i.CodeValue for i in out.DeidentificationMethodCodeSequence] == ["113100"]


@pytest.mark.parametrize(
    ("value", "days", "expected"),
    [
        ("20240229", -365, "20230301"),
        ("20240301123000.5+0600", -1, "20240229123000.5+0600"),
        ("2024", -400, "2022"),
        ("202403", -1, "202402"),
        ("20240115-20240120", 3, "20240118-20240123"),
    ],
)
def test_shift_dt(value, days, expected):
    assert dates.shift_dt(value, days) == expected


@pytest.mark.parametrize("value", ["2024-13-01", "abcd", "20241301"])
def test_shift_da_rejects_invalid(value):
    with pytest.raises(ValueError):
        dates.shift_da(value, 1)


def test_invalid_date_is_emptied_not_kept():
    ds = synth.make_dataset()
    ds.StudyDate = "20241399"
    _, report, out = deid(ds)
    assert out.StudyDate == ""
    assert any(a.keyword == "StudyDate" and a.operation == "emptied" for a in report.attributes)


def test_age_over_89_is_grouped():
    ds = synth.make_dataset()
    ds.PatientAge = "093Y"
    _, _, out = deid(ds)
    assert out.PatientAge == "090Y"


def test_markers():
    _, _, out = deid(synth.make_dataset())
    assert out.PatientIdentityRemoved == "YES"
    assert out.DeidentificationMethod.startswith("Traza library")
    codes = [(i.CodeValue, i.CodingSchemeDesignator) for i in
             out.DeidentificationMethodCodeSequence]
    assert codes == [(c, "DCM") for c in
                     ("113100", "113101", "113103", "113104", "113105", "113107", "113108")]


def test_repeating_groups_come_from_the_table_masks():
    from anonymizer.profile import CURVES, OVERLAYS, REPEATER_GROUPS, action_for

    # 16 even groups per mask (PS3.5 7.6), none odd (private) nor past 1E
    assert sorted(g for g, m in REPEATER_GROUPS.items() if m == OVERLAYS) == \
        list(range(0x6000, 0x6020, 2))
    assert sorted(g for g, m in REPEATER_GROUPS.items() if m == CURVES) == \
        list(range(0x5000, 0x5020, 2))
    # the element part of the mask matters: 60xx3000 is listed, 60xx0010 is not
    assert action_for(0x601E3000, {Option.CLEAN_GRAPHICS}) == "C"
    assert action_for(0x601E0010) is None and action_for(0x60203000) is None
    assert action_for(0x501E0005) == "X"
    # the last group of each is handled as the first: overlay cleaned, curve removed
    ds = synth.make_dataset()
    for tag in [int(e.tag) for e in ds if e.tag.group in (0x5000, 0x6000)]:
        ds.add_new(tag + 0x001E0000, ds[tag].VR, ds[tag].value)
    _, report, out = deid(ds)
    assert not [e for e in out if e.tag.group in (0x5000, 0x501E)]
    assert "[DATO]" in out[0x601E4000].value and "[DATO]" in out[0x60004000].value
    _, _, basic = deid(ds, profile="basic")
    assert not [e for e in basic if e.tag.group in (0x6000, 0x601E)]


def test_curves_removed_overlays_cleaned_under_clean_graphics():
    ds = synth.make_dataset()
    bits = np.zeros((32, 32), np.uint8)
    bits[2:6, 2:20] = 1
    from pydicom.pixels.utils import pack_bits

    ds[0x60003000].value = pack_bits(bits.reshape(-1))
    ds.add_new(0x50023000, "OB", b"curve")
    _, report, out = deid(ds, engines=Engines(fakes.redact, _overlay_finder, fakes.mask))
    assert not [e for e in out if 0x5000 <= e.tag.group <= 0x501E]
    assert out.overlay_array(0x6000)[2:6, 2:20].sum() == 0
    assert "[DATO]" in out[0x60004000].value
    assert any(m.source == "overlay" for m in report.pixel_masks)
    _, _, basic = deid(ds, profile="basic")
    assert not [e for e in basic if 0x6000 <= e.tag.group <= 0x601E]


def _overlay_finder(frame):
    return [fakes.LABEL_BOX] if frame.max() == 255 and frame.sum() == 255 * 72 else []


def _variants(text: bool):
    def us():
        return synth.make_dataset(3, modality="US", frames=2, text_box=text)

    yield "explicit", synth.to_bytes(us())
    ds = us()
    ds.compress(RLELossless, encoding_plugin="pydicom")
    yield "rle", synth.to_bytes(ds)
    ds = us()
    ds.compress(JPEG2000Lossless)
    yield "j2k", synth.to_bytes(ds)
    ds = us()
    frames = []
    for f in ds.pixel_array:
        buf = io.BytesIO()
        Image.fromarray(f).save(buf, format="JPEG", quality=95)
        frames.append(buf.getvalue())
    ds.PixelData = encapsulate(frames)
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.PhotometricInterpretation = "YBR_FULL_422"
    ds.LossyImageCompression = "01"
    yield "jpeg", synth.to_bytes(ds)
    ds = us()
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    yield "deflate", synth.to_bytes(ds)
    yield "big-endian", synth.to_bytes(synth.make_dataset(
        3, modality="US", frames=2, text_box=text, transfer_syntax=ExplicitVRBigEndian))
    yield "implicit", synth.to_bytes(synth.make_dataset(
        3, modality="OT", text_box=text, transfer_syntax=ImplicitVRLittleEndian))


@pytest.mark.parametrize(("name", "data"), list(_variants(text=False)))
def test_pixels_without_text_stay_bit_identical_in_their_encoding(name, data):
    out, report, ds = deid(data)
    src = synth.read(data)
    assert ds.file_meta.TransferSyntaxUID == src.file_meta.TransferSyntaxUID
    assert ds.PixelData == src.PixelData
    assert ds.BurnedInAnnotation == "YES"  # not masked: not claimed clean
    assert report.pixel_checked and not report.pixel_masks
    assert leaks(out) == []


@pytest.mark.parametrize(("name", "data"), list(_variants(text=True)))
def test_text_masked_in_every_frame_and_written_uncompressed(name, data):
    out, report, ds = deid(data)
    src = synth.read(data)
    ts = ds.file_meta.TransferSyntaxUID
    assert ts == (ImplicitVRLittleEndian if name == "implicit" else ExplicitVRLittleEndian)
    arr = ds.pixel_array
    frames = arr if int(ds.get("NumberOfFrames", 1)) > 1 else arr[None]
    assert frames.shape[0] == int(src.get("NumberOfFrames", 1))
    assert all(int(f[2:6, 2:20].max()) == 0 for f in frames)
    assert [m.frame for m in report.pixel_masks] == list(range(frames.shape[0]))
    assert ds.BurnedInAnnotation == "NO"
    assert ds.SOPInstanceUID == ds.file_meta.MediaStorageSOPInstanceUID  # not regenerated
    # Away from the label the image is unchanged (lossless syntaxes).
    if name != "jpeg":
        src_arr = src.pixel_array if frames.shape[0] > 1 else src.pixel_array[None]
        assert np.array_equal(frames[:, 10:, :], src_arr[:, 10:, :])


def test_ct_is_not_sent_to_ocr():
    calls = []

    def finder(frame):
        calls.append(frame.shape)
        return []

    ds = synth.make_dataset()
    for tag in [e.tag for e in ds if e.tag.group == 0x6000]:  # overlays do go to OCR
        del ds[tag]
    deid(ds, engines=Engines(fakes.redact, finder, fakes.mask))
    assert calls == []


def test_at_risk_image_without_ocr_engine_is_refused():
    from anonymizer.errors import PixelCleaningError

    with pytest.raises(PixelCleaningError, match="^a.dcm: .*no OCR engine"):
        deid(synth.make_dataset(modality="US"), engines=Engines(fakes.redact, None, None),
             name="a.dcm")


def test_rt_structure_set_references_follow_the_images():
    ds = synth.make_dataset(7)
    contour_image = _item(ReferencedSOPClassUID=ds.SOPClassUID,
                          ReferencedSOPInstanceUID=synth.sop_uid(1))
    series = _item(SeriesInstanceUID=synth.SERIES_UID, ContourImageSequence=[contour_image])
    study = _item(ReferencedSOPClassUID="1.2.840.10008.3.1.2.3.1",
                  ReferencedSOPInstanceUID=synth.STUDY_UID, RTReferencedSeriesSequence=[series])
    ds.ReferencedFrameOfReferenceSequence = [_item(FrameOfReferenceUID=synth.FRAME_UID,
                                                   RTReferencedStudySequence=[study])]
    _, _, rt = deid(ds)
    _, _, image = deid(synth.make_dataset(1))
    ref = rt.ReferencedFrameOfReferenceSequence[0]
    assert ref.FrameOfReferenceUID == image.FrameOfReferenceUID
    st = ref.RTReferencedStudySequence[0]
    assert st.ReferencedSOPInstanceUID == image.StudyInstanceUID
    assert st.RTReferencedSeriesSequence[0].SeriesInstanceUID == image.SeriesInstanceUID
    img = st.RTReferencedSeriesSequence[0].ContourImageSequence[0]
    assert img.ReferencedSOPInstanceUID == image.SOPInstanceUID


def _item(**kw):
    item = Dataset()
    for k, v in kw.items():
        setattr(item, k, v)
    return item


@pytest.mark.parametrize(
    ("action", "vr", "expected"),
    [("X/Z", "LO", "Z"), ("X/D", "SQ", "D"), ("X/Z/D", "DT", "D"), ("Z/D", "LO", "D"),
     ("X/Z/U*", "SQ", "U"), ("X/Z/U*", "LO", "Z"), ("K", "UI", "K"), ("X/Z", "SQ", "X")],
)
def test_resolve(action, vr, expected):
    assert resolve(action, vr, 0x00081110) == expected


def test_type2_sequence_is_emptied_not_removed():
    assert resolve("X/Z", "SQ", 0x00400555) == "Z"


def test_unlisted_public_attributes():
    ds = synth.make_dataset()
    ds.add_new(0x00400009, "SH", "SPS-9")  # listed (Scheduled Procedure Step ID): X
    ds.add_new(0x00181030, "LO", f"Protocolo {synth.NAME_TEXT}")  # Protocol Name: C
    ds.add_new(0x0040A043, "SQ", [Dataset()])  # a sequence not in the table: walked
    ds[0x0040A043].value[0].add_new(0x00080104, "LO", "kept meaning")
    ds.add_new(0x00211099, "LO", "private x")
    ds.add_new(0x7FDF0010, "LO", "odd group creator")
    ds.add_new(0x00089999, "LO", "unknown public tag")
    _, _, out = deid(ds)
    assert "ScheduledProcedureStepID" not in out
    assert out.ProtocolName == "Protocolo [DATO]"
    assert out[0x0040A043].value[0].CodeMeaning == "kept meaning"
    assert 0x00089999 not in out and 0x7FDF0010 not in out
    assert out.Manufacturer == "Fabricante" and out.Modality == "CT"


def test_report_has_no_values_and_a_stable_hash():
    data = synth.to_bytes(synth.make_dataset())
    _, r1, _ = deid(data)
    _, r2, _ = deid(data)
    text = r1.to_json()
    assert leaks(text.encode()) == []
    assert r1.sha256() == r2.sha256() and len(r1.sha256()) == 64
    assert r1.profile_id == "library" and r1.profile_version == "2" and r1.edition == "2024b"
    counts = r1.counts()
    assert counts["uid"] >= 6 and counts["date_shift"] >= 4 and counts["text_spans"] > 10
    summary = r1.summary_es()
    assert summary.startswith("Se eliminaron ") and "identificadores únicos" in summary
    assert "fechas" in summary and summary.endswith(".")
    assert {s.category for s in r1.text_spans} == {"NOMBRE_SUJETO_ASISTENCIA"}
    assert all(a.old_hmac is None or len(a.old_hmac) == 64 for a in r1.attributes)


def test_report_hmac_is_keyed_per_secret_and_donor():
    """The old values' HMAC-SHA256 key derives from the secret and the donor, as before."""
    import hashlib
    import hmac

    from anonymizer.dicom import Context
    from anonymizer.report import Report

    def ctx(secret: bytes, donor: str) -> Context:
        return Context(get_profile("library"), secret, donor, Report("library", "2", "2024b"))

    key = hashlib.sha256(b"s\0report\0d1").digest()
    assert ctx(b"s", "d1").digest("PÉREZ^ANA") == \
        hmac.new(key, "PÉREZ^ANA".encode(), hashlib.sha256).hexdigest()
    assert ctx(b"s", "d1").digest(["A", "B"]) == hmac.new(key, b"A\\B", "sha256").hexdigest()
    assert ctx(b"s", "d2").digest("X") != ctx(b"s", "d1").digest("X") != \
        ctx(b"t", "d1").digest("X")


def test_real_text_engine_cleans_the_spanish_note():
    text_es = pytest.importorskip("anonymizer.text_es")
    out, report, ds = deid(synth.make_dataset(),
                           engines=Engines(text_es.redact, fakes.find_text_boxes, fakes.mask))
    for value in (synth.CURP, synth.RFC, synth.PHONE, synth.EMAIL, "García López"):
        assert value not in ds.PatientComments if "PatientComments" in ds else True
        assert value.encode() not in out
    assert report.text_spans


def test_character_set_survives_round_trip():
    _, _, out = deid(synth.latin1_dataset())
    assert out.SpecificCharacterSet == "ISO_IR 100"
    assert "tórax" in out.StudyDescription
    raw = pydicom.dcmread(io.BytesIO(synth.to_bytes(out)))
    assert raw.SeriesDescription == "Tórax simple"


def test_real_ocr_engine_masks_burned_in_text():
    import shutil

    if shutil.which("tesseract") is None:
        pytest.skip("tesseract not installed (Debian tesseract-ocr, tesseract-ocr-spa)")
    ocr = pytest.importorskip("anonymizer.ocr")
    from PIL import ImageDraw, ImageFont

    ds = synth.make_dataset(3, modality="US", frames=2, rows=240, cols=320)
    arr = ds.pixel_array.copy()
    img = Image.fromarray(arr[0])
    ImageDraw.Draw(img).text((10, 10), "GARCIA", fill=(255, 255, 255),
                             font=ImageFont.load_default(size=18))
    arr[0] = np.asarray(img)
    ds.PixelData = arr.tobytes()
    _, report, out = deid(ds, engines=Engines(fakes.redact, ocr.find_text_boxes, ocr.mask))
    assert [m.frame for m in report.pixel_masks] == [0]  # frame 1 has no text
    assert out.BurnedInAnnotation == "NO"
    assert out.pixel_array[0, 8:32, 8:200].max() < 255
    assert np.array_equal(out.pixel_array[1], arr[1])


@pytest.mark.parametrize(
    ("charset", "name", "codec"),
    [
        (["", "ISO 2022 IR 87"], "ヤマダ^タロウ", "iso2022_jp"),
        (["", "ISO 2022 IR 149"], "김^희중", "euc_kr"),  # KS X 1001 in G1, as EUC-KR
        ("ISO_IR 144", "Иванов^Иван", "iso8859_5"),
        ("GB18030", "王^小明", "gb18030"),
        ("ISO_IR 192", "GARCÍA^LÓPEZ^MARÍA", "utf-8"),
        ("ISO_IR 100", "GARCÍA^LÓPEZ^MARÍA", "latin-1"),
    ],
)
def test_names_in_every_character_set_are_removed(charset, name, codec):
    ds = synth.make_dataset()
    ds.SpecificCharacterSet = charset
    ds.PatientName = name
    ds.OperatorsName = name
    ds.AcquisitionContextSequence[0].ContentSequence[0].ContentSequence[0].PersonName = name
    data = synth.to_bytes(ds)
    family = name.split("^")[0]
    encoded = family.encode(codec)
    if codec.startswith("iso2022"):
        encoded = encoded.split(b"\x1b")[1][2:]  # the JIS bytes after ESC $ B
    assert encoded in data
    out, _, result = deid(data)
    assert encoded not in out
    assert result.SpecificCharacterSet == charset



def test_zero_length_on_a_numeric_vr_is_written_empty():
    from anonymizer.dicom import Context, Walker
    from anonymizer.report import Report

    ds = synth.make_dataset()
    walker = Walker(Context(get_profile("basic"), SECRET, "d", Report("basic", "1", "2024b")))
    walker.apply(ds, ds["Rows"], "Rows", "Z")
    assert ds.Rows is None
    assert synth.read(synth.to_bytes(ds))["Rows"].is_empty


# Public text attributes of several kinds (listed X/Z/D/C and unlisted) that can carry PHI.
_CARRIERS = [("PatientName", "PN"), ("OperatorsName", "PN"), ("PersonName", "PN"),
             ("InstitutionName", "LO"), ("StudyDescription", "LO"), ("TextValue", "UT"),
             ("ImageComments", "LT"), ("DerivationDescription", "ST"), ("StationName", "SH"),
             ("AccessionNumber", "SH"), ("PatientComments", "LT"), ("ContentLabel", "CS"),
             ("ReasonForTheRequestedProcedure", "LO")]
_CONTAINERS = ["ContentSequence", "ReferencedImageSequence", "RequestAttributesSequence",
               "AcquisitionContextSequence", "ConceptNameCodeSequence", "SourceImageSequence",
               "PurposeOfReferenceCodeSequence", "ReferencedSeriesSequence"]


def _random_tree(rng, depth: int, marks: list[str]) -> Dataset:
    item = Dataset()
    for _ in range(int(rng.integers(1, 4))):
        keyword, vr = _CARRIERS[int(rng.integers(len(_CARRIERS)))]
        mark = f"PHI{len(marks):03d}GARCIA"
        marks.append(mark)
        if vr != "CS":
            setattr(item, keyword, mark)
    if rng.random() < 0.5:
        mark = f"PRV{len(marks):03d}LOPEZ"
        marks.append(mark)
        item.add_new(0x00330010 if rng.random() < 0.5 else 0x00331001, "LO", mark)
    if depth:
        for _ in range(int(rng.integers(1, 3))):
            name = _CONTAINERS[int(rng.integers(len(_CONTAINERS)))]
            setattr(item, name, [_random_tree(rng, depth - 1, marks)])
    return item


def _marking_redact(text: str):
    import re

    spans = [fakes.Span(m.start(), m.end(), "OTROS") for m in
             re.finditer(r"(PHI|PRV)\d{3}\w+", text)]
    return re.sub(r"(PHI|PRV)\d{3}\w+", "[DATO]", text), spans


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("profile", ["library", "basic"])
def test_random_nested_trees_leak_nothing(seed, profile):
    rng = np.random.default_rng(seed)
    ds = synth.make_dataset()
    marks: list[str] = []
    for element in _random_tree(rng, depth=int(rng.integers(1, 6)), marks=marks):
        ds.add(element)
    data = synth.to_bytes(ds)
    out, _, _ = deid(data, profile=profile,
                     engines=Engines(_marking_redact, fakes.find_text_boxes, fakes.mask))
    present = [m for m in marks if m.encode() in data]
    assert present, "the tree must carry marks"
    assert [m for m in present if m.encode() in out] == []


# -- known values: the file's own identifying values are removed from text with no cue -------

_SURNAME = "Xochitiotzin"  # in no word list; written below with no cue before it


def _case_leaks(out: bytes, words: list[str]) -> list[str]:
    return [w for w in words if w.lower().encode() in out.lower()]


@pytest.mark.parametrize("profile", ["library", "basic"])
def test_surname_with_no_cue_is_removed_from_descriptors(profile):
    ds = synth.make_dataset()
    ds.PatientName = f"{_SURNAME.upper()} TLAPALLI^AMEYALLI"
    ds.add_new(0x60000022, "LO", f"Marcas de {_SURNAME.lower()} tlapalli")  # Overlay Description
    ds.add_new(0x60001500, "LO", f"{_SURNAME}")  # Overlay Label
    ds.add_new(0x00700081, "LO", f"Segmentación de {_SURNAME.upper()}")  # Content Description
    ds.add_new(0x00181250, "SH", f"Rx {_SURNAME}")  # Receive Coil Name, unlisted SH
    data = synth.to_bytes(ds)
    assert _case_leaks(data, [_SURNAME, "TLAPALLI"]) == [_SURNAME, "TLAPALLI"]
    text_es = pytest.importorskip("anonymizer.text_es")
    out, report, read = deid(data, profile=profile,
                             engines=Engines(text_es.redact, fakes.find_text_boxes, fakes.mask))
    assert _case_leaks(out, [_SURNAME, "TLAPALLI", "AMEYALLI"]) == []
    assert read.ContentDescription.startswith("Segmentación de [")
    assert len(read[0x00181250].value) <= 16
    spans = {s.path: s.category for s in report.text_spans}
    assert spans["ContentDescription"] == "NOMBRE_SUJETO_ASISTENCIA"
    assert _SURNAME not in report.to_json()


def test_report_dict_has_every_field_as_plain_json_data():
    """to_dict is written by hand for speed: it must carry every field, as asdict would."""
    import dataclasses
    import json

    from anonymizer.report import AttributeAction, PixelMask, Report, TextSpan

    report = Report("library", "1", "2024b", "a" * 64, "b" * 64,
                    [AttributeAction("ContentSequence[0].TextValue", "(0040,A160)", "TextValue",
                                     "UT", "C", "text_clean", "c" * 64)],
                    [TextSpan("ContentSequence[0].TextValue", 3, 9, "NOMBRE_SUJETO_ASISTENCIA")],
                    [PixelMask(0, ((1, 2, 3, 4),)), PixelMask(2, ((5, 6, 7, 8),), "overlay")],
                    True, ["a note"])
    expected = dataclasses.asdict(report) | {"counts": report.counts()}
    assert json.dumps(report.to_dict(), sort_keys=True) == json.dumps(expected, sort_keys=True)
    assert {f.name for f in dataclasses.fields(Report)} | {"counts"} == set(report.to_dict())


def test_markers_of_one_file_do_not_change_another_files():
    """The marker elements are built once per profile and copied into each file."""
    from anonymizer.dicom import write_markers

    first, second = Dataset(), Dataset()
    write_markers(first, get_profile("library"))
    first.DeidentificationMethodCodeSequence[0].CodeMeaning = "changed"
    first.PatientIdentityRemoved = "NO"
    write_markers(second, get_profile("library"))
    assert second.DeidentificationMethodCodeSequence[0].CodeMeaning == \
        "Basic Application Confidentiality Profile"
    assert second.PatientIdentityRemoved == "YES"
    assert [i.CodeValue for i in second.DeidentificationMethodCodeSequence] == \
        [c for c, _ in get_profile("library").codes()]
