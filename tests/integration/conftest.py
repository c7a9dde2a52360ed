"""The real network, started once per test session on ports shifted from the demo's.

The test network lives in ``network/run-test/`` so a demo network left running by
``make demo`` is neither disturbed nor reused. It is brought up and down through the
command line, ``traza network --topology network/run-test/topology.yaml --run
network/run-test up``, in a child process whose environment names neither: so the
session proves the options are honoured end to end. It stops at the end of the session and
keeps its state, so the next run starts in seconds (``up`` is idempotent). Tests reach it
through the connection profiles ``up`` wrote, as any client does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from client.profile import Profile
from network import topology

REPO = Path(__file__).resolve().parents[2]
TEST_RUN = REPO / "network" / "run-test"
TEST_TOPOLOGY = TEST_RUN / "topology.yaml"
# Every port + 5: no clash with the demo layout in network/topology.yaml. Another shift
# (15, 25, 35: base ports end in 0-4) lets two checkouts run their networks side by side.
PORT_SHIFT = int(os.environ.get("TRAZA_TEST_PORT_SHIFT", "5"))


def _shift(node: dict) -> dict:
    return {k: (v + PORT_SHIFT if k.endswith("port") else v) for k, v in node.items()}


def write_test_topology() -> Path:
    raw = yaml.safe_load(topology.DEFAULT_TOPOLOGY.read_text())
    for org in [raw["orderer_org"], *raw["orgs"]]:
        org["ca"] = _shift(org["ca"])
        org["peers"] = [_shift(p) for p in org.get("peers", [])]
        org["orderers"] = [_shift(o) for o in org.get("orderers", [])]
        if "chaincode_server" in org:
            org["chaincode_server"] = _shift(org["chaincode_server"])
    raw["minio"] = _shift(raw["minio"])
    if raw.get("mail"):
        raw["mail"] = _shift(raw["mail"])
    TEST_TOPOLOGY.parent.mkdir(parents=True, exist_ok=True)
    TEST_TOPOLOGY.write_text(yaml.safe_dump(raw, sort_keys=False))
    return TEST_TOPOLOGY


def traza_network(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run ``traza network --topology <test> --run <test run> ARGS`` in a child process.

    The child's environment has no ``TRAZA_TOPOLOGY``/``TRAZA_NETWORK_RUN``: only the
    options say which network it acts on.
    """
    env = {k: v for k, v in os.environ.items()
           if k not in ("TRAZA_TOPOLOGY", "TRAZA_NETWORK_RUN")}
    argv = [sys.executable, "-m", "client.cli", "network",
            "--topology", str(TEST_TOPOLOGY), "--run", str(TEST_RUN), *args]
    return subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="session")
def network_up() -> subprocess.CompletedProcess[str]:
    """The finished ``traza network ... up`` of this session (stopped after the session)."""
    write_test_topology()
    res = traza_network("up")
    if res.returncode != 0:
        traza_network("down")
        pytest.fail(f"traza network up exited {res.returncode}:\n{res.stdout}{res.stderr}")
    yield res
    traza_network("down")


@pytest.fixture(scope="session")
def fabric(network_up) -> topology.Topology:
    """The running test network's topology, bound to its run folder."""
    return topology.load(TEST_TOPOLOGY, TEST_RUN)


@pytest.fixture(scope="session")
def profiles_dir(fabric: topology.Topology) -> Path:
    """The folder of connection profiles ``up`` wrote for the test network."""
    return fabric.run / "profiles"


@pytest.fixture(scope="session")
def profiles(fabric: topology.Topology):
    """``profiles(org, user)`` -> the Profile ``up`` wrote for that user of the test network."""
    folder = fabric.run / "profiles"
    return lambda org, user="service1": Profile.from_dir(folder, org, user)


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def as_(profiles):
    """``as_(org, user)`` -> context manager yielding a :class:`client.donations.Donations`."""
    from contextlib import contextmanager

    from client.donations import Donations

    @contextmanager
    def open_as(org: str, user: str = "service1", **options):
        with profiles(org, user).contract() as contract:
            yield Donations(contract, **options)

    return open_as
