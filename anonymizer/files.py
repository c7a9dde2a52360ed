"""Files written whole or not at all, with their final mode from the first byte.

The one copy of Traza's atomic write: de-identified outputs, checkpoints, secrets, keys and
credentials all go through :func:`atomic_write`. It lives here, in the package that imports
nothing of Traza's, so every other package may use it.
"""

from __future__ import annotations

import os
import tempfile
from os import PathLike
from pathlib import Path

SECRET = 0o600  # keys, passwords, tokens, credentials
PUBLIC = 0o644  # everything else
PRIVATE_DIR = 0o700


def private_dir(path: str | PathLike[str]) -> Path:
    """Create ``path`` (and missing parents) as 0700 folders; tighten it if it exists."""
    path = Path(path)
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        d.mkdir(mode=PRIVATE_DIR, exist_ok=True)
        os.chmod(d, PRIVATE_DIR)  # mkdir's mode is masked by the umask
    os.chmod(path, PRIVATE_DIR)
    return path


def atomic_write(path: str | PathLike[str], data: bytes | str, *, mode: int = PUBLIC) -> Path:
    """Write ``data`` to ``path`` atomically, the file having ``mode`` from its first byte.

    A temporary file is created 0600 in the same folder, set to ``mode`` before any byte is
    written (so a secret is never readable by others), written, flushed to disk and renamed
    over ``path``: a crash leaves either the old file or the new one. Missing parent folders
    are created (0700 when ``mode`` is :data:`SECRET`).

    Parameters
    ----------
    path : path-like
        The destination.
    data : bytes or str
        The content (``str`` is written as UTF-8).
    mode : int, optional
        The file's permission bits (default 0644; use :data:`SECRET` for secrets).
    """
    path = Path(path)
    if not path.parent.exists():
        if mode & 0o077 == 0:
            private_dir(path.parent)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode() if isinstance(data, str) else data
    # mkstemp creates the file 0600 (O_CREAT | O_EXCL); it is widened only if asked.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_secret(path: str | PathLike[str], data: bytes | str) -> Path:
    """:func:`atomic_write` with mode 0600 (folders created 0700)."""
    return atomic_write(path, data, mode=SECRET)


class LooseSecretError(PermissionError):
    """A secret file that group or others may read or write: refused, not read."""


def read_secret(path: str | PathLike[str]) -> bytes:
    """Read a secret file that only its owner may read or write (mode 0600 or tighter).

    The mode is checked on the opened file (no window between the check and the read) and a
    symbolic link is refused. Raises :class:`LooseSecretError` naming the file and the
    ``chmod`` that fixes it, or ``OSError`` if it cannot be opened; never the content.
    """
    path = Path(path)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as f:
        mode = os.fstat(f.fileno()).st_mode & 0o777
        if mode & 0o077:
            raise LooseSecretError(f"{path} is readable or writable by group or others "
                                   f"(mode {mode:04o}); run `chmod 600 {path}`")
        return f.read()
