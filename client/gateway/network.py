"""A channel seen through the gateway: its contracts, chaincode events and blocks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fabric_protos.gateway import gateway_pb2

from .blocks import Blocks, seek_envelope
from .checkpoint import Checkpoint, Checkpointer
from .contract import Contract
from .events import ChaincodeEvents, chaincode_events_request

if TYPE_CHECKING:
    from ._context import Context

__all__ = ["Network"]


class Network:
    """One channel; obtained from :meth:`Gateway.get_network`."""

    def __init__(self, context: Context, name: str) -> None:
        self._context = context
        self.name = name

    def get_contract(self, chaincode: str) -> Contract:
        """Return the contract of chaincode ``chaincode`` on this channel."""
        return Contract(self._context, self.name, chaincode)

    def chaincode_events(
        self,
        chaincode: str,
        *,
        checkpoint: Checkpoint | None = None,
        start_block: int | None = None,
    ) -> ChaincodeEvents:
        """Return a closeable iterator over the events of ``chaincode``'s committed transactions.

        Parameters
        ----------
        chaincode : str
            Chaincode name.
        checkpoint : Checkpoint, optional
            Resume after this position; it wins over ``start_block`` once it holds a block.
            A :class:`Checkpointer` is also moved forward as events are consumed (see
            :class:`ChaincodeEvents`).
        start_block : int, optional
            Block to read from when there is no checkpoint; default: the next block committed.

        Raises
        ------
        GatewayError
            While iterating, if the stream fails (``retriable(error)`` tells whether
            reconnecting may help).
        """
        request = chaincode_events_request(
            channel=self.name,
            chaincode=chaincode,
            creator=self._context.identity.creator,
            checkpoint=checkpoint,
            start_block=start_block,
        )
        request_bytes = request.SerializeToString()
        signed = gateway_pb2.SignedChaincodeEventsRequest(
            request=request_bytes, signature=self._context.signer.sign(request_bytes)
        )
        checkpointer = checkpoint if isinstance(checkpoint, Checkpointer) else None
        return ChaincodeEvents(self._context.client.chaincode_events(signed), checkpointer)

    def blocks(self, start: int = 0, stop: int | None = None, *,
               headers_only: bool = False, private_data: bool = False) -> Blocks:
        """Return a closeable iterator over blocks ``start`` to ``stop`` (inclusive).

        ``stop=None`` waits for new blocks until closed. Each item is a ``common.Block``
        (``fabric_protos.common.common_pb2``), as the gateway peer stores it; with
        ``headers_only`` its data is left out (config blocks excepted), enough to follow the
        hash chain and check orderer signatures. With ``private_data`` (Deliver's
        DeliverWithPrivateData) each item is a ``peer.BlockAndPrivateData``: the block and
        the private write sets this peer still holds for collections the identity's org is a
        member of (purged data is not sent).
        """
        envelope = seek_envelope(
            channel=self.name,
            start=start,
            stop=stop,
            identity=self._context.identity,
            signer=self._context.signer,
            tls_cert_hash=self._context.tls_cert_hash,
            headers_only=headers_only,
        )
        client = self._context.client
        stream = (client.deliver_with_private_data(envelope) if private_data
                  else client.deliver(envelope))
        return Blocks(stream, self.name)
