"""The de-identification markers, encoded once per profile and transfer syntax.

References
----------
PS3.3 C.7.1.1 (Patient Identity Removed), C.12.1 (SOP Common: de-identification
attributes, Longitudinal Temporal Information Modified); PS3.16 CID 7050.
"""

from __future__ import annotations

import functools

from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_dataset
from pydicom.uid import UID, ExplicitVRLittleEndian

from anonymizer.profile import Option, Profile, codes

# Markers written by the engine (PS3.3 C.12.1 / C.7.1.1); never acted on by the walk.
MARKERS = frozenset({0x00120062, 0x00120063, 0x00120064, 0x00280303, 0x00280301})


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
