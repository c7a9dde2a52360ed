"""Generate a DICOM corpus with known synthetic Mexican PHI, for scoring de-identification.

Every file is built from tables (donors and text templates in :mod:`bench.deid.phi`; the
studies, series and transfer syntaxes below) and a seed, so the same call writes the same
bytes; pixels come from :mod:`bench.deid.pixels`. The manifest says, for each
file, which PHI was planted (with the spellings a leak may take), which UIDs it references
and in which other file they live, where text was burned into the pixels, and which
attributes a useful output keeps.

The people, numbers and addresses are invented; CURP, RFC and NSS carry valid check digits
so that detectors that check them have something to find.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import pack_bits
from pydicom.sequence import Sequence
from pydicom.uid import (
    UID,
    ComprehensiveSRStorage,
    ComputedRadiographyImageStorage,
    CTImageStorage,
    DeflatedExplicitVRLittleEndian,
    DigitalXRayImageStorageForPresentation,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
    MRImageStorage,
    RLELossless,
    RTStructureSetStorage,
    SecondaryCaptureImageStorage,
    SegmentationStorage,
    UltrasoundImageStorage,
    VideoEndoscopicImageStorage,
    XRayAngiographicImageStorage,
)

from bench.deid.manifest import MANIFEST_NAME, Manifest, jsonable
from bench.deid.phi import (
    COMMENTS,
    DONORS,
    HISTORY,
    SR_DEEP,
    SR_FINDINGS,
    Donor,
    Planter,
    donor_catalog,
    fold,
)
from bench.deid.pixels import burn, encoders_missing, phantom, store_frames

__all__ = ["DEFAULT_FILES", "MANIFEST_NAME", "MIN_FILES", "Manifest", "generate_corpus"]

DEFAULT_FILES = 80
FIXED_FILES = 15  # RT, SEG, 3 SR, 3 US, 2 OT, 2 XA, CR, DX, ES
MIN_FILES = FIXED_FILES + 8

# --------------------------------------------------------------------------- plan

CYCLE_16BIT = (ExplicitVRLittleEndian, JPEGLosslessSV1, JPEGLSLossless, JPEG2000Lossless,
               RLELossless, ImplicitVRLittleEndian, ExplicitVRBigEndian,
               DeflatedExplicitVRLittleEndian)


@dataclass
class Study:
    donor: Donor
    key: str
    date: dt.date
    time: str
    description: str
    charset: str | None
    uid: str = ""
    accession: str = ""


@dataclass
class Series:
    study: Study
    modality: str
    number: int
    description: str
    uid: str = ""
    frame_of_reference: str = ""


@dataclass
class _Built:
    """One generated file before writing: dataset, pixels and its manifest entry."""

    ds: Dataset
    entry: dict[str, Any]
    frames: np.ndarray | None = None
    syntax: str = ExplicitVRLittleEndian


def _split_counts(n_files: int) -> tuple[int, int, int, int]:
    """Slices of the four scalable series (CT A, MR T1, MR T2, CT B) for ``n_files``."""
    rest = max(n_files, MIN_FILES) - FIXED_FILES
    ct_a, mr = max(2, rest * 4 // 10), max(2, rest * 2 // 10)
    ct_b = max(2, rest - ct_a - 2 * mr)
    ct_a -= ct_a + 2 * mr + ct_b - rest  # give back what the floors of 2 took
    return ct_a, mr, mr, ct_b


# --------------------------------------------------------------------------- builders

class _Generator:
    """Builds the corpus file by file; holds the seed, the UIDs and the manifest."""

    def __init__(self, seed: int, n_files: int) -> None:
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.n_files = n_files
        self.counter = 0

    def uid(self, *label: object) -> str:
        """A 2.25 UID (PS3.5 B.2) derived from the seed and ``label``: same inputs, same UID."""
        digest = hashlib.sha256(repr((self.seed, *label)).encode()).digest()
        return f"2.25.{uuid.UUID(bytes=digest[:16], version=4).int}"

    # .. common attributes ..................................................

    def _base(self, series: Series, sop_class: str, number: int, plant: Planter,
              ascii_only: bool = False) -> Dataset:
        """Patient, study, series, equipment and file meta attributes, PHI included."""
        study, donor = series.study, series.study.donor
        self.counter += 1
        idx = self.counter
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = sop_class
        sop_uid = self.uid("sop", series.uid, number)
        ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
        ds.file_meta.SourceApplicationEntityTitle = plant("ae_title")
        ds.file_meta.SendingApplicationEntityTitle = plant("station")[:16]
        ds.file_meta.PrivateInformationCreatorUID = self.uid("private-info")
        ds.file_meta.PrivateInformation = plant("curp").encode("ascii")
        if study.charset and not ascii_only:
            ds.SpecificCharacterSet = study.charset
        ds.SOPClassUID = sop_class
        ds.SOPInstanceUID = sop_uid
        study_date = study.date.strftime("%Y%m%d")
        date_label = f"study_date:{study.key}"
        plant.plant(date_label, "date", study_date, study.date.strftime("%d/%m/%Y"))
        ds.StudyDate = ds.SeriesDate = ds.ContentDate = study_date
        ds.StudyTime = study.time
        ds.SeriesTime = ds.ContentTime = f"{int(study.time[:2]) + 1:02d}{study.time[2:]}"
        # Acquired a little past midnight on the next day: shifting dates and date-times
        # apart would break this interval.
        acq = dt.datetime.combine(study.date, dt.time(0, 10)) + dt.timedelta(days=1)
        ds.AcquisitionDateTime = acq.strftime("%Y%m%d%H%M%S")
        ds.AccessionNumber = plant.plant(f"accession:{study.key}", "identifier", study.accession)
        ds.Modality = series.modality
        ds.Manufacturer = "SYNTH MEDICAL"
        ds.InstitutionName = plant("hospital")
        ds.InstitutionAddress = plant("institution_address")
        ds.ReferringPhysicianName = plant("physician_pn")
        ds.StationName = plant("station")
        ds.StudyDescription = plant.fill(study.description)
        ds.SeriesDescription = series.description
        ds.InstitutionalDepartmentName = "Radiología e Imagen"
        ds.PerformingPhysicianName = plant("physician_pn")
        ds.OperatorsName = plant("operator_pn")
        ds.PatientName = plant("name_pn")
        ds.PatientID = plant("mrn")
        ds.IssuerOfPatientID = plant("hospital_short")
        ds.PatientBirthDate = plant("birth_da")
        ds.PatientSex = donor.sex
        age = (study.date - donor.birth).days // 365
        ds.PatientAge = f"{age:03d}Y"
        ds.PatientWeight = "68" if donor.sex == "F" else "74"
        ds.PatientAddress = plant("address_dicom")
        ds.PatientTelephoneNumbers = plant("phone")
        other = Dataset()
        other.PatientID = plant("curp")
        other.IssuerOfPatientID = "RENAPO"
        other.TypeOfPatientID = "TEXT"
        other2 = Dataset()
        other2.PatientID = plant("nss")
        other2.IssuerOfPatientID = "IMSS"
        other2.TypeOfPatientID = "TEXT"
        ds.OtherPatientIDsSequence = Sequence([other, other2])
        ds.DeviceSerialNumber = plant("device_serial")
        ds.SoftwareVersions = "synth 1.0"
        ds.StudyInstanceUID = study.uid
        ds.SeriesInstanceUID = series.uid
        ds.StudyID = study.key
        ds.SeriesNumber = series.number
        ds.InstanceNumber = number
        # Carriers that rotate over the files, so each kind is present many times.
        comment = COMMENTS[idx % len(COMMENTS)]
        ds.ImageComments = plant.fill(comment)
        if idx % 3 == 0:
            ds.AdditionalPatientHistory = plant.fill(HISTORY)
        if idx % 3 == 1:
            ds.RequestAttributesSequence = self._deep_request(plant)
        if idx % 3 == 2:
            self._private_blocks(ds, plant)
        if idx % 4 == 0:
            # Other people and other names of the patient (PS3.15 E.1-1: X/Z).
            ds.OtherPatientNames = plant("name_pn")
            ds.PatientMotherBirthName = plant("relative_pn")
            ds.ResponsiblePerson = plant("relative_pn")
            ds.ResponsiblePersonRole = "MOTHER"
            ds.PatientComments = plant.fill("Acompañada por su madre {relative}; avisar al "
                                            "{phone}.")
        return ds

    def _deep_request(self, plant: Planter) -> Sequence:
        """PHI three sequences deep (Request > Protocol code > Protocol context)."""
        ctx = Dataset()
        ctx.ValueType = "TEXT"
        ctx.ConceptNameCodeSequence = Sequence([_code("121106", "DCM", "Comment")])
        ctx.TextValue = plant.fill("Indicación de {physician}: valorar a {name_title}, "
                                   "{hospital_short}.")
        ctx.PersonName = plant("name_pn")
        code = _code("P5-0800", "SRT", "Tomografía de tórax")
        code.ProtocolContextSequence = Sequence([ctx])
        req = Dataset()
        req.RequestedProcedureID = plant("mrn")
        req.ScheduledProcedureStepDescription = plant.fill("Control de {surnames}")
        req.ScheduledProtocolCodeSequence = Sequence([code])
        return Sequence([req])

    def _overlay(self, ds: Dataset, plant: Planter, rows: int, cols: int) -> dict[str, Any]:
        """An overlay plane (60xx, PS3.3 C.9.2) with the name drawn into its bitmap."""
        img = Image.new("L", (cols, rows), 0)
        text = fold(plant("name_pn"))
        box = burn(img, [(2, 2, text)], 9, 255, None)[0]
        bits = (np.asarray(img) > 127).astype("u1")
        ds.add_new(0x60000010, "US", rows)
        ds.add_new(0x60000011, "US", cols)
        ds.add_new(0x60000022, "LO", plant.fill("Marcas de {surnames}"))  # OverlayDescription
        ds.add_new(0x60000040, "CS", "G")
        ds.add_new(0x60000050, "SS", [1, 1])
        ds.add_new(0x60000100, "US", 1)
        ds.add_new(0x60000102, "US", 0)
        ds.add_new(0x60003000, "OW", pack_bits(bits.ravel()))
        return {"group": 0x6000, "set_bits": int(bits.sum()), "box": box, "text": text}

    def _private_blocks(self, ds: Dataset, plant: Planter) -> None:
        """A private block with creator (LO, UN, nested SQ) and one without creator."""
        block = ds.private_block(0x0009, "SYNTH HIS 1.0", create=True)
        block.add_new(0x01, "LO", plant("name"))
        block.add_new(0x02, "UN", plant("curp").encode("ascii") + b" " +
                      plant("phone").encode("ascii"))
        inner = Dataset()
        inner_block = inner.private_block(0x0029, "SYNTH HIS 1.0", create=True)
        inner_block.add_new(0x10, "LT", plant.fill(HISTORY))
        block.add_new(0x03, "SQ", Sequence([inner]))
        # No (0011,0010) creator: an orphan private element, still PHI.
        ds.add_new(0x00111001, "LO", plant("nss"))
        ds.add_new(0x00111002, "UN", plant("email").encode("ascii"))

    def _entry(self, ds: Dataset, series: Series, kind: str, plant: Planter, *,
               retain: Iterable[str] = (), text_free: bool | None = None,
               boxes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        study = series.study
        keep = {k: jsonable(ds[k].value) for k in retain if k in ds}
        keep["Modality"] = ds.Modality
        return {
            "id": "", "path": "", "kind": kind, "donor": study.donor.key, "study": study.key,
            "modality": series.modality, "charset": ds.get("SpecificCharacterSet"),
            "sop_class_uid": str(ds.SOPClassUID), "sop_instance_uid": str(ds.SOPInstanceUID),
            "study_instance_uid": study.uid, "series_instance_uid": series.uid,
            "frame_of_reference_uid": str(ds.get("FrameOfReferenceUID", "")) or None,
            "study_date": ds.StudyDate, "study_time": ds.StudyTime,
            "acquisition_datetime": ds.AcquisitionDateTime,
            "birth_date": ds.PatientBirthDate,
            "phi": sorted(plant.labels), "phi_extra": plant.extra,
            "refs": [], "burned_in": boxes or [], "other_text": [], "overlay": None,
            "text_free": text_free, "retain": keep, "transfer_syntax": "",
        }

    # .. image kinds .......................................................

    def cross_sectional(self, series: Series, count: int, offset: int) -> list[_Built]:
        """CT or MR slices: text-free, 16-bit, spread over the transfer syntaxes."""
        out = []
        for i in range(count):
            plant = Planter(series.study.donor, ascii_only=False)
            ct = series.modality == "CT"
            sop = CTImageStorage if ct else MRImageStorage
            ds = self._base(series, sop, i + 1, plant)
            rows = cols = 96
            ds.FrameOfReferenceUID = series.frame_of_reference
            ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
            ds.PixelSpacing = [0.78125, 0.78125]
            ds.SliceThickness = "2.5" if ct else "5.0"
            ds.ImagePositionPatient = [-37.5, -37.5, round(-100.0 + i * 2.5, 2)]
            ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
            ds.BodyPartExamined = "CHEST" if ct else "HEAD"
            if ct:
                ds.KVP = "120"
                ds.RescaleIntercept = "-1024"
                ds.RescaleSlope = "1"
            else:
                ds.RepetitionTime = "500"
                ds.EchoTime = "12"
                ds.MagneticFieldStrength = "1.5"
            _mono(ds, rows, cols, 16, 12)
            frames = phantom(self.rng, rows, cols, 4095, offset=i * 0.01)[None].astype("u2")
            overlay = None
            if not ct and i % 4 == 1:
                overlay = self._overlay(ds, plant, rows, cols)
            if ct and i % 4 == 2:
                # A retired curve (PS3.3-2004 C.10.2) whose description names the patient.
                ds.add_new(0x50000022, "LO", plant.fill("ECG de {surnames}"))
            entry = self._entry(ds, series, "ct" if ct else "mr", plant, text_free=True,
                                retain=("Rows", "Columns", "PixelSpacing", "SliceThickness",
                                        "ImagePositionPatient", "KVP", "RepetitionTime",
                                        "EchoTime", "BodyPartExamined"))
            entry["overlay"] = overlay
            out.append(_Built(ds, entry, frames, CYCLE_16BIT[(i + offset) % len(CYCLE_16BIT)]))
        return out

    def ultrasound(self, series: Series, count: int) -> list[_Built]:
        """US frames with the patient's name, id and date burned into an overlay band."""
        out = []
        study = series.study
        for i in range(count):
            plant = Planter(study.donor, ascii_only=False)
            ds = self._base(series, UltrasoundImageStorage, i + 1, plant)
            rows, cols = 240, 320
            _rgb(ds, rows, cols)
            base = (phantom(self.rng, rows, cols, 200) * 0.8).astype("u1")
            img = Image.fromarray(np.stack([base] * 3, axis=-1), "RGB")
            texts = [(6, 4, plant("name_rev")), (6, 18, f"ID {plant('mrn')}"),
                     (6, 32, study.date.strftime("%d/%m/%Y")), (6, 46, plant("hospital_short"))]
            plant.labels.add(f"study_date:{study.key}")
            boxes = burn(img, texts, 11, (255, 255, 255), (0, 0, 0))
            ds.BurnedInAnnotation = "YES"
            frames = np.asarray(img)[None]
            burned = [{"frame": 0, "box": b, "text": fold(t[2])} for b, t in zip(boxes, texts,
                                                                            strict=True)]
            entry = self._entry(ds, series, "us", plant, text_free=False, boxes=burned,
                                retain=("Rows", "Columns"))
            syntax = JPEGBaseline8Bit if i % 2 == 0 else ExplicitVRLittleEndian
            out.append(_Built(ds, entry, frames, syntax))
        return out

    def document(self, series: Series, syntax: str, number: int) -> _Built:
        """A scanned paper form (Secondary Capture, OT) with the donor's data typed on it."""
        donor = series.study.donor
        plant = Planter(donor, ascii_only=False)
        ds = self._base(series, SecondaryCaptureImageStorage, number, plant)
        rows, cols = 360, 480
        _mono(ds, rows, cols, 8, 8)
        ds.ConversionType = "DF"
        paper = np.full((rows, cols), 235, dtype="u1")
        paper = np.clip(paper + self.rng.normal(0, 3, paper.shape), 0, 255).astype("u1")
        img = Image.fromarray(paper, "L")
        lines = [("INSTITUTO MEXICANO DEL SEGURO SOCIAL", False),
                 (plant("hospital"), True),
                 (f"Nombre: {plant('name')}", True),
                 (f"CURP: {plant('curp')}   NSS: {plant('nss')}", True),
                 (f"Domicilio: {plant('street')}, {plant('colonia')}, {plant('cp')}", True),
                 (f"Tel: {plant('phone')}   Nac.: {plant('birth_slash')}", True),
                 ("Diagnóstico: probable colecistitis crónica litiásica", False),
                 (f"Médico: {plant('physician')}", True)]
        texts = [(16, 16 + 40 * k, text) for k, (text, _phi) in enumerate(lines)]
        boxes = burn(img, texts, 15, 10, None)
        burned = [{"frame": 0, "box": b, "text": fold(t)}
                  for b, (t, phi) in zip(boxes, lines, strict=True) if phi]
        # Clinical lines are text too: a tool may mask them, that is not damage elsewhere.
        clinical = [{"frame": 0, "box": b, "text": fold(t)}
                    for b, (t, phi) in zip(boxes, lines, strict=True) if not phi]
        ds.BurnedInAnnotation = "YES"
        frames = np.asarray(img)[None]
        entry = self._entry(ds, series, "doc", plant, text_free=False, boxes=burned,
                            retain=("Rows", "Columns", "ConversionType"))
        entry["other_text"] = clinical
        return _Built(ds, entry, frames, syntax)

    def multiframe(self, series: Series, number: int, syntax: str, n_frames: int) -> _Built:
        """XA (8-bit grey) or ES (RGB) multi-frame with the name burned into every frame."""
        study = series.study
        plant = Planter(study.donor, ascii_only=False)
        xa = series.modality == "XA"
        sop = XRayAngiographicImageStorage if xa else VideoEndoscopicImageStorage
        kind = "xa" if xa else "es"
        ds = self._base(series, sop, number, plant)
        rows, cols = (192, 192) if xa else (160, 224)
        if xa:
            _mono(ds, rows, cols, 8, 8)
            ds.PositionerPrimaryAngle = "30"
        else:
            _rgb(ds, rows, cols)
        ds.NumberOfFrames = n_frames
        if xa:
            # Per-frame comments, one sequence level down for each frame.
            groups = []
            for f in range(n_frames):
                content = Dataset()
                content.FrameComments = plant.fill(f"Cuadro {f + 1}, control de {{surnames}}")
                group = Dataset()
                group.FrameContentSequence = Sequence([content])
                groups.append(group)
            ds.PerFrameFunctionalGroupsSequence = Sequence(groups)
        ds.FrameTime = "66.7"
        ds.FrameIncrementPointer = 0x00181063
        ds.BurnedInAnnotation = "YES"
        frames, burned = [], []
        for f in range(n_frames):
            base = (phantom(self.rng, rows, cols, 180, offset=f * 0.02)).astype("u1")
            img = Image.fromarray(base if xa else np.stack([base] * 3, -1), "L" if xa else "RGB")
            texts = [(4, 4, plant("name_pn")), (4, rows - 18, study.date.strftime("%d/%m/%Y"))]
            plant.labels.add(f"study_date:{study.key}")
            ink, band = (255, 0) if xa else ((255, 255, 0), (0, 0, 0))
            for b, t in zip(burn(img, texts, 11, ink, band), texts, strict=True):
                burned.append({"frame": f, "box": b, "text": fold(t[2])})
            frames.append(np.asarray(img))
        entry = self._entry(ds, series, kind, plant, text_free=False, boxes=burned,
                            retain=("Rows", "Columns", "NumberOfFrames", "FrameTime"))
        return _Built(ds, entry, np.stack(frames), syntax)

    def radiograph(self, series: Series, number: int, with_text: bool, syntax: str) -> _Built:
        """CR with the name burned in, or DX without text; BurnedInAnnotation absent."""
        study = series.study
        plant = Planter(study.donor, ascii_only=not with_text)
        cr = series.modality == "CR"
        sop = ComputedRadiographyImageStorage if cr else DigitalXRayImageStorageForPresentation
        kind = "cr" if cr else "dx"
        ds = self._base(series, sop, number, plant, ascii_only=not with_text)
        rows = cols = 192
        _mono(ds, rows, cols, 16, 12)
        ds.ImagerPixelSpacing = [0.2, 0.2]
        ds.BodyPartExamined = "CHEST"
        ds.ViewPosition = "PA"
        ds.KVP = "110"
        if not cr:
            ds.PresentationIntentType = "FOR PRESENTATION"
            ds.ImageType = ["ORIGINAL", "PRIMARY"]
        base = phantom(self.rng, rows, cols, 3000)
        burned = []
        if with_text:
            img = Image.fromarray(base.astype("i4"), "I")
            texts = [(4, 4, plant("name_pn")), (4, 20, f"{plant('mrn')} {plant('birth_slash')}")]
            boxes = burn(img, texts, 11, 4095, 0)
            burned = [{"frame": 0, "box": b, "text": fold(t[2])}
                      for b, t in zip(boxes, texts, strict=True)]
            base = np.asarray(img)
        frames = base.astype("u2")[None]
        entry = self._entry(ds, series, kind, plant, text_free=not with_text, boxes=burned,
                            retain=("Rows", "Columns", "ImagerPixelSpacing", "KVP",
                                    "BodyPartExamined", "ViewPosition"))
        return _Built(ds, entry, frames, syntax)

    # .. documents that reference images ...................................

    def seg(self, series: Series, ct: list[_Built]) -> _Built:
        """A binary Segmentation over CT slices: series, instance and per-frame source refs."""
        study = series.study
        plant = Planter(study.donor, ascii_only=False)
        ds = self._base(series, SegmentationStorage, 1, plant)
        first = ct[0].ds
        refs: list[dict[str, Any]] = []
        ds.ImageType = ["DERIVED", "PRIMARY"]
        ds.FrameOfReferenceUID = first.FrameOfReferenceUID
        refs.append(_ref(["FrameOfReferenceUID"], ct[0], "FrameOfReferenceUID"))
        ds.SegmentationType = "BINARY"
        ds.ContentLabel = "NODULO"
        ds.ContentDescription = plant.fill("Segmentación de {surnames}")
        ds.ContentCreatorName = plant("physician_pn")
        segment = Dataset()
        segment.SegmentNumber = 1
        segment.SegmentLabel = "Nódulo"
        segment.SegmentDescription = plant.fill("Nódulo señalado por {physician}")
        segment.SegmentAlgorithmType = "MANUAL"
        segment.SegmentedPropertyCategoryCodeSequence = Sequence([_code("M-01000", "SRT",
                                                                        "Morphologically "
                                                                        "Altered Structure")])
        segment.SegmentedPropertyTypeCodeSequence = Sequence([_code("M-03010", "SRT",
                                                                    "Nodule")])
        ds.SegmentSequence = Sequence([segment])
        ref_series = Dataset()
        ref_series.SeriesInstanceUID = first.SeriesInstanceUID
        refs.append(_ref(["ReferencedSeriesSequence", 0, "SeriesInstanceUID"], ct[0],
                         "SeriesInstanceUID"))
        instances, groups, masks = [], [], []
        for k, b in enumerate(ct):
            inst = Dataset()
            inst.ReferencedSOPClassUID = b.ds.SOPClassUID
            inst.ReferencedSOPInstanceUID = b.ds.SOPInstanceUID
            instances.append(inst)
            refs.append(_ref(["ReferencedSeriesSequence", 0, "ReferencedInstanceSequence", k,
                              "ReferencedSOPInstanceUID"], b, "SOPInstanceUID"))
            source = Dataset()
            source.ReferencedSOPClassUID = b.ds.SOPClassUID
            source.ReferencedSOPInstanceUID = b.ds.SOPInstanceUID
            source.PurposeOfReferenceCodeSequence = Sequence([_code("121322", "DCM",
                                                                    "Source image for image "
                                                                    "processing operation")])
            derivation = Dataset()
            derivation.SourceImageSequence = Sequence([source])
            derivation.DerivationCodeSequence = Sequence([_code("113076", "DCM",
                                                                "Segmentation")])
            refs.append(_ref(["PerFrameFunctionalGroupsSequence", k, "DerivationImageSequence",
                              0, "SourceImageSequence", 0, "ReferencedSOPInstanceUID"], b,
                             "SOPInstanceUID"))
            position = Dataset()
            position.ImagePositionPatient = b.ds.ImagePositionPatient
            ident = Dataset()
            ident.ReferencedSegmentNumber = 1
            group = Dataset()
            group.DerivationImageSequence = Sequence([derivation])
            group.PlanePositionSequence = Sequence([position])
            group.SegmentIdentificationSequence = Sequence([ident])
            groups.append(group)
            y, x = np.mgrid[0:first.Rows, 0:first.Columns]
            masks.append(np.hypot(y - first.Rows * 0.4, x - first.Columns * 0.6)
                         < first.Rows * 0.08)
        ref_series.ReferencedInstanceSequence = Sequence(instances)
        ds.ReferencedSeriesSequence = Sequence([ref_series])
        ds.PerFrameFunctionalGroupsSequence = Sequence(groups)
        _mono(ds, first.Rows, first.Columns, 1, 1)
        ds.NumberOfFrames = len(ct)
        ds.LossyImageCompression = "00"
        ds.PixelData = pack_bits(np.stack(masks).astype("u1").ravel())
        ds["PixelData"].VR = "OB"
        entry = self._entry(ds, series, "seg", plant, text_free=True,
                            retain=("Rows", "Columns", "NumberOfFrames", "SegmentationType"))
        entry["refs"] = refs
        return _Built(ds, entry, None, ExplicitVRLittleEndian)

    def rtstruct(self, series: Series, ct: list[_Built]) -> _Built:
        """An RT Structure Set over a CT series: references to study, series, slices, FoR."""
        study = series.study
        plant = Planter(study.donor, ascii_only=False)
        ds = self._base(series, RTStructureSetStorage, 1, plant)
        refs: list[dict[str, Any]] = []
        ds.StructureSetLabel = "RT TORAX"
        ds.StructureSetName = plant.fill("Plan {name_title}")[:64]
        ds.StructureSetDescription = plant.fill("Contornos revisados por {physician} para "
                                                "{name_title}, {hospital_short}.")
        ds.StructureSetDate = ds.StudyDate
        ds.StructureSetTime = ds.StudyTime
        first = ct[0].ds
        frame = Dataset()
        frame.FrameOfReferenceUID = first.FrameOfReferenceUID
        refs.append(_ref(["ReferencedFrameOfReferenceSequence", 0, "FrameOfReferenceUID"],
                         ct[0], "FrameOfReferenceUID"))
        rt_study = Dataset()
        rt_study.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
        rt_study.ReferencedSOPInstanceUID = first.StudyInstanceUID
        refs.append(_ref(["ReferencedFrameOfReferenceSequence", 0, "RTReferencedStudySequence",
                          0, "ReferencedSOPInstanceUID"], ct[0], "StudyInstanceUID"))
        rt_series = Dataset()
        rt_series.SeriesInstanceUID = first.SeriesInstanceUID
        refs.append(_ref(["ReferencedFrameOfReferenceSequence", 0, "RTReferencedStudySequence",
                          0, "RTReferencedSeriesSequence", 0, "SeriesInstanceUID"], ct[0],
                         "SeriesInstanceUID"))
        images = []
        for k, b in enumerate(ct):
            item = Dataset()
            item.ReferencedSOPClassUID = b.ds.SOPClassUID
            item.ReferencedSOPInstanceUID = b.ds.SOPInstanceUID
            images.append(item)
            refs.append(_ref(["ReferencedFrameOfReferenceSequence", 0,
                              "RTReferencedStudySequence", 0, "RTReferencedSeriesSequence", 0,
                              "ContourImageSequence", k, "ReferencedSOPInstanceUID"], b,
                             "SOPInstanceUID"))
        rt_series.ContourImageSequence = Sequence(images)
        rt_study.RTReferencedSeriesSequence = Sequence([rt_series])
        frame.RTReferencedStudySequence = Sequence([rt_study])
        ds.ReferencedFrameOfReferenceSequence = Sequence([frame])
        roi = Dataset()
        roi.ROINumber = 1
        roi.ReferencedFrameOfReferenceUID = first.FrameOfReferenceUID
        refs.append(_ref(["StructureSetROISequence", 0, "ReferencedFrameOfReferenceUID"], ct[0],
                         "FrameOfReferenceUID"))
        roi.ROIName = "GTV nódulo"
        roi.ROIDescription = plant.fill("Nódulo marcado por {physician}")
        roi.ROIGenerationAlgorithm = "MANUAL"
        ds.StructureSetROISequence = Sequence([roi])
        contours = []
        for k, b in enumerate(ct[:3]):
            c = Dataset()
            img = Dataset()
            img.ReferencedSOPClassUID = b.ds.SOPClassUID
            img.ReferencedSOPInstanceUID = b.ds.SOPInstanceUID
            refs.append(_ref(["ROIContourSequence", 0, "ContourSequence", k,
                              "ContourImageSequence", 0, "ReferencedSOPInstanceUID"], b,
                             "SOPInstanceUID"))
            c.ContourImageSequence = Sequence([img])
            c.ContourGeometricType = "CLOSED_PLANAR"
            z = float(b.ds.ImagePositionPatient[2])
            c.NumberOfContourPoints = 4
            c.ContourData = [0, 0, z, 5, 0, z, 5, 5, z, 0, 5, z]
            contours.append(c)
        rc = Dataset()
        rc.ReferencedROINumber = 1
        rc.ROIDisplayColor = [255, 0, 0]
        rc.ContourSequence = Sequence(contours)
        ds.ROIContourSequence = Sequence([rc])
        obs = Dataset()
        obs.ObservationNumber = 1
        obs.ReferencedROINumber = 1
        obs.RTROIInterpretedType = "GTV"
        obs.ROIInterpreter = plant("physician_pn")
        ds.RTROIObservationsSequence = Sequence([obs])
        entry = self._entry(ds, series, "rt", plant)
        entry["refs"] = refs
        return _Built(ds, entry, None, ImplicitVRLittleEndian)

    def sr(self, series: Series, images: list[_Built], syntax: str) -> _Built:
        """A Comprehensive SR with Spanish text (nested) and IMAGE references."""
        study = series.study
        plant = Planter(study.donor, ascii_only=False)
        ds = self._base(series, ComprehensiveSRStorage, 1, plant)
        refs: list[dict[str, Any]] = []
        ds.ValueType = "CONTAINER"
        ds.ConceptNameCodeSequence = Sequence([_code("18748-4", "LN", "Diagnostic imaging "
                                                                       "report")])
        ds.ContinuityOfContent = "SEPARATE"
        ds.CompletionFlag = "COMPLETE"
        ds.VerificationFlag = "VERIFIED"
        observer = Dataset()
        observer.VerifyingObserverName = plant("physician_pn")
        observer.VerifyingOrganization = plant("hospital")
        observer.VerificationDateTime = ds.StudyDate + "120000"
        observer.VerifyingObserverIdentificationCodeSequence = Sequence()
        ds.VerifyingObserverSequence = Sequence([observer])
        content = []
        findings = _text_item("121071", "Hallazgos", plant.fill(SR_FINDINGS))
        content.append(findings)
        pname = Dataset()
        pname.RelationshipType = "HAS OBS CONTEXT"
        pname.ValueType = "PNAME"
        pname.ConceptNameCodeSequence = Sequence([_code("121008", "DCM",
                                                        "Person Observer Name")])
        pname.PersonName = plant("physician_pn")
        content.append(pname)
        history = _container("121060", "Antecedentes")
        deeper = _container("121062", "Domicilio")
        deeper.ContentSequence = Sequence([_text_item("121106", "Comentario",
                                                      plant.fill(SR_DEEP))])
        history.ContentSequence = Sequence([_text_item("121060", "Historia",
                                                       plant.fill(HISTORY)), deeper])
        content.append(history)
        birth = Dataset()
        birth.RelationshipType = "HAS OBS CONTEXT"
        birth.ValueType = "DATE"
        birth.ConceptNameCodeSequence = Sequence([_code("121033", "DCM", "Subject Birth Date")])
        birth.Date = plant("birth_da")
        content.append(birth)
        by_series: dict[str, list[_Built]] = {}
        for b in images:
            item = Dataset()
            item.RelationshipType = "CONTAINS"
            item.ValueType = "IMAGE"
            item.ConceptNameCodeSequence = Sequence([_code("121080", "DCM", "Best illustration "
                                                                            "of finding")])
            sop = Dataset()
            sop.ReferencedSOPClassUID = b.ds.SOPClassUID
            sop.ReferencedSOPInstanceUID = b.ds.SOPInstanceUID
            item.ReferencedSOPSequence = Sequence([sop])
            refs.append(_ref(["ContentSequence", len(content), "ReferencedSOPSequence", 0,
                              "ReferencedSOPInstanceUID"], b, "SOPInstanceUID"))
            content.append(item)
            by_series.setdefault(b.ds.SeriesInstanceUID, []).append(b)
        ds.ContentSequence = Sequence(content)
        evidence = Dataset()
        evidence.StudyInstanceUID = images[0].ds.StudyInstanceUID
        refs.append(_ref(["CurrentRequestedProcedureEvidenceSequence", 0, "StudyInstanceUID"],
                         images[0], "StudyInstanceUID"))
        series_items = []
        for s, (_uid, members) in enumerate(by_series.items()):
            si = Dataset()
            si.SeriesInstanceUID = members[0].ds.SeriesInstanceUID
            refs.append(_ref(["CurrentRequestedProcedureEvidenceSequence", 0,
                              "ReferencedSeriesSequence", s, "SeriesInstanceUID"], members[0],
                             "SeriesInstanceUID"))
            sops = []
            for k, b in enumerate(members):
                sop = Dataset()
                sop.ReferencedSOPClassUID = b.ds.SOPClassUID
                sop.ReferencedSOPInstanceUID = b.ds.SOPInstanceUID
                refs.append(_ref(["CurrentRequestedProcedureEvidenceSequence", 0,
                                  "ReferencedSeriesSequence", s, "ReferencedSOPSequence", k,
                                  "ReferencedSOPInstanceUID"], b, "SOPInstanceUID"))
                sops.append(sop)
            si.ReferencedSOPSequence = Sequence(sops)
            series_items.append(si)
        evidence.ReferencedSeriesSequence = Sequence(series_items)
        ds.CurrentRequestedProcedureEvidenceSequence = Sequence([evidence])
        entry = self._entry(ds, series, "sr", plant)
        entry["refs"] = refs
        return _Built(ds, entry, None, syntax)

    # .. the whole corpus ..................................................

    def plan(self) -> list[_Built]:
        """Build every file of the corpus (two donors, five studies)."""
        a, b = DONORS
        ct_a, mr1, mr2, ct_b = _split_counts(self.n_files)
        studies = {
            "A1": Study(a, "A1", dt.date(2024, 1, 15), "103205",
                        "TAC de tórax control - {surnames}", "ISO_IR 100"),
            "A2": Study(a, "A2", dt.date(2024, 3, 2), "081500",
                        "RM de encéfalo simple, pac. {name_title}", "ISO_IR 192"),
            "A3": Study(a, "A3", dt.date(2024, 6, 20), "164010",
                        "USG abdominal {hospital_short}", "ISO_IR 100"),
            "B1": Study(b, "B1", dt.date(2023, 9, 10), "093000",
                        "Angiografía coronaria {name}", "ISO_IR 192"),
            "B2": Study(b, "B2", dt.date(2024, 2, 28), "121212",
                        "Endoscopía y TAC abdomen - {surnames}", "ISO_IR 100"),
        }
        for n, st in enumerate(studies.values()):
            st.uid = self.uid("study", st.key)
            st.accession = f"A{st.date.year}-{self.seed % 1000:03d}{n:04d}"

        def series(st: str, modality: str, number: int, desc: str) -> Series:
            s = Series(studies[st], modality, number, desc)
            s.uid = self.uid("series", st, number)
            s.frame_of_reference = self.uid("for", st, number)
            return s

        out: list[_Built] = []
        ct = self.cross_sectional(series("A1", "CT", 1, "Tórax 2.5 mm"), ct_a, 0)
        out += ct
        out.append(self.rtstruct(series("A1", "RTSTRUCT", 90, "Estructuras"), ct))
        out.append(self.seg(series("A1", "SEG", 92, "Segmentación"), ct[:2]))
        out.append(self.sr(series("A1", "SR", 91, "Reporte"), ct[:3],
                           DeflatedExplicitVRLittleEndian))
        out += self.cross_sectional(series("A2", "MR", 1, "T1 axial"), mr1, 2)
        out += self.cross_sectional(series("A2", "MR", 2, "T2 axial"), mr2, 5)
        us = self.ultrasound(series("A3", "US", 1, "Abdomen"), 3)
        out += us
        out.append(self.sr(series("A3", "SR", 91, "Reporte"), us, ExplicitVRLittleEndian))
        out.append(self.document(series("A3", "OT", 80, "Documento escaneado"),
                                 JPEGBaseline8Bit, 1))
        xa = series("B1", "XA", 1, "Coronaria izquierda")
        out.append(self.multiframe(xa, 1, RLELossless, 4))
        out.append(self.multiframe(xa, 2, JPEG2000Lossless, 3))
        out.append(self.radiograph(series("B1", "CR", 2, "Tórax PA"), 1, True, JPEGLSLossless))
        out.append(self.radiograph(series("B1", "DX", 3, "Tórax PA"), 1, False,
                                   JPEG2000Lossless))
        out.append(self.multiframe(series("B2", "ES", 1, "Esófago"), 1, JPEGBaseline8Bit, 3))
        out.append(self.document(series("B2", "OT", 80, "Hoja de referencia"),
                                 DeflatedExplicitVRLittleEndian, 1))
        ct2 = self.cross_sectional(series("B2", "CT", 2, "Abdomen 2.5 mm"), ct_b, 3)
        out += ct2
        out.append(self.sr(series("B2", "SR", 91, "Reporte"), ct2[:2] + [out[-2]],
                           ExplicitVRBigEndian))
        return out


def _mono(ds: Dataset, rows: int, cols: int, allocated: int, stored: int) -> None:
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = allocated, stored, stored - 1
    ds.PixelRepresentation = 0


def _rgb(ds: Dataset, rows: int, cols: int) -> None:
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "RGB"
    ds.PlanarConfiguration = 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    ds.PixelRepresentation = 0


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    code = Dataset()
    code.CodeValue = value
    code.CodingSchemeDesignator = scheme
    code.CodeMeaning = meaning
    return code


def _text_item(value: str, meaning: str, text: str) -> Dataset:
    item = Dataset()
    item.RelationshipType = "CONTAINS"
    item.ValueType = "TEXT"
    item.ConceptNameCodeSequence = Sequence([_code(value, "DCM", meaning)])
    item.TextValue = text
    return item


def _container(value: str, meaning: str) -> Dataset:
    item = Dataset()
    item.RelationshipType = "CONTAINS"
    item.ValueType = "CONTAINER"
    item.ContinuityOfContent = "SEPARATE"
    item.ConceptNameCodeSequence = Sequence([_code(value, "DCM", meaning)])
    return item


def _ref(path: list[str | int], target: _Built, attribute: str) -> dict[str, Any]:
    """A reference at ``path`` that must equal ``attribute`` of the target file."""
    return {"path": path, "target_uid": str(target.ds[attribute].value),
            "target_attribute": attribute}


# --------------------------------------------------------------------------- entry point

def generate_corpus(out_dir: Path | str, *, n_files: int = DEFAULT_FILES, seed: int = 0,
                    quiet: bool = False) -> Manifest:
    """Write a corpus of about ``n_files`` DICOM files with known PHI and return its manifest.

    Parameters
    ----------
    out_dir : path
        Folder to write into (created); files go to ``<donor>/<study>/<kind>_<n>.dcm`` and the
        manifest to ``manifest.json``.
    n_files : int
        Target size; at least 22 (one of each kind). The CT and MR series absorb the rest.
    seed : int
        Seed of UIDs, pixel noise and accession numbers; the same seed writes the same bytes.
    quiet : bool
        Do not print the transfer syntaxes skipped for lack of an encoder.

    Returns
    -------
    Manifest
        Per file: planted PHI labels, references, burned-in boxes, retained attributes.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    gen = _Generator(seed, n_files)
    missing = encoders_missing()
    manifest = Manifest(seed=seed, skipped_syntaxes={UID(k).name: v for k, v in missing.items()})
    if missing and not quiet:
        for uid, reason in missing.items():
            print(f"corpus: {UID(uid).name} written as Explicit VR Little Endian: {reason}")
    ids: dict[str, str] = {}
    for n, built in enumerate(gen.plan()):
        entry = built.entry
        entry["id"] = f"{n:04d}"
        rel = Path(entry["donor"]) / entry["study"] / f"{n:04d}_{entry['kind']}.dcm"
        entry["path"] = rel.as_posix()
        ids[entry["sop_instance_uid"]] = entry["id"]
        if built.frames is not None:
            entry["transfer_syntax"] = store_frames(built.ds, built.frames, built.syntax,
                                                    missing)
        else:
            built.ds.file_meta.TransferSyntaxUID = built.syntax
            entry["transfer_syntax"] = built.syntax
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        built.ds.save_as(out / rel, enforce_file_format=True)
        manifest.files.append(entry)
    for entry in manifest.files:
        for ref in entry["refs"]:
            ref["target"] = _target_of(ref, manifest.files)
    for donor in DONORS:
        manifest.donors[donor.key] = {"phi": donor_catalog(donor),
                                      "birth_date": donor.birth.strftime("%Y%m%d")}
    manifest.save(out / MANIFEST_NAME)
    return manifest


def _target_of(ref: dict[str, Any], files: list[dict[str, Any]]) -> str:
    """The id of a file whose ``target_attribute`` equals the referenced UID."""
    key = {"SOPInstanceUID": "sop_instance_uid", "SeriesInstanceUID": "series_instance_uid",
           "StudyInstanceUID": "study_instance_uid",
           "FrameOfReferenceUID": "frame_of_reference_uid"}[ref["target_attribute"]]
    for f in files:
        if f[key] == ref["target_uid"]:
            return f["id"]
    raise LookupError(f"reference {ref['path']} has no target in the corpus")


if __name__ == "__main__":  # pragma: no cover - manual use
    import sys

    m = generate_corpus(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("bench/out/deid/corpus"))
    print(f"{len(m.files)} files")
