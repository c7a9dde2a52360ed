"""Errors raised by the gateway client, one type per failing step.

A failure keeps what the peers said: ``details`` holds one :class:`ErrorDetail` per peer or
orderer that refused (Fabric Gateway attaches them to the gRPC status), and ``str(error)`` shows
them. ``grpc_code`` is the gRPC status of a failed call; ``CommitError.code`` is the name of the
transaction validation code the committing peer recorded (``peer.TxValidationCode``).

Messages name transaction ids, steps and codes only: what peers return is passed through
unchanged, so the contract must keep personal data out of its own error texts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import grpc

__all__ = [
    "CommitError",
    "CommitStatusError",
    "EndorseError",
    "ErrorDetail",
    "GatewayError",
    "SubmitError",
    "is_mvcc_conflict",
    "retriable",
]


@dataclass(frozen=True)
class ErrorDetail:
    """What one peer or orderer said about a failed request (``gateway.ErrorDetail``)."""

    address: str
    msp_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.address} ({self.msp_id}): {self.message}"


class GatewayError(Exception):
    """A request to the Fabric Gateway failed.

    Raised as is for evaluate, chaincode events and block reading; the submit steps raise the
    subclasses below.

    Attributes
    ----------
    message : str
        What failed, without the per-peer details.
    transaction_id : str or None
        The transaction concerned, when there is one.
    details : tuple of ErrorDetail
        One entry per peer or orderer that reported an error.
    grpc_code : grpc.StatusCode or None
        gRPC status of the failed call (``None`` when no call failed, as in :class:`CommitError`).
    """

    def __init__(
        self,
        message: str,
        *,
        transaction_id: str | None = None,
        details: Sequence[ErrorDetail] = (),
        grpc_code: grpc.StatusCode | None = None,
    ) -> None:
        self.message = message
        self.transaction_id = transaction_id
        self.details = tuple(details)
        self.grpc_code = grpc_code
        super().__init__(self._text())

    def _text(self) -> str:
        text = self.message
        if self.details:
            text += "\n" + "\n".join(f"  - {detail}" for detail in self.details)
        return text


class EndorseError(GatewayError):
    """The proposal could not be endorsed (chaincode error, policy not met, peers down)."""


class SubmitError(GatewayError):
    """The endorsed transaction could not be sent to the ordering service."""


class CommitStatusError(GatewayError):
    """The commit status of a submitted transaction could not be obtained (it may still commit)."""


class CommitError(GatewayError):
    """The transaction was ordered but the peers marked it invalid.

    Attributes
    ----------
    code : str
        Validation code name, e.g. ``"MVCC_READ_CONFLICT"`` or ``"ENDORSEMENT_POLICY_FAILURE"``.
    block_number : int
        Block that holds the invalid transaction.
    """

    def __init__(self, transaction_id: str, code: str, block_number: int) -> None:
        self.code = code
        self.block_number = block_number
        super().__init__(
            f"transaction {transaction_id} failed to commit in block {block_number}: {code}",
            transaction_id=transaction_id,
        )


# Validation codes that mean "another transaction changed what this one read": running the
# transaction again from a new proposal can succeed (Fabric docs, "Read-Write set semantics").
MVCC_CODES = frozenset({"MVCC_READ_CONFLICT", "PHANTOM_READ_CONFLICT"})

# gRPC codes after which the same step may be tried again: the node was unreachable, too busy or
# too slow. A retried submit sends the same signed transaction, which the ledger commits at most
# once (a repeated id is refused as DUPLICATE_TXID).
RETRIABLE_GRPC_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
)


def is_mvcc_conflict(error: BaseException) -> bool:
    """Return whether ``error`` is a commit refused for a read conflict (MVCC or phantom read)."""
    return isinstance(error, CommitError) and error.code in MVCC_CODES


def retriable(error: BaseException) -> bool:
    """Return whether trying again may succeed.

    True for read conflicts at commit (retry with a new proposal) and for gRPC failures that
    mean a node was unavailable, overloaded or slow (retry the same step). False for anything
    the chaincode or the endorsement policy refused, and for errors not raised by this client.
    """
    if isinstance(error, CommitError):
        return error.code in MVCC_CODES
    return isinstance(error, GatewayError) and error.grpc_code in RETRIABLE_GRPC_CODES
