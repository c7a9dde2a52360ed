"""What every request needs: the gRPC client, who signs, and the TLS binding for Deliver."""

from __future__ import annotations

from dataclasses import dataclass

from ._grpc import GatewayClient
from .identity import Identity
from .signing import Signer


@dataclass(frozen=True)
class Context:
    """Shared by the gateway, its networks, contracts, proposals and commits."""

    client: GatewayClient
    identity: Identity
    signer: Signer
    # SHA-256 of the client TLS certificate (DER) under mutual TLS, else empty; the peer's
    # Deliver service checks it against the TLS session (Fabric "TLS binding").
    tls_cert_hash: bytes = b""
