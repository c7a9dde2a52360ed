"""Unit tests of the network package: layout, rendering, packaging, process guards."""

from __future__ import annotations

import base64
import datetime
import hashlib
import io
import json
import os
import socket
import stat
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from anonymizer.files import private_dir
from client.gateway import Signer
from client.profile import Profile
from network import (
    binaries,
    ca,
    ca_client,
    chaincode,
    channel,
    control,
    minio,
    nodes,
    process,
    profiles,
    templates,
    topology,
)
from network.cli import network
from network.process import NetworkError, Node

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def topo(tmp_path) -> topology.Topology:
    return topology.load(run=tmp_path / "run")


def shifted_topology(folder: Path, shift: int) -> Path:
    """The default layout with every port + ``shift``, written to ``folder``."""

    def move(node: dict) -> dict:
        return {k: (v + shift if k.endswith("port") else v) for k, v in node.items()}

    raw = yaml.safe_load(topology.DEFAULT_TOPOLOGY.read_text())
    for org in [raw["orderer_org"], *raw["orgs"]]:
        org["ca"] = move(org["ca"])
        org["peers"] = [move(p) for p in org.get("peers", [])]
        org["orderers"] = [move(o) for o in org.get("orderers", [])]
        if "chaincode_server" in org:
            org["chaincode_server"] = move(org["chaincode_server"])
    raw["minio"] = move(raw["minio"])
    path = folder / "topology.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


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
        client_roots=["/o/a.pem", "/o/b.pem"],
    )
    assert env["CORE_PEER_TLS_ENABLED"] == "true"
    assert env["CORE_PEER_TLS_CLIENTAUTHREQUIRED"] == "true"
    assert env["CORE_PEER_TLS_CLIENTROOTCAS_FILES"] == "/o/a.pem /o/b.pem"  # viper: spaces
    assert env["CORE_OPERATIONS_TLS_ENABLED"] == "true"
    assert env["CORE_OPERATIONS_TLS_CLIENTAUTHREQUIRED"] == "true"
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
    core = yaml.safe_load((nodes.config_dir(topo) / "core.yaml").read_text())
    assert core["vm"]["endpoint"] == ""


def test_ready_waits_until_each_gateway_endorses_with_every_org(topo, monkeypatch):
    """Regression (CI): ready after MAJORITY (2 orgs) endorsed, then a purge needing the
    third org's peer failed with "no combination of peers"; every org must endorse."""
    from client.gateway import GatewayError
    from network import ready

    profiles.write_profiles(topo)
    calls: list[tuple[str, tuple[str, ...]]] = []
    unseen = {"HospitalMSP": 2}  # Hospital's gateway does not see every org twice

    class Status:
        block_number = 7

    def heartbeat(profile, endorsing_orgs=()):
        calls.append((profile.msp_id, tuple(endorsing_orgs)))
        if unseen.get(profile.msp_id, 0):
            unseen[profile.msp_id] -= 1
            raise GatewayError("no combination of peers can be derived")
        return None, Status()

    monkeypatch.setattr(ready, "heartbeat", heartbeat)
    monkeypatch.setattr(ready.time, "sleep", lambda _: None)
    blocks = ready.wait_ready(topo, timeout=5)
    assert blocks == {"UniversityMSP": 7, "HospitalMSP": 7, "IMSSMSP": 7}
    everyone = ("UniversityMSP", "HospitalMSP", "IMSSMSP")
    assert [c for c in calls if c[0] == "HospitalMSP"] == [("HospitalMSP", everyone)] * 3
    assert all(orgs == everyone for _, orgs in calls)


def test_ready_uses_the_topology_it_is_given(tmp_path, monkeypatch):
    """Regression (issue 8): `--topology other.yaml up` waited on the default layout's ports
    because the profile was rebuilt from the environment's topology."""
    from network import ready

    other = topology.load(shifted_topology(tmp_path / "other", 25), tmp_path / "other-run")
    profiles.write_profiles(other)
    monkeypatch.setenv("TRAZA_TOPOLOGY", str(topology.DEFAULT_TOPOLOGY))  # must not matter
    monkeypatch.setenv("TRAZA_NETWORK_RUN", str(tmp_path / "elsewhere"))
    seen: list[Profile] = []

    class Status:
        block_number = 1

    def heartbeat(profile, endorsing_orgs=()):
        seen.append(profile)
        return None, Status()

    monkeypatch.setattr(ready, "heartbeat", heartbeat)
    ready.wait_ready(other, timeout=5)
    assert [p.peer for p in seen] == ["127.0.0.1:8076", "127.0.0.1:9076", "127.0.0.1:10076"]
    assert all(p.tls_ca.is_relative_to(other.run) for p in seen)


def test_ready_fails_clearly_when_up_wrote_no_profiles(topo):
    from network import ready

    with pytest.raises(ValueError, match="no profile for service1 of university in .*"
                                         "is the network up"):
        ready.wait_ready(topo, timeout=1)


def test_topology_carries_its_run_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRAZA_NETWORK_RUN", str(tmp_path / "from-env"))  # read by the CLI only
    assert topology.load(run="rel").run == tmp_path / "rel"
    assert topology.load().run == topology.DEFAULT_RUN


def test_every_state_file_lives_in_the_topologys_run_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAZA_NETWORK_RUN", str(tmp_path / "from-env"))
    topo = topology.load(run=tmp_path / "a")
    org, peer, orderer = topo.org("hospital"), topo.peers[0], topo.orderers[0]
    dep = chaincode.Deployment("1.0", 1, "traza_1.0:ab")
    paths = [
        ca.ca_home(topo, org), ca.tls_ca(topo, org), ca.user_dir(topo, org, "operator1"),
        ca.node_dir(topo, peer.node_id), chaincode.cc_dir(topo), chaincode.state_file(topo),
        channel.block_path(topo), minio.home(topo), minio.account_file(topo, org),
        profiles.profile_path(topo, org, "operator1"),
        nodes.orderer_node(topo, orderer).home, chaincode.server_node(topo, org, dep).home,
        ca.ca_node(topo, org).home, minio.minio_node(topo).home,
    ]
    assert all(p.is_relative_to(topo.run) for p in paths), paths
    assert Path(nodes.admin_env(topo, peer)["CORE_PEER_MSPCONFIGPATH"]).is_relative_to(topo.run)
    assert not (tmp_path / "from-env").exists()


def test_up_writes_a_profile_per_org_and_user(topo):
    files = profiles.write_profiles(topo)
    assert len(files) == len(topo.orgs) * len(topo.users) == 15
    path = topo.run / "profiles" / "hospital" / "operator1.json"
    assert path in files and mode(path) == 0o644
    doc = json.loads(path.read_text())
    run = topo.run
    assert doc == {
        "version": 1,
        "msp": {"id": "HospitalMSP", "dir": f"{run}/orgs/hospital/users/operator1/msp"},
        "gateway": {
            "address": "127.0.0.1:9051",
            "server_name": "peer0.hospital.traza.local",
            "tls_ca": f"{run}/orgs/hospital/msp/tlscacerts/ca.pem",
            "client_cert": f"{run}/orgs/hospital/users/operator1/tls/server.crt",
            "client_key": f"{run}/orgs/hospital/users/operator1/tls/server.key",
        },
        "channel": "donations",
        "chaincode": "traza",
        "minio": {"endpoint": "127.0.0.1:9000", "secure": True,
                  "ca_file": f"{run}/orgs/orderer/msp/tlscacerts/ca.pem",
                  "credentials": f"{run}/minio/hospital.json"},
    }
    back = Profile.from_dir(topo.run / "profiles", "HospitalMSP", "operator1")
    assert back == profiles.profile_of(topo, topo.org("hospital"), "operator1")
    assert profiles.local(topo, "Hospital", "operator1") == back


def test_secrets_are_0600_from_the_first_byte(topo, tmp_path):
    org = topo.org("university")
    ca._secret(topo, org, "registrar")
    secrets_file = ca.ca_home(topo, org) / "secrets.json"
    assert mode(secrets_file) == 0o600 and mode(secrets_file.parent) == 0o700
    first = json.loads(secrets_file.read_text())["registrar"]
    ca._secret(topo, org, "peer0")  # a second identity: the first secret is kept
    assert json.loads(secrets_file.read_text())["registrar"] == first
    creds = minio.credentials(topo)
    assert mode(minio.home(topo) / "credentials.json") == 0o600
    assert minio.credentials(topo) == creds
    for name, key in (("root-user", "access_key"), ("root-password", "secret_key")):
        assert mode(minio.home(topo) / name) == 0o600
        assert (minio.home(topo) / name).read_text() == creds[key]
    node = Node("envy", [sys.executable, "-c", "open('made', 'w'); import time; time.sleep(30)"],
                {"X": "1"}, tmp_path / "envy", 1)
    process.start(node)
    try:
        assert mode(node.home / "env") == 0o600
        process.wait_for("made", lambda: (node.home / "made").exists(), 10, node)
        assert mode(node.home / "made") == 0o600  # nodes run with umask 077
        assert mode(node.logfile) == 0o600
    finally:
        process.stop(node)


def test_minio_root_credentials_reach_the_server_by_file_only(topo):
    creds = minio.credentials(topo)
    node = minio.minio_node(topo)
    text = " ".join(node.argv) + " ".join(f"{k}={v}" for k, v in node.env.items())
    assert creds["secret_key"] not in text and creds["access_key"] not in text
    assert node.env["MINIO_ROOT_PASSWORD_FILE"] == str(minio.home(topo) / "root-password")
    assert "--certs-dir" in node.argv  # HTTPS only


def test_ca_registrar_secret_is_in_a_0600_config_never_in_env_or_argv(topo):
    org = topo.org("hospital")
    registrar = ca._secret(topo, org, "registrar")
    node = ca.ca_node(topo, org)
    assert registrar not in " ".join(node.argv) + " ".join(node.env.values())
    assert not [k for k in node.env if k.endswith("_BOOT")]
    assert node.env["FABRIC_CA_SERVER_LOGLEVEL"] == "warning"
    private_dir(ca.tls_ca_home(topo, org))
    ca._write_server_config(topo, org)
    config = ca.ca_home(topo, org) / "fabric-ca-server-config.yaml"
    assert mode(config) == 0o600
    doc = yaml.safe_load(config.read_text())
    assert doc["registry"]["identities"][0] == {**doc["registry"]["identities"][0],
                                                "name": "registrar", "pass": registrar}
    tls_cfg = Path(doc["cafiles"][0])
    assert yaml.safe_load(tls_cfg.read_text())["ca"]["name"] == "tlsca.hospital"
    assert registrar not in tls_cfg.read_text()


def test_register_and_enroll_send_secrets_only_in_the_request(topo, monkeypatch):
    """Through the CA's REST API: the secret in a header or the body, never in a URL."""
    org = topo.org("hospital")
    calls: list[tuple[str, str, bytes, dict[str, str]]] = []
    ca_key = ec.generate_private_key(ec.SECP256R1())

    def post(endpoint, path, raw, headers, what):
        calls.append((endpoint.name, endpoint.url + path, raw, headers))
        if path.endswith("/register"):
            return {"secret": "x"}
        csr = x509.load_pem_x509_csr(json.loads(raw)["certificate_request"].encode())
        cert = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(csr.subject)
                .public_key(csr.public_key()).serial_number(1)
                .not_valid_before(datetime.datetime(2026, 1, 1))
                .not_valid_after(datetime.datetime(2027, 1, 1))
                .sign(ca_key, hashes.SHA256()))
        return {"Cert": base64.b64encode(cert.public_bytes(serialization.Encoding.PEM)).decode()}

    monkeypatch.setattr(ca_client, "_post", post)
    for cert in (ca.ca_cert(topo, org), ca.tls_ca_cert(topo, org)):
        cert.parent.mkdir(parents=True, exist_ok=True)
        cert.write_text("-----BEGIN CERTIFICATE-----\n")
    name = "operator1.hospital.traza.local"
    secret = ca.register(topo, org, name, "client", "traza.role=operator")
    ca.enroll(topo, org, name, out := topo.run / "u", hosts=[name, "127.0.0.1"])
    # registrar enrolled at each CA, the user registered at each, enrolled at each
    assert [c[0] for c in calls] == ["ca.hospital", "ca.hospital", "tlsca.hospital",
                                     "tlsca.hospital", "ca.hospital", "tlsca.hospital"]
    for _, url, _, _ in calls:
        assert secret not in url and ca._secret(topo, org, "registrar") not in url
    register_body = json.loads(calls[1][2])
    assert register_body["secret"] == secret
    assert register_body["attrs"] == [{"name": "traza.role", "value": "operator", "ecert": True}]
    assert json.loads(calls[3][2])["attrs"] == []  # TLS certificates carry no role
    assert calls[4][3]["Authorization"] == "Basic " + base64.b64encode(
        f"{name}:{secret}".encode()).decode()
    assert json.loads(calls[5][2])["profile"] == "tls"
    for key in [out / "tls" / "server.key", *(out / "msp" / "keystore").iterdir()]:
        assert mode(key) == 0o600 and mode(key.parent) == 0o700
    assert (out / "msp" / "signcerts" / "cert.pem").exists()
    assert (out / "msp" / "config.yaml").exists()


def test_pins_are_one_data_file_read_by_python_and_the_installer(monkeypatch):
    def installer() -> dict[str, str]:
        out = subprocess.run(
            ["bash", str(REPO / "scripts" / "install-binaries.sh"), "--print-versions"],
            capture_output=True, text=True, check=True, env=os.environ.copy(),
        ).stdout
        return dict(line.split("=", 1) for line in out.splitlines())

    pins = binaries.read_versions()
    assert set(pins) == {"FABRIC_VERSION", "FABRIC_MODVER", "FABRIC_CA_VERSION", "MINIO_MODVER"}
    for key in pins:
        monkeypatch.delenv(f"TRAZA_{key}", raising=False)
    assert installer() == binaries.pins() == pins
    monkeypatch.setenv("TRAZA_FABRIC_CA_VERSION", "1.5.99")
    assert installer()["FABRIC_CA_VERSION"] == binaries.pins()["FABRIC_CA_VERSION"] == "1.5.99"
    assert binaries.bin_dirs()["fabric-ca"].name == "fabric-ca-1.5.99"
    script = (REPO / "scripts" / "install-binaries.sh").read_text()
    assert [v for v in pins.values() if v in script] == []  # no second copy of a pin


def test_a_malformed_versions_file_is_refused(tmp_path):
    bad = tmp_path / "versions.env"
    bad.write_text("# pins\nFABRIC_VERSION = 3.1.1\n")
    with pytest.raises(NetworkError, match=r"versions.env:2: expected KEY=value"):
        binaries.read_versions(bad)


def test_cli_acts_on_the_topology_and_run_folder_it_is_given(tmp_path, monkeypatch):
    layout = shifted_topology(tmp_path / "layout", 35)
    run = tmp_path / "run-x"
    monkeypatch.delenv("TRAZA_TOPOLOGY", raising=False)
    monkeypatch.delenv("TRAZA_NETWORK_RUN", raising=False)
    res = CliRunner().invoke(network, ["--topology", str(layout), "--run", str(run), "status"])
    assert res.exit_code == 3, res.output  # nothing runs
    row = next(line for line in res.output.splitlines() if line.startswith("hospital-peer0"))
    assert "stopped" in row and "port 9086 " in row and str(run / "nodes") in row
    # The same through the environment, read at this edge only.
    monkeypatch.setenv("TRAZA_TOPOLOGY", str(layout))
    monkeypatch.setenv("TRAZA_NETWORK_RUN", str(run))
    res = CliRunner().invoke(network, ["status"])
    assert res.exit_code == 3 and "port 9086 " in res.output and str(run) in res.output


def test_ca_token_is_fabric_cas_signed_payload():
    """util.GenECDSAToken: b64(cert) "." b64(sig of method.b64(uri).b64(body).b64(cert))."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert, body = b"-----BEGIN CERTIFICATE-----\nX\n", b'{"id":"a"}'
    token = ca_client.token(Signer(key), cert, "POST", "/api/v1/register", body)
    b64cert, sig = token.split(".")
    assert base64.b64decode(b64cert) == cert
    b64 = base64.b64encode
    payload = b"POST." + b64(b"/api/v1/register") + b"." + b64(body) + b"." + b64(cert)
    key.public_key().verify(base64.b64decode(sig), payload, ec.ECDSA(hashes.SHA256()))


def test_enrollment_keys_are_named_by_fabrics_ski():
    key = ec.generate_private_key(ec.SECP256R1())
    point = key.public_key().public_bytes(serialization.Encoding.X962,
                                          serialization.PublicFormat.UncompressedPoint)
    assert ca_client.ski(key) == hashlib.sha256(point).hexdigest()
    csr = x509.load_pem_x509_csr(ca_client._csr(key, "peer0.x", ["peer0.x", "127.0.0.1"]))
    assert csr.subject.rfc4514_string() == "CN=peer0.x"
    sans = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["peer0.x"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]


def test_a_run_folder_from_before_the_tls_cas_asks_for_a_reset(topo):
    org = topo.org("hospital")
    home = ca.ca_home(topo, org)
    home.mkdir(parents=True)
    (home / "fabric-ca-server-config.yaml").write_text("registry: {}\n")  # the old layout
    with pytest.raises(NetworkError, match="traza network reset"):
        ca.start_ca(topo, org)
