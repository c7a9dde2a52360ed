"""Where the pinned Fabric, Fabric CA and MinIO binaries live (a cache outside the clone)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from .process import NetworkError

REPO = Path(__file__).resolve().parent.parent
INSTALLER = REPO / "scripts" / "install-binaries.sh"
VERSIONS = Path(__file__).resolve().parent / "versions.env"
_LINE = re.compile(r"([A-Z][A-Z0-9_]*)=(\S+)")


def cache_dir() -> Path:
    return Path(os.environ.get("TRAZA_CACHE", Path.home() / ".cache" / "traza"))


def read_versions(path: Path = VERSIONS) -> dict[str, str]:
    """The ``KEY=value`` pins of ``network/versions.env`` (comments and blanks skipped)."""
    pins: dict[str, str] = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _LINE.fullmatch(line)
        if not m:
            raise NetworkError(f"{path}:{n}: expected KEY=value, got {line!r}")
        pins[m[1]] = m[2]
    return pins


def pins() -> dict[str, str]:
    """The pinned versions, each overridable by ``TRAZA_<KEY>`` as the installer allows.

    The installer runs as a child process with the same environment, so both agree on
    which folders the binaries are in.
    """
    return {k: os.environ.get(f"TRAZA_{k}") or v for k, v in read_versions().items()}


def bin_dirs() -> dict[str, Path]:
    """Folders of each component: fabric, fabric-ca, minio, and the sample config."""
    p = pins()
    c = cache_dir()
    return {
        "fabric": c / "bin" / f"fabric-{p['FABRIC_VERSION']}",
        "fabric-ca": c / "bin" / f"fabric-ca-{p['FABRIC_CA_VERSION']}",
        "minio": c / "bin" / f"minio-{p['MINIO_MODVER']}",
        "config": c / f"fabric-config-{p['FABRIC_VERSION']}",
    }


BINARIES = {
    "peer": "fabric",
    "orderer": "fabric",
    "configtxgen": "fabric",
    "configtxlator": "fabric",
    "osnadmin": "fabric",
    "fabric-ca-server": "fabric-ca",
    "fabric-ca-client": "fabric-ca",
    "minio": "minio",
}


def missing() -> list[str]:
    dirs = bin_dirs()
    gone = [b for b, comp in BINARIES.items() if not (dirs[comp] / b).is_file()]
    if not (dirs["config"] / "core.yaml").is_file():
        gone.append("sample config")
    return gone


def ensure_installed(install: bool = True) -> None:
    """Install missing binaries with scripts/install-binaries.sh, or fail naming them."""
    gone = missing()
    if not gone:
        return
    if not install:
        raise NetworkError(f"missing binaries: {', '.join(gone)}; run scripts/install-binaries.sh")
    res = subprocess.run(["bash", str(INSTALLER)])
    if res.returncode != 0 or missing():
        raise NetworkError(f"installing binaries failed; still missing: {', '.join(missing())}")


def path(name: str) -> str:
    """Absolute path of a binary by name (``peer``, ``minio``...)."""
    return str(bin_dirs()[BINARIES[name]] / name)

