"""Chaincode events read from the gateway's ChaincodeEvents stream, resumable by checkpoint."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType

from fabric_protos.gateway import gateway_pb2
from fabric_protos.orderer import ab_pb2

from ._grpc import Stream
from .checkpoint import Checkpoint, Checkpointer

__all__ = ["ChaincodeEvent", "ChaincodeEvents", "chaincode_events_request", "start_position"]


@dataclass(frozen=True)
class ChaincodeEvent:
    """An event a committed transaction emitted (``SetEvent`` in the contract)."""

    block_number: int
    transaction_id: str
    chaincode_name: str
    event_name: str
    payload: bytes


def start_position(
    checkpoint: Checkpoint | None, start_block: int | None
) -> tuple[ab_pb2.SeekPosition, str]:
    """Return where to start reading and the transaction id after which events are wanted.

    A checkpoint that holds a block number wins over ``start_block``; with neither, reading
    starts at the next block committed.
    """
    if checkpoint is not None and checkpoint.block_number is not None:
        position = ab_pb2.SeekPosition(
            specified=ab_pb2.SeekSpecified(number=checkpoint.block_number)
        )
        return position, checkpoint.transaction_id or ""
    if start_block is not None:
        if start_block < 0:
            raise ValueError(f"start_block must be 0 or more, not {start_block}")
        return ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=start_block)), ""
    return ab_pb2.SeekPosition(next_commit=ab_pb2.SeekNextCommit()), ""


def chaincode_events_request(
    *,
    channel: str,
    chaincode: str,
    creator: bytes,
    checkpoint: Checkpoint | None = None,
    start_block: int | None = None,
) -> gateway_pb2.ChaincodeEventsRequest:
    """Return the (unsigned) request for a chaincode's events from a start position.

    The gateway skips, in the start block, every event up to and including the transaction
    named in ``after_transaction_id`` (Fabric ``gateway.proto``).
    """
    position, after = start_position(checkpoint, start_block)
    return gateway_pb2.ChaincodeEventsRequest(
        channel_id=channel,
        chaincode_id=chaincode,
        identity=creator,
        start_position=position,
        after_transaction_id=after,
    )


class ChaincodeEvents:
    """Iterator over chaincode events; close it (or use ``with``) to end the stream.

    When reading with a :class:`Checkpointer`, an event counts as done, and is checkpointed,
    once the caller asks for the next one, or leaves the ``with`` block without an exception.
    A listener that crashes while handling an event therefore sees it again after a restart.
    """

    def __init__(
        self,
        stream: Stream[gateway_pb2.ChaincodeEventsResponse],
        checkpointer: Checkpointer | None = None,
    ) -> None:
        self._stream = stream
        self._checkpointer = checkpointer
        self._buffer: deque[ChaincodeEvent] = deque()
        self._pending: ChaincodeEvent | None = None

    def __iter__(self) -> Iterator[ChaincodeEvent]:
        return self

    def __next__(self) -> ChaincodeEvent:
        self._checkpoint_pending()
        while not self._buffer:
            response = next(self._stream)
            self._buffer.extend(
                ChaincodeEvent(
                    block_number=response.block_number,
                    transaction_id=event.tx_id,
                    chaincode_name=event.chaincode_id,
                    event_name=event.event_name,
                    payload=event.payload,
                )
                for event in response.events
            )
        self._pending = self._buffer.popleft()
        return self._pending

    def _checkpoint_pending(self) -> None:
        if self._pending is not None and self._checkpointer is not None:
            self._checkpointer.checkpoint_chaincode_event(self._pending)
        self._pending = None

    def close(self) -> None:
        """End the stream; the last event returned is not checkpointed."""
        self._stream.cancel()

    def __enter__(self) -> ChaincodeEvents:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self._checkpoint_pending()
        finally:
            self.close()
