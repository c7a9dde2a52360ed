"""A Comprehensive SR with what de-identification must keep valid (for the IOD tests).

Responsible Person with its Role (Type 1C on it), a request sequence with Type 2 items
(Referenced Study Sequence, Requested Procedure ID), evidence listing the image an IMAGE
content item references, and a TEXT item naming the patient.
"""

from __future__ import annotations

from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian


def item(**kw: object) -> Dataset:
    """Return a data set with the given attributes."""
    d = Dataset()
    for k, v in kw.items():
        setattr(d, k, v)
    return d


def code(v: str, s: str, m: str) -> Dataset:
    """Return a code item."""
    return item(CodeValue=v, CodingSchemeDesignator=s, CodeMeaning=m)


def sr() -> FileDataset:
    """Return the SR data set."""
    sop = "1.2.840.10008.5.1.4.1.1.88.33"
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop
    meta.MediaStorageSOPInstanceUID = "1.2.3.9.1"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = sop
    ds.SOPInstanceUID = "1.2.3.9.1"
    ds.StudyInstanceUID = "1.2.3.9"
    ds.SeriesInstanceUID = "1.2.3.9.2"
    ds.PatientName = "HERNÁNDEZ OLVERA^MARÍA"
    ds.PatientID = "EXP-123"
    ds.PatientBirthDate = "19850312"
    ds.PatientSex = "F"
    ds.ResponsiblePerson = "OLVERA^ROSA"
    ds.ResponsiblePersonRole = "MOTHER"
    ds.StudyDate = "20240105"
    ds.StudyTime = "101010"
    ds.ReferringPhysicianName = "RAMIREZ^JUAN"
    ds.StudyID = "E-77"
    ds.AccessionNumber = "A-991"
    ds.Modality = "SR"
    ds.SeriesNumber = "1"
    ds.Manufacturer = "Traza"
    ds.InstanceNumber = "1"
    ds.ContentDate = "20240105"
    ds.ContentTime = "101010"
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    ds.ReferencedPerformedProcedureStepSequence = Sequence([])
    ds.ReferencedRequestSequence = [
        item(
            StudyInstanceUID="1.2.3.9",
            ReferencedStudySequence=Sequence([]),
            AccessionNumber="A-991",
            PlacerOrderNumberImagingServiceRequest="P-1",
            FillerOrderNumberImagingServiceRequest="F-1",
            RequestedProcedureID="RP-5",
            RequestedProcedureDescription="TC TORAX",
            RequestedProcedureCodeSequence=Sequence([]),
        )
    ]
    ds.PerformedProcedureCodeSequence = Sequence([])
    img = "1.2.3.9.5.1"
    ds.CurrentRequestedProcedureEvidenceSequence = [
        item(
            StudyInstanceUID="1.2.3.9",
            ReferencedSeriesSequence=[
                item(
                    SeriesInstanceUID="1.2.3.9.5",
                    ReferencedSOPSequence=[
                        item(
                            ReferencedSOPClassUID="1.2.840.10008.5.1.4.1.1.2",
                            ReferencedSOPInstanceUID=img,
                        )
                    ],
                )
            ],
        )
    ]
    ds.ValueType = "CONTAINER"
    ds.ContinuityOfContent = "SEPARATE"
    ds.ConceptNameCodeSequence = [code("18748-4", "LN", "Diagnostic Imaging Report")]
    ds.ContentTemplateSequence = [item(MappingResource="DCMR", TemplateIdentifier="2000")]
    ds.ContentSequence = [
        item(
            RelationshipType="CONTAINS",
            ValueType="TEXT",
            ConceptNameCodeSequence=[code("121071", "DCM", "Finding")],
            TextValue="Nódulo de 5 mm, paciente María Hernández",
        ),
        item(
            RelationshipType="CONTAINS",
            ValueType="IMAGE",
            ConceptNameCodeSequence=[code("121080", "DCM", "Best illustration of finding")],
            ReferencedSOPSequence=[
                item(
                    ReferencedSOPClassUID="1.2.840.10008.5.1.4.1.1.2", ReferencedSOPInstanceUID=img
                )
            ],
        ),
    ]
    return ds
