"""The client against an in-process fake gateway peer that checks every signature."""

from __future__ import annotations

import hashlib

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import proposal_pb2, transaction_pb2

from client.gateway import (
    CommitError,
    EndorseError,
    FileCheckpointer,
    GatewayError,
    Signer,
    SubmitError,
    connect,
    is_mvcc_conflict,
    retriable,
)


@pytest.fixture
def gateway(gateway_member, gateway_channel):
    with connect(gateway_member.identity, gateway_member.signer, channel=gateway_channel) as gw:
        yield gw


@pytest.fixture
def contract(gateway):
    return gateway.get_network("donations").get_contract("traza")


@pytest.fixture
def fake(fake_gateway):
    return fake_gateway.gateway


def test_evaluate_transaction(contract, fake):
    fake.result = lambda name, args: b"|".join([name.encode(), *args])
    assert contract.evaluate_transaction("ReadDonation", "d-1") == b"ReadDonation|d-1"
    request = fake.requests["Evaluate"][0]
    assert request.channel_id == "donations"
    assert len(request.transaction_id) == 64


def test_evaluate_targets_organisations(contract, fake):
    contract.evaluate("ReadDonation", arguments=["d-1"], target_orgs=["HospitalMSP"])
    assert list(fake.requests["Evaluate"][0].target_organizations) == ["HospitalMSP"]


def test_evaluate_chaincode_error_status(contract, fake):
    fake.evaluate_status = 500
    with pytest.raises(GatewayError, match="chaincode status 500: no such record for Read"):
        contract.evaluate_transaction("Read", "d-9")


def test_submit_transaction_runs_endorse_submit_commit(contract, fake):
    assert contract.submit_transaction("RegisterDonation", "d-1") == b"ok:RegisterDonation"
    endorse = fake.requests["Endorse"][0]
    submit = fake.requests["Submit"][0]
    status = gateway_pb2.CommitStatusRequest.FromString(fake.requests["CommitStatus"][0].request)
    assert endorse.transaction_id == submit.transaction_id == status.transaction_id
    assert status.channel_id == "donations"


def test_submit_async_gives_result_then_status(contract, fake):
    commit = contract.submit_async("Consent", arguments=["d-1"])
    assert commit.result == b"ok:Consent"
    assert "CommitStatus" not in fake.requests  # not waited for yet
    status = commit.status()
    assert (status.code, status.block_number, status.successful) == ("VALID", 7, True)
    assert status.transaction_id == commit.transaction_id
    assert commit.status() is status
    assert len(fake.requests["CommitStatus"]) == 1


def test_transient_and_endorsing_orgs_reach_the_gateway_only(contract, fake):
    contract.submit(
        "Acquire",
        arguments=["d-1"],
        transient={"key": b"wrapped-data-key"},
        endorsing_orgs=["UniversityMSP", "HospitalMSP"],
    )
    endorse = fake.requests["Endorse"][0]
    assert list(endorse.endorsing_organizations) == ["UniversityMSP", "HospitalMSP"]
    proposal = proposal_pb2.Proposal.FromString(endorse.proposed_transaction.proposal_bytes)
    payload = proposal_pb2.ChaincodeProposalPayload.FromString(proposal.payload)
    assert dict(payload.TransientMap) == {"key": b"wrapped-data-key"}
    submitted = fake.submitted[endorse.transaction_id]
    assert b"wrapped-data-key" not in submitted.payload


@pytest.mark.parametrize(
    ("code", "mvcc"),
    [
        (transaction_pb2.MVCC_READ_CONFLICT, True),
        (transaction_pb2.ENDORSEMENT_POLICY_FAILURE, False),
    ],
)
def test_invalid_commit_raises_commit_error(contract, fake, code, mvcc):
    fake.commit_code = code
    with pytest.raises(CommitError) as caught:
        contract.submit_transaction("Acquire", "d-1")
    assert caught.value.code == transaction_pb2.TxValidationCode.Name(code)
    assert caught.value.block_number == 7
    assert caught.value.transaction_id == fake.requests["Submit"][0].transaction_id
    assert is_mvcc_conflict(caught.value) is mvcc
    # submit_async reports the same through the status instead of raising
    status = contract.submit_async("Acquire", arguments=["d-1"]).status()
    assert not status.successful and status.code == caught.value.code


def test_endorse_failure_keeps_peer_messages(contract, fake, gateway_kit):
    fake.failures["Endorse"] = gateway_kit.Failure(
        grpc.StatusCode.ABORTED,
        "failed to endorse transaction, see attached details for more info",
        (
            gateway_pb2.ErrorDetail(
                address="peer0.university.traza.local:7051",
                msp_id="UniversityMSP",
                message="chaincode response 500, caller role operator may not Diagnose",
            ),
        ),
    )
    with pytest.raises(EndorseError) as caught:
        contract.submit_transaction("Diagnose", "d-1")
    error = caught.value
    assert error.grpc_code == grpc.StatusCode.ABORTED
    assert error.transaction_id == fake.requests["Endorse"][0].transaction_id
    assert [(d.msp_id, d.message) for d in error.details] == [
        ("UniversityMSP", "chaincode response 500, caller role operator may not Diagnose")
    ]
    assert "may not Diagnose" in str(error)
    assert not retriable(error)
    assert "Submit" not in fake.requests


def test_step_wise_retry_keeps_transaction_id(contract, fake, gateway_kit):
    fake.failures["Submit"] = gateway_kit.Failure(grpc.StatusCode.UNAVAILABLE, "orderers down")
    proposal = contract.new_proposal("Store", arguments=["d-1"])
    transaction = proposal.endorse()
    with pytest.raises(SubmitError) as caught:
        transaction.submit()
    assert retriable(caught.value)
    del fake.failures["Submit"]
    commit = transaction.submit()
    assert commit.status().successful
    ids = {r.transaction_id for r in fake.requests["Submit"]}
    assert ids == {proposal.transaction_id}


def test_deadline_is_applied(gateway_member, gateway_channel, fake):
    fake.delay["Evaluate"] = 2.0
    with connect(
        gateway_member.identity,
        gateway_member.signer,
        channel=gateway_channel,
        evaluate_timeout=0.2,
    ) as gw:
        contract = gw.get_network("donations").get_contract("traza")
        with pytest.raises(GatewayError) as caught:
            contract.evaluate_transaction("ReadDonation", "d-1")
    assert caught.value.grpc_code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert retriable(caught.value)


def test_unreachable_peer_is_unavailable(gateway_member):
    channel = grpc.insecure_channel("127.0.0.1:1")
    with connect(gateway_member.identity, gateway_member.signer, channel=channel) as gw:
        contract = gw.get_network("donations").get_contract("traza")
        with pytest.raises(EndorseError) as caught:
            contract.submit_transaction("Consent", "d-1")
    channel.close()
    assert caught.value.grpc_code == grpc.StatusCode.UNAVAILABLE
    assert retriable(caught.value)


def test_chaincode_events_resume_from_file_checkpoint(gateway, fake, tmp_path):
    fake.event_blocks = [
        (3, [("a", "Registered", b"1"), ("b", "Consented", b"2")]),
        (4, [("c", "Acquired", b"3")]),
    ]
    network = gateway.get_network("donations")
    checkpoint = FileCheckpointer(tmp_path / "events.json")

    with network.chaincode_events("traza", checkpoint=checkpoint, start_block=0) as events:
        first = next(events)
    assert (first.block_number, first.transaction_id, first.event_name) == (3, "a", "Registered")
    assert first.chaincode_name == "traza" and first.payload == b"1"
    assert fake.events_cancelled.wait(5), "closing the iterator must cancel the stream"

    fake.events_cancelled.clear()
    restarted = FileCheckpointer(tmp_path / "events.json")
    with network.chaincode_events("traza", checkpoint=restarted, start_block=0) as events:
        rest = [next(events).transaction_id, next(events).transaction_id]
    assert rest == ["b", "c"]
    requests = [
        gateway_pb2.ChaincodeEventsRequest.FromString(r.request)
        for r in fake.requests["ChaincodeEvents"]
    ]
    assert requests[0].start_position.specified.number == 0
    assert (requests[1].start_position.specified.number, requests[1].after_transaction_id) == (
        3,
        "a",
    )
    assert (restarted.block_number, restarted.transaction_id) == (4, "c")


def test_chaincode_events_default_to_next_commit(gateway, fake):
    fake.event_blocks = [(8, [("t", "Stored", b"")])]
    with gateway.get_network("donations").chaincode_events("traza") as events:
        assert next(events).block_number == 8
    request = gateway_pb2.ChaincodeEventsRequest.FromString(
        fake.requests["ChaincodeEvents"][0].request
    )
    assert request.start_position.HasField("next_commit")


def make_block(number):
    return common_pb2.Block(header=common_pb2.BlockHeader(number=number))


def test_blocks_reads_a_range(gateway, fake):
    fake.blocks = [make_block(n) for n in range(5)]
    with gateway.get_network("donations").blocks(1, 3) as blocks:
        numbers = [block.header.number for block in blocks]
    assert numbers == [1, 2, 3]
    envelope = fake.requests["Deliver"][0]
    header = common_pb2.ChannelHeader.FromString(
        common_pb2.Payload.FromString(envelope.payload).header.channel_header
    )
    assert header.type == common_pb2.DELIVER_SEEK_INFO
    assert header.channel_id == "donations"
    assert header.tls_cert_hash == b""


def test_blocks_refused_status(gateway, fake):
    fake.deliver_status = common_pb2.FORBIDDEN
    with pytest.raises(GatewayError, match="FORBIDDEN"):
        list(gateway.get_network("donations").blocks(0, 1))


@pytest.mark.parametrize("bad_range", [(-1, None), (5, 4)])
def test_blocks_bad_range(gateway, bad_range):
    with pytest.raises(ValueError, match="bad block range"):
        gateway.get_network("donations").blocks(*bad_range)


def test_connect_validates_options(gateway_member, gateway_channel):
    identity, signer = gateway_member.identity, gateway_member.signer
    other = Signer(ec.generate_private_key(ec.SECP256R1()))
    cases = [
        (dict(identity=identity, signer=other, channel=gateway_channel), "does not match"),
        (dict(identity=identity, signer=signer), "target"),
        (dict(identity=identity, signer=signer, target="127.0.0.1:7051"), "tls_root_cert"),
        (
            dict(identity=identity, signer=signer, target="h:1", channel=gateway_channel),
            "not both",
        ),
        (
            dict(identity=identity, signer=signer, channel=gateway_channel, client_cert=b"x"),
            "go together",
        ),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            connect(**kwargs)


@pytest.fixture
def tls_fake(gateway_kit):
    """A fake gateway behind TLS that requires a client certificate (mutual TLS)."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_pem = gateway_kit.make_cert(ca_key, "tls-ca", ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_pem = gateway_kit.make_cert(
        server_key,
        "peer0.test.local",
        issuer_key=ca_key,
        issuer_name="tls-ca",
        dns_names=("peer0.test.local",),
    )
    client_key = ec.generate_private_key(ec.SECP256R1())
    client_pem = gateway_kit.make_cert(
        client_key, "client", issuer_key=ca_key, issuer_name="tls-ca"
    )
    credentials = grpc.ssl_server_credentials(
        [(gateway_kit.key_pem(server_key), server_pem)],
        root_certificates=ca_pem,
        require_client_auth=True,
    )
    fake = gateway_kit.start_fake_server(gateway_kit.FakeGateway(), credentials)
    yield fake, ca_pem, (client_pem, gateway_kit.key_pem(client_key))
    fake.gateway.events_cancelled.set()
    fake.server.stop(grace=None)


def test_mutual_tls_with_server_name_override(gateway_member, tls_fake):
    fake, ca_pem, (client_pem, client_key) = tls_fake
    fake.gateway.blocks = [make_block(0)]
    with connect(
        gateway_member.identity,
        gateway_member.signer,
        target=f"127.0.0.1:{fake.port}",
        tls_root_cert=ca_pem,
        server_name="peer0.test.local",
        client_cert=client_pem,
        client_key=client_key,
    ) as gw:
        network = gw.get_network("donations")
        assert network.get_contract("traza").evaluate_transaction("Ping") == b"ok:Ping"
        assert [b.header.number for b in network.blocks(0, 0)] == [0]
    envelope = fake.gateway.requests["Deliver"][0]
    header = common_pb2.ChannelHeader.FromString(
        common_pb2.Payload.FromString(envelope.payload).header.channel_header
    )
    der = x509.load_pem_x509_certificate(client_pem).public_bytes(serialization.Encoding.DER)
    assert header.tls_cert_hash == hashlib.sha256(der).digest()


def test_tls_host_name_mismatch_fails(gateway_member, tls_fake):
    fake, ca_pem, (client_pem, client_key) = tls_fake
    with (
        connect(
            gateway_member.identity,
            gateway_member.signer,
            target=f"127.0.0.1:{fake.port}",
            tls_root_cert=ca_pem,
            client_cert=client_pem,
            client_key=client_key,
            evaluate_timeout=3,
        ) as gw,
        pytest.raises(GatewayError) as caught,
    ):
        gw.get_network("donations").get_contract("traza").evaluate_transaction("Ping")
    assert caught.value.grpc_code == grpc.StatusCode.UNAVAILABLE


def test_chaincode_events_failure_is_typed(gateway, fake, gateway_kit):
    fake.failures["ChaincodeEvents"] = gateway_kit.Failure(
        grpc.StatusCode.PERMISSION_DENIED, "identity may not read events of traza"
    )
    with (
        pytest.raises(GatewayError, match="may not read events") as caught,
        gateway.get_network("donations").chaincode_events("traza") as events,
    ):
        next(events)
    assert caught.value.grpc_code == grpc.StatusCode.PERMISSION_DENIED
    assert not retriable(caught.value)
