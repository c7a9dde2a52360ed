"""De-identify files, folders and zip archives: the Python API behind ``traza deid``.

``deidentify_file`` does one file; ``run`` does many across processes, keeping relative names
and going on past bad files. Nothing is ever half-written: each output goes to a temporary
file in the destination folder and is renamed into place (``os.replace``) only when complete.
"""

from __future__ import annotations

import gc
import hashlib
import io
import os
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.errors import InvalidDicomError
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset, write_file_meta_info
from pydicom.uid import UID, DeflatedExplicitVRLittleEndian

from anonymizer.dicom import Context, deidentify_dataset
from anonymizer.engines import Engines, default_engines
from anonymizer.errors import DeidError, InputError, UnsupportedTransferSyntax
from anonymizer.files import atomic_write
from anonymizer.profile import EDITION, Option, Profile, get_profile
from anonymizer.report import Report, to_json
from anonymizer.report import sha256 as report_sha256

UNDEFINED_LENGTH = 0xFFFFFFFF
# (FFFE,E0DD) Sequence Delimitation Item with zero length, little and big endian.
SEQUENCE_DELIMITERS = (b"\xfe\xff\xdd\xe0\0\0\0\0", b"\xff\xfe\xe0\xdd\0\0\0\0")
# Files above this size are refused (a DICOM object this big is a multi-GB cine or a mistake).
DEFAULT_MAX_BYTES = 2 * 1024**3


def _read(data: bytes, name: str) -> pydicom.FileDataset:
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
    return ds


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


def deidentify_bytes(
    data: bytes,
    *,
    profile: str | Profile = "library",
    secret: bytes,
    donor: str,
    name: str = "<bytes>",
    engines: Engines | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> tuple[bytes, Report]:
    """Return the de-identified Part 10 bytes of ``data`` and the action report.

    Raises
    ------
    InputError, UnsupportedTransferSyntax, PixelCleaningError, DeidError
        With a message naming ``name`` and the problem (never a value from the file).
    """
    if not secret:
        raise DeidError("a non-empty secret is required")
    if len(data) > max_bytes:
        raise InputError(f"{name}: {len(data)} bytes is over the limit of {max_bytes}")
    prof = get_profile(profile)
    engines = engines if engines is not None else default_engines()
    ds = _read(data, name)
    report = Report(prof.id, prof.version, EDITION, input_sha256=hashlib.sha256(data).hexdigest())
    ctx = Context(prof, secret, donor, report, engines)
    try:
        deidentify_dataset(ds, ctx)
    except DeidError as exc:
        raise type(exc)(f"{name}: {exc}") from None
    except Exception as exc:
        # Values are decoded lazily during the walk: a malformed one surfaces here.
        raise InputError(f"{name}: malformed DICOM ({type(exc).__name__})") from None
    try:
        out = encode(ds)
    except Exception as exc:
        raise DeidError(f"{name}: cannot encode the result ({type(exc).__name__})") from None
    report.output_sha256 = hashlib.sha256(out).hexdigest()
    return out, report


def deidentify_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    profile: str | Profile = "library",
    secret: bytes,
    donor: str,
    engines: Engines | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Report:
    """De-identify the DICOM file ``src`` into ``dst``; return the action report.

    ``dst`` appears only complete (temporary file + rename); on error nothing is written.

    Parameters
    ----------
    src, dst
        Input and output paths (must differ).
    profile
        A profile name (``"library"``, ``"basic"``) or a :class:`Profile`.
    secret
        Key of the keyed hashes (UIDs, PatientID pseudonym, date offset). Keep it secret and
        stable: the same secret and donor give the same UIDs and dates in every file.
    donor
        The donor (or donation) id that scopes the consistency.
    """
    src, dst = Path(src), Path(dst)
    name = src.name
    if src.resolve() == dst.resolve():
        raise DeidError(f"{name}: output would overwrite the input")
    try:
        size = src.stat().st_size
    except OSError as exc:
        raise InputError(f"{name}: cannot read ({exc.strerror})") from None
    if size > max_bytes:
        raise InputError(f"{name}: {size} bytes is over the limit of {max_bytes}")
    out, report = deidentify_bytes(
        src.read_bytes(), profile=profile, secret=secret, donor=donor, name=name,
        engines=engines, max_bytes=max_bytes,
    )
    atomic_write(dst, out)
    return report


@dataclass(frozen=True)
class FileResult:
    """The outcome for one input file: its relative name and report, or its error."""

    name: str
    report: dict[str, Any] | None = None
    report_sha256: str | None = None
    summary_es: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True if the file was de-identified."""
        return self.error is None


@dataclass
class RunResult:
    """All outcomes of :func:`run`, in input order."""

    results: list[FileResult] = field(default_factory=list)

    @property
    def failed(self) -> list[FileResult]:
        """The files that could not be de-identified."""
        return [r for r in self.results if not r.ok]

    @property
    def ok(self) -> bool:
        """True if every file was de-identified."""
        return not self.failed


def _job(args: tuple[Any, ...]) -> FileResult:
    src, rel, dst, report_path, profile, secret, donor, max_bytes, engines = args
    # Reference counting frees a file's objects as it goes (the engine makes no cycles):
    # the cyclic collector's passes during a file found nothing and cost 4% of its time.
    # It runs again between files, for whatever cycle a failed file's traceback left.
    collecting = gc.isenabled()
    gc.disable()
    try:
        report = deidentify_file(src, dst, profile=profile, secret=secret, donor=donor,
                                 max_bytes=max_bytes, engines=engines)
    except DeidError as exc:
        return FileResult(rel, error=str(exc))
    except Exception as exc:  # one bad file must not stop the others
        return FileResult(rel, error=f"{rel}: unexpected {type(exc).__name__}")
    finally:
        if collecting:
            gc.enable()
    data = report.to_dict()
    if report_path:
        atomic_write(report_path, to_json(data))
    return FileResult(rel, data, report_sha256(data), report.summary_es())


def _safe_member(name: str) -> PurePosixPath | None:
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts or name.endswith("/"):
        return None
    return p


def collect_inputs(src: Path, tmp: Path, max_bytes: int = DEFAULT_MAX_BYTES,
                   ) -> tuple[list[tuple[Path, str]], list[FileResult]]:
    """Return (path, relative name) pairs to process, and errors for refused zip members.

    ``src`` is a file, a folder (walked recursively, in name order) or a zip, whose members
    are extracted under ``tmp`` after their names and sizes are checked.
    """
    if src.is_dir():
        files = sorted(p for p in src.rglob("*") if p.is_file())
        return [(p, p.relative_to(src).as_posix()) for p in files], []
    if zipfile.is_zipfile(src):
        items, errors = [], []
        with zipfile.ZipFile(src) as zf:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                rel = _safe_member(info.filename)
                if rel is None:
                    errors.append(FileResult(info.filename, error="unsafe path in zip, skipped"))
                    continue
                if info.file_size > max_bytes:
                    # Checked before extracting, so a zip bomb never reaches the disk.
                    errors.append(FileResult(rel.as_posix(), error=(
                        f"{rel.as_posix()}: {info.file_size} bytes is over the limit of "
                        f"{max_bytes}")))
                    continue
                target = tmp / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                written = 0
                with zf.open(info) as f, target.open("wb") as out:
                    while written <= max_bytes and (chunk := f.read(1 << 20)):
                        written += len(chunk)
                        out.write(chunk)
                if written > max_bytes:  # the header's size was a lie
                    target.unlink()
                    errors.append(FileResult(rel.as_posix(), error=(
                        f"{rel.as_posix()}: over the limit of {max_bytes} bytes")))
                    continue
                items.append((target, rel.as_posix()))
        return items, errors
    if src.is_file():
        return [(src, src.name)], []
    raise InputError(f"{src.name}: no such file, folder or zip")


def run(
    inputs: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    profile: str | Profile = "library",
    report_dir: str | os.PathLike[str] | None = None,
    jobs: int | None = None,
    secret: bytes,
    donor: str,
    max_bytes: int = DEFAULT_MAX_BYTES,
    engines: Engines | None = None,
    progress: Callable[[FileResult], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    executor: Executor | None = None,
) -> RunResult:
    """De-identify a file, a folder (recursively) or a zip into ``output``.

    Output names are the inputs' names relative to ``inputs`` (for a single file, ``output``
    is the file to write unless it is an existing folder). Reports go to
    ``report_dir/<name>.json``. Files are spread over ``jobs`` processes (default: all
    cores); a file that fails gets its error in the result and the others go on.
    ``engines`` (picklable, e.g. module-level functions) replaces :func:`default_engines`.
    ``executor`` runs the files instead of a new pool of ``jobs`` processes, and is left
    open: several donations in a row share its workers, whose OCR engine is then loaded
    once (``with ProcessPoolExecutor(n) as pool: run(..., executor=pool)``).
    """
    prof = get_profile(profile)
    # Loaded here, before any worker starts: forked workers inherit the imported engines
    # instead of importing them each.
    engines = engines if engines is not None else default_engines()
    src, out = Path(inputs), Path(output)
    reports = Path(report_dir) if report_dir else None
    jobs = max(1, jobs or os.cpu_count() or 1)
    with tempfile.TemporaryDirectory(prefix="traza-deid-") as tmp:
        items, refused = collect_inputs(src, Path(tmp), max_bytes)
        single = src.is_file() and not zipfile.is_zipfile(src)
        work = []
        for path, rel in items:
            dst = out / rel if not single or out.is_dir() else out
            rep = str(reports / f"{rel}.json") if reports else None
            work.append((str(path), rel, str(dst), rep, prof, secret, donor, max_bytes, engines))
        if on_start:
            on_start(len(work) + len(refused))
        results = {r.name: r for r in refused}
        for r in refused:
            if progress:
                progress(r)
        preload = engines.preload if prof.has(Option.CLEAN_PIXEL_DATA) else None
        for r in _execute(work, jobs, executor, preload):
            results[r.name] = r
            if progress:
                progress(r)
    order = [r.name for r in refused] + [w[1] for w in work]
    return RunResult([results[n] for n in order])


def _execute(work: list[tuple[Any, ...]], jobs: int, executor: Executor | None = None,
             preload: Callable[[], None] | None = None) -> Iterable[FileResult]:
    if preload and (executor is not None or (jobs > 1 and len(work) > 1)):
        preload()  # here, once, rather than in every worker forked from this process
    if executor is not None:
        yield from _gather(executor, work)
        return
    if jobs == 1 or len(work) <= 1:
        for args in work:
            yield _job(args)
        return
    with ProcessPoolExecutor(max_workers=min(jobs, len(work))) as pool:
        yield from _gather(pool, work)


def _size(args: tuple[Any, ...]) -> int:
    try:
        return os.stat(args[0]).st_size
    except OSError:
        return 0  # the job reports the error


def _gather(pool: Executor, work: list[tuple[Any, ...]]) -> Iterable[FileResult]:
    # Forked workers start from the parent's objects (tables, lexicons, pydicom's
    # dictionaries). Frozen while the workers fork, the garbage collector in a worker
    # never walks them: no CPU spent on them, no copy of their memory pages.
    gc.freeze()
    try:
        # Biggest files first: one big file left for the end would keep one worker busy
        # while the others wait (longest-processing-time-first scheduling).
        futures = [pool.submit(_job, args) for args in sorted(work, key=_size, reverse=True)]
    finally:
        gc.unfreeze()
    for fut in as_completed(futures):
        yield fut.result()
