"""Where the pinned Fabric, Fabric CA and MinIO binaries live (a cache outside the clone)."""

from __future__ import annotations

import functools
import os
import re
import subprocess
from pathlib import Path

from .process import NetworkError

REPO = Path(__file__).resolve().parent.parent
INSTALLER = REPO / "scripts" / "install-binaries.sh"


def cache_dir() -> Path:
    return Path(os.environ.get("TRAZA_CACHE", Path.home() / ".cache" / "traza"))


@functools.cache
def _installer_text() -> str:
    return INSTALLER.read_text()


def _pins() -> dict[str, str]:
    """Read the pinned versions from the installer so there is one source of truth."""
    text = _installer_text()
    pins = {}
    for key in ("FABRIC_VERSION", "FABRIC_CA_VERSION", "MINIO_MODVER"):
        m = re.search(rf'^{key}="\$\{{TRAZA_\w+:-([^}}]+)\}}"', text, re.M)
        pins[key] = os.environ.get(f"TRAZA_{key}", m.group(1))
    return pins


def bin_dirs() -> dict[str, Path]:
    """Folders of each component: fabric, fabric-ca, minio, and the sample config."""
    p = _pins()
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

