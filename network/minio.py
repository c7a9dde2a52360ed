"""The MinIO object server: HTTPS only, data under the network folder, credentials at first `up`.

Its TLS certificate is its own, issued by the orderer org's TLS CA (the org that runs the
consortium's shared services); clients verify it against that CA
(:func:`ca_file`). The root credentials reach the server as files
(``MINIO_ROOT_USER_FILE``, ``MINIO_ROOT_PASSWORD_FILE``, 0600), never in its environment.
"""

from __future__ import annotations

import json
import secrets
import ssl
import urllib.request
from pathlib import Path

from anonymizer.files import private_dir, write_secret

from . import binaries, ca
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
    creds = json.loads(path.read_text())
    # One value per file, as MinIO's *_FILE variables read them.
    for name, key in (("root-user", "access_key"), ("root-password", "secret_key")):
        if not (home(topo) / name).exists():
            write_secret(home(topo) / name, creds[key])
    return creds


def fqdn(topo: Topology) -> str:
    """The host name in MinIO's TLS certificate."""
    return f"minio.{topo.orderer_org.domain}"


def ca_file(topo: Topology) -> Path:
    """The CA that MinIO's TLS certificate chains to (the orderer org's TLS CA)."""
    return ca.tls_ca(topo, topo.orderer_org)


def certs_dir(topo: Topology) -> Path:
    return home(topo) / "certs"


def issue_certificate(topo: Topology) -> Path:
    """Register and enroll MinIO's TLS identity once; lay it out as MinIO reads it."""
    out = certs_dir(topo)
    if (out / "public.crt").exists():
        return out
    org = topo.orderer_org
    name = fqdn(topo)
    ca.register(topo, org, name, "client")
    identity = home(topo) / "identity"
    ca.enroll(topo, org, name, identity, hosts=[name, topo.minio.host, "localhost"],
              tls_only=True)
    private_dir(out)
    write_secret(out / "private.key", (identity / "tls" / "server.key").read_bytes())
    (out / "public.crt").write_bytes((identity / "tls" / "server.crt").read_bytes())
    return out


def account_file(topo: Topology, org: Org) -> Path:
    """Where the credentials of ``org``'s MinIO service account are kept (0600)."""
    return home(topo) / f"{org.key}.json"


def minio_node(topo: Topology) -> Node:
    credentials(topo)
    env = {
        "MINIO_ROOT_USER_FILE": str(home(topo) / "root-user"),
        "MINIO_ROOT_PASSWORD_FILE": str(home(topo) / "root-password"),
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
        "--certs-dir",
        str(certs_dir(topo)),
    ]
    return Node(name="minio", argv=argv, env=env, home=home(topo), port=topo.minio.port)


def healthy(topo: Topology) -> bool:
    """True when MinIO answers its liveness check over HTTPS with its own certificate."""
    context = ssl.create_default_context(cafile=str(ca_file(topo)))
    try:
        url = f"https://{topo.minio.address}/minio/health/live"
        with urllib.request.urlopen(url, timeout=1, context=context) as r:  # noqa: S310
            return r.status == 200
    except OSError:
        return False


def start_minio(topo: Topology) -> None:
    issue_certificate(topo)
    node = minio_node(topo)
    start(node, topo.minio.host)
    wait_for("MinIO health", lambda: healthy(topo), 60, node)
