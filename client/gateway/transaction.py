"""An endorsed transaction: its result and the signed envelope sent for ordering."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import proposal_pb2, proposal_response_pb2, transaction_pb2
from google.protobuf.message import DecodeError

from .commit import Commit

if TYPE_CHECKING:
    from ._context import Context

__all__ = ["Transaction", "result_from_envelope"]


def result_from_envelope(envelope: common_pb2.Envelope) -> bytes:
    """Return the chaincode response payload carried in a prepared transaction envelope.

    Follows Envelope -> Payload -> Transaction -> ChaincodeActionPayload ->
    ProposalResponsePayload -> ChaincodeAction -> Response.payload.
    """
    try:
        payload = common_pb2.Payload.FromString(envelope.payload)
        transaction = transaction_pb2.Transaction.FromString(payload.data)
        for action in transaction.actions:
            action_payload = transaction_pb2.ChaincodeActionPayload.FromString(action.payload)
            response_payload = proposal_response_pb2.ProposalResponsePayload.FromString(
                action_payload.action.proposal_response_payload
            )
            chaincode_action = proposal_pb2.ChaincodeAction.FromString(response_payload.extension)
            return chaincode_action.response.payload
    except DecodeError as exc:
        raise ValueError(f"malformed prepared transaction: {exc}") from None
    raise ValueError("the prepared transaction holds no chaincode action")


class Transaction:
    """An endorsed transaction, ready to submit; obtained from :meth:`Proposal.endorse`."""

    def __init__(
        self,
        context: Context,
        *,
        transaction_id: str,
        channel: str,
        envelope: common_pb2.Envelope,
    ) -> None:
        self._context = context
        self.transaction_id = transaction_id
        self.channel = channel
        self.result = result_from_envelope(envelope)
        self.envelope = common_pb2.Envelope(
            payload=envelope.payload, signature=context.signer.sign(envelope.payload)
        )

    def submit(self) -> Commit:
        """Send the signed transaction to the orderers; return a :class:`Commit` to wait on.

        Submitting again after a :class:`SubmitError` resends the same transaction, which the
        ledger records at most once.

        Raises
        ------
        SubmitError
            If the gateway could not hand the transaction to an orderer.
        """
        request = gateway_pb2.SubmitRequest(
            transaction_id=self.transaction_id,
            channel_id=self.channel,
            prepared_transaction=self.envelope,
        )
        self._context.client.submit(request)
        return Commit(
            self._context,
            transaction_id=self.transaction_id,
            channel=self.channel,
            result=self.result,
        )
