"""Issue 2: the network keeps committing while the Raft leader, then a peer, is down."""

from __future__ import annotations

import pytest

from network import channel, ready
from network.process import wait_for

from .helpers import heartbeat, raft_leader, retry, start_node, stop_node

pytestmark = pytest.mark.timeout(600)


def test_commits_continue_without_the_raft_leader(fabric, profiles):
    leader = raft_leader(fabric)
    stop_node(fabric, leader)
    try:
        # A new leader is elected among the two others; submits go on meanwhile.
        for org in ("university", "hospital"):
            assert retry(lambda o=org: heartbeat(profiles(o)))["block"] > 0
        assert raft_leader(fabric) != leader
    finally:
        start_node(fabric, leader)
    # Back in the cluster: it catches up and commits go on.
    assert retry(lambda: heartbeat(profiles("imss")))["block"] > 0


def test_commits_continue_without_one_peer(fabric, profiles):
    down = fabric.org("imss").peers[0]
    stop_node(fabric, down)
    try:
        # MAJORITY of three orgs: University and Hospital are enough.
        status = retry(lambda: heartbeat(profiles("university")), timeout=120)
        assert status["block"] > 0
    finally:
        start_node(fabric, down)
    # The restarted peer catches up with the others' height.
    target = channel.height(fabric, fabric.org("university").peers[0])
    wait_for("the restarted peer to catch up",
             lambda: channel.height(fabric, down) >= target, timeout=60)
    # Every gateway sees it again (later tests need all three orgs, e.g. for a purge).
    blocks = ready.wait_ready(fabric, timeout=120)
    assert sorted(blocks) == ["HospitalMSP", "IMSSMSP", "UniversityMSP"]
