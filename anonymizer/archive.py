"""Zip input read safely: names, links and sizes checked before anything reaches the disk.

A donation may arrive as a zip made by anyone. :func:`extract` refuses the whole archive,
with an :class:`~anonymizer.errors.InputError` that says why, when a member is named ``.``,
``..``, with an absolute path or a drive, twice (after normalisation: ``a/b`` and
``a//b`` are one name), or is a symbolic link; when the archive has more members, more
uncompressed bytes or a higher compression ratio than :class:`ZipLimits` allow (zip bombs).
Sizes are checked on the headers first and again on the bytes actually inflated, since a
header can lie. Messages name members by their position, never by their name (a name can
carry personal data).
"""

from __future__ import annotations

import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from anonymizer.errors import InputError

__all__ = ["ZipLimits", "extract"]

CHUNK = 1 << 20


@dataclass(frozen=True)
class ZipLimits:
    """Bounds on one zip archive (defaults fit a few studies; raise them on purpose).

    Attributes
    ----------
    max_member : int
        Uncompressed bytes of one member (the engine's per-file limit).
    max_total : int
        Uncompressed bytes of all members together (default 16 GiB).
    max_members : int
        Number of members, folders included (default 100 000).
    max_ratio : float
        Uncompressed over compressed size of a member, and of the archive (default 200:
        DICOM compresses 2-10x, zeros 1000x).
    """

    max_member: int = 2 * 1024**3
    max_total: int = 16 * 1024**3
    max_members: int = 100_000
    max_ratio: float = 200.0


def _member_path(info: zipfile.ZipInfo, i: int) -> PurePosixPath:
    raw = info.filename.replace("\\", "/")
    p = PurePosixPath(raw)
    parts = [x for x in raw.split("/") if x]
    if not parts or p.is_absolute() or ":" in parts[0] or any(x in (".", "..") for x in parts):
        raise InputError(f"zip member {i}: unsafe name (., .., absolute or drive path); "
                         "archive refused")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise InputError(f"zip member {i}: symbolic link; archive refused")
    return PurePosixPath(*parts)


def _ratio_ok(size: int, compressed: int, limit: float) -> bool:
    # Small members are exempt: 1 KiB of zeros compresses 100x and harms nobody.
    return size <= CHUNK or size <= limit * max(compressed, 1)


def extract(src: Path, dest: Path, limits: ZipLimits = ZipLimits()) -> list[tuple[Path, str]]:
    """Extract the files of zip ``src`` under ``dest``; return (path, member name) pairs.

    Raises
    ------
    InputError
        The archive is unreadable or breaks a rule above; nothing is left under ``dest``
        for a refused archive's members written so far (the caller's scratch folder goes).
    """
    try:
        zf = zipfile.ZipFile(src)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"archive: not a readable zip ({type(exc).__name__})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_members:
            raise InputError(f"archive: {len(infos)} members is over the limit of "
                             f"{limits.max_members}")
        seen: set[PurePosixPath] = set()
        files: list[tuple[int, zipfile.ZipInfo, PurePosixPath]] = []
        total = compressed = 0
        for i, info in enumerate(infos, 1):
            rel = _member_path(info, i)
            if rel in seen:
                raise InputError(f"zip member {i}: duplicate name; archive refused")
            seen.add(rel)
            if info.is_dir():
                continue
            if info.file_size > limits.max_member:
                raise InputError(f"zip member {i}: {info.file_size} bytes is over the limit "
                                 f"of {limits.max_member}")
            if not _ratio_ok(info.file_size, info.compress_size, limits.max_ratio):
                raise InputError(f"zip member {i}: compression ratio over "
                                 f"{limits.max_ratio:g} (zip bomb?); archive refused")
            total += info.file_size
            compressed += info.compress_size
            files.append((i, info, rel))
        if total > limits.max_total:
            raise InputError(f"archive: {total} bytes uncompressed is over the limit of "
                             f"{limits.max_total}")
        if not _ratio_ok(total, compressed, limits.max_ratio):
            raise InputError(f"archive: compression ratio over {limits.max_ratio:g} "
                             "(zip bomb?); refused")
        out: list[tuple[Path, str]] = []
        written_total = 0
        for i, info, rel in files:
            target = dest.joinpath(*rel.parts)
            # Names that differ only where the file system folds them (case) meet here.
            if target.exists() or any(p.is_file() for p in target.parents if p != dest):
                raise InputError(f"zip member {i}: clashes with another member's name; "
                                 "archive refused")
            written = 0
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as f, target.open("xb") as w:
                    while chunk := f.read(CHUNK):
                        written += len(chunk)
                        written_total += len(chunk)
                        # The header's sizes may lie: check the real bytes as they come.
                        if (written > info.file_size or written > limits.max_member
                                or written_total > limits.max_total):
                            raise InputError(f"zip member {i}: more bytes than its header "
                                             "says; archive refused")
                        w.write(chunk)
            except (zipfile.BadZipFile, zlib.error, OSError, RuntimeError, NotImplementedError,
                    EOFError) as exc:
                raise InputError(f"zip member {i}: cannot be read "
                                 f"({type(exc).__name__})") from None
            out.append((target, rel.as_posix()))
        return out

