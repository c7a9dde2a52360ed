"""Connection to a peer's Fabric Gateway service (Fabric v2.4+; tested with v3.1).

Example
-------
>>> from client.gateway import FileCheckpointer, Identity, Signer, connect
>>> msp = "network/run/orgs/university/users/operator/msp"  # doctest: +SKIP
>>> identity = Identity.from_msp_dir("UniversityMSP", msp)  # doctest: +SKIP
>>> signer = Signer.from_msp_dir(msp)  # doctest: +SKIP
>>> with connect(
...     identity,
...     signer,
...     target="127.0.0.1:7051",
...     tls_root_cert=open("tls-ca.pem", "rb").read(),
...     server_name="peer0.university.traza.local",
... ) as gateway:  # doctest: +SKIP
...     network = gateway.get_network("donations")
...     contract = network.get_contract("traza")
...     contract.submit_transaction("RegisterDonation", "d-1")
...     commit = contract.submit_async("Acquire", arguments=["d-1"], transient={"k": b"v"})
...     status = commit.status()  # .code, .block_number, .successful
...     with network.chaincode_events("traza", checkpoint=FileCheckpointer("cp.json")) as events:
...         for event in events:
...             print(event.block_number, event.transaction_id, event.event_name)
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ._context import Context
from ._grpc import GatewayClient, Timeouts
from .identity import Identity
from .network import Network
from .signing import Signer

__all__ = ["Gateway", "connect"]

# Channel options set by connect(); the caller's grpc_options override them.
CHANNEL_OPTIONS: tuple[tuple[str, int], ...] = (
    # Blocks and chaincode results can exceed gRPC's 4 MiB default; peers accept 100 MiB.
    ("grpc.max_receive_message_length", 100 * 1024 * 1024),
    ("grpc.max_send_message_length", 100 * 1024 * 1024),
    # Reconnect within seconds once a restarted peer is back (gRPC's default backoff grows
    # to 120 s), so retried calls succeed soon after an outage.
    ("grpc.initial_reconnect_backoff_ms", 500),
    ("grpc.max_reconnect_backoff_ms", 5000),
    # Notice a dead connection under an idle event stream. Peers refuse pings more often
    # than every 60 s (core.yaml peer.keepalive.minInterval).
    ("grpc.keepalive_time_ms", 120_000),
    ("grpc.keepalive_timeout_ms", 20_000),
)


class Gateway:
    """An open connection to a gateway peer, acting as one identity.

    Use as a context manager or call :meth:`close`. Obtained from :func:`connect`.
    """

    def __init__(self, context: Context, channel: grpc.Channel, owns_channel: bool) -> None:
        self._context = context
        self._channel = channel
        self._owns_channel = owns_channel

    @property
    def identity(self) -> Identity:
        """The identity that signs every request."""
        return self._context.identity

    @property
    def timeouts(self) -> Timeouts:
        """Deadlines of the unary calls, in seconds."""
        return self._context.client.timeouts

    def get_network(self, name: str) -> Network:
        """Return the channel ``name``."""
        if not name:
            raise ValueError("a channel name is required")
        return Network(self._context, name)

    def close(self) -> None:
        """Close the gRPC channel if :func:`connect` opened it."""
        if self._owns_channel:
            self._channel.close()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def connect(
    identity: Identity,
    signer: Signer,
    target: str | None = None,
    *,
    tls_root_cert: bytes | None = None,
    server_name: str | None = None,
    client_cert: bytes | None = None,
    client_key: bytes | None = None,
    channel: grpc.Channel | None = None,
    evaluate_timeout: float = Timeouts.evaluate,
    endorse_timeout: float = Timeouts.endorse,
    submit_timeout: float = Timeouts.submit,
    commit_status_timeout: float = Timeouts.commit_status,
    grpc_options: Sequence[tuple[str, Any]] = (),
) -> Gateway:
    """Connect to a gateway peer over TLS; return a :class:`Gateway`.

    Parameters
    ----------
    identity : Identity
        Who submits (MSP id and certificate).
    signer : Signer
        The private key of ``identity``.
    target : str
        Peer address ``host:port``, e.g. ``"127.0.0.1:7051"``. Not with ``channel``.
    tls_root_cert : bytes
        PEM root certificate(s) of the peer's TLS CA; required with ``target``.
    server_name : str, optional
        Host name in the peer's TLS certificate when ``target`` uses another name or an IP
        (sets ``grpc.ssl_target_name_override``).
    client_cert, client_key : bytes, optional
        PEM TLS certificate and key of the client, for peers that require mutual TLS.
    channel : grpc.Channel, optional
        An already open channel to use instead of ``target``; it is not closed by
        :meth:`Gateway.close`.
    evaluate_timeout : float, default 5.0
        Seconds an evaluation may take.
    endorse_timeout : float, default 15.0
        Seconds collecting endorsements may take.
    submit_timeout : float, default 5.0
        Seconds handing a transaction to the orderers may take.
    commit_status_timeout : float, default 60.0
        Seconds waiting for a transaction's commit may take.
    grpc_options : sequence of (str, value), default ()
        Extra gRPC channel options, overriding :data:`CHANNEL_OPTIONS` (message size
        100 MiB, reconnect backoff 0.5-5 s, keepalive every 120 s).

    Raises
    ------
    ValueError
        If the options contradict each other or ``signer`` does not hold the key of
        ``identity``'s certificate.
    """
    if not signer.matches(identity.x509):
        raise ValueError(f"the signer's key does not match the certificate of {identity.msp_id}")
    if (client_cert is None) != (client_key is None):
        raise ValueError("client_cert and client_key go together (mutual TLS)")
    timeouts = Timeouts(evaluate_timeout, endorse_timeout, submit_timeout, commit_status_timeout)
    tls_cert_hash = _certificate_hash(client_cert) if client_cert is not None else b""
    if channel is not None:
        if target is not None:
            raise ValueError("give either target or channel, not both")
        owns_channel = False
    else:
        if not target:
            raise ValueError("a target (host:port) or an open channel is required")
        if not tls_root_cert:
            raise ValueError("tls_root_cert is required: the peers only speak TLS")
        credentials = grpc.ssl_channel_credentials(
            root_certificates=tls_root_cert,
            private_key=client_key,
            certificate_chain=client_cert,
        )
        options: dict[str, Any] = dict(CHANNEL_OPTIONS)
        if server_name:
            options["grpc.ssl_target_name_override"] = server_name
        options.update(grpc_options)  # the caller's values win
        channel = grpc.secure_channel(target, credentials, options=list(options.items()))
        owns_channel = True
    context = Context(GatewayClient(channel, timeouts), identity, signer, tls_cert_hash)
    return Gateway(context, channel, owns_channel)


def _certificate_hash(cert_pem: bytes) -> bytes:
    """Return SHA-256 of the DER form of a PEM certificate (Fabric's TLS binding hash)."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()
