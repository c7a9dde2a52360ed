"""The MinIO object server: data under the network folder, credentials made at first `up`."""

from __future__ import annotations

import json
import secrets
import urllib.request
from pathlib import Path

from anonymizer.files import write_secret

from . import binaries
from .process import Node, start, wait_for
from .topology import Org, Topology


def home(topo: Topology) -> Path:
    return topo.run / "minio"


def credentials(topo: Topology) -> dict[str, str]:
    """The root ``{"access_key", "secret_key"}``, generated once per network (0600 file)."""
    path = home(topo) / "credentials.json"
    if not path.exists():
        write_secret(
            path,
            json.dumps(
                {
                    "access_key": "traza-" + secrets.token_hex(6),
                    "secret_key": secrets.token_urlsafe(30),
                }
            ),
        )
    return json.loads(path.read_text())


def account_file(topo: Topology, org: Org) -> Path:
    """Where the credentials of ``org``'s MinIO service account are kept (0600)."""
    return home(topo) / f"{org.key}.json"


def minio_node(topo: Topology) -> Node:
    creds = credentials(topo)
    env = {
        "MINIO_ROOT_USER": creds["access_key"],
        "MINIO_ROOT_PASSWORD": creds["secret_key"],
        "MINIO_BROWSER": "off",
        "MINIO_UPDATE": "off",
    }
    argv = [
        binaries.path("minio"),
        "server",
        str(home(topo) / "data"),
        "--quiet",
        "--address",
        topo.minio.address,
        "--console-address",
        f"{topo.minio.host}:{topo.minio_console_port}",
    ]
    return Node(name="minio", argv=argv, env=env, home=home(topo), port=topo.minio.port)


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
