"""A multi-series CT study of a synthetic person, and a C-STORE SCU that pushes it.

The person comes from :mod:`client.synthetic`; the study is what a hospital PACS would send
(names, ids, institution and AE title planted). :func:`push` is pynetdicom's SCU;
:func:`stow` a DICOMweb STOW-RS client.
"""

from __future__ import annotations

import http.client
import io
import json
import socket
import ssl
from collections.abc import Sequence

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filewriter import dcmwrite
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


BOUNDARY = "traza-test-boundary"


def part10(ds: Dataset) -> bytes:
    """``ds`` as a PS3.10 file."""
    buf = io.BytesIO()
    dcmwrite(buf, ds, enforce_file_format=True)
    return buf.getvalue()


def multipart(parts: Sequence[bytes]) -> bytes:
    """A ``multipart/related`` body of ``application/dicom`` parts."""
    out = b""
    for p in parts:
        out += f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode() + p + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def stow(port: int, body: bytes, content_type: str | None = None) -> tuple[int, dict]:
    """POST ``body`` to ``/studies``: the HTTP status and the DICOM JSON answer."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", "/studies", body=body, headers={"Content-Type": content_type or (
        f'multipart/related; type="application/dicom"; boundary={BOUNDARY}')})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, json.loads(data) if data else {}
