"""A redacted paper record as one DICOM Multi-frame Grayscale Byte Secondary Capture.

Each page is a frame (pages of other sizes are padded white to the largest, bottom and
right); the Frame Increment Pointer names the Page Number Vector. The patient is the
donation's pseudonym and the study and series UIDs are keyed by the donation, as the
anonymizer makes them for the donation's DICOM studies (:mod:`anonymizer.uids`), so a
record and a study of one donation share a patient. No date, name or institution is
written: the pages are all the content.

References
----------
DICOM PS3.3 A.8.3 (Multi-frame Grayscale Byte SC Image IOD), C.8.6.2 (SC Equipment:
Conversion Type ``SD``, scanned document), C.8.6.3 (SC Multi-frame Image);
PS3.15 E.1.1 (Burned In Annotation ``NO`` once the pixels are clean).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    ExplicitVRLittleEndian,
    MultiFrameGrayscaleByteSecondaryCaptureImageStorage,
)

from anonymizer.uids import UIDMapper, patient_pseudonym

from .paper import DPI

METHOD = "Traza manual redaction: boxes burned into the pixels"


def _frames(pages: Sequence[Image.Image]) -> np.ndarray:
    rows = max(p.height for p in pages)
    cols = max(p.width for p in pages)
    out = np.full((len(pages), rows, cols), 255, dtype=np.uint8)
    for i, p in enumerate(pages):
        out[i, :p.height, :p.width] = np.asarray(p.convert("L"))
    return out


def secondary_capture(pages: Sequence[Image.Image], *, secret: bytes, donation_id: str,
                      dpi: int = DPI) -> bytes:
    """The DICOM file (Part 10 bytes) of the redacted ``pages`` of ``donation_id``.

    ``secret`` is the intake org's de-identification key: the PatientID pseudonym and the
    UIDs are the same keyed hashes the anonymizer uses for this donation.
    """
    frames = _frames(pages)
    uids = UIDMapper(secret, donation_id)
    pixels = frames.tobytes()
    sop_uid = uids.map("paper-sop:" + hashlib.sha256(pixels).hexdigest())

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MultiFrameGrayscaleByteSecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = sop_uid
    pseudonym = patient_pseudonym(secret, donation_id)
    ds.PatientName, ds.PatientID = pseudonym, pseudonym
    ds.PatientBirthDate, ds.PatientSex = "", ""
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = METHOD
    ds.StudyInstanceUID = uids.map("paper-study")
    ds.SeriesInstanceUID = uids.map("paper-series")
    ds.StudyDate = ds.StudyTime = ds.ReferringPhysicianName = ""
    ds.StudyID, ds.AccessionNumber = "", ""
    ds.Modality = "OT"
    ds.SeriesNumber, ds.InstanceNumber = 1, 1
    ds.ConversionType = "SD"  # scanned document
    ds.BurnedInAnnotation = "NO"
    ds.RecognizableVisualFeatures = "NO"
    ds.PatientOrientation = ""
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.NumberOfFrames = len(pages)
    ds.FrameIncrementPointer = 0x00182001  # Page Number Vector
    ds.PageNumberVector = list(range(1, len(pages) + 1))
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = int(frames.shape[1]), int(frames.shape[2])
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PresentationLUTShape = "IDENTITY"
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "0", "1", "US"  # A.8.3.4: identity
    ds.Laterality = ""  # type 2C: a page has none
    mm = 25.4 / dpi
    ds.NominalScannedPixelSpacing = [f"{mm:.6f}", f"{mm:.6f}"]
    ds.PixelData = pixels
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


__all__ = ["METHOD", "secondary_capture"]
