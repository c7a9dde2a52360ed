"""Deploy the Traza contract as Chaincode-as-a-Service: build, package, install, approve, commit.

One package (one package id) serves every org: our CCaaS builder points each peer at its
own org's chaincode server (see ``builders/ccaas/bin/release``).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import tarfile
from dataclasses import asdict, dataclass
from pathlib import Path

from . import binaries, templates
from .ca import node_dir, tls_ca
from .nodes import admin_env, orderer_flags
from .process import NetworkError, Node, run, start, stop, wait_port
from .topology import Org, Topology

CHAINCODE_SRC = Path(__file__).resolve().parent.parent / "chaincode"
COLLECTIONS = CHAINCODE_SRC / "collections_config.json"


@dataclass(frozen=True)
class Deployment:
    """What is committed on the channel: version, sequence and the package serving it."""

    version: str
    sequence: int
    package_id: str
    collections_sha256: str = ""


def cc_dir(topo: Topology) -> Path:
    return topo.run / "chaincode"


def state_file(topo: Topology) -> Path:
    return cc_dir(topo) / "deployment.json"


def collections_sha256() -> str:
    """Hash of the private data collections config the definition must carry."""
    return hashlib.sha256(COLLECTIONS.read_bytes()).hexdigest() if COLLECTIONS.exists() else ""


def deployed(topo: Topology) -> Deployment | None:
    """What the last ``deploy`` on this network committed, or None."""
    try:
        return Deployment(**json.loads(state_file(topo).read_text()))
    except (OSError, ValueError):
        return None


def build_server(topo: Topology) -> Path:
    """Compile the Go contract server (Go's build cache makes repeats quick)."""
    out = cc_dir(topo) / "traza-chaincode"
    out.parent.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(
        ["go", "build", "-o", str(out), "."], cwd=CHAINCODE_SRC, capture_output=True, text=True
    )
    if res.returncode != 0:
        raise NetworkError(f"building the contract failed:\n{res.stderr}")
    return out


def _tar(files: dict[str, bytes]) -> bytes:
    """A reproducible .tar.gz (fixed times and owners), so the package id is stable."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def package(topo: Topology, version: str) -> tuple[Path, str]:
    """Write the CCaaS package for ``version``; return its path and package id."""
    label = f"{topo.chaincode['name']}_{version}"
    conn = templates.render("connection.json.j2", address="127.0.0.1:0").encode()
    code = _tar({"connection.json": conn})
    meta = json.dumps({"type": "ccaas", "label": label}).encode()
    pkg = _tar({"code.tar.gz": code, "metadata.json": meta})
    path = cc_dir(topo) / f"{label}.tar.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pkg)
    return path, f"{label}:{hashlib.sha256(pkg).hexdigest()}"


def server_node(topo: Topology, org: Org, dep: Deployment) -> Node:
    home = node_dir(topo, f"{org.key}-chaincode")
    env = templates.render_env(
        "chaincode.env.j2", org=org, node_dir=home, package_id=dep.package_id, version=dep.version
    )
    return Node(
        name=f"chaincode-{org.key}",
        argv=[str(cc_dir(topo) / "traza-chaincode")],
        env=env,
        home=home,
        port=org.chaincode_server.port,
    )


def start_servers(topo: Topology, dep: Deployment) -> None:
    for org in topo.orgs:
        node = server_node(topo, org, dep)
        start(node, org.chaincode_server.host)
        wait_port(node, org.chaincode_server.host, org.chaincode_server.port, 20)


def _peer_cli(topo: Topology, org: Org, *args: str, what: str) -> str:
    return run(
        [binaries.path("peer"), "lifecycle", "chaincode", *args],
        env=admin_env(topo, org.peers[0]),
        what=what,
    )


def committed(topo: Topology) -> dict | None:
    """The committed definition (``version``, ``sequence``...) or None."""
    org = topo.orgs[0]
    try:
        out = _peer_cli(
            topo,
            org,
            "querycommitted",
            "-C",
            topo.channel,
            "-n",
            topo.chaincode["name"],
            "-O",
            "json",
            what="query committed chaincode",
        )
    except NetworkError as e:
        if "not found" in str(e) or "is not defined" in str(e):
            return None
        raise
    return json.loads(out[out.find("{") :])


def deploy(topo: Topology, version: str | None = None, sequence: int | None = None) -> Deployment:
    """Install, approve by every org and commit ``version`` at ``sequence``; idempotent.

    With no arguments it deploys the topology's version at sequence 1, or keeps what is
    already committed. An upgrade passes a new version, or the same one, and the sequence
    goes up by one.
    """
    build_server(topo)
    current = committed(topo)
    previous = deployed(topo)
    if version is None and sequence is None and current and previous and \
            previous.sequence == current["sequence"]:
        if previous.collections_sha256 == collections_sha256():
            start_servers(topo, previous)
            return previous
        version = previous.version  # the collections changed: same package, next sequence
    version = version or topo.chaincode["version"]
    sequence = sequence or ((current["sequence"] + 1) if current else topo.chaincode["sequence"])
    pkg, package_id = package(topo, version)
    for org in topo.orgs:
        try:
            _peer_cli(topo, org, "install", str(pkg), what=f"install chaincode on {org.msp}")
        except NetworkError as e:
            if "already successfully installed" not in str(e):
                raise
    dep = Deployment(version=version, sequence=sequence, package_id=package_id,
                     collections_sha256=collections_sha256())
    if previous and previous.package_id != package_id:  # servers run as one package id
        for org in topo.orgs:
            stop(server_node(topo, org, previous))
    start_servers(topo, dep)
    name = topo.chaincode["name"]
    common = ["-C", topo.channel, "-n", name, "--version", version, "--sequence", str(sequence)]
    if COLLECTIONS.exists():
        common += ["--collections-config", str(COLLECTIONS)]
    orderer = topo.orderers[0]
    for org in topo.orgs:
        _peer_cli(
            topo,
            org,
            "approveformyorg",
            *orderer_flags(topo, orderer, org.peers[0]),
            *common,
            "--package-id",
            package_id,
            what=f"approve chaincode for {org.msp}",
        )
    peers: list[str] = []
    for org in topo.orgs:
        peers += [
            "--peerAddresses",
            org.peers[0].address,
            "--tlsRootCertFiles",
            str(tls_ca(topo, org)),
        ]
    _peer_cli(
        topo,
        topo.orgs[0],
        "commit",
        *orderer_flags(topo, orderer, topo.orgs[0].peers[0]),
        *common,
        *peers,
        what="commit chaincode definition",
    )
    state_file(topo).write_text(json.dumps(asdict(dep), indent=1))
    return dep
