"""Python client for the Fabric Gateway (Gateway -> Network -> Contract -> submit/evaluate/events).

Modelled on hyperledger/fabric-gateway's Go and Node clients; see :mod:`client.gateway.gateway`
for an example.
"""

from ._grpc import Timeouts
from .blocks import Blocks
from .checkpoint import Checkpoint, Checkpointer, FileCheckpointer, InMemoryCheckpointer
from .commit import Commit, Status
from .contract import Contract
from .errors import (
    CommitError,
    CommitStatusError,
    EndorseError,
    ErrorDetail,
    GatewayError,
    SubmitError,
    is_mvcc_conflict,
    retriable,
)
from .events import ChaincodeEvent, ChaincodeEvents
from .gateway import Gateway, connect
from .identity import Identity
from .network import Network
from .proposal import Proposal
from .signing import Signer
from .transaction import Transaction

__all__ = [
    "Blocks",
    "ChaincodeEvent",
    "ChaincodeEvents",
    "Checkpoint",
    "Checkpointer",
    "Commit",
    "CommitError",
    "CommitStatusError",
    "Contract",
    "EndorseError",
    "ErrorDetail",
    "FileCheckpointer",
    "Gateway",
    "GatewayError",
    "Identity",
    "InMemoryCheckpointer",
    "Network",
    "Proposal",
    "Signer",
    "Status",
    "SubmitError",
    "Timeouts",
    "Transaction",
    "connect",
    "is_mvcc_conflict",
    "retriable",
]
