"""Unit tests of the network package: layout, rendering, packaging, process guards."""

from __future__ import annotations

import io
import json
import socket
import sys
import tarfile
from pathlib import Path

import pytest

from network import binaries, chaincode, control, nodes, process, templates, topology
from network.process import NetworkError, Node


@pytest.fixture
def topo(tmp_path, monkeypatch) -> topology.Topology:
    monkeypatch.setenv("TRAZA_NETWORK_RUN", str(tmp_path / "run"))
    return topology.load()


def test_topology_has_three_orgs_three_orderers_and_unique_ports(topo):
    assert [o.msp for o in topo.orgs] == ["UniversityMSP", "HospitalMSP", "IMSSMSP"]
    assert len(topo.orderers) == 3
    ports = [p for _, p in topo.ports()]
    assert len(ports) == len(set(ports))


@pytest.mark.parametrize("name", ["University", "university", "UniversityMSP"])
def test_org_lookup_by_any_name(topo, name):
    assert topo.org(name).msp == "UniversityMSP"


def test_unknown_org_is_a_clear_error(topo):
    with pytest.raises(KeyError, match="no org 'Clinic'"):
        topo.org("Clinic")


def test_peer_env_overrides_tls_gateway_and_builder(topo):
    peer = topo.peers[0]
    env = templates.render_env(
        "peer.env.j2",
        peer=peer,
        node_dir=Path("/n"),
        config_dir="/c",
        builder_dir="/b",
        tls_ca=Path("/o/ca.pem"),
    )
    assert env["CORE_PEER_TLS_ENABLED"] == "true"
    assert env["CORE_PEER_ADDRESS"] == peer.address
    assert env["TRAZA_CCAAS_ADDRESS"] == peer.org.chaincode_server.address
    assert "traza-ccaas" in env["CORE_CHAINCODE_EXTERNALBUILDERS"]


def test_configtx_has_raft_consenters_anchor_peers_and_batch_timeout(topo):
    text = templates.render("configtx.yaml.j2", topo=topo, run=Path("/run"))
    assert "BatchTimeout: 250ms" in text
    assert text.count("ServerTLSCert:") == 3
    assert "V2_5: true" in text
    for peer in topo.peers:
        assert f"{{Host: {peer.host}, Port: {peer.port}}}" in text


def test_chaincode_package_is_reproducible(topo):
    path1, id1 = chaincode.package(topo, "1.0")
    data1 = path1.read_bytes()
    path2, id2 = chaincode.package(topo, "1.0")
    assert id1 == id2 and data1 == path2.read_bytes()
    assert id1.startswith("traza_1.0:")
    _, id3 = chaincode.package(topo, "1.1")
    assert id3 != id1
    with tarfile.open(fileobj=io.BytesIO(data1)) as tar:
        meta = json.load(tar.extractfile("metadata.json"))
    assert meta == {"type": "ccaas", "label": "traza_1.0"}


def test_port_taken_by_a_stranger_is_refused(topo, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        node = Node("orderer9", [sys.executable], {}, tmp_path / "o9", port)
        with pytest.raises(NetworkError, match=rf"orderer9 \(port {port}\)"):
            control.check_ports(topo, [node])
        with pytest.raises(NetworkError, match="already taken"):
            process.start(node)


def test_start_stop_only_touches_our_process(tmp_path):
    node = Node(
        "sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], {}, tmp_path / "s", 1
    )
    pid = process.start(node)
    assert process.pid_of(node) == pid
    assert process.start(node) == pid  # idempotent
    # A pid file pointing at another process (recycled pid) is not ours to stop.
    node.pidfile.write_text(f"{pid} 1\n")
    assert process.pid_of(node) is None
    assert process.stop(node) is False
    node.pidfile.write_text(f"{pid} {process._stat(pid)[1]}\n")
    assert process.stop(node) is True
    assert process.pid_of(node) is None


def test_missing_binaries_are_named(monkeypatch, tmp_path):
    monkeypatch.setenv("TRAZA_CACHE", str(tmp_path))
    with pytest.raises(NetworkError, match="missing binaries: peer, orderer"):
        binaries.ensure_installed(install=False)


def test_exited_node_reports_its_log(tmp_path):
    node = Node(
        "crasher",
        [sys.executable, "-c", "print('boom: bad config'); raise SystemExit(2)"],
        {},
        tmp_path / "c",
        1,
    )
    process.start(node)
    with pytest.raises(NetworkError, match="boom: bad config"):
        process.wait_for("never", lambda: False, 10, node)


def test_stock_core_yaml_gets_no_docker_endpoint(topo):
    if binaries.missing():
        pytest.skip("Fabric sample config not installed (run scripts/install-binaries.sh)")
    import yaml

    core = yaml.safe_load((nodes.config_dir() / "core.yaml").read_text())
    assert core["vm"]["endpoint"] == ""


def test_ready_waits_until_each_gateway_endorses_with_every_org(topo, monkeypatch):
    """Regression (CI): ready after MAJORITY (2 orgs) endorsed, then a purge needing the
    third org's peer failed with "no combination of peers"; every org must endorse."""
    from client.gateway import GatewayError
    from network import ready

    calls: list[tuple[str, tuple[str, ...]]] = []
    unseen = {"HospitalMSP": 2}  # Hospital's gateway does not see every org twice

    class Status:
        block_number = 7

    def heartbeat(profile, endorsing_orgs=()):
        calls.append((profile, tuple(endorsing_orgs)))
        if unseen.get(profile, 0):
            unseen[profile] -= 1
            raise GatewayError("no combination of peers can be derived")
        return None, Status()

    monkeypatch.setattr(ready, "heartbeat", heartbeat)
    monkeypatch.setattr(ready.Profile, "local", staticmethod(lambda org: topo.org(org).msp))
    monkeypatch.setattr(ready.time, "sleep", lambda _: None)
    blocks = ready.wait_ready(topo, timeout=5)
    assert blocks == {"UniversityMSP": 7, "HospitalMSP": 7, "IMSSMSP": 7}
    everyone = ("UniversityMSP", "HospitalMSP", "IMSSMSP")
    assert [c for c in calls if c[0] == "HospitalMSP"] == [("HospitalMSP", everyone)] * 3
    assert all(orgs == everyone for _, orgs in calls)
