"""A submitted transaction: waiting for its commit status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import transaction_pb2

from .errors import CommitError

if TYPE_CHECKING:
    from ._context import Context

__all__ = ["Commit", "Status"]

VALID = "VALID"


def validation_code_name(code: int) -> str:
    """Return the name of a ``peer.TxValidationCode`` (the number as text if unknown)."""
    try:
        return transaction_pb2.TxValidationCode.Name(code)
    except ValueError:
        return str(code)


@dataclass(frozen=True)
class Status:
    """How a transaction was committed.

    Attributes
    ----------
    code : str
        Validation code name (``peer.TxValidationCode``): ``"VALID"`` or the reason, e.g.
        ``"MVCC_READ_CONFLICT"``.
    block_number : int
        Block that holds the transaction.
    transaction_id : str
        The transaction.
    """

    code: str
    block_number: int
    transaction_id: str

    @property
    def successful(self) -> bool:
        """Whether the transaction is valid, i.e. its writes are in the world state."""
        return self.code == VALID

    def raise_for_status(self) -> None:
        """Raise :class:`CommitError` unless the transaction committed as valid."""
        if not self.successful:
            raise CommitError(self.transaction_id, self.code, self.block_number)


class Commit:
    """A transaction sent for ordering; obtained from :meth:`Contract.submit_async`.

    Attributes
    ----------
    transaction_id : str
        The transaction.
    result : bytes
        What the transaction function returned at endorsement.
    """

    def __init__(
        self, context: Context, *, transaction_id: str, channel: str, result: bytes
    ) -> None:
        self._context = context
        self.transaction_id = transaction_id
        self.channel = channel
        self.result = result
        self._status: Status | None = None

    def status(self) -> Status:
        """Wait until the gateway peer has committed the transaction; return its status.

        The first answer is kept: later calls return it without asking again.

        Raises
        ------
        CommitStatusError
            If the status could not be obtained in time (the transaction may still commit:
            call again).
        """
        if self._status is None:
            request = gateway_pb2.CommitStatusRequest(
                transaction_id=self.transaction_id,
                channel_id=self.channel,
                identity=self._context.identity.creator,
            )
            request_bytes = request.SerializeToString()
            signed = gateway_pb2.SignedCommitStatusRequest(
                request=request_bytes, signature=self._context.signer.sign(request_bytes)
            )
            response = self._context.client.commit_status(signed, self.transaction_id)
            self._status = Status(
                code=validation_code_name(response.result),
                block_number=response.block_number,
                transaction_id=self.transaction_id,
            )
        return self._status
