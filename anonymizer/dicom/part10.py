"""Part 10 bytes in and out: strict reading (truncation caught) and writing in the file's syntax.

pydicom reads much that is broken without complaint; :func:`read` refuses what would make
the de-identification unsure (no DICM prefix, a value cut short, stray bytes, pixel data
shorter than the image), with an :class:`~anonymizer.errors.InputError` that names the
file, never a value. :func:`encode` writes the result.
"""

from __future__ import annotations

import io
import warnings
import zlib

import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.errors import InvalidDicomError
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset, write_file_meta_info
from pydicom.uid import UID, DeflatedExplicitVRLittleEndian

from anonymizer.errors import InputError, UnsupportedTransferSyntax

__all__ = ["encode", "read"]

UNDEFINED_LENGTH = 0xFFFFFFFF
# (FFFE,E0DD) Sequence Delimitation Item with zero length, little and big endian.
SEQUENCE_DELIMITERS = (b"\xfe\xff\xdd\xe0\0\0\0\0", b"\xff\xfe\xe0\xdd\0\0\0\0")


def read(data: bytes, name: str) -> pydicom.FileDataset:
    """Return the data set of Part 10 ``data``; raise InputError naming ``name`` if unsure."""
    if not data:
        raise InputError(f"{name}: empty file")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ds = pydicom.dcmread(io.BytesIO(data), force=False)
    except InvalidDicomError:
        raise InputError(f"{name}: not a DICOM Part 10 file (no DICM prefix)") from None
    except Exception as exc:
        raise InputError(f"{name}: truncated or malformed DICOM ({type(exc).__name__})") from None
    try:
        _check(ds, name, data, caught)
    except InputError:
        raise
    except Exception as exc:
        # pydicom decodes values lazily: a malformed one (unknown VR, a UID that is not
        # text) surfaces in the checks; found by bench/fuzz.
        raise InputError(f"{name}: malformed DICOM ({type(exc).__name__})") from None
    return ds


def _check(ds: pydicom.FileDataset, name: str, data: bytes,
           caught: list[warnings.WarningMessage]) -> None:
    meta = getattr(ds, "file_meta", None)
    ts = getattr(meta, "TransferSyntaxUID", None)
    if ts is None:
        raise InputError(f"{name}: file meta has no Transfer Syntax UID")
    if not UID(ts).is_transfer_syntax:
        raise UnsupportedTransferSyntax(f"{name}: unknown transfer syntax {ts}")
    if not ds.keys():
        raise InputError(f"{name}: no data set after the file meta (truncated?)")
    if any("end of file" in str(w.message).lower() for w in caught):
        raise InputError(f"{name}: truncated (end of file inside a sequence)")
    _check_lengths(ds, name, len(data), data[-8:])
    image = "Rows" in ds or "Image Storage" in UID(ds.get("SOPClassUID", "")).name
    if image and not ({0x7FE00010, 0x7FE00008, 0x7FE00009} & set(ds.keys())):
        raise InputError(f"{name}: image without pixel data (truncated?)")
    if "PixelData" in ds and not UID(ts).is_encapsulated:
        from pydicom.pixels.utils import get_expected_length

        try:
            expected = get_expected_length(ds)
        except Exception:
            expected = 0
        if len(ds.PixelData) < expected:
            raise InputError(f"{name}: truncated pixel data")


def _check_lengths(ds: pydicom.Dataset, name: str, size: int, data_tail: bytes) -> None:
    # pydicom reads a value cut short by the end of the file without complaint, and stops
    # quietly on a partial element header: both mean the file is truncated.
    end = 0
    for tag in list(ds.keys()):
        raw = ds.get_item(tag)
        if not isinstance(raw, RawDataElement) or raw.length == UNDEFINED_LENGTH:
            end = -1  # undefined length: its end is not known from the header
            continue
        if raw.value is not None and len(raw.value) < raw.length:
            raise InputError(f"{name}: truncated at element {tag} (value cut short)")
        end = raw.value_tell + raw.length
    if 0 < end < size:
        raise InputError(f"{name}: truncated ({size - end} stray bytes after the last element)")
    if end == -1 and data_tail not in SEQUENCE_DELIMITERS:
        raise InputError(f"{name}: truncated (last sequence or pixel data not terminated)")


def encode(ds: pydicom.FileDataset) -> bytes:
    """Return ``ds`` as Part 10 bytes in its file meta's transfer syntax.

    What ``dcmwrite(enforce_file_format=True)`` does, less its deep copy of the file meta
    (the data set is ours to change) and its guessing of the encoding: pixel cleaning may
    have moved a big endian file to little endian, so the encoding comes from the syntax.
    """
    meta = ds.file_meta
    ts = meta.TransferSyntaxUID
    if ds.get("SOPInstanceUID"):
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    if ds.get("SOPClassUID"):
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
    if "PixelData" in ds:  # PS3.5 A.4: encapsulated pixel data has undefined length
        ds["PixelData"].is_undefined_length = ts.is_compressed
    fp = DicomBytesIO()
    fp.write(b"\0" * 128 + b"DICM")  # the walk zeroed any other preamble
    write_file_meta_info(fp, meta, enforce_standard=True)
    body = DicomBytesIO()
    body.is_implicit_VR, body.is_little_endian = ts.is_implicit_VR, ts.is_little_endian
    write_dataset(body, ds)
    data = body.getvalue()
    if ts == DeflatedExplicitVRLittleEndian:  # PS3.5 A.5: the whole body deflated
        deflater = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        data = deflater.compress(data) + deflater.flush()
        data += b"\0" * (len(data) % 2)
    return fp.getvalue() + data
