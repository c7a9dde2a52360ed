"""Issue 11, item 5: a proposal back-dated (or dated ahead) is refused at endorsement.

The proposal is built with the Python gateway client's own builder and a forged timestamp,
signed by the org's operator, and sent through the gateway. Six minutes off, the peer lets it
through and the contract compares it with the peer's clock and refuses with ``CLOCK_SKEW``;
an hour off, Fabric itself refuses it before the contract runs (the peer's
``peer.authentication.timewindow``, 15 minutes). The same step with the current time then
commits, so the refusal came from the timestamp alone.
"""

from __future__ import annotations

import json
import time

import pytest
from fabric_protos.peer import proposal_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from client.donor import DonorSecret, new_id
from client.errors import ClockSkew, from_gateway
from client.gateway import GatewayError, Identity, Signer
from client.gateway.proposal import build_proposal

pytestmark = pytest.mark.timeout(300)


def forged(contract, profile, name: str, args: list[str], shift: float):
    """``contract.new_proposal`` with its timestamp moved ``shift`` seconds from now."""
    proposal = contract.new_proposal(name, arguments=args)
    ts = Timestamp()
    ts.FromNanoseconds(time.time_ns() + int(shift * 1e9))
    identity = Identity.from_msp_dir(profile.msp_id, profile.msp_dir)
    raw, tx_id = build_proposal(channel=profile.channel, chaincode=profile.chaincode, name=name,
                                arguments=args, creator=identity.creator, timestamp=ts)
    data = raw.SerializeToString()
    proposal.signed_proposal = proposal_pb2.SignedProposal(
        proposal_bytes=data, signature=Signer.from_msp_dir(profile.msp_dir).sign(data))
    proposal.transaction_id = tx_id
    return proposal


@pytest.mark.parametrize("shift", [-3600, -6 * 60, 6 * 60])
def test_a_proposal_far_from_the_peers_clock_is_refused(profiles, shift):
    """Refused by the contract (CLOCK_SKEW) within Fabric's window, by the peer beyond it."""
    profile = profiles("hospital", "operator1")
    donor = DonorSecret.new(new_id("d"), new_id("p"))
    data = json.dumps({"commitment": donor.commitment, "qrTokenSha256": donor.qr_token_sha256})
    args = [new_id("r"), donor.donation_id, data]
    with profile.contract() as contract:
        with pytest.raises(GatewayError) as err:
            forged(contract, profile, "RegisterDonation", args, shift).endorse()
        refusal = from_gateway(err.value)
        if abs(shift) < 15 * 60:
            assert isinstance(refusal, ClockSkew) and refusal.code == "CLOCK_SKEW"
            assert "from the endorsing peer's clock, more than 5m0s" in str(refusal)
        else:
            assert "incorrect timestamp" in str(refusal) and "timewindow 15m0s" in str(refusal)
        # Nothing was written: the same step, dated now, commits as a first attempt.
        commit = forged(contract, profile, "RegisterDonation", args, 0).endorse().submit()
        commit.status().raise_for_status()
        assert json.loads(commit.result)["from"] == ""
