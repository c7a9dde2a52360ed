"""Issue 2: the contract is upgraded by a sequence bump, approved by every org again."""

from __future__ import annotations

from network import chaincode

from .helpers import heartbeat


def test_sequence_bump_keeps_the_contract_working(fabric, profiles):
    before = chaincode.committed(fabric)
    dep = chaincode.deploy(fabric, version=before["version"], sequence=before["sequence"] + 1)
    after = chaincode.committed(fabric)
    assert after["sequence"] == before["sequence"] + 1 == dep.sequence
    assert chaincode.deployed(fabric) == dep
    # Same version, same package: every org's contract server answers again.
    for org in ("university", "hospital", "imss"):
        assert heartbeat(profiles(org))["block"] > 0
