"""Bringing originals in and de-identifying them without plaintext names or lasting files.

Inputs (a DICOM file, a folder or a zip) are read into memory and checked to be DICOM before
anything is staged; their names are never kept (they can carry a patient's name). The
anonymizer works on files, so de-identification decrypts a donation's originals into a
private (0700) scratch folder in memory (``/dev/shm`` where there is one), named by position
only, and removes it when done, whatever happens.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydicom.misc import is_dicom

from anonymizer.errors import DeidError
from anonymizer.files import private_dir
from anonymizer.pipeline import DEFAULT_MAX_BYTES, collect_inputs, run

from .errors import InvalidInput

SCRATCH = Path("/dev/shm")


@dataclass(frozen=True)
class Deidentified:
    """One de-identified file: its bytes, its action report and the report's hash."""

    data: bytes
    report: dict[str, Any]
    report_sha256: str
    summary_es: str


def summed_counts(outputs: Sequence[Deidentified]) -> dict[str, int]:
    """The action counts of several files' reports added up (``pixel_checked``: files).

    What :func:`anonymizer.report.summary_es` reads; counts only, no value of any file.
    """
    total: dict[str, int] = {}
    for o in outputs:
        for name, n in (o.report.get("counts") or {}).items():
            total[name] = total.get(name, 0) + int(n)
        total["pixel_checked"] = total.get("pixel_checked", 0) + bool(o.report.get(
            "pixel_checked"))
    return total


@contextmanager
def scratch() -> Iterator[Path]:
    """A private temporary folder, in memory where possible, removed on exit."""
    base = SCRATCH if SCRATCH.is_dir() and os.access(SCRATCH, os.W_OK) else None
    path = Path(tempfile.mkdtemp(prefix="traza-", dir=base))
    try:
        private_dir(path)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def read_inputs(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[bytes]:
    """Yield the bytes of each DICOM file in ``path`` (file, folder or zip), in name order.

    Raises
    ------
    client.errors.InvalidInput
        If ``path`` does not exist, a member is refused (unsafe name, over the size limit)
        or a file is not DICOM; the message names the file by its position, not its name.
    """
    if not path.exists():
        raise InvalidInput(f"{path}: no such file, folder or zip")
    with scratch() as tmp:
        try:
            items, refused = collect_inputs(path, tmp, max_bytes)
        except DeidError as exc:  # a refused zip: the message names members by position
            raise InvalidInput(str(exc)) from None
        if refused:
            raise InvalidInput(f"{len(refused)} input files refused: "
                               + "; ".join(r.error or "" for r in refused[:3]))
        for i, (file, _) in enumerate(items, 1):
            if not is_dicom(file):
                raise InvalidInput(f"input file {i} of {len(items)} is not DICOM "
                                   "(no DICM prefix at byte 128)")
            yield file.read_bytes()


def deidentify_staged(originals: Sequence[bytes], *, secret: bytes, donor: str,
                      profile: str = "library", jobs: int | None = None) -> list[Deidentified]:
    """De-identify ``originals`` (in memory) with the anonymizer; results in input order.

    Raises
    ------
    client.errors.InvalidInput
        If any file fails; the message names files by position.
    """
    with scratch() as tmp:
        src, out, rep = tmp / "in", tmp / "out", tmp / "reports"
        for d in (src, out, rep):
            private_dir(d)
        names = [f"{i:06d}.dcm" for i in range(len(originals))]
        for name, data in zip(names, originals, strict=True):
            (src / name).write_bytes(data)
        # The names are our own positions (no personal data), kept to find each output.
        result = run(src, out, report_dir=rep, secret=secret, donor=donor, profile=profile,
                     jobs=jobs, keep_names=True)
        if not result.ok:
            errors = "; ".join(r.error or r.name for r in result.failed[:3])
            raise InvalidInput(f"{len(result.failed)} of {len(originals)} files could not be "
                               f"de-identified: {errors}")
        by_name = {r.name: r for r in result.results}
        done = []
        for name in names:
            r = by_name[name]
            done.append(Deidentified((out / name).read_bytes(), r.report or {},
                                     r.report_sha256 or "", r.summary_es or ""))
        return done

