"""Small helpers shared by the integration tests."""

from __future__ import annotations

import contextlib
import datetime
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from anonymizer.files import write_secret
from client.gateway import GatewayError
from client.profile import Profile
from network import nodes, ready
from network.ca_client import subject_alt_names
from network.process import pid_of, start, stop, wait_port
from network.topology import Orderer, Peer, Topology

T = TypeVar("T")


ENCODINGS = ("utf-8", "latin-1", "utf-16-le")


def variants(value: str) -> set[bytes]:
    """The bytes a planted value may take: as given, upper, lower, in three encodings."""
    out = set()
    for text in {value, value.upper(), value.lower()}:
        for enc in ENCODINGS:
            with contextlib.suppress(UnicodeEncodeError):
                out.add(text.encode(enc))
    return out


def leaks(values: set[str] | list[str], data: bytes) -> list[str]:
    """The planted ``values`` found in ``data`` in any of their :func:`variants`."""
    return sorted(v for v in values if any(b in data for b in variants(v)))


def request_id(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def heartbeat(profile: Profile) -> dict:
    """Submit a Heartbeat and wait for its commit; return the status as a dict."""
    commit, status = ready.heartbeat(profile)
    return {"tx_id": commit.transaction_id, "block": status.block_number,
            "result": json.loads(commit.result)}


def retry(what: Callable[[], T], timeout: float = 90, interval: float = 1) -> T:
    """Call ``what`` until it returns without a GatewayError (faults take time to heal)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return what()
        except GatewayError:
            if time.monotonic() > deadline:
                raise
            time.sleep(interval)


def raft_leader(topo: Topology) -> Orderer:
    """The orderer whose Prometheus metrics say it leads the channel's Raft cluster.

    Stopped orderers are skipped; while an election runs no one leads, so it polls a while.
    """
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for o in topo.orderers:
            try:
                body = ready.operations_get(topo, o.org, o.host, o.operations_port, "/metrics")
            except OSError:
                continue
            lines = body.decode().splitlines()
            if any(line.startswith("consensus_etcdraft_is_leader")
                   and f'channel="{topo.channel}"' in line and line.endswith(" 1")
                   for line in lines):
                return o
        time.sleep(0.5)
    raise AssertionError("no Raft leader reported by any orderer in 30 s")


def _node(topo: Topology, node_of: Orderer | Peer):
    if isinstance(node_of, Orderer):
        return nodes.orderer_node(topo, node_of)
    return nodes.peer_node(topo, node_of)


def stop_node(topo: Topology, node_of: Orderer | Peer) -> None:
    node = _node(topo, node_of)
    assert stop(node)
    assert pid_of(node) is None


def start_node(topo: Topology, node_of: Orderer | Peer) -> None:
    node = _node(topo, node_of)
    start(node, node_of.host)
    wait_port(node, node_of.host, node_of.port)


def throwaway_tls(ca_file: Path, cert_file: Path, key_file: Path, *, name: str,
                  hosts: list[str]) -> None:
    """A CA of nobody's (``ca_file``) and a TLS pair it signs, valid for an hour.

    For servers started by a test (with the CA) and clients that must be refused (without).
    """
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())

    def cert(subject: str, public, ca: bool, sans: list[x509.GeneralName]) -> x509.Certificate:
        b = (x509.CertificateBuilder()
             .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
             .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "throwaway-ca")]))
             .public_key(public).serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(minutes=5))
             .not_valid_after(now + datetime.timedelta(hours=1))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return b.sign(ca_key, hashes.SHA256())

    sans = subject_alt_names(hosts)
    pem = serialization.Encoding.PEM
    for path in (ca_file, cert_file):
        path.parent.mkdir(parents=True, exist_ok=True)
    ca_file.write_bytes(cert("throwaway-ca", ca_key.public_key(), True, []).public_bytes(pem))
    cert_file.write_bytes(cert(name, key.public_key(), False, sans).public_bytes(pem))
    write_secret(key_file, key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))
