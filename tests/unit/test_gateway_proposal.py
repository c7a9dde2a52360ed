"""Proposal building: transaction id, headers, chaincode spec, transient data, signature."""

from __future__ import annotations

import hashlib
import time

import pytest
from fabric_protos.common import common_pb2
from fabric_protos.peer import chaincode_pb2, proposal_pb2

from client.gateway.proposal import NONCE_SIZE, Proposal, build_proposal, transaction_id

CREATOR = b"\x0a\x0dUniversityMSP\x12\x04cert"


def parts(proposal: proposal_pb2.Proposal):
    header = common_pb2.Header.FromString(proposal.header)
    channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
    signature_header = common_pb2.SignatureHeader.FromString(header.signature_header)
    payload = proposal_pb2.ChaincodeProposalPayload.FromString(proposal.payload)
    spec = chaincode_pb2.ChaincodeInvocationSpec.FromString(payload.input).chaincode_spec
    return channel_header, signature_header, payload, spec


def test_transaction_id_is_sha256_of_nonce_and_creator():
    nonce = bytes(range(24))
    expected = hashlib.sha256(nonce + CREATOR).hexdigest()
    assert transaction_id(nonce, CREATOR) == expected
    assert transaction_id(nonce, CREATOR + b"x") != expected


def test_build_proposal_headers():
    nonce = b"n" * NONCE_SIZE
    before = time.time()
    proposal, tx_id = build_proposal(
        channel="donations", chaincode="traza", name="Consent", creator=CREATOR, nonce=nonce
    )
    channel_header, signature_header, _, _ = parts(proposal)
    assert tx_id == hashlib.sha256(nonce + CREATOR).hexdigest()
    assert channel_header.type == common_pb2.ENDORSER_TRANSACTION
    assert channel_header.channel_id == "donations"
    assert channel_header.tx_id == tx_id
    assert channel_header.epoch == 0
    assert before - 1 <= channel_header.timestamp.seconds <= time.time() + 1
    extension = proposal_pb2.ChaincodeHeaderExtension.FromString(channel_header.extension)
    assert extension.chaincode_id.name == "traza"
    assert signature_header.creator == CREATOR
    assert signature_header.nonce == nonce


def test_random_nonce_gives_fresh_transaction_ids():
    ids = {
        build_proposal(channel="c", chaincode="cc", name="F", creator=CREATOR)[1] for _ in range(20)
    }
    assert len(ids) == 20
    _, signature_header, _, _ = parts(
        build_proposal(channel="c", chaincode="cc", name="F", creator=CREATOR)[0]
    )
    assert len(signature_header.nonce) == NONCE_SIZE


def test_chaincode_spec_holds_function_and_arguments():
    proposal, _ = build_proposal(
        channel="donations",
        chaincode="traza",
        name="RegisterDonation",
        arguments=["d-1", b"\x00\xff", "ñandú"],
        creator=CREATOR,
    )
    _, _, _, spec = parts(proposal)
    assert spec.chaincode_id.name == "traza"
    assert list(spec.input.args) == [b"RegisterDonation", b"d-1", b"\x00\xff", "ñandú".encode()]


def test_transient_data_stays_out_of_arguments_and_transaction_id():
    nonce = b"k" * NONCE_SIZE
    transient = {"donor": b"secret-token"}
    with_transient, tx_with = build_proposal(
        channel="donations",
        chaincode="traza",
        name="Acquire",
        arguments=["d-1"],
        transient=transient,
        creator=CREATOR,
        nonce=nonce,
    )
    without, tx_without = build_proposal(
        channel="donations",
        chaincode="traza",
        name="Acquire",
        arguments=["d-1"],
        creator=CREATOR,
        nonce=nonce,
    )
    _, _, payload, spec = parts(with_transient)
    assert dict(payload.TransientMap) == transient
    assert b"secret-token" not in payload.input  # the invocation spec (kept in the ledger)
    assert all(b"secret-token" not in arg for arg in spec.input.args)
    assert tx_with == tx_without
    assert parts(without)[2].input == payload.input


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"name": ""}, ValueError),
        ({"name": "F", "arguments": [3]}, TypeError),
        ({"name": "F", "arguments": [None]}, TypeError),
    ],
)
def test_bad_proposal_input(kwargs, error):
    with pytest.raises(error):
        build_proposal(channel="c", chaincode="cc", creator=CREATOR, **kwargs)


def test_proposal_is_signed_by_the_signer(gateway_member, gateway_kit):
    from client.gateway._context import Context

    context = Context(None, gateway_member.identity, gateway_member.signer)  # type: ignore[arg-type]
    proposal = Proposal(
        context,
        channel="donations",
        chaincode="traza",
        name="Consent",
        arguments=["d-1"],
        endorsing_orgs=["UniversityMSP"],
    )
    signed = proposal.signed_proposal
    gateway_kit.verify_signed(
        gateway_member.identity.creator, signed.proposal_bytes, signed.signature
    )
    channel_header, signature_header, _, _ = parts(
        proposal_pb2.Proposal.FromString(signed.proposal_bytes)
    )
    assert channel_header.tx_id == proposal.transaction_id
    assert signature_header.creator == gateway_member.identity.creator
    assert proposal.transaction_id == transaction_id(
        signature_header.nonce, gateway_member.identity.creator
    )
