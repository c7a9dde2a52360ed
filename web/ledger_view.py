"""Blocks and transactions as the regulator console shows them, read from the ledger.

A :class:`LedgerReader` fetches blocks through the reader's connection profile (a channel
reader: the regulator); :func:`block_view` decodes one with :mod:`client.evidence`'s parsers
(the same ones the evidence bundle and ``traza verify`` use) and checks its own hashes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from fabric_protos.common import common_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import transaction_pb2
from google.protobuf.message import DecodeError

from client.evidence import block_header_hash, data_hash, parse_transactions, validation_codes

from .config import WebConfig

__all__ = ["BlockView", "LedgerReader", "TxView", "block_view", "profile_reader"]


class LedgerReader(Protocol):
    """What the console reads from the ledger."""

    def block(self, number: int) -> common_pb2.Block: ...

    def height(self) -> int: ...

    def bundle(self, donation_id: str, tx_blocks: dict[str, int]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class TxView:
    """One transaction of a block."""

    index: int
    tx_id: str
    kind: str
    creator_msp: str
    endorsers: list[str]
    valid: bool
    validation: str
    chaincode: str
    event: str
    donation_id: str
    step: str


@dataclass(frozen=True)
class BlockView:
    """One block: header, its hashes checked, its transactions."""

    number: int
    previous_hash: str
    data_hash: str
    header_hash: str
    data_hash_ok: bool
    previous_ok: bool | None  # previous_hash == hash of block n-1's header (None: block 0)
    transactions: list[TxView]


def _tx(block: common_pb2.Block, codes: bytes) -> Iterator[TxView]:
    for tx in parse_transactions(block):
        code = codes[tx.index] if tx.index < len(codes) else -1
        name = transaction_pb2.TxValidationCode.Name(code) if code >= 0 else "UNKNOWN"
        kind = common_pb2.HeaderType.Name(tx.channel_header.type)
        ev: dict[str, Any] = {}
        if tx.event is not None and tx.event.payload:
            try:
                ev = json.loads(tx.event.payload)
            except ValueError:
                ev = {}
        yield TxView(
            index=tx.index, tx_id=tx.tx_id, kind=kind, creator_msp=tx.creator.mspid,
            endorsers=sorted({identities_pb2.SerializedIdentity.FromString(e.endorser).mspid
                              for e in tx.endorsements}),
            valid=code == transaction_pb2.VALID, validation=name,
            chaincode=tx.event.chaincode_id if tx.event is not None else "",
            event=tx.event.event_name if tx.event is not None else "",
            donation_id=str(ev.get("donationId", "")) if isinstance(ev, dict) else "",
            step=str(ev.get("step", "")) if isinstance(ev, dict) else "")


def block_view(block: common_pb2.Block, previous: common_pb2.Block | None = None) -> BlockView:
    """Decode ``block``; with ``previous`` (block n-1) check the hash link too."""
    h = block.header
    prev_ok = None
    if previous is not None:
        p = previous.header
        prev_ok = block_header_hash(p.number, p.previous_hash, p.data_hash) == h.previous_hash
    try:
        txs = list(_tx(block, validation_codes(block)))
    except (ValueError, DecodeError):  # a config envelope is no endorser transaction
        txs = []
    return BlockView(
        number=h.number, previous_hash=h.previous_hash.hex(), data_hash=h.data_hash.hex(),
        header_hash=block_header_hash(h.number, h.previous_hash, h.data_hash).hex(),
        data_hash_ok=data_hash(block) == h.data_hash, previous_ok=prev_ok, transactions=txs)


class _ProfileReader:
    def __init__(self, config: WebConfig) -> None:
        self.config = config

    @contextmanager
    def _network(self):
        from client.profile import Profile

        profile = Profile.from_dir(self.config.profiles_dir, self.config.reader_org,
                                   self.config.reader_user)
        with profile.gateway() as gw:
            yield gw.get_network(profile.channel), profile.chaincode or self.config.chaincode

    def block(self, number: int) -> common_pb2.Block:
        with self._network() as (network, _), network.blocks(number, number) as stream:
            for b in stream:
                return b
        raise LookupError(f"no block {number}")

    def height(self) -> int:
        from client.index import chain_height

        with self._network() as (network, _):
            return chain_height(network)

    def bundle(self, donation_id: str, tx_blocks: dict[str, int]) -> dict[str, Any]:
        from client.evidence import build_bundle

        with self._network() as (network, chaincode):
            return build_bundle(network, chaincode, donation_id, tx_blocks).to_json()


def profile_reader(config: WebConfig) -> LedgerReader | None:
    """A reader through ``config``'s profile (``None`` without a profiles folder)."""
    return _ProfileReader(config) if config.profiles_dir is not None else None
