"""Synthetic DICOM files carrying known, fake Mexican PHI in every place PHI can hide.

Generated in code (no binaries committed). The patient is :data:`PERSON`, a fixed
:class:`client.synthetic.Person`; every value in :data:`PHI` (her
:meth:`~client.synthetic.Person.leak_values`) is fictitious, and a test that finds one of
them in a de-identified output has found a leak.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    CTImageStorage,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    SecondaryCaptureImageStorage,
    UltrasoundMultiFrameImageStorage,
)

from client import synthetic

# The patient of every file here: fixed, so that tests can name her values.
PERSON = synthetic.person_from(
    synthetic.Name("MARÍA", "GARCÍA", "LÓPEZ"), "F", dt.date(1980, 1, 1), synthetic.PLACES[1],
    homoclave="AB", elector_serial=123, nss="12345678903", phone="55 1234 5678",
    email="maria.garcia@correo.example", street="Calle Hidalgo 123",
    institution=synthetic.Institution(
        "Hospital General Dr. Zubirán", "HG Zubirán",
        "Calle Hidalgo 123, Colonia Tlacoquemécatl, Ciudad de México", "HGZUBIRAN_CT1",
        "HGZUBIRAN_CT1"),
    mrn="EXP445566", accession="ACC998877", physician=synthetic.Name("JUAN", "HERNÁNDEZ", "PÉREZ"),
)
NAME = PERSON.name.pn
NAME_TEXT = PERSON.name.title
PHYSICIAN = PERSON.physician.pn
CURP = PERSON.curp
RFC = PERSON.rfc
NSS = PERSON.nss
PHONE = PERSON.phone
EMAIL = PERSON.email
STREET = PERSON.street
COLONIA = f"Colonia {PERSON.place.colonia}"
HOSPITAL = PERSON.institution.name
AE = PERSON.institution.ae_title
PATIENT_ID = PERSON.mrn
ACCESSION = PERSON.accession
BIRTH = PERSON.birth.strftime("%Y%m%d")
JAPANESE = "ヤマダ^タロウ"

# Strings that must never appear in an output (in any of the encodings below).
PHI = [*PERSON.leak_values(), "Zubirán"]

# Pixel value of the fake burned-in label, by bytes per sample (never reached by the noise).
LABEL = {1: 255, 2: 4095}

STUDY_UID = "1.2.826.0.1.3680043.8.498.1001"
SERIES_UID = "1.2.826.0.1.3680043.8.498.1002"
FRAME_UID = "1.2.826.0.1.3680043.8.498.1003"


def sop_uid(n: int) -> str:
    """Return the (fake, original) SOP Instance UID of instance ``n``."""
    return f"1.2.826.0.1.3680043.8.498.2{n:04d}"


def encodings(value: str) -> list[bytes]:
    """Return the byte forms a value can take in a file (UTF-8, Latin-1, ASCII folded)."""
    out = {value.encode("utf-8")}
    with contextlib.suppress(UnicodeEncodeError):
        out.add(value.encode("latin-1"))
    folded = synthetic.plain(value)
    if folded.isascii():
        out.add(folded.encode("ascii"))
    if value == JAPANESE:
        out.add(value.encode("iso2022_jp"))
    return sorted(out)


def free_text() -> str:
    """Return a Spanish clinical note full of the fake PHI."""
    return PERSON.note()


def _item(**kw: object) -> Dataset:
    ds = Dataset()
    for k, v in kw.items():
        setattr(ds, k, v)
    return ds


def make_dataset(
    n: int = 1,
    *,
    modality: str = "CT",
    charset: str = "ISO_IR 192",
    transfer_syntax: str = ExplicitVRLittleEndian,
    frames: int = 1,
    text_box: bool = False,
    rows: int = 32,
    cols: int = 32,
) -> FileDataset:
    """Return a data set with fake PHI in meta, sequences, private blocks, overlays, curves."""
    sop_class = {"CT": CTImageStorage, "US": UltrasoundMultiFrameImageStorage,
                 "OT": SecondaryCaptureImageStorage}[modality]
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid(n)
    meta.TransferSyntaxUID = transfer_syntax
    meta.ImplementationClassUID = "1.2.826.0.1.3680043.8.498.1"
    meta.SourceApplicationEntityTitle = AE
    meta.SendingApplicationEntityTitle = AE
    meta.ReceivingApplicationEntityTitle = "PACS_ZUBIRAN"
    meta.PrivateInformationCreatorUID = "1.2.826.0.1.3680043.8.498.9"
    meta.PrivateInformation = f"{CURP} {NAME_TEXT}".encode() + b"\0"[: len(CURP) % 2]

    ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SpecificCharacterSet = charset
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid(n)
    ds.StudyInstanceUID = STUDY_UID
    ds.SeriesInstanceUID = SERIES_UID
    ds.FrameOfReferenceUID = FRAME_UID
    ds.Modality = modality
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.StudyDate = "20240315"
    ds.SeriesDate = "20240315"
    ds.ContentDate = "20240316"
    ds.AcquisitionDateTime = "20240315103000.000000-0600"
    ds.StudyTime = "103000"
    ds.SeriesTime = "103500"
    ds.ContentTime = "104000"
    for keyword, value in PERSON.dicom_attributes().items():
        setattr(ds, keyword, value)
    ds.PerformingPhysicianName = PHYSICIAN
    ds.OperatorsName = PHYSICIAN
    ds.StudyDescription = f"TAC de tórax de {NAME_TEXT}"
    ds.SeriesDescription = "Tórax simple"
    ds.StudyID = "EST-77"
    ds.SeriesNumber = 1
    ds.InstanceNumber = n
    ds.Manufacturer = "Fabricante"
    ds.PatientAge = "044Y"
    ds.PatientWeight = "61.5"
    ds.AdditionalPatientHistory = free_text()
    ds.OtherPatientIDsSequence = [_item(PatientID=CURP, TypeOfPatientID="TEXT",
                                        IssuerOfPatientID="RENAPO")]
    ds.ReferencedStudySequence = [_item(ReferencedSOPClassUID="1.2.840.10008.3.1.2.3.1",
                                        ReferencedSOPInstanceUID=STUDY_UID)]
    ds.SourceImageSequence = [_item(ReferencedSOPClassUID=sop_class,
                                    ReferencedSOPInstanceUID=sop_uid(n + 1000))]
    ds.RequestAttributesSequence = [_item(
        RequestedProcedureID="RP-1", ScheduledProcedureStepID="SPS-1",
        RequestedProcedureDescription=f"TAC para {NAME_TEXT}",
        ReasonForTheRequestedProcedure=f"Control; tel {PHONE}",
    )]
    # Three levels deep: an SR-like content tree with a name and free text at the bottom.
    leaf = _item(RelationshipType="CONTAINS", ValueType="TEXT",
                 ConceptNameCodeSequence=[_item(CodeValue="121106", CodingSchemeDesignator="DCM",
                                                CodeMeaning="Comment")],
                 TextValue=free_text())
    person = _item(RelationshipType="HAS OBS CONTEXT", ValueType="PNAME", PersonName=PHYSICIAN,
                   ConceptNameCodeSequence=[_item(CodeValue="121008", CodingSchemeDesignator="DCM",
                                                  CodeMeaning="Person Observer Name")])
    mid = _item(RelationshipType="CONTAINS", ValueType="CONTAINER",
                ContinuityOfContent="SEPARATE", ContentSequence=[person, leaf])
    ds.AcquisitionContextSequence = [_item(ValueType="CONTAINER", ContentSequence=[mid])]

    # Private block with creator; element of a block with no creator; private sequence.
    block = ds.private_block(0x0009, "HGZ PRIVADO", create=True)
    block.add_new(0x01, "LO", NAME_TEXT)
    block.add_new(0x02, "OB", CURP.encode())
    block.add_new(0x03, "SQ", Sequence([_item(PatientName=NAME, PatientID=PATIENT_ID)]))
    ds.add_new(0x00111001, "LO", f"{CURP} sin creador")
    ds.add_new(0x00190010, "LO", "SAFE VENDOR")
    ds.add_new(0x00191001, "DS", "2.5")
    ds.add_new(0x00191002, "LO", NAME_TEXT)

    # Overlay with comments, a retired curve holding a name.
    ds.add_new(0x60000010, "US", rows)
    ds.add_new(0x60000011, "US", cols)
    ds.add_new(0x60000040, "CS", "G")
    ds.add_new(0x60000050, "SS", [1, 1])
    ds.add_new(0x60000100, "US", 1)
    ds.add_new(0x60000102, "US", 0)
    ds.add_new(0x60003000, "OW", b"\0" * (rows * cols // 8))
    ds.add_new(0x60004000, "LT", f"Marcado por {NAME_TEXT}")
    ds.add_new(0x50000005, "US", 1)
    ds.add_new(0x50003000, "OB", NAME_TEXT.encode())

    _pixels(ds, modality, frames, rows, cols, text_box)
    ds.BurnedInAnnotation = "NO" if modality == "CT" else "YES"
    return ds


def _pixels(ds: Dataset, modality: str, frames: int, rows: int, cols: int, text: bool) -> None:
    rng = np.random.default_rng(7)
    if modality == "CT":
        arr = rng.integers(0, 2000, size=(frames, rows, cols), dtype=np.uint16)
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.RescaleIntercept, ds.RescaleSlope = "-1024", "1"
        ds.ImagePositionPatient = [0, 0, 0]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing = [1, 1]
        ds.SliceThickness = "1"
    else:
        arr = rng.integers(0, 60, size=(frames, rows, cols, 3), dtype=np.uint8)
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 3, "RGB"
        ds.PlanarConfiguration = 0
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    if text:
        arr[:, 2:6, 2:20] = LABEL[arr.dtype.itemsize]  # a "label" the fake OCR finds
    if frames > 1:
        ds.NumberOfFrames = frames
        ds.FrameIncrementPointer = 0x00181063
        ds.FrameTime = "33.3"
    ds.Rows, ds.Columns = rows, cols
    data = arr if frames > 1 else arr[0]
    if ds.file_meta.TransferSyntaxUID == ExplicitVRBigEndian:
        ds.PixelData = data.astype(data.dtype.newbyteorder(">")).tobytes()
    else:
        ds.PixelData = data.tobytes()


def to_bytes(ds: FileDataset) -> bytes:
    """Return ``ds`` encoded as a Part 10 file in its file meta's transfer syntax."""
    buf = io.BytesIO()
    ts = ds.file_meta.TransferSyntaxUID
    pydicom.dcmwrite(buf, ds, enforce_file_format=True, implicit_vr=ts.is_implicit_VR,
                     little_endian=ts.is_little_endian)
    return buf.getvalue()


def japanese_dataset() -> FileDataset:
    """Return a minimal data set whose name is in ISO 2022 IR 87 (multi-byte)."""
    ds = make_dataset(9, charset="ISO 2022 IR 87")
    ds.SpecificCharacterSet = ["", "ISO 2022 IR 87"]
    ds.PatientName = JAPANESE
    ds.StudyDescription = "CT"
    return ds


def latin1_dataset() -> FileDataset:
    """Return the standard data set in ISO_IR 100 (Latin-1)."""
    return make_dataset(8, charset="ISO_IR 100")


def read(data: bytes) -> FileDataset:
    """Parse Part 10 bytes."""
    return pydicom.dcmread(io.BytesIO(data))
