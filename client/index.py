"""The event index: each donation's state and steps, as the contract's chaincode events say.

Modelled on eventsourcing's process recorders: the rows an event yields and the listener's
position (checkpoint) are committed in one transaction, so a crash leaves the index and its
checkpoint in step; an event seen twice (same transaction id) is skipped. The index is what
the web reads. It can be thrown away: :meth:`EventIndex.rebuild` reads every block from 0
with Deliver and derives the same rows from the ledger alone.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from fabric_protos.common import common_pb2, ledger_pb2
from fabric_protos.peer import (
    chaincode_event_pb2,
    proposal_pb2,
    proposal_response_pb2,
    transaction_pb2,
)
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .db import Database, DatabaseUnavailable, DonationIndex, IndexCheckpoint, StepIndex
from .gateway import ChaincodeEvent, GatewayError, InMemoryCheckpointer, Network, retriable

__all__ = ["EventIndex", "RebuildReport", "SQLCheckpointer", "chain_height", "events_of_block"]

log = logging.getLogger(__name__)


class Event(Protocol):
    """What the index reads of an event (a :class:`client.gateway.ChaincodeEvent`)."""

    block_number: int
    transaction_id: str
    event_name: str
    payload: bytes


class SQLCheckpointer(InMemoryCheckpointer):
    """A checkpointer kept in the ``index_checkpoint`` row ``name``.

    :meth:`EventIndex.apply` moves it inside the transaction that writes the derived rows;
    :meth:`save` (called by the event stream) writes only when the position changed.
    """

    def __init__(self, db: Database, name: str = "traza") -> None:
        super().__init__()
        self.db = db
        self.name = name
        self.reload()

    def reload(self) -> None:
        """Read the stored position again."""
        with self.db.session() as s:
            row = s.get(IndexCheckpoint, self.name)
            self._block_number = row.block_number if row else None
            self._transaction_id = row.transaction_id if row else None

    def save_in(self, session: Session, block_number: int, transaction_id: str | None) -> None:
        """Write the position in ``session``'s transaction (the cache follows on commit)."""
        row = session.get(IndexCheckpoint, self.name)
        if row is None:
            session.add(IndexCheckpoint(name=self.name, block_number=block_number,
                                        transaction_id=transaction_id))
        else:
            row.block_number, row.transaction_id = block_number, transaction_id

    def save(self, block_number: int, transaction_id: str | None) -> None:
        if (block_number, transaction_id) == (self._block_number, self._transaction_id):
            return
        with self.db.session() as s:
            self.save_in(s, block_number, transaction_id)
        self._block_number, self._transaction_id = block_number, transaction_id

    def _committed(self, block_number: int, transaction_id: str | None) -> None:
        self._block_number, self._transaction_id = block_number, transaction_id


@dataclass(frozen=True)
class RebuildReport:
    """What :meth:`EventIndex.rebuild` read and wrote."""

    blocks: int
    events: int
    donations: int
    steps: int


def parse_timestamp(text: str) -> dt.datetime:
    """An RFC 3339 UTC time as the contract writes it (up to nanoseconds) -> aware datetime."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)",
                     text.strip(), flags=re.IGNORECASE)
    if m is None:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    main, frac, zone = m.groups()
    zone = "+00:00" if zone.upper() == "Z" else zone
    micro = f".{frac[:6].ljust(6, '0')}" if frac else ""  # Python keeps microseconds
    return dt.datetime.fromisoformat(f"{main}{micro}{zone}").astimezone(dt.UTC)


def _qr_token(evidence: dict[str, Any]) -> str | None:
    """The QR token hash a step sets: ``registration`` or ``qrReissue`` (ReissueQR) data."""
    for part in (evidence.get("data") or {}).values():
        if isinstance(part, dict) and part.get("qrTokenSha256"):
            return str(part["qrTokenSha256"])
    return None


def _consent_facets(consent: dict[str, Any]) -> tuple[str | None, str | None]:
    """A Consent step's legal regime code and allowed purposes (sorted, comma-joined)."""
    purposes = consent.get("purposes") or {}
    allowed = sorted(k for k, v in purposes.items() if v is True) if isinstance(
        purposes, dict) else []
    return (str(consent.get("legalRegime") or "")[:32] or None,
            ",".join(allowed)[:64] or None)


def _evidence(event: Event) -> dict[str, Any] | None:
    """The event's Evidence when it is a donation step (Heartbeat and others: ``None``)."""
    try:
        ev = json.loads(event.payload)
    except (ValueError, UnicodeDecodeError):
        log.warning("event %s in block %s is not JSON: skipped", event.transaction_id,
                    event.block_number)
        return None
    if not isinstance(ev, dict) or not ev.get("donationId") or not ev.get("step"):
        return None
    return ev


class EventIndex:
    """The event index in ``db``: ``donations_index`` and ``steps_index``, with a checkpoint.

    Parameters
    ----------
    db : Database
    name : str, optional
        The checkpoint's name (default ``"traza"``, one per chaincode indexed).
    """

    def __init__(self, db: Database, name: str = "traza") -> None:
        self.db = db
        self.checkpointer = SQLCheckpointer(db, name)

    # -- applying events ---------------------------------------------------------------

    def apply(self, session: Session, event: Event) -> bool:
        """Derive the rows of ``event`` and move the checkpoint past it, in ``session``.

        Idempotent: an event whose transaction is already indexed writes no row (the
        checkpoint still moves). Returns whether rows were written. The caller commits;
        :meth:`apply_event` does both.
        """
        self.checkpointer.save_in(session, event.block_number, event.transaction_id)
        ev = _evidence(event)
        if ev is None:
            return False
        tx_id = event.transaction_id
        if session.scalar(select(StepIndex.id).where(StepIndex.transaction_id == tx_id)):
            return False
        at = parse_timestamp(ev.get("timestamp") or "1970-01-01T00:00:00Z")
        donation_id = ev["donationId"]
        session.add(StepIndex(
            donation_id=donation_id, step=ev["step"], from_state=ev.get("from") or "",
            to_state=ev.get("to") or "", transaction_id=tx_id, block_number=event.block_number,
            timestamp=at, msp=ev.get("mspId") or "", executor=ev.get("executor") or "",
            chaincode_version=ev.get("contractVersion") or "",
            package_id=ev.get("packageId") or "",
            evidence=json.dumps(ev, separators=(",", ":"), sort_keys=True)))
        row = session.get(DonationIndex, donation_id)
        registered = ev["step"] == "RegisterDonation"
        # Only an event not older than the row's last one may set the token hash: after a
        # ReissueQR, an older event applied late must not reopen the replaced token.
        latest = row is None or event.block_number >= row.last_block
        if row is None:
            row = DonationIndex(donation_id=donation_id, state=ev.get("to") or "",
                                intake_msp=(ev.get("mspId") or "") if registered else "",
                                registered_at=at if registered else None, updated_at=at,
                                last_block=event.block_number)
            session.add(row)
        elif event.block_number >= row.last_block:
            row.state = ev.get("to") or row.state
            row.updated_at, row.last_block = at, event.block_number
            if registered:
                row.intake_msp, row.registered_at = ev.get("mspId") or "", at
        qr = _qr_token(ev)
        if qr and latest:
            row.qr_token_sha256 = qr
        consent = (ev.get("data") or {}).get("consent")
        if isinstance(consent, dict) and latest:
            row.legal_regime, row.purposes = _consent_facets(consent)
        session.flush()
        return True

    def apply_event(self, event: Event) -> bool:
        """:meth:`apply` in a transaction of its own (committed).

        If another writer (a second listener, a rebuild) indexed the same transaction
        meanwhile, the unique transaction id refuses the insert; the event is then applied
        again, and the check skips it.
        """
        try:
            with self.db.session() as s:
                wrote = self.apply(s, event)
        except IntegrityError:
            with self.db.session() as s:
                wrote = self.apply(s, event)
        self.checkpointer._committed(event.block_number, event.transaction_id)
        return wrote

    # -- listening ---------------------------------------------------------------------

    def listen(self, network: Network, chaincode: str = "traza", *,
               stop: threading.Event, reconnect_after: float = 2.0) -> int:
        """Index ``chaincode``'s events as they are committed until ``stop`` is set.

        Resumes from the SQL checkpoint (from block 0 the first time). A failed stream
        (peer down) or database outage is retried after ``reconnect_after`` seconds.
        Returns the number of events applied.
        """
        applied = 0
        while not stop.is_set():
            self.checkpointer.reload()
            events = network.chaincode_events(chaincode, checkpoint=self.checkpointer,
                                              start_block=0)
            closer = threading.Thread(target=lambda ev=events: (stop.wait(), ev.close()),
                                      daemon=True, name="index-listen-stop")
            closer.start()
            try:
                with events:
                    for event in events:
                        self.apply_event(event)
                        applied += 1
                        if stop.is_set():
                            break
            except (GatewayError, DatabaseUnavailable) as e:
                if isinstance(e, GatewayError) and not retriable(e):
                    raise
                log.warning("index listener: %s; reconnecting in %.0f s", e, reconnect_after)
                stop.wait(reconnect_after)
        return applied

    # -- rebuilding --------------------------------------------------------------------

    def rebuild(self, source: Network | Iterable[common_pb2.Block],
                chaincode: str = "traza") -> RebuildReport:
        """Rebuild the index from the ledger alone: every block from 0, through Deliver.

        ``source`` is a :class:`~client.gateway.Network` (blocks 0 to the current height, as
        ``qscc GetChainInfo`` gives it) or any iterable of ``common.Block``. The old rows go
        and the new ones come in one transaction; the checkpoint ends after the last block
        read, so :meth:`listen` goes on from there.
        """
        if isinstance(source, Network):
            height = chain_height(source)
            blocks: Iterable[common_pb2.Block] = source.blocks(0, height - 1) if height else []
        else:
            blocks = source
        n_blocks = n_events = 0
        last_block: int | None = None
        with self.db.session() as s:
            s.execute(delete(StepIndex))
            s.execute(delete(DonationIndex))
            s.execute(delete(IndexCheckpoint).where(IndexCheckpoint.name ==
                                                    self.checkpointer.name))
            s.flush()
            try:
                for block in blocks:
                    n_blocks += 1
                    last_block = block.header.number
                    for event in events_of_block(block, chaincode):
                        self.apply(s, event)
                        n_events += 1
            finally:
                close = getattr(blocks, "close", None)
                if close is not None:
                    close()
            if last_block is not None:
                self.checkpointer.save_in(s, last_block + 1, None)
            donations = len(s.scalars(select(DonationIndex.donation_id)).all())
            steps = len(s.scalars(select(StepIndex.id)).all())
        self.checkpointer.reload()
        return RebuildReport(n_blocks, n_events, donations, steps)


def chain_height(network: Network) -> int:
    """The channel's height (blocks 0 to height - 1 exist), from ``qscc GetChainInfo``."""
    raw = network.get_contract("qscc").evaluate_transaction("GetChainInfo", network.name)
    return ledger_pb2.BlockchainInfo.FromString(raw).height


def events_of_block(block: common_pb2.Block, chaincode: str) -> Iterator[ChaincodeEvent]:
    """The chaincode events of ``block``'s valid transactions, in block order.

    Follows what the peer's gateway delivers: endorser transactions whose validation code
    (block metadata ``TRANSACTIONS_FILTER``) is VALID, the event each one's chaincode action
    carries, for ``chaincode`` only.
    """
    flags = b""
    if len(block.metadata.metadata) > common_pb2.BlockMetadataIndex.TRANSACTIONS_FILTER:
        flags = block.metadata.metadata[common_pb2.BlockMetadataIndex.TRANSACTIONS_FILTER]
    for i, raw in enumerate(block.data.data):
        if i >= len(flags) or flags[i] != transaction_pb2.VALID:
            continue
        payload = common_pb2.Payload.FromString(common_pb2.Envelope.FromString(raw).payload)
        header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
        if header.type != common_pb2.ENDORSER_TRANSACTION:
            continue
        tx = transaction_pb2.Transaction.FromString(payload.data)
        for action in tx.actions:
            cap = transaction_pb2.ChaincodeActionPayload.FromString(action.payload)
            prp = proposal_response_pb2.ProposalResponsePayload.FromString(
                cap.action.proposal_response_payload)
            cc_action = proposal_pb2.ChaincodeAction.FromString(prp.extension)
            if not cc_action.events:
                continue
            ev = chaincode_event_pb2.ChaincodeEvent.FromString(cc_action.events)
            if ev.chaincode_id != chaincode or not ev.event_name:
                continue
            yield ChaincodeEvent(block_number=block.header.number,
                                 transaction_id=ev.tx_id or header.tx_id,
                                 chaincode_name=ev.chaincode_id, event_name=ev.event_name,
                                 payload=ev.payload)
