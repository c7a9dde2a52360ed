"""A synthetic CT series with planted synthetic PHI, the same bytes for the same arguments.

Built from pydicom's ``CT_small.dcm`` (128x128, signed 16-bit, explicit VR little endian):
its pixels are scaled up to ``size`` x ``size`` and shifted per slice so that no two files
are alike; one StudyInstanceUID and SeriesInstanceUID, one SOPInstanceUID per file, all
derived from the seed. The patient, institution and physician attributes, and a Spanish
note naming every fact (CURP, RFC, NSS, e-mail...), come from :mod:`client.synthetic`.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from client.synthetic import Person, people


def _uid(seed: int, *parts: object) -> str:
    return generate_uid(entropy_srcs=["traza-bench-pipeline", str(seed), *map(str, parts)])


def series_person(seed: int) -> Person:
    """The invented patient whose PHI the series carries."""
    return people(seed, 1)[0]


def series_bytes(n_files: int, *, size: int = 512, seed: int = 0) -> list[bytes]:
    """Encode the ``n_files`` files of the series, in slice order."""
    if n_files < 1 or size < 16:
        raise ValueError("a series needs at least one file of at least 16x16 pixels")
    template = dcmread(get_testdata_file("CT_small.dcm"))
    base = template.pixel_array.astype(np.int32)
    reps = -(-size // base.shape[0])
    big = np.kron(base, np.ones((reps, reps), dtype=np.int32))[:size, :size]
    study, series, frame = _uid(seed, "study"), _uid(seed, "series"), _uid(seed, "frame")
    attrs = series_person(seed).dicom_attributes()
    spacing = float(template.PixelSpacing[0]) * base.shape[0] / size
    out = []
    for i in range(n_files):
        ds = template.copy()
        ds.SpecificCharacterSet = "ISO_IR 192"
        for keyword, value in attrs.items():
            setattr(ds, keyword, value)
        sop = _uid(seed, "sop", i)
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.SOPInstanceUID = sop
        ds.file_meta.MediaStorageSOPInstanceUID = sop
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.InstanceNumber = i + 1
        z = round(-float(template.SliceThickness) * i, 3)
        ds.ImagePositionPatient = [-0.5 * size * spacing, -0.5 * size * spacing, z]
        ds.SliceLocation = z
        ds.Rows = ds.Columns = size
        ds.PixelSpacing = [round(spacing, 6), round(spacing, 6)]
        # A different offset per slice: every file, and every de-identified output, differs.
        pixels = np.clip(big + (i * 7) % 251 - 125, -32768, 32767).astype(np.int16)
        ds.PixelData = pixels.tobytes()
        buf = io.BytesIO()
        ds.save_as(buf, enforce_file_format=True)
        out.append(buf.getvalue())
    return out


def write_series(folder: Path, n_files: int, *, size: int = 512, seed: int = 0) -> list[Path]:
    """Write the series as ``folder/000000.dcm`` ...; returns the paths in slice order."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, data in enumerate(series_bytes(n_files, size=size, seed=seed)):
        path = folder / f"{i:06d}.dcm"
        path.write_bytes(data)
        paths.append(path)
    return paths
