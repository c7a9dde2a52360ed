"""Issue 8: ``traza network --topology F --run D`` acts on F's network, end to end.

The session's network was brought up by the command line with the shifted test topology
and run folder and no environment naming either (see conftest.py); a regression that fell
back on the default layout would wait for readiness on the demo's ports.
"""

from __future__ import annotations

import json
import re

from client.profile import Profile

from .conftest import PORT_SHIFT, TEST_RUN, traza_network
from .helpers import heartbeat

DEFAULT_PEER_PORTS = {"university": 8051, "hospital": 9051, "imss": 10051}


def test_up_waited_for_readiness_through_every_org_on_the_shifted_ports(network_up, fabric):
    log = network_up.stderr
    for msp in ("UniversityMSP", "HospitalMSP", "IMSSMSP"):
        assert re.search(rf"{msp}: committed in block \d+", log), log[-2000:]
    assert f"connection profiles in {TEST_RUN / 'profiles'}" in log
    assert [p.port for p in fabric.peers] == [p + PORT_SHIFT for p in DEFAULT_PEER_PORTS.values()]


def test_up_wrote_a_profile_per_org_and_user_in_the_run_folder(fabric):
    files = sorted((TEST_RUN / "profiles").glob("*/*.json"))
    assert len(files) == len(fabric.orgs) * len(fabric.users) == 15
    for org, port in DEFAULT_PEER_PORTS.items():
        doc = json.loads((TEST_RUN / "profiles" / org / "operator1.json").read_text())
        assert doc["gateway"]["address"] == f"127.0.0.1:{port + PORT_SHIFT}"
        assert doc["gateway"]["server_name"] == f"peer0.{org}.traza.local"
        assert doc["msp"]["id"] == fabric.org(org).msp
        for path in (doc["msp"]["dir"], doc["gateway"]["tls_ca"], doc["minio"]["credentials"]):
            assert path.startswith(f"{TEST_RUN}/")
        assert (TEST_RUN / doc["msp"]["dir"] / "signcerts").is_dir()
        assert doc["minio"]["endpoint"] == f"127.0.0.1:{9000 + PORT_SHIFT}"


def test_a_profile_file_alone_reaches_the_network(fabric):
    profile = Profile.from_file(TEST_RUN / "profiles" / "imss" / "service1.json")
    assert heartbeat(profile)["block"] > 0


def test_status_reports_the_shifted_ports_of_the_running_network(fabric):
    res = traza_network("status", timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    peer = fabric.org("university").peers[0]
    row = next(line for line in res.stdout.splitlines() if line.startswith(peer.node_id))
    assert "running pid" in row and f"port {peer.port} " in row
    assert str(TEST_RUN / "nodes" / peer.node_id / "log") in row


def test_no_ca_or_minio_secret_in_any_node_log(fabric):
    run = fabric.run
    secrets = [v for f in run.glob("ca/*/secrets.json") for v in json.loads(f.read_text()).values()]
    secrets += json.loads((run / "minio" / "credentials.json").read_text()).values()
    assert len(secrets) >= 4 * 2 + 3 * 5 + 2  # registrars, nodes, users, MinIO root
    logs = sorted(run.rglob("log"))
    assert len(logs) >= 14
    text = b"".join(p.read_bytes() for p in logs)
    assert sum(s.encode() in text for s in secrets) == 0
