"""A multi-series CT study of a synthetic person, and a C-STORE SCU that pushes it.

The person comes from :mod:`client.synthetic`; the study is what a hospital PACS would send
(names, ids, institution and AE title planted). :func:`push` is pynetdicom's SCU.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Sequence

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from client.synthetic import Person


def study(person: Person, *, series: int = 2, per_series: int = 3,
          study_uid: str | None = None) -> list[Dataset]:
    """``series`` x ``per_series`` CT instances of one study with ``person``'s data planted."""
    study_uid = study_uid or generate_uid()
    out = []
    for s in range(series):
        series_uid = generate_uid()
        for i in range(per_series):
            ds = Dataset()
            ds.file_meta = FileMetaDataset()
            ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ds.SOPClassUID = CTImageStorage
            ds.SOPInstanceUID = generate_uid()
            ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
            for keyword, value in person.dicom_attributes().items():
                setattr(ds, keyword, value)
            ds.SpecificCharacterSet = "ISO_IR 192"
            ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "CT", s + 1, i + 1
            ds.StudyDate, ds.StudyTime = "20240105", "101500"
            ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
            ds.Rows = ds.Columns = 16
            ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
            ds.PixelData = (np.arange(256, dtype=np.uint16) * (i + 1)).tobytes()
            out.append(ds)
    return out


def push(datasets: Sequence[Dataset], port: int, *, called: str = "TRAZA",
         calling: str = "HOSPITALPACS", tls: tuple[ssl.SSLContext, str] | None = None,
         abort: bool = False) -> list[int]:
    """C-STORE every data set in one association; the statuses, or [] if not associated.

    ``abort``: end with an A-ABORT instead of a release (a sender that failed midway).
    """
    ae = AE(ae_title=calling)
    ae.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
    assoc = ae.associate("127.0.0.1", port, ae_title=called, tls_args=tls)
    if not assoc.is_established:
        return []
    # as PACS senders do: without it Nagle holds each data set PDU for the SCP's delayed
    # ACK (about 18 instead of 150 instances/s on loopback)
    assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        return [int(assoc.send_c_store(ds).Status) for ds in datasets]
    finally:
        if abort:
            assoc.abort()
        else:
            assoc.release()


def echo(port: int, *, called: str = "TRAZA", tls: tuple[ssl.SSLContext, str] | None = None
         ) -> int | None:
    """C-ECHO status, or None when the association is refused."""
    ae = AE(ae_title="HOSPITALPACS")
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", port, ae_title=called, tls_args=tls)
    if not assoc.is_established:
        return None
    try:
        return int(assoc.send_c_echo().Status)
    finally:
        assoc.release()
