"""Transaction proposals: building, signing, evaluating and endorsing them.

The proposal is the ``protos.Proposal`` of Fabric's transaction flow ("Transaction Flow" and
``protoutil.CreateChaincodeProposalWithTransient``): a header naming channel, transaction id and
creator, and a payload with the chaincode invocation and the transient data. Transient data
travels to the endorsing peers inside the signed proposal but is kept out of the arguments and
of the transaction id; the gateway drops it from the transaction it sends for ordering.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import chaincode_pb2, proposal_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from .errors import GatewayError
from .transaction import Transaction

if TYPE_CHECKING:
    from ._context import Context

__all__ = ["NONCE_SIZE", "Proposal", "build_proposal", "new_nonce", "transaction_id"]

NONCE_SIZE = 24  # bytes, as the official clients use
ERROR_STATUS = 400  # chaincode responses at or above this are errors (shim ERRORTHRESHOLD)

Argument = str | bytes


def new_nonce() -> bytes:
    """Return a fresh random nonce for a signature header."""
    return os.urandom(NONCE_SIZE)


def transaction_id(nonce: bytes, creator: bytes) -> str:
    """Return the transaction id Fabric expects: hex SHA-256 of nonce followed by creator."""
    return hashlib.sha256(nonce + creator).hexdigest()


def as_bytes(value: Argument) -> bytes:
    """Return ``value`` as bytes (str as UTF-8)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    raise TypeError(f"arguments must be str or bytes, not {type(value).__name__}")


def build_proposal(
    *,
    channel: str,
    chaincode: str,
    name: str,
    arguments: Sequence[Argument] = (),
    transient: Mapping[str, bytes] | None = None,
    creator: bytes,
    nonce: bytes | None = None,
    timestamp: Timestamp | None = None,
) -> tuple[proposal_pb2.Proposal, str]:
    """Return an unsigned chaincode proposal and its transaction id.

    Parameters
    ----------
    channel, chaincode, name : str
        Channel, chaincode name and transaction function.
    arguments : sequence of str or bytes
        Function arguments (str encoded as UTF-8).
    transient : mapping of str to bytes, optional
        Private inputs for the chaincode (``GetTransient``); never written to the ledger.
    creator : bytes
        Serialized identity of the submitter (:attr:`Identity.creator`).
    nonce : bytes, optional
        Signature header nonce; random when not given.
    timestamp : Timestamp, optional
        The channel header's timestamp (default: now). The contract records it as the
        step's time and refuses one more than 5 minutes from the endorsing peer's clock
        (``CLOCK_SKEW``); tests pass another to prove it.
    """
    if not name:
        raise ValueError("a transaction name is required")
    nonce = new_nonce() if nonce is None else nonce
    tx_id = transaction_id(nonce, creator)
    if timestamp is None:
        timestamp = Timestamp()
        timestamp.GetCurrentTime()
    extension = proposal_pb2.ChaincodeHeaderExtension(
        chaincode_id=chaincode_pb2.ChaincodeID(name=chaincode)
    )
    channel_header = common_pb2.ChannelHeader(
        type=common_pb2.ENDORSER_TRANSACTION,
        channel_id=channel,
        tx_id=tx_id,
        timestamp=timestamp,
        epoch=0,
        extension=extension.SerializeToString(),
    )
    signature_header = common_pb2.SignatureHeader(creator=creator, nonce=nonce)
    header = common_pb2.Header(
        channel_header=channel_header.SerializeToString(),
        signature_header=signature_header.SerializeToString(),
    )
    invocation = chaincode_pb2.ChaincodeInvocationSpec(
        chaincode_spec=chaincode_pb2.ChaincodeSpec(
            type=chaincode_pb2.ChaincodeSpec.GOLANG,
            chaincode_id=chaincode_pb2.ChaincodeID(name=chaincode),
            input=chaincode_pb2.ChaincodeInput(
                args=[name.encode(), *(as_bytes(arg) for arg in arguments)]
            ),
        )
    )
    payload = proposal_pb2.ChaincodeProposalPayload(
        input=invocation.SerializeToString(),
        TransientMap={key: as_bytes(value) for key, value in (transient or {}).items()},
    )
    proposal = proposal_pb2.Proposal(
        header=header.SerializeToString(), payload=payload.SerializeToString()
    )
    return proposal, tx_id


class Proposal:
    """A signed transaction proposal, ready to evaluate or endorse.

    Obtained from :meth:`Contract.new_proposal`. Endorsing it again after a failure reuses the
    same transaction id, so a retried step can never commit twice.
    """

    def __init__(
        self,
        context: Context,
        *,
        channel: str,
        chaincode: str,
        name: str,
        arguments: Sequence[Argument] = (),
        transient: Mapping[str, bytes] | None = None,
        endorsing_orgs: Sequence[str] = (),
    ) -> None:
        self._context = context
        self.channel = channel
        self.name = name
        self.endorsing_orgs = tuple(endorsing_orgs)
        proposal, self.transaction_id = build_proposal(
            channel=channel,
            chaincode=chaincode,
            name=name,
            arguments=arguments,
            transient=transient,
            creator=context.identity.creator,
        )
        proposal_bytes = proposal.SerializeToString()
        self.signed_proposal = proposal_pb2.SignedProposal(
            proposal_bytes=proposal_bytes, signature=context.signer.sign(proposal_bytes)
        )

    def evaluate(self) -> bytes:
        """Run the transaction function on one peer without ordering it; return its result.

        Raises
        ------
        GatewayError
            If the peer refused or the chaincode returned an error status.
        """
        request = gateway_pb2.EvaluateRequest(
            transaction_id=self.transaction_id,
            channel_id=self.channel,
            proposed_transaction=self.signed_proposal,
            target_organizations=self.endorsing_orgs,
        )
        response = self._context.client.evaluate(request).result
        if response.status >= ERROR_STATUS:
            raise GatewayError(
                f"evaluate of {self.name} failed for transaction {self.transaction_id}: "
                f"chaincode status {response.status}: {response.message}",
                transaction_id=self.transaction_id,
            )
        return response.payload

    def endorse(self) -> Transaction:
        """Collect endorsements through the gateway; return the transaction ready to submit.

        Raises
        ------
        EndorseError
            If the endorsement policy could not be met; ``details`` holds each peer's answer.
        """
        request = gateway_pb2.EndorseRequest(
            transaction_id=self.transaction_id,
            channel_id=self.channel,
            proposed_transaction=self.signed_proposal,
            endorsing_organizations=self.endorsing_orgs,
        )
        response = self._context.client.endorse(request)
        return Transaction(
            self._context,
            transaction_id=self.transaction_id,
            channel=self.channel,
            envelope=response.prepared_transaction,
        )
