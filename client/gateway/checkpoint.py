"""Where an event listener resumes: a block number and, inside it, the last transaction done.

Modelled on fabric-gateway's ``Checkpoint`` and checkpointers: after a transaction's events
are processed the position is (its block, its transaction id), and a restarted listener asks
the gateway for that block while skipping every event up to and including that transaction.
After a whole block is done the position is (next block, no transaction).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from anonymizer.files import atomic_write

if TYPE_CHECKING:
    from .events import ChaincodeEvent

__all__ = ["Checkpoint", "Checkpointer", "FileCheckpointer", "InMemoryCheckpointer"]


@runtime_checkable
class Checkpoint(Protocol):
    """A position in the ledger to resume event reading from.

    A :class:`~client.gateway.events.ChaincodeEvent` is itself a checkpoint: reading resumes
    just after it.
    """

    @property
    def block_number(self) -> int | None:
        """Block to start reading at; ``None`` when nothing was checkpointed yet."""

    @property
    def transaction_id(self) -> str | None:
        """Last transaction done in that block; ``None`` to read the whole block."""


class Checkpointer(ABC):
    """A checkpoint that the event stream moves forward as events are consumed.

    Subclasses store the position; they implement the two properties and :meth:`save`.
    """

    @property
    @abstractmethod
    def block_number(self) -> int | None:
        """Block to start reading at; ``None`` when nothing was checkpointed yet."""

    @property
    @abstractmethod
    def transaction_id(self) -> str | None:
        """Last transaction done in that block; ``None`` to read the whole block."""

    @abstractmethod
    def save(self, block_number: int, transaction_id: str | None) -> None:
        """Store the position (block to read next, last transaction done in it)."""

    def checkpoint_block(self, block_number: int) -> None:
        """Record that every event of ``block_number`` is done: resume at the next block."""
        self.save(block_number + 1, None)

    def checkpoint_transaction(self, block_number: int, transaction_id: str) -> None:
        """Record that ``transaction_id`` in ``block_number`` and all before it are done."""
        self.save(block_number, transaction_id)

    def checkpoint_chaincode_event(self, event: ChaincodeEvent) -> None:
        """Record that ``event`` (and its transaction) is done."""
        self.checkpoint_transaction(event.block_number, event.transaction_id)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(block_number={self.block_number!r}, "
            f"transaction_id={self.transaction_id!r})"
        )


class InMemoryCheckpointer(Checkpointer):
    """A checkpointer that forgets its position when the process ends."""

    def __init__(self) -> None:
        self._block_number: int | None = None
        self._transaction_id: str | None = None

    @property
    def block_number(self) -> int | None:
        return self._block_number

    @property
    def transaction_id(self) -> str | None:
        return self._transaction_id

    def save(self, block_number: int, transaction_id: str | None) -> None:
        self._block_number = block_number
        self._transaction_id = transaction_id


class FileCheckpointer(InMemoryCheckpointer):
    """A checkpointer kept in a JSON file, replaced atomically on every save.

    The file holds ``{"blockNumber": int, "transactionId": str | null}``. Each save writes a
    temporary file in the same folder, flushes it to disk and renames it over the old one, so a
    crash leaves either the previous position or the new one.

    Parameters
    ----------
    path : path-like
        The checkpoint file; created (with its folder) at the first save.

    Raises
    ------
    ValueError
        If the file exists but does not hold a checkpoint.
    """

    def __init__(self, path: str | PathLike[str]) -> None:
        super().__init__()
        self.path = Path(path)
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text())
            block_number = data["blockNumber"]
            transaction_id = data.get("transactionId") or None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{self.path} is not a checkpoint file: {exc!r}") from None
        if not isinstance(block_number, int) or block_number < 0:
            raise ValueError(f"{self.path}: blockNumber must be a non-negative integer")
        if transaction_id is not None and not isinstance(transaction_id, str):
            raise ValueError(f"{self.path}: transactionId must be a string")
        super().save(block_number, transaction_id)

    def save(self, block_number: int, transaction_id: str | None) -> None:
        text = json.dumps({"blockNumber": block_number, "transactionId": transaction_id})
        atomic_write(self.path, text)
        super().save(block_number, transaction_id)
