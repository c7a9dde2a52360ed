"""Reading whole blocks from a peer's Deliver service, to verify what the ledger holds.

The request is a signed ``common.Envelope`` of type ``DELIVER_SEEK_INFO`` whose data is an
``orderer.SeekInfo`` (start, stop, wait for blocks not yet committed). The peer answers with
one ``DeliverResponse`` per block and a final status (Fabric ``common/deliver``).
"""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType

from fabric_protos.common import common_pb2
from fabric_protos.orderer import ab_pb2
from fabric_protos.peer import events_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from ._grpc import Stream
from .errors import GatewayError
from .identity import Identity
from .proposal import new_nonce
from .signing import Signer

__all__ = ["Blocks", "seek_envelope"]

NEWEST = 2**64 - 1  # largest block number: "no stop", read blocks as they are committed


def seek_envelope(
    *,
    channel: str,
    start: int,
    stop: int | None,
    identity: Identity,
    signer: Signer,
    tls_cert_hash: bytes = b"",
    headers_only: bool = False,
) -> common_pb2.Envelope:
    """Return the signed envelope asking for blocks ``start`` to ``stop`` (inclusive).

    ``stop=None`` keeps the stream open and delivers blocks as they are committed.
    ``tls_cert_hash`` binds the request to the client's TLS certificate under mutual TLS.
    ``headers_only`` asks for header and metadata without data (``HEADER_WITH_SIG``; config
    blocks still come whole).
    """
    if start < 0 or (stop is not None and stop < start):
        raise ValueError(f"bad block range: start={start}, stop={stop}")
    timestamp = Timestamp()
    timestamp.GetCurrentTime()
    channel_header = common_pb2.ChannelHeader(
        type=common_pb2.DELIVER_SEEK_INFO,
        channel_id=channel,
        timestamp=timestamp,
        epoch=0,
        tls_cert_hash=tls_cert_hash,
    )
    signature_header = common_pb2.SignatureHeader(creator=identity.creator, nonce=new_nonce())
    seek = ab_pb2.SeekInfo(
        start=ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=start)),
        stop=ab_pb2.SeekPosition(
            specified=ab_pb2.SeekSpecified(number=NEWEST if stop is None else stop)
        ),
        behavior=ab_pb2.SeekInfo.BLOCK_UNTIL_READY,
        content_type=ab_pb2.SeekInfo.HEADER_WITH_SIG if headers_only else ab_pb2.SeekInfo.BLOCK,
    )
    payload = common_pb2.Payload(
        header=common_pb2.Header(
            channel_header=channel_header.SerializeToString(),
            signature_header=signature_header.SerializeToString(),
        ),
        data=seek.SerializeToString(),
    )
    payload_bytes = payload.SerializeToString()
    return common_pb2.Envelope(payload=payload_bytes, signature=signer.sign(payload_bytes))


def _status_name(status: int) -> str:
    try:
        return common_pb2.Status.Name(status)
    except ValueError:
        return str(status)


class Blocks:
    """Iterator over ``common.Block`` messages; close it (or use ``with``) to end the stream.

    On a stream opened with private data, the items are ``peer.BlockAndPrivateData``
    (``block``, and ``private_data_map`` from transaction index to its private write sets).

    Raises
    ------
    GatewayError
        If the peer ends the stream with a status other than SUCCESS (e.g. FORBIDDEN when the
        identity may not read the channel, NOT_FOUND for an unknown channel).
    """

    def __init__(self, stream: Stream[events_pb2.DeliverResponse], channel: str) -> None:
        self._stream = stream
        self._channel = channel

    def __iter__(self) -> Iterator[common_pb2.Block]:
        return self

    def __next__(self) -> common_pb2.Block:
        while True:
            response = next(self._stream)
            kind = response.WhichOneof("Type")
            if kind == "block":
                return response.block
            if kind == "block_and_private_data":
                return response.block_and_private_data
            if kind == "status":
                self.close()
                if response.status == common_pb2.SUCCESS:
                    raise StopIteration
                raise GatewayError(
                    f"deliver on channel {self._channel} ended with status "
                    f"{_status_name(response.status)}"
                )

    def close(self) -> None:
        """End the stream."""
        self._stream.cancel()

    def __enter__(self) -> Blocks:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
