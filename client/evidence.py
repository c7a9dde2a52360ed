"""Evidence bundles: the blocks that hold a donation's steps, to be checked offline.

A bundle carries, for one donation, the full blocks of its transactions (base64
``common.Block`` protobuf, exactly as the peer stores them), the channel config block(s)
those blocks name as their last config (every org's MSP: root CA and TLS CA certificates,
policies), the chain of block headers from the first to the last of those blocks (data
hashes only: each previous hash follows from the header before it), and the steps and
object hashes read from the contract's events. :mod:`client.verify_bundle` checks it with
no network access. The bundle adds nothing the ledger does not hold: every value in it is
in the blocks.

Shape (``format`` ``traza-evidence-bundle``, ``version`` 1)::

    {"format", "version", "channel", "chaincode", "donationId",
     "steps": [{"txId", "block", "step", "from", "to", "mspId", "timestamp",
                "hashes": {"acquisition.originalSha256": ["..."], ...}}],
     "objects": {"originalSha256": [...], "deidentifiedSha256": [...], ...},
     "blocks": [{"number", "block": "<base64 common.Block>"}],
     "configBlocks": [{"number", "block": "<base64 common.Block>"}],
     "headers": {"first": n, "previousHash": "<hex>", "dataHashes": ["<hex>", ...]}}
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fabric_protos.common import common_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import (
    chaincode_event_pb2,
    proposal_pb2,
    proposal_response_pb2,
    transaction_pb2,
)

if TYPE_CHECKING:
    from .gateway import Network

__all__ = [
    "FORMAT",
    "OBJECT_FIELDS",
    "VERSION",
    "Bundle",
    "Tx",
    "block_header_bytes",
    "block_header_hash",
    "build_bundle",
    "data_hash",
    "last_config_index",
    "parse_transactions",
    "step_claim",
]

FORMAT = "traza-evidence-bundle"
VERSION = 1
# Evidence fields that name objects (files); gathered across steps into ``objects``.
OBJECT_FIELDS = ("originalSha256", "deidentifiedSha256", "reportSha256", "librarySha256",
                 "deletedSha256")
# Fields of a step claim copied verbatim from the event's evidence.
CLAIM_FIELDS = ("txId", "step", "from", "to", "mspId", "timestamp")


# -- Fabric's hashing rules (protoutil/blockutils.go) --------------------------------------

def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _der(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _der_length(len(body)) + body


def _der_uint(n: int) -> bytes:
    # INTEGER, minimal two's complement: a leading zero byte when the top bit is set.
    body = n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big") if n else b"\x00"
    return _der(0x02, body)


def block_header_bytes(number: int, previous_hash: bytes, data_hash_: bytes) -> bytes:
    """DER of ``SEQUENCE {INTEGER number, OCTET STRING previous_hash, OCTET STRING data_hash}``.

    What Fabric hashes for a block's identity (``protoutil.BlockHeaderBytes``, Go
    ``encoding/asn1`` of ``asn1Header``) and what orderers sign with the block metadata.
    """
    return _der(0x30, _der_uint(number) + _der(0x04, previous_hash) + _der(0x04, data_hash_))


def block_header_hash(number: int, previous_hash: bytes, data_hash_: bytes) -> bytes:
    """SHA-256 of :func:`block_header_bytes`: the next block's ``previous_hash``."""
    return hashlib.sha256(block_header_bytes(number, previous_hash, data_hash_)).digest()


def data_hash(block: common_pb2.Block) -> bytes:
    """SHA-256 of the block's data entries concatenated (``protoutil.ComputeBlockDataHash``)."""
    return hashlib.sha256(b"".join(block.data.data)).digest()


def _metadata(block: common_pb2.Block, index: int) -> bytes:
    entries = block.metadata.metadata
    return entries[index] if len(entries) > index else b""


def last_config_index(block: common_pb2.Block) -> int:
    """The last config block number, from the signed ``OrdererBlockMetadata`` (SIGNATURES)."""
    md = common_pb2.Metadata.FromString(_metadata(block, common_pb2.SIGNATURES))
    if md.value:
        return common_pb2.OrdererBlockMetadata.FromString(md.value).last_config.index
    # Blocks written before Fabric 1.4.1 kept it at LAST_CONFIG.
    md = common_pb2.Metadata.FromString(_metadata(block, common_pb2.LAST_CONFIG))
    return common_pb2.LastConfig.FromString(md.value).index


def validation_codes(block: common_pb2.Block) -> bytes:
    """The committing peer's validation code per transaction (TRANSACTIONS_FILTER)."""
    return _metadata(block, common_pb2.TRANSACTIONS_FILTER)


# -- transactions -----------------------------------------------------------------------

@dataclass
class Tx:
    """One envelope of a block, decoded as far as an endorser transaction goes."""

    index: int
    envelope: common_pb2.Envelope
    payload: common_pb2.Payload
    channel_header: common_pb2.ChannelHeader
    signature_header: common_pb2.SignatureHeader
    creator: identities_pb2.SerializedIdentity
    action_header: bytes = b""
    action_payload: transaction_pb2.ChaincodeActionPayload | None = None
    response_payload: proposal_response_pb2.ProposalResponsePayload | None = None
    action: proposal_pb2.ChaincodeAction | None = None
    event: chaincode_event_pb2.ChaincodeEvent | None = None

    @property
    def tx_id(self) -> str:
        return self.channel_header.tx_id

    @property
    def endorsements(self) -> Sequence[proposal_response_pb2.Endorsement]:
        return self.action_payload.action.endorsements if self.action_payload else ()


def parse_transaction(index: int, raw: bytes) -> Tx:
    """Decode envelope ``raw`` (entry ``index`` of a block's data).

    Raises ``google.protobuf.message.DecodeError`` or ``ValueError`` on a malformed entry.
    """
    envelope = common_pb2.Envelope.FromString(raw)
    payload = common_pb2.Payload.FromString(envelope.payload)
    channel_header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
    signature_header = common_pb2.SignatureHeader.FromString(payload.header.signature_header)
    creator = identities_pb2.SerializedIdentity.FromString(signature_header.creator)
    tx = Tx(index, envelope, payload, channel_header, signature_header, creator)
    if channel_header.type != common_pb2.ENDORSER_TRANSACTION:
        return tx
    transaction = transaction_pb2.Transaction.FromString(payload.data)
    if len(transaction.actions) != 1:
        raise ValueError(f"transaction {tx.tx_id} has {len(transaction.actions)} actions, not 1")
    tx.action_header = transaction.actions[0].header
    tx.action_payload = transaction_pb2.ChaincodeActionPayload.FromString(
        transaction.actions[0].payload)
    tx.response_payload = proposal_response_pb2.ProposalResponsePayload.FromString(
        tx.action_payload.action.proposal_response_payload)
    tx.action = proposal_pb2.ChaincodeAction.FromString(tx.response_payload.extension)
    if tx.action.events:
        tx.event = chaincode_event_pb2.ChaincodeEvent.FromString(tx.action.events)
    return tx


def parse_transactions(block: common_pb2.Block) -> list[Tx]:
    """Every envelope of ``block``, decoded (see :func:`parse_transaction`)."""
    return [parse_transaction(i, raw) for i, raw in enumerate(block.data.data)]


def _hashes(data: Any, path: str = "") -> dict[str, list[str]]:
    """Every ``...Sha256`` field under ``data``, as ``{"dotted.path": [hex, ...]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(data, dict):
        for key, value in sorted(data.items()):
            where = f"{path}.{key}" if path else key
            if key.endswith("Sha256") and isinstance(value, str | list):
                out[where] = [value] if isinstance(value, str) else list(value)
            else:
                out.update(_hashes(value, where))
    return out


def step_claim(evidence: Mapping[str, Any], block_number: int) -> dict[str, Any]:
    """What a bundle states about one step: ids, states, org, time and hashes of its event."""
    claim = {k: evidence.get(k, "") for k in CLAIM_FIELDS}
    claim["block"] = block_number
    claim["hashes"] = _hashes(evidence.get("data") or {})
    return claim


def objects_of(steps: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """The object hashes named by ``steps``, per :data:`OBJECT_FIELDS` name, first seen first."""
    out: dict[str, list[str]] = {}
    for step in steps:
        for path, values in step["hashes"].items():
            name = path.rsplit(".", 1)[-1]
            if name in OBJECT_FIELDS:
                seen = out.setdefault(name, [])
                seen.extend(v for v in values if v not in seen)
    return out


# -- the bundle -------------------------------------------------------------------------

def _b64(block: common_pb2.Block) -> str:
    return base64.b64encode(block.SerializeToString()).decode()


@dataclass
class Bundle:
    """An evidence bundle; :meth:`to_json` gives the document described in the module."""

    channel: str
    chaincode: str
    donation_id: str
    steps: list[dict[str, Any]]
    blocks: dict[int, common_pb2.Block]
    config_blocks: dict[int, common_pb2.Block]
    headers_first: int
    previous_hash: bytes
    data_hashes: list[bytes]
    objects: dict[str, list[str]] = field(default_factory=dict)
    version: int = VERSION

    def to_json(self) -> dict[str, Any]:
        """Return the bundle as JSON-ready data."""
        return {
            "format": FORMAT,
            "version": self.version,
            "channel": self.channel,
            "chaincode": self.chaincode,
            "donationId": self.donation_id,
            "steps": self.steps,
            "objects": self.objects,
            "blocks": [{"number": n, "block": _b64(b)} for n, b in sorted(self.blocks.items())],
            "configBlocks": [{"number": n, "block": _b64(b)}
                             for n, b in sorted(self.config_blocks.items())],
            "headers": {"first": self.headers_first, "previousHash": self.previous_hash.hex(),
                        "dataHashes": [h.hex() for h in self.data_hashes]},
        }

    def dumps(self) -> str:
        """The bundle as a JSON string (what the viewer offers for download)."""
        return json.dumps(self.to_json(), separators=(",", ":"))

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Bundle:
        """Read a bundle document.

        Raises
        ------
        ValueError
            If it is not a Traza evidence bundle of a known version, or a field is malformed.
        """
        if not isinstance(doc, Mapping) or doc.get("format") != FORMAT:
            raise ValueError(f"not a Traza evidence bundle (format must be {FORMAT!r})")
        if doc.get("version") != VERSION:
            raise ValueError(f"bundle version {doc.get('version')!r} is not supported "
                             f"(this verifier reads version {VERSION})")
        try:
            headers = doc["headers"]
            return cls(
                channel=str(doc["channel"]),
                chaincode=str(doc["chaincode"]),
                donation_id=str(doc["donationId"]),
                steps=list(doc["steps"]),
                objects=dict(doc.get("objects") or {}),
                blocks={int(b["number"]): _block(b["block"]) for b in doc["blocks"]},
                config_blocks={int(b["number"]): _block(b["block"])
                               for b in doc["configBlocks"]},
                headers_first=int(headers["first"]),
                previous_hash=bytes.fromhex(headers["previousHash"]),
                data_hashes=[bytes.fromhex(h) for h in headers["dataHashes"]],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed evidence bundle: {type(exc).__name__}: {exc}") from None

    @classmethod
    def loads(cls, text: str | bytes) -> Bundle:
        """Parse a bundle from its JSON text (see :meth:`from_json`)."""
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"the bundle is not JSON: {exc}") from None
        return cls.from_json(doc)

    @classmethod
    def load(cls, path: str | PathLike[str]) -> Bundle:
        """Read a bundle file."""
        return cls.loads(Path(path).read_bytes())


def _block(text: str) -> common_pb2.Block:
    from google.protobuf.message import DecodeError

    try:
        return common_pb2.Block.FromString(base64.b64decode(text, validate=True))
    except (DecodeError, ValueError) as exc:
        raise ValueError(f"a block is not base64 common.Block protobuf: {exc}") from None


# -- building one from a peer -----------------------------------------------------------

def _block_of(network: Network, tx_id: str) -> common_pb2.Block:
    # qscc's GetBlockByTxID finds the block without scanning the chain (ACL: channel Readers).
    raw = network.get_contract("qscc").evaluate_transaction(
        "GetBlockByTxID", network.name, tx_id)
    return common_pb2.Block.FromString(raw)


def _one_block(network: Network, number: int) -> common_pb2.Block:
    with network.blocks(number, number) as stream:
        for block in stream:
            return block
    raise ValueError(f"the peer returned no block {number}")


def build_bundle(
    network: Network,
    chaincode: str,
    donation_id: str,
    tx_ids: Sequence[str] | Mapping[str, int],
    *,
    config_block_number: int | None = None,
) -> Bundle:
    """Collect the evidence of one donation's steps from the ledger, through a peer.

    Parameters
    ----------
    network : client.gateway.Network
        The channel, seen by any identity that may read it (a regulator is enough).
    chaincode : str
        The contract whose events are the steps (``"traza"``).
    donation_id : str
        The donation; every transaction must carry a ``chaincode`` event of it.
    tx_ids : sequence of str, or mapping of tx id to block number
        The steps' transactions (from the event index or ``GetHistory``). Without block
        numbers each transaction's block is found with qscc ``GetBlockByTxID``.
    config_block_number : int, optional
        Also include this config block (e.g. the channel's latest); the config blocks the
        transactions' blocks name in their signed metadata are always included.

    Returns
    -------
    Bundle
        Steps in ledger order (block, then position in the block).

    Raises
    ------
    ValueError
        If a transaction is not in its block, is not valid, or has no event of
        ``chaincode`` for ``donation_id`` (a bundle never claims what the ledger lacks).
    client.gateway.GatewayError
        If the peer refuses a read.
    """
    if not tx_ids:
        raise ValueError("no transactions to bundle")
    wanted = dict(tx_ids) if isinstance(tx_ids, Mapping) else {t: None for t in tx_ids}
    blocks: dict[int, common_pb2.Block] = {}
    for tx_id, number in wanted.items():
        if number is None:
            block = _block_of(network, tx_id)
            blocks[block.header.number] = block
            wanted[tx_id] = block.header.number
        elif number not in blocks:
            blocks[number] = _one_block(network, number)
    first, last = min(wanted.values()), max(wanted.values())
    # Only the data hashes of the blocks in between are needed: headers, not whole blocks.
    with network.blocks(first, last, headers_only=True) as stream:
        headers = [block.header for block in stream]
    if [h.number for h in headers] != list(range(first, last + 1)):
        raise ValueError(f"the peer did not return the headers of blocks {first}..{last}")
    for number, block in blocks.items():
        if block.header != headers[number - first]:
            raise ValueError(f"block {number} is not the one in the peer's header chain")
    steps = _claims(blocks, wanted, chaincode, donation_id)
    config_numbers = {last_config_index(blocks[n]) for n in set(wanted.values())}
    if config_block_number is not None:
        config_numbers.add(config_block_number)
    configs = {number: _one_block(network, number) for number in sorted(config_numbers)}
    return Bundle(
        channel=network.name, chaincode=chaincode, donation_id=donation_id, steps=steps,
        objects=objects_of(steps), blocks=dict(sorted(blocks.items())),
        config_blocks=configs, headers_first=first, previous_hash=headers[0].previous_hash,
        data_hashes=[h.data_hash for h in headers],
    )


def _claims(blocks: Mapping[int, common_pb2.Block], wanted: Mapping[str, int | None],
            chaincode: str, donation_id: str) -> list[dict[str, Any]]:
    found: list[tuple[int, int, dict[str, Any]]] = []
    for tx_id, number in wanted.items():
        assert number is not None
        block = blocks[number]
        tx = next((t for t in parse_transactions(block) if t.tx_id == tx_id), None)
        if tx is None:
            raise ValueError(f"transaction {tx_id} is not in block {number}")
        codes = validation_codes(block)
        if tx.index >= len(codes) or codes[tx.index] != 0:
            raise ValueError(f"transaction {tx_id} in block {number} is not VALID")
        if tx.event is None or tx.event.chaincode_id != chaincode:
            raise ValueError(f"transaction {tx_id} carries no event of {chaincode}")
        evidence = json.loads(tx.event.payload)
        if evidence.get("donationId") != donation_id:
            raise ValueError(f"transaction {tx_id} is a step of another donation")
        found.append((number, tx.index, step_claim(evidence, number)))
    return [claim for _, _, claim in sorted(found, key=lambda f: (f[0], f[1]))]
