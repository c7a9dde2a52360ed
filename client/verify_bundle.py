"""Offline verification of an evidence bundle (:mod:`client.evidence`): no network access.

Rules, each a :class:`Check` (the code in brackets):

- [block.data_hash] a block's ``data_hash`` is SHA-256 of its data entries concatenated.
- [block.chain] its header matches the bundle's header chain: headers from the first to the
  last transaction block, each ``previous_hash`` the SHA-256 of the DER header before it.
- [block.orderer_signature] its SIGNATURES metadata satisfies ``/Channel/Orderer/BlockValidation``
  of the config block its signed metadata names (Traza: ANY Writers = one valid signature of
  an OrdererMSP member; with Raft the leader that cut the block signs it). Each signature is
  over metadata value || signature header || DER header (``protoutil.BlockSignatureVerifier``).
- [config.block] a config block parses, is of the bundle's channel and is signed the same way
  under its own config; the genesis block is unsigned by design (``configtxgen`` writes it,
  orderers are joined with it): it is identified by its header hash, compared with
  ``config_sha256`` when given (a value the consortium publishes).
- [tx.in_block] the transaction is an endorser transaction of the channel in its block, its
  id is SHA-256(nonce || creator), and the endorsed proposal hash is SHA-256(channel header
  || signature header || chaincode proposal payload) of this transaction.
- [tx.valid] its TRANSACTIONS_FILTER code is VALID. That code is written by the committing
  peer, not signed by the orderer: the signatures below are what an auditor relies on;
  read-write conflicts (MVCC) cannot be re-checked offline.
- [tx.creator] the creator's certificate is a valid identity of an org of the config, its
  envelope signature verifies and it satisfies ``/Channel/Application/Writers``.
- [tx.endorsements] every endorsement signature (over proposal response payload || endorser)
  verifies, by a valid identity; with public writes to the contract the endorsers satisfy
  ``/Channel/Application/Endorsement`` (how Traza commits its contract); a transaction that
  writes only private data is checked against its collection's policy by the peers, a policy
  that is not in the channel config: at least one valid peer endorsement is required here.
- [tx.event] the endorsed chaincode event is of the bundle's contract and transaction, and its
  evidence is the bundle's claim (donation id, step, states, org, time, every hash); its
  executor is SHA-256 of the creator's certificate.
- [donation.sequence] the steps are in ledger order and each starts in the state the one
  before ended in (a step dropped from the middle is caught; one dropped at the end cannot
  be, offline).
- [donation.objects] the bundle's object hashes are exactly those of the verified events.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from cryptography.hazmat.primitives.serialization import Encoding
from fabric_protos.common import common_pb2
from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2
from fabric_protos.msp.msp_principal_pb2 import MSPRole
from google.protobuf.message import DecodeError

from .evidence import (
    Bundle,
    Tx,
    block_header_bytes,
    block_header_hash,
    data_hash,
    last_config_index,
    objects_of,
    parse_transactions,
    step_claim,
    validation_codes,
)
from .fabric_msp import ChannelConfig, SignedData

__all__ = ["LABELS", "Check", "verify_bundle", "verify_bundle_command"]

# code -> (English label, Spanish label); the web shows the Spanish one first.
LABELS = {
    "bundle.format": ("evidence bundle readable", "paquete de evidencia legible"),
    "config.block": ("channel configuration block", "bloque de configuración del canal"),
    "block.data_hash": ("block data hash", "hash de los datos del bloque"),
    "block.chain": ("block in the hash chain", "bloque enlazado en la cadena de hashes"),
    "block.orderer_signature": ("block signed by the ordering service",
                                "bloque firmado por el servicio de ordenamiento"),
    "tx.in_block": ("transaction inside its block", "transacción dentro de su bloque"),
    "tx.valid": ("transaction recorded as valid", "transacción registrada como válida"),
    "tx.creator": ("submitted by a channel member", "enviada por un miembro del canal"),
    "tx.endorsements": ("endorsements by the organizations", "endosos de las organizaciones"),
    "tx.event": ("step evidence in the event", "evidencia del paso en el evento"),
    "donation.sequence": ("steps follow one another", "los pasos se suceden sin huecos"),
    "donation.objects": ("object hashes match the ledger", "hashes de objetos iguales al registro"),
}

BLOCK_VALIDATION = "/Channel/Orderer/BlockValidation"
WRITERS = "/Channel/Application/Writers"
ENDORSEMENT = "/Channel/Application/Endorsement"


@dataclass(frozen=True)
class Check:
    """One verification: ``code`` (a key of :data:`LABELS`), what it was about, result, why."""

    code: str
    subject: str
    ok: bool
    detail: str

    @property
    def what(self) -> str:
        """English label."""
        return LABELS[self.code][0]

    @property
    def label_es(self) -> str:
        """Spanish label."""
        return LABELS[self.code][1]

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "subject": self.subject, "what": self.what,
                "labelEs": self.label_es, "ok": self.ok, "detail": self.detail}


def _orderer_signatures(config: ChannelConfig, block: common_pb2.Block) -> tuple[bool, str]:
    """Evaluate BlockValidation over the block's SIGNATURES metadata."""
    entries = block.metadata.metadata
    md = common_pb2.Metadata.FromString(entries[common_pb2.SIGNATURES] if entries else b"")
    h = block.header
    header_der = _header_der(h)
    signed = []
    for sig in md.signatures:
        if not sig.signature_header:
            continue  # BFT identifier headers: not used on Raft channels
        creator = common_pb2.SignatureHeader.FromString(sig.signature_header).creator
        signed.append(SignedData(creator, md.value + sig.signature_header + header_der,
                                 sig.signature))
    if not signed:
        return False, "no orderer signature"
    signers, errors = config.signers(signed)
    ok = config.evaluate(BLOCK_VALIDATION, signers)
    who = ", ".join(sorted({s.msp_id for s in signers})) or "nobody"
    detail = (f"{len(signers)} of {len(signed)} signatures valid ({who}); policy "
              f"BlockValidation ({config.describe(BLOCK_VALIDATION)}) "
              f"{'met' if ok else 'NOT met'} under config block {config.number}")
    if errors:
        detail += "; " + "; ".join(errors)
    return ok, detail


def _header_der(h: common_pb2.BlockHeader) -> bytes:
    return block_header_bytes(h.number, h.previous_hash, h.data_hash)


def _public_writes(tx: Tx, chaincode: str) -> bool:
    results = rwset_pb2.TxReadWriteSet.FromString(tx.action.results)
    for ns in results.ns_rwset:
        if ns.namespace == chaincode and kv_rwset_pb2.KVRWSet.FromString(ns.rwset).writes:
            return True
    return False


class _Verifier:
    def __init__(self, bundle: Bundle, config_sha256: str | None) -> None:
        self.b = bundle
        self.pin = config_sha256.lower() if config_sha256 else None
        self.checks: list[Check] = []
        self.configs: dict[int, ChannelConfig] = {}
        self.txs: dict[int, list[Tx]] = {}

    def add(self, code: str, subject: str, ok: bool, detail: str) -> bool:
        self.checks.append(Check(code, subject, ok, detail))
        return ok

    def run(self) -> list[Check]:
        b = self.b
        self.add("bundle.format", "bundle", True,
                 f"channel {b.channel}, contract {b.chaincode}, donation {b.donation_id}: "
                 f"{len(b.steps)} steps in {len(b.blocks)} blocks, headers "
                 f"{b.headers_first}..{b.headers_first + len(b.data_hashes) - 1}")
        chain = self.header_chain()
        for number, block in sorted(b.config_blocks.items()):
            self.guard("config.block", f"config block {number}", self.config_block, number, block,
                       chain)
        for number, block in sorted(b.blocks.items()):
            self.guard("block.orderer_signature", f"block {number}", self.block, number, block,
                       chain)
        verified = [self.guard("tx.in_block", f"tx {str(c.get('txId'))[:12]}…", self.step, c)
                    if isinstance(c, Mapping) else
                    self.add("tx.in_block", "step", False, "a step is not a JSON object")
                    for c in b.steps]
        self.guard("donation.sequence", b.donation_id, self.sequence)
        found = objects_of([c for c, ok in zip(b.steps, verified, strict=True) if ok])
        same = found == b.objects and all(verified)
        self.add("donation.objects", b.donation_id, same,
                 ", ".join(f"{k}: {len(v)}" for k, v in found.items()) if same else
                 "the bundle's object hashes differ from those of the verified events")
        return self.checks

    def guard(self, code: str, subject: str, check, *args) -> bool:
        """Run ``check``; a block or field too garbled to decode is a failed check, not a crash."""
        try:
            return bool(check(*args))
        except (DecodeError, ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            return self.add(code, subject, False, f"malformed: {type(exc).__name__}: {exc}")

    def config_block(self, number: int, block: common_pb2.Block,
                     chain: Mapping[int, tuple[bytes, bytes]]) -> None:
        subject = f"config block {number}"
        h = block.header
        if h.number != number or data_hash(block) != h.data_hash:
            self.add("config.block", subject, False, "its data does not match its header")
            return
        if number in chain and chain[number] != (h.previous_hash, h.data_hash):
            self.add("config.block", subject, False, "its header does not match the header chain")
            return
        try:
            config = ChannelConfig(block)
        except (ValueError, KeyError) as exc:
            self.add("config.block", subject, False, f"not a channel config: {exc}")
            return
        if config.channel != self.b.channel:
            self.add("config.block", subject, False, f"config of channel {config.channel}")
            return
        self.configs[number] = config
        header_hash = block_header_hash(h.number, h.previous_hash, h.data_hash).hex()
        orgs = ", ".join(f"{m.name} (root CA {m.fingerprints()[0][:16]}…)"
                         for m in config.msps.values())
        has_sigs = bool(common_pb2.Metadata.FromString(
            block.metadata.metadata[common_pb2.SIGNATURES]).signatures)
        if has_sigs:
            ok, why = _orderer_signatures(config, block)
        elif number == 0:
            ok, why = True, "genesis block: unsigned by design, identified by its hash"
        else:
            ok, why = False, "a config block after the genesis block must be signed"
        if self.pin and self.pin != header_hash:
            ok, why = False, f"its hash is not the expected {self.pin}"
        self.add("config.block", subject, ok, f"{why}; header hash {header_hash}; orgs: {orgs}")

    def header_chain(self) -> dict[int, tuple[bytes, bytes]]:
        chain: dict[int, tuple[bytes, bytes]] = {}
        previous = self.b.previous_hash
        for i, dh in enumerate(self.b.data_hashes):
            number = self.b.headers_first + i
            chain[number] = (previous, dh)
            previous = block_header_hash(number, previous, dh)
        return chain

    def block(self, number: int, block: common_pb2.Block,
              chain: Mapping[int, tuple[bytes, bytes]]) -> None:
        subject = f"block {number}"
        h = block.header
        self.add("block.data_hash", subject, data_hash(block) == h.data_hash,
                 f"data hash {h.data_hash.hex()[:16]}…" if data_hash(block) == h.data_hash
                 else "SHA-256 of the block's data is not its header's data hash")
        linked = h.number == number and chain.get(number) == (h.previous_hash, h.data_hash)
        self.add("block.chain", subject, linked,
                 f"header hash {block_header_hash(number, h.previous_hash, h.data_hash).hex()}"
                 if linked else "its header does not match the header chain")
        try:
            self.txs[number] = parse_transactions(block)
        except (DecodeError, ValueError) as exc:
            self.txs[number] = []
            self.add("tx.in_block", subject, False, f"a transaction does not decode: {exc}")
        config = self.config_of(block)
        if config is None:
            self.add("block.orderer_signature", subject, False,
                     "its config block is not in the bundle or did not verify")
            return
        self.add("block.orderer_signature", subject, *_orderer_signatures(config, block))

    def config_of(self, block: common_pb2.Block) -> ChannelConfig | None:
        try:
            return self.configs.get(last_config_index(block))
        except (DecodeError, IndexError):  # a garbled SIGNATURES entry
            return None

    def step(self, claim: Mapping[str, Any]) -> bool:
        tx_id, number = str(claim.get("txId", "")), claim.get("block")
        subject = f"{claim.get('step', '?')} tx {tx_id[:12]}… (block {number})"
        block = self.b.blocks.get(number) if isinstance(number, int) else None
        tx = next((t for t in self.txs.get(number, []) if t.tx_id == tx_id), None)
        config = self.config_of(block) if block is not None else None
        if block is None or tx is None or config is None:
            why = ("its block is not in the bundle" if block is None else
                   "it is not in its block" if tx is None else
                   "its block's config block did not verify")
            return self.add("tx.in_block", subject, False, why)
        ok = self.in_block(subject, tx)
        codes = validation_codes(block)
        valid = tx.index < len(codes) and codes[tx.index] == 0
        ok &= self.add("tx.valid", subject, valid, "VALID (flag written by the committing peer)"
                       if valid else f"validation code {codes[tx.index:tx.index + 1].hex()}")
        if tx.action is None:
            return False
        ok &= self.creator(subject, tx, config)
        ok &= self.endorsements(subject, tx, config)
        return self.event(subject, tx, claim, number, config) and ok

    def in_block(self, subject: str, tx: Tx) -> bool:
        ch, sh = tx.channel_header, tx.signature_header
        problems = []
        if ch.type != common_pb2.ENDORSER_TRANSACTION:
            problems.append(f"type {ch.type} is not an endorser transaction")
        if ch.channel_id != self.b.channel:
            problems.append(f"channel {ch.channel_id}")
        if hashlib.sha256(sh.nonce + sh.creator).hexdigest() != ch.tx_id:
            problems.append("tx id is not SHA-256(nonce || creator)")
        if tx.action_payload is not None:
            header = tx.payload.header
            proposal_hash = hashlib.sha256(
                header.channel_header + tx.action_header
                + tx.action_payload.chaincode_proposal_payload).digest()
            if tx.action_header != header.signature_header:
                problems.append("the action header is not the transaction's")
            if proposal_hash != tx.response_payload.proposal_hash:
                problems.append("the endorsed proposal hash is not this transaction's")
        return self.add("tx.in_block", subject, not problems,
                        "; ".join(problems) or f"entry {tx.index} of its block")

    def creator(self, subject: str, tx: Tx, config: ChannelConfig) -> bool:
        signed = SignedData(tx.signature_header.creator, tx.envelope.payload,
                            tx.envelope.signature)
        signers, errors = config.signers([signed])
        ok = bool(signers) and config.evaluate(WRITERS, signers)
        detail = (f"{tx.creator.mspid} member, envelope signature valid, "
                  f"Writers ({config.describe(WRITERS)}) met" if ok
                  else "; ".join(errors) or f"{tx.creator.mspid} does not satisfy Writers")
        return self.add("tx.creator", subject, ok, detail)

    def endorsements(self, subject: str, tx: Tx, config: ChannelConfig) -> bool:
        prp = tx.action_payload.action.proposal_response_payload
        signed = [SignedData(e.endorser, prp + e.endorser, e.signature) for e in tx.endorsements]
        signers, errors = config.signers(signed)
        orgs = ", ".join(sorted({s.msp_id for s in signers})) or "none"
        if errors:
            return self.add("tx.endorsements", subject, False,
                            f"valid: {orgs}; invalid: " + "; ".join(errors))
        if tx.action.chaincode_id.name != self.b.chaincode:
            return self.add("tx.endorsements", subject, False,
                            f"endorsed for contract {tx.action.chaincode_id.name}")
        if _public_writes(tx, self.b.chaincode):
            ok = config.evaluate(ENDORSEMENT, signers)
            rule = f"Endorsement ({config.describe(ENDORSEMENT)}) {'met' if ok else 'NOT met'}"
        else:
            ok = any(config.msps[s.msp_id].satisfies(s.cert, MSPRole.PEER) for s in signers)
            rule = "private data only: collection policy applied by the peers, not offline"
        return self.add("tx.endorsements", subject, ok,
                        f"endorsed by {orgs}, contract {tx.action.chaincode_id.name} "
                        f"{tx.action.chaincode_id.version}; {rule}")

    def event(self, subject: str, tx: Tx, claim: Mapping[str, Any], number: int,
              config: ChannelConfig) -> bool:
        ev = tx.event
        if ev is None or ev.chaincode_id != self.b.chaincode or ev.tx_id != tx.tx_id:
            return self.add("tx.event", subject, False,
                            f"no event of contract {self.b.chaincode} for this transaction")
        try:
            evidence = json.loads(ev.payload)
        except ValueError:
            return self.add("tx.event", subject, False, "the event payload is not JSON")
        problems = []
        if evidence.get("donationId") != self.b.donation_id:
            problems.append("the event is of another donation")
        if evidence.get("step") != ev.event_name:
            problems.append("the event name is not the step")
        if evidence.get("mspId") != tx.creator.mspid:
            problems.append("the event's org is not the submitter's")
        _, cert, _ = config.identity(tx.signature_header.creator)
        executor = hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest() if cert else ""
        if evidence.get("executor") != executor:
            problems.append("the executor is not the hash of the submitter's certificate")
        expected = step_claim(evidence, number)
        for key in sorted(set(expected) | set(claim)):
            if expected.get(key) != claim.get(key):
                problems.append(f"the bundle's {key} differs from the event's")
        detail = "; ".join(problems) or (
            f"{evidence.get('from') or '(new)'} -> {evidence.get('to')} by "
            f"{evidence.get('mspId')} at {evidence.get('timestamp')}, contract "
            f"{evidence.get('contractVersion')} ({evidence.get('packageId')}), "
            f"{sum(len(v) for v in expected['hashes'].values())} hashes")
        return self.add("tx.event", subject, not problems, detail)

    def sequence(self) -> None:
        steps = self.b.steps
        problems = []
        ids = [s.get("txId") for s in steps]
        if len(set(ids)) != len(ids):
            problems.append("a transaction is listed twice")
        order = []
        for s in steps:
            tx = next((t for t in self.txs.get(s.get("block"), []) if t.tx_id == s.get("txId")),
                      None)
            order.append((s.get("block"), tx.index if tx else -1))
        if order != sorted(order):
            problems.append("the steps are not in ledger order")
        for before, after in zip(steps, steps[1:], strict=False):
            if after.get("from") != before.get("to"):
                problems.append(f"{after.get('step')} starts in {after.get('from')}, "
                                f"{before.get('step')} ended in {before.get('to')}")
        start = "from registration" if steps and not steps[0].get("from") else "from mid-way"
        last = steps[-1].get("to") if steps else "nothing"
        self.add("donation.sequence", self.b.donation_id, not problems and bool(steps),
                 "; ".join(problems) or f"{len(steps)} steps {start}, last state {last}")


def verify_bundle(bundle: Bundle | Mapping[str, Any] | str | bytes, *,
                  config_sha256: str | None = None) -> list[Check]:
    """Verify an evidence bundle offline; return every check, failed ones included.

    Parameters
    ----------
    bundle : Bundle, dict, str or bytes
        The bundle, its JSON document or its JSON text.
    config_sha256 : str, optional
        Expected header hash (hex) of the config block, as the consortium publishes it: the
        trust anchor. Without it the channel's CAs are those the bundle carries, so a bundle
        forged end to end with other CAs is caught only by comparing the printed hash and
        root CA fingerprints with published ones.

    Returns
    -------
    list of Check
        All passed if and only if every ``ok`` is true.
    """
    try:
        if isinstance(bundle, str | bytes):
            bundle = Bundle.loads(bundle)
        elif not isinstance(bundle, Bundle):
            bundle = Bundle.from_json(bundle)
    except ValueError as exc:
        return [Check("bundle.format", "bundle", False, str(exc))]
    return _Verifier(bundle, config_sha256).run()


def _hex64(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", value):
        raise click.BadParameter("must be 64 hexadecimal digits (a SHA-256)")
    return value


@click.command("bundle")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--config-sha256", metavar="HEX", callback=_hex64,
              help="Expected header hash of the channel config block (published by the "
                   "consortium); without it the bundle's own CAs are trusted.")
@click.option("--spanish", "--es", "spanish", is_flag=True, help="Spanish labels.")
@click.pass_context
def verify_bundle_command(ctx: click.Context, file: Path, config_sha256: str | None,
                          spanish: bool) -> None:
    """Verify the evidence bundle FILE offline: blocks, signatures, steps. Exit 1 on failure."""
    checks = verify_bundle(file.read_bytes(), config_sha256=config_sha256)
    for check in checks:
        label = check.label_es if spanish else check.what
        click.echo(f"[{'ok' if check.ok else 'FAIL'}] {label}: {check.subject}: {check.detail}")
    failed = sum(not c.ok for c in checks)
    click.echo(f"{len(checks) - failed} of {len(checks)} checks passed")
    if failed:
        ctx.exit(1)
