"""Issue 2 on the real network: submit/evaluate per org, refusals, events, blocks."""

from __future__ import annotations

import json

import pytest

from client.gateway import EndorseError, GatewayError, InMemoryCheckpointer
from network import control

from .helpers import heartbeat, request_id


def test_every_node_runs_and_up_is_idempotent(fabric):
    assert all(row["pid"] for row in control.status(fabric))
    before = {row["name"]: row["pid"] for row in control.status(fabric)}
    control.up(fabric)  # a second up restarts nothing
    assert {row["name"]: row["pid"] for row in control.status(fabric)} == before


@pytest.mark.parametrize("org", ["university", "hospital", "imss"])
def test_submit_and_evaluate_through_each_orgs_gateway(profiles, org):
    status = heartbeat(profiles(org, "service1"))
    assert status["block"] > 0
    msp = status["result"]["msp"]
    # Read back through another org's gateway, as that org's regulator.
    other = "imss" if org != "imss" else "university"
    with profiles(other, "regulator1").contract() as contract:
        stored = json.loads(contract.evaluate_transaction("GetHeartbeat", msp))
    assert stored["txId"] == status["tx_id"]
    assert stored["executor"] and len(stored["executor"]) == 64  # a hash, never a name


def test_user_without_role_attribute_is_refused(profiles):
    contract_of = profiles("hospital", "norole1").contract()
    with contract_of as contract, pytest.raises(EndorseError) as err:
        contract.submit_transaction("Heartbeat", request_id())
    message = str(err.value)
    assert "traza.role" in message and "caller has none" in message
    assert err.value.transaction_id
    assert any(d.msp_id == "HospitalMSP" for d in err.value.details)


def test_unknown_transaction_is_a_clear_error(profiles):
    with profiles("university").contract() as contract, pytest.raises(GatewayError) as err:
        contract.evaluate_transaction("NoSuchStep", "x")
    assert "NoSuchStep" in str(err.value)


def test_events_resume_from_checkpoint(profiles):
    service = profiles("university", "service1")
    first = heartbeat(service)
    sent = [heartbeat(service)["tx_id"] for _ in range(3)]
    checkpoint = InMemoryCheckpointer()
    with service.gateway() as gw:
        network = gw.get_network(service.channel)
        with network.chaincode_events("traza", checkpoint=checkpoint,
                                      start_block=first["block"] + 1) as events:
            got = next(e for e in events if e.event_name == "Heartbeat")
            assert got.transaction_id == sent[0]
            json.loads(got.payload)  # ids only, as JSON
            got = next(events)
            assert got.transaction_id == sent[1]
        # Leaving the block checkpointed the second event: a restart resumes at the third.
        assert checkpoint.transaction_id == sent[1]
        with network.chaincode_events("traza", checkpoint=checkpoint) as events:
            assert next(events).transaction_id == sent[2]


def test_blocks_are_read_with_deliver(profiles):
    service = profiles("imss", "regulator1")
    with service.gateway() as gw:
        blocks = list(gw.get_network(service.channel).blocks(0, 2))
    assert [b.header.number for b in blocks] == [0, 1, 2]
    assert blocks[1].header.previous_hash
