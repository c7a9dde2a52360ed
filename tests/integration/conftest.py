"""The real network, started once per test session on ports shifted from the demo's.

The test network lives in ``network/run-test/`` so a demo network left running by
``make demo`` is neither disturbed nor reused. It stops at the end of the session and
keeps its state, so the next run starts in seconds (``up`` is idempotent).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from client.profile import Profile
from network import control, topology

REPO = Path(__file__).resolve().parents[2]
TEST_RUN = REPO / "network" / "run-test"
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
    path = TEST_RUN / "topology.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def fabric() -> topology.Topology:
    """The running test network (started on first use, stopped after the session)."""
    saved = {k: os.environ.get(k) for k in ("TRAZA_NETWORK_RUN", "TRAZA_TOPOLOGY")}
    os.environ["TRAZA_NETWORK_RUN"] = str(TEST_RUN)
    os.environ["TRAZA_TOPOLOGY"] = str(write_test_topology())
    topo = topology.load()
    control.up(topo)
    yield topo
    control.down(topo)
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def profiles(fabric: topology.Topology):
    """``profiles(org, user)`` -> Profile on the test network."""
    return lambda org, user="service1": Profile.local(org, user)


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def as_(fabric: topology.Topology):
    """``as_(org, user)`` -> context manager yielding a :class:`client.donations.Donations`."""
    from contextlib import contextmanager

    from client.donations import Donations

    @contextmanager
    def open_as(org: str, user: str = "service1", **options):
        with Profile.local(org, user).contract() as contract:
            yield Donations(contract, **options)

    return open_as
