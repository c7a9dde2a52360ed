"""The MinIO object server: data under the network folder, credentials made at first `up`."""

from __future__ import annotations

import json
import secrets
import urllib.request
from pathlib import Path

from . import binaries
from .process import Node, start, wait_for
from .topology import Topology, run_dir


def home() -> Path:
    return run_dir() / "minio"


def credentials() -> dict[str, str]:
    """``{"endpoint", "access_key", "secret_key"}``, generated once per network."""
    path = home() / "credentials.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                {
                    "access_key": "traza-" + secrets.token_hex(6),
                    "secret_key": secrets.token_urlsafe(30),
                }
            )
        )
        path.chmod(0o600)
    return json.loads(path.read_text())


def minio_node(topo: Topology) -> Node:
    creds = credentials()
    env = {
        "MINIO_ROOT_USER": creds["access_key"],
        "MINIO_ROOT_PASSWORD": creds["secret_key"],
        "MINIO_BROWSER": "off",
        "MINIO_UPDATE": "off",
    }
    argv = [
        binaries.path("minio"),
        "server",
        str(home() / "data"),
        "--quiet",
        "--address",
        topo.minio.address,
        "--console-address",
        f"{topo.minio.host}:{topo.minio_console_port}",
    ]
    return Node(name="minio", argv=argv, env=env, home=home(), port=topo.minio.port)


def healthy(topo: Topology) -> bool:
    try:
        url = f"http://{topo.minio.address}/minio/health/live"
        with urllib.request.urlopen(url, timeout=1) as r:  # noqa: S310 (loopback, fixed URL)
            return r.status == 200
    except OSError:
        return False


def start_minio(topo: Topology) -> None:
    node = minio_node(topo)
    start(node, topo.minio.host)
    wait_for("MinIO health", lambda: healthy(topo), 60, node)
