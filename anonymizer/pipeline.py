"""De-identify files, folders and zip archives: the Python API behind ``traza deid``.

``deidentify_file`` does one file; ``run`` does many across processes, keeping relative names
and going on past bad files. Nothing is ever half-written: each output goes to a temporary
file in the destination folder and is renamed into place (``os.replace``) only when complete.
"""

from __future__ import annotations

import gc
import hashlib
import os
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydicom

from anonymizer import archive, known_values
from anonymizer.archive import ZipLimits
from anonymizer.dicom import Context, deidentify_dataset
from anonymizer.dicom.part10 import encode, read
from anonymizer.engines import Engines, default_engines
from anonymizer.errors import DeidError, InputError
from anonymizer.files import atomic_write
from anonymizer.known_values import KnownValues
from anonymizer.profile import EDITION, Option, Profile, get_profile
from anonymizer.report import Report, to_json
from anonymizer.report import sha256 as report_sha256
from anonymizer.uids import UIDMapper

# Files above this size are refused (a DICOM object this big is a multi-GB cine or a mistake).
DEFAULT_MAX_BYTES = 2 * 1024**3


def deidentify_bytes(
    data: bytes,
    *,
    profile: str | Profile = "library",
    secret: bytes,
    donor: str | None,
    name: str = "<bytes>",
    engines: Engines | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    known: KnownValues | None = None,
    known_complete: bool = False,
) -> tuple[bytes, Report]:
    """Return the de-identified Part 10 bytes of ``data`` and the action report.

    ``donor`` scopes UIDs, the pseudonym and the date offset; None scopes them by the file's
    original patient (:func:`patient_scope`). ``known`` adds identifying values from other
    files (the donor's other headers) to the file's own; ``known_complete`` says it already
    holds the file's own too (the first pass read them), so they are not collected again.

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
    ds = read(data, name)
    report = Report(prof.id, prof.version, EDITION, input_sha256=hashlib.sha256(data).hexdigest())
    scope = donor if donor is not None else patient_scope(ds)
    ctx = Context(prof, secret, scope, report, engines, known=known,
                  known_complete=known_complete)
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


def patient_scope(ds: pydicom.Dataset) -> str:
    """Return the scope of a file without a donor: its original patient.

    Keyed by PatientID and IssuerOfPatientID (PS3.3 C.7.1.1: an ID is unique only within
    its issuer), so two patients with the same number at two hospitals stay apart. Files
    without a PatientID share one scope. The scope never leaves the process: it is only
    hashed under the secret.
    """
    def text(keyword: str) -> str:
        try:
            return str(ds.get(keyword, "") or "").strip()
        except Exception:  # noqa: BLE001 - an undecodable value is as good as none
            return ""

    return f"patient\0{text('IssuerOfPatientID')}\0{text('PatientID')}"


def deidentify_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    profile: str | Profile = "library",
    secret: bytes,
    donor: str | None,
    engines: Engines | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    known: KnownValues | None = None,
    name: str | None = None,
    known_complete: bool = False,
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
        The donor (or donation) id that scopes the consistency; None: the file's patient.
    known
        Identifying values from the donor's other files (see :func:`collect_known`).
    name
        How errors name the file (default: its file name).
    """
    src, dst = Path(src), Path(dst)
    name = name or src.name
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
        engines=engines, max_bytes=max_bytes, known=known, known_complete=known_complete,
    )
    atomic_write(dst, out)
    return report


@dataclass(frozen=True)
class FileResult:
    """The outcome for one input file: its relative name and report, or its error.

    ``name`` is the input's name relative to the input folder (for the caller, who gave
    it); ``output`` is the name written under the output folder; ``error`` names the file
    by its position unless the run was verbose.
    """

    name: str
    report: dict[str, Any] | None = None
    report_sha256: str | None = None
    summary_es: str | None = None
    error: str | None = None
    output: str | None = None

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


@dataclass(frozen=True)
class _Work:
    """One file's job, as sent to a worker process."""

    src: str
    rel: str
    label: str
    dst: str
    report_path: str | None
    output: str
    profile: Profile
    secret: bytes
    scope: str | None
    max_bytes: int
    engines: Engines
    known: KnownValues | None
    known_complete: bool = False


def _job(w: _Work) -> FileResult:
    # Reference counting frees a file's objects as it goes (the engine makes no cycles):
    # the cyclic collector's passes during a file found nothing and cost 4% of its time.
    # It runs again between files, for whatever cycle a failed file's traceback left.
    collecting = gc.isenabled()
    gc.disable()
    try:
        report = deidentify_file(w.src, w.dst, profile=w.profile, secret=w.secret,
                                 donor=w.scope, max_bytes=w.max_bytes, engines=w.engines,
                                 known=w.known, name=w.label,
                                 known_complete=w.known_complete)
    except DeidError as exc:
        return FileResult(w.rel, error=str(exc))
    except Exception as exc:  # one bad file must not stop the others
        return FileResult(w.rel, error=f"{w.label}: unexpected {type(exc).__name__}")
    finally:
        if collecting:
            gc.enable()
    data = report.to_dict()
    if w.report_path:
        atomic_write(w.report_path, to_json(data))
    return FileResult(w.rel, data, report_sha256(data), report.summary_es(), output=w.output)


def collect_inputs(src: Path, tmp: Path, max_bytes: int = DEFAULT_MAX_BYTES,
                   limits: ZipLimits | None = None,
                   ) -> tuple[list[tuple[Path, str]], list[FileResult]]:
    """Return (path, relative name) pairs to process, and refused inputs (none today).

    ``src`` is a file, a folder (walked recursively, in name order; symbolic links are not
    followed out of it) or a zip, whose members are extracted under ``tmp`` after
    :func:`anonymizer.archive.extract` checked their names and sizes.

    Raises
    ------
    InputError
        ``src`` does not exist, or the zip is refused (unsafe names, links, bombs).
    """
    if src.is_dir():
        files = sorted(p for p in src.rglob("*") if p.is_file() and not p.is_symlink())
        return [(p, p.relative_to(src).as_posix()) for p in files], []
    if zipfile.is_zipfile(src):
        limits = limits or ZipLimits(max_member=max_bytes)
        return archive.extract(src, tmp, limits), []
    if src.is_file():
        return [(src, src.name)], []
    raise InputError(f"{src.name}: no such file, folder or zip")


@dataclass(frozen=True)
class _Header:
    """What the first pass learns from one file's header."""

    sop: str
    scope: str | None
    known: KnownValues | None


def _first_pass(args: tuple[str, bool, bool]) -> _Header | None:
    # Headers only (no pixel data). A file this cannot read fails later, in its job, with
    # the engine's own message.
    path, want_scope, want_known = args
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        sop = str(ds.get("SOPInstanceUID", "") or "").strip()
        scope = patient_scope(ds) if want_scope else None
        known = known_values.collect(ds) if want_known else None
    except Exception:  # noqa: BLE001 - see above
        return None
    return _Header(sop, scope, known)


def collect_known(headers: Iterable[_Header | None], scopes: Iterable[str | None],
                  ) -> dict[str | None, KnownValues]:
    """Return the identifying values of all files of each scope (donor or patient).

    The first pass of :func:`run`: a name that only file A's header carries is then found
    in file B's free text and burned-in text too.
    """
    found: dict[str | None, KnownValues] = {}
    for head, scope in zip(headers, scopes, strict=True):
        if head is not None and head.known is not None:
            found[scope] = head.known.merge(found.get(scope))
    return found


def run(
    inputs: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    profile: str | Profile = "library",
    report_dir: str | os.PathLike[str] | None = None,
    jobs: int | None = None,
    secret: bytes,
    donor: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    engines: Engines | None = None,
    progress: Callable[[FileResult], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    executor: Executor | None = None,
    keep_names: bool | None = None,
    verbose: bool = False,
    known_pass: bool = True,
    zip_limits: ZipLimits | None = None,
) -> RunResult:
    """De-identify a file, a folder (recursively) or a zip into ``output``.

    Parameters
    ----------
    donor
        Scopes UIDs, the pseudonym and the date offset for all files; None scopes them per
        original patient (PatientID and its issuer, :func:`patient_scope`).
    keep_names
        Output names: the inputs' names relative to ``inputs`` (True), or
        ``<new SOP Instance UID>.dcm`` flat in ``output`` (False), since input file and
        folder names can carry personal data. Default: False for the library profiles,
        True otherwise. For a single file, ``output`` is the file to write unless it is an
        existing folder.
    verbose
        Errors name files by their input name; by default by position (``file 3 of 9``).
    known_pass
        First read every header and remove each scope's identifying values from all of
        its files' text and pixels (default); False keeps each file to its own values.
    zip_limits
        Bounds on a zip input (default :class:`ZipLimits` with ``max_bytes`` per member).

    Reports go to ``report_dir/<output name>.json``. Files are spread over ``jobs``
    processes (default: all cores); a file that fails gets its error in the result and the
    others go on. ``engines`` (picklable, e.g. module-level functions) replaces
    :func:`default_engines`. ``executor`` runs the files instead of a new pool of ``jobs``
    processes, and is left open: several donations in a row share its workers, whose OCR
    engine is then loaded once (``with ProcessPoolExecutor(n) as pool: run(...,
    executor=pool)``).

    Raises
    ------
    InputError
        ``inputs`` does not exist or is a refused zip; nothing is written.
    """
    prof = get_profile(profile)
    # Loaded here, before any worker starts: forked workers inherit the imported engines
    # instead of importing them each.
    engines = engines if engines is not None else default_engines()
    src, out = Path(inputs), Path(output)
    reports = Path(report_dir) if report_dir else None
    jobs = max(1, jobs or os.cpu_count() or 1)
    keep = keep_names if keep_names is not None else not prof.id.startswith("library")
    preload = engines.preload if prof.has(Option.CLEAN_PIXEL_DATA) else None
    with tempfile.TemporaryDirectory(prefix="traza-deid-") as tmp, ExitStack() as stack:
        items, refused = collect_inputs(src, Path(tmp), max_bytes, zip_limits)
        single = src.is_file() and not zipfile.is_zipfile(src)
        n = len(items)
        pool = executor
        if pool is None and jobs > 1 and n > 1:
            if preload:
                preload()  # here, once, rather than in every worker forked from this process
            pool = stack.enter_context(ProcessPoolExecutor(max_workers=min(jobs, n)))
        elif pool is not None and preload:
            preload()
        labels = [rel if verbose else f"file {i} of {n}" for i, (_, rel) in enumerate(items, 1)]
        heads: list[_Header | None] = [None] * n
        if known_pass or donor is None or not keep:
            args = [(str(p), donor is None, known_pass) for p, _ in items]
            heads = list(pool.map(_first_pass, args, chunksize=8) if pool is not None
                         else map(_first_pass, args))
        scopes = [donor if donor is not None else (h.scope if h is not None else None)
                  for h in heads]
        known = collect_known(heads, scopes) if known_pass else {}
        work: list[_Work] = []
        taken: dict[str, str] = {}
        for (path, rel), label, head, scope in zip(items, labels, heads, scopes, strict=True):
            name = rel if keep else _uid_name(head, prof, secret, scope, len(work) + 1)
            if name in taken:
                refused.append(FileResult(rel, error=(
                    f"{label}: same output name as {taken[name]} (same SOP Instance UID); "
                    "not written")))
                continue
            taken[name] = label
            dst = out / name if not single or out.is_dir() else out
            rep = str(reports / f"{name}.json") if reports else None
            # The scope's values include this file's own when its header was read.
            complete = known_pass and head is not None and head.known is not None
            work.append(_Work(str(path), rel, label, str(dst), rep, name, prof, secret, scope,
                              max_bytes, engines, known.get(scope), complete))
        if on_start:
            on_start(len(work) + len(refused))
        results = {r.name: r for r in refused}
        for r in refused:
            if progress:
                progress(r)
        for r in _execute(work, pool):
            results[r.name] = r
            if progress:
                progress(r)
    return RunResult([results[rel] for _, rel in items if rel in results])


def _uid_name(head: _Header | None, prof: Profile, secret: bytes, scope: str | None,
              position: int) -> str:
    # The name the output will have: its new SOP Instance UID, computed as the walk will.
    sop = head.sop if head is not None else ""
    if not sop or scope is None:
        return f"sin-uid-{position:06d}.dcm"
    if Option.RETAIN_UIDS in prof.options:
        return f"{sop}.dcm"
    return f"{UIDMapper(secret, scope, prof.uid_root).map(sop)}.dcm"


def _execute(work: list[_Work], pool: Executor | None) -> Iterable[FileResult]:
    if pool is None or len(work) <= 1:
        for w in work:
            yield _job(w)
        return
    yield from _gather(pool, work)


def _size(w: _Work) -> int:
    try:
        return os.stat(w.src).st_size
    except OSError:
        return 0  # the job reports the error


def _gather(pool: Executor, work: list[_Work]) -> Iterable[FileResult]:
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
