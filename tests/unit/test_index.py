"""client.index on SQLite and PostgreSQL: events to rows, idempotent, checkpoint in the same
transaction, listening from the checkpoint, and a rebuild from blocks giving the same rows."""

from __future__ import annotations

import datetime as dt
import json
import queue
import threading

import pytest
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import (
    chaincode_event_pb2,
    proposal_pb2,
    proposal_response_pb2,
    transaction_pb2,
)
from sqlalchemy import select

from client.db import DonationIndex, IndexCheckpoint, StepIndex
from client.gateway import ChaincodeEvent
from client.gateway.events import ChaincodeEvents
from client.index import EventIndex, SQLCheckpointer, events_of_block, parse_timestamp

QR = "a" * 64


def evidence(step, frm, to, tx, *, donation="d-1", msp="HospitalMSP", ts="2026-03-01T09:03:00Z",
             data=None):
    return {"contractVersion": "1.4.0", "data": data or {}, "donationId": donation,
            "executor": "e" * 64, "from": frm, "mspId": msp, "packageId": "traza_1.4.0:abc",
            "requestId": f"r-{tx}", "role": "service", "step": step, "timestamp": ts,
            "to": to, "txId": tx}


def event(block, ev, name=None):
    return ChaincodeEvent(block, ev["txId"], "traza", name or ev["step"],
                          json.dumps(ev).encode())


LIFE = [
    event(5, evidence("RegisterDonation", "", "REGISTERED", "t1",
                      data={"registration": {"commitment": "c" * 64, "qrTokenSha256": QR}})),
    event(6, evidence("LinkDonor", "REGISTERED", "REGISTERED", "t2")),
    ChaincodeEvent(6, "hb1", "traza", "Heartbeat", b'{"msp":"IMSSMSP","txId":"hb1"}'),
    event(7, evidence("Consent", "REGISTERED", "CONSENTED", "t3",
                      ts="2026-03-01T09:04:00.123456789Z")),
    event(7, evidence("RegisterDonation", "", "REGISTERED", "t4", donation="d-2",
                      msp="IMSSMSP")),
]


def rows(db):
    with db.session() as s:
        steps = [(r.transaction_id, r.donation_id, r.step, r.from_state, r.to_state,
                  r.block_number, r.timestamp, r.msp, r.executor, r.chaincode_version,
                  r.package_id, r.evidence)
                 for r in s.scalars(select(StepIndex).order_by(StepIndex.transaction_id))]
        donations = [(r.donation_id, r.state, r.intake_msp, r.qr_token_sha256, r.registered_at,
                      r.updated_at, r.last_block)
                     for r in s.scalars(select(DonationIndex).order_by(DonationIndex.donation_id))]
        cp = s.get(IndexCheckpoint, "traza")
    return steps, donations, (cp.block_number, cp.transaction_id) if cp else None


def test_events_become_donation_and_step_rows(db):
    idx = EventIndex(db)
    assert [idx.apply_event(e) for e in LIFE] == [True, True, False, True, True]
    steps, donations, cp = rows(db)
    assert [s[:6] for s in steps] == [
        ("t1", "d-1", "RegisterDonation", "", "REGISTERED", 5),
        ("t2", "d-1", "LinkDonor", "REGISTERED", "REGISTERED", 6),
        ("t3", "d-1", "Consent", "REGISTERED", "CONSENTED", 7),
        ("t4", "d-2", "RegisterDonation", "", "REGISTERED", 7)]
    assert steps[2][6] == dt.datetime(2026, 3, 1, 9, 4, 0, 123456, tzinfo=dt.UTC)
    assert steps[0][7:11] == ("HospitalMSP", "e" * 64, "1.4.0", "traza_1.4.0:abc")
    assert json.loads(steps[0][11])["data"]["registration"]["qrTokenSha256"] == QR
    d1, d2 = donations
    assert d1[:4] == ("d-1", "CONSENTED", "HospitalMSP", QR) and d1[6] == 7
    assert d1[4] == dt.datetime(2026, 3, 1, 9, 3, tzinfo=dt.UTC)
    assert d2[:3] == ("d-2", "REGISTERED", "IMSSMSP")
    assert cp == (7, "t4")


def test_a_duplicate_event_writes_nothing(db):
    idx = EventIndex(db)
    for e in LIFE:
        idx.apply_event(e)
    before = rows(db)
    assert idx.apply_event(LIFE[3]) is False
    after = rows(db)
    assert after[:2] == before[:2]


def test_rows_and_checkpoint_commit_together(db):
    idx = EventIndex(db)
    idx.apply_event(LIFE[0])
    with pytest.raises(RuntimeError), db.session() as s:
        idx.apply(s, LIFE[1])
        raise RuntimeError("crash before commit")
    steps, _, cp = rows(db)
    assert [s[0] for s in steps] == ["t1"] and cp == (5, "t1")


def test_an_older_event_does_not_move_the_state_back(db):
    idx = EventIndex(db)
    idx.apply_event(LIFE[0])
    idx.apply_event(LIFE[3])
    idx.apply_event(LIFE[1])  # block 6 after block 7
    _, donations, _ = rows(db)
    assert donations[0][1] == "CONSENTED" and donations[0][6] == 7


NEW_QR = "b" * 64
REISSUED = event(8, evidence("ReissueQR", "CONSENTED", "CONSENTED", "t5",
                             data={"qrReissue": {"qrTokenSha256": NEW_QR}}))


def qr_of(db, qr):
    with db.session() as s:
        return s.scalars(select(DonationIndex.donation_id).where(
            DonationIndex.qr_token_sha256 == qr)).all()


def test_a_reissued_qr_replaces_the_token_hash(db):
    idx = EventIndex(db)
    for e in [*LIFE, REISSUED]:
        idx.apply_event(e)
    assert qr_of(db, NEW_QR) == ["d-1"] and qr_of(db, QR) == []
    steps, donations, _ = rows(db)
    assert donations[0][:4] == ("d-1", "CONSENTED", "HospitalMSP", NEW_QR)
    assert steps[-1][2:5] == ("ReissueQR", "CONSENTED", "CONSENTED")


def test_an_older_event_does_not_bring_the_old_token_back(db):
    idx = EventIndex(db)
    idx.apply_event(REISSUED)  # block 8 before the registration of block 5
    idx.apply_event(LIFE[0])
    assert qr_of(db, NEW_QR) == ["d-1"] and qr_of(db, QR) == []


def test_checkpointer_survives_a_restart(db):
    idx = EventIndex(db)
    idx.apply_event(LIFE[1])
    again = SQLCheckpointer(db)
    assert (again.block_number, again.transaction_id) == (6, "t2")
    again.checkpoint_block(9)
    assert (SQLCheckpointer(db).block_number, SQLCheckpointer(db).transaction_id) == (10, None)


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-03-01T09:03:00Z", dt.datetime(2026, 3, 1, 9, 3, tzinfo=dt.UTC)),
    ("2026-03-01T09:03:00.5Z", dt.datetime(2026, 3, 1, 9, 3, 0, 500000, tzinfo=dt.UTC)),
    ("2026-03-01T09:03:00.987654321Z", dt.datetime(2026, 3, 1, 9, 3, 0, 987654, tzinfo=dt.UTC)),
    ("2026-03-01T03:03:00-06:00", dt.datetime(2026, 3, 1, 9, 3, tzinfo=dt.UTC)),
])
def test_contract_timestamps_parse(text, expected):
    assert parse_timestamp(text) == expected


# -- blocks ---------------------------------------------------------------------------


def _envelope(ev: ChaincodeEvent | None, *, chaincode="traza",
              kind=common_pb2.ENDORSER_TRANSACTION) -> bytes:
    tx_id = ev.transaction_id if ev else "cfg"
    header = common_pb2.ChannelHeader(type=kind, channel_id="donations", tx_id=tx_id)
    cc_event = b""
    if ev is not None:
        cc_event = chaincode_event_pb2.ChaincodeEvent(
            chaincode_id=chaincode, tx_id=tx_id, event_name=ev.event_name,
            payload=ev.payload).SerializeToString()
    action = proposal_pb2.ChaincodeAction(events=cc_event)
    prp = proposal_response_pb2.ProposalResponsePayload(extension=action.SerializeToString())
    cap = transaction_pb2.ChaincodeActionPayload(action=transaction_pb2.ChaincodeEndorsedAction(
        proposal_response_payload=prp.SerializeToString()))
    tx = transaction_pb2.Transaction(actions=[transaction_pb2.TransactionAction(
        payload=cap.SerializeToString())])
    payload = common_pb2.Payload(header=common_pb2.Header(
        channel_header=header.SerializeToString()), data=tx.SerializeToString())
    return common_pb2.Envelope(payload=payload.SerializeToString()).SerializeToString()


def block(number: int, txs: list[tuple[bytes, int]]) -> common_pb2.Block:
    b = common_pb2.Block(header=common_pb2.BlockHeader(number=number))
    b.data.data.extend(raw for raw, _ in txs)
    b.metadata.metadata.extend([b"", b"", bytes(code for _, code in txs), b"", b""])
    return b


VALID, MVCC = transaction_pb2.VALID, transaction_pb2.MVCC_READ_CONFLICT


def ledger() -> list[common_pb2.Block]:
    """LIFE as blocks 0..7, with a config block, an invalid tx and another chaincode's event."""
    by_block: dict[int, list] = {}
    for e in LIFE:
        by_block.setdefault(e.block_number, []).append((_envelope(e), VALID))
    loser = event(7, evidence("Consent", "REGISTERED", "CONSENTED", "lost"))
    by_block[7].insert(0, (_envelope(loser), MVCC))
    other = event(6, evidence("Consent", "REGISTERED", "CONSENTED", "other"))
    by_block[6].append((_envelope(other, chaincode="notraza"), VALID))
    blocks = [block(0, [(_envelope(None, kind=common_pb2.CONFIG), VALID)])]
    blocks += [block(n, by_block.get(n, [])) for n in range(1, 8)]
    return blocks


def test_events_of_block_keep_valid_transactions_of_the_chaincode():
    got = [e for b in ledger() for e in events_of_block(b, "traza")]
    assert got == LIFE


def test_rebuild_gives_the_rows_listening_gave(db):
    idx = EventIndex(db)
    for e in LIFE:
        idx.apply_event(e)
    listened = rows(db)
    report = EventIndex(db).rebuild(ledger(), "traza")
    rebuilt = rows(db)
    assert rebuilt[:2] == listened[:2]
    assert rebuilt[2] == (8, None)  # after the last block read
    assert (report.blocks, report.events, report.donations, report.steps) == (8, 5, 2, 4)


def test_rebuild_replaces_a_wrong_index(db):
    idx = EventIndex(db)
    idx.apply_event(event(3, evidence("RegisterDonation", "", "REGISTERED", "bogus",
                                      donation="d-9")))
    idx.rebuild(ledger(), "traza")
    steps, donations, _ = rows(db)
    assert "bogus" not in [s[0] for s in steps] and "d-9" not in [d[0] for d in donations]


def test_a_rebuild_maps_only_the_reissued_token(db):
    blocks = [*ledger(), block(8, [(_envelope(REISSUED), VALID)])]
    report = EventIndex(db).rebuild(blocks, "traza")
    assert qr_of(db, NEW_QR) == ["d-1"] and qr_of(db, QR) == []
    assert report.steps == 5


# -- listening ------------------------------------------------------------------------


class FakeStream:
    """A gateway event stream: responses from a queue until cancelled."""

    def __init__(self) -> None:
        self.q: queue.Queue = queue.Queue()

    def __iter__(self):
        return self

    def __next__(self):
        item = self.q.get()
        if item is None:
            raise StopIteration
        return item

    def cancel(self) -> None:
        self.q.put(None)


class FakeNetwork:
    def __init__(self, events: list[ChaincodeEvent]) -> None:
        self.events = events
        self.requests: list[tuple] = []
        self.delivered = threading.Event()

    def chaincode_events(self, chaincode, *, checkpoint=None, start_block=None):
        self.requests.append((chaincode, checkpoint.block_number, checkpoint.transaction_id,
                              start_block))
        stream = FakeStream()
        start = checkpoint.block_number if checkpoint.block_number is not None else start_block
        after = checkpoint.transaction_id
        todo = [e for e in self.events if e.block_number >= start]
        if after:  # the gateway skips the start block's events up to the checkpointed one
            ids = [e.transaction_id for e in todo]
            todo = todo[ids.index(after) + 1:] if after in ids else todo
        for e in todo:
            stream.q.put(gateway_pb2.ChaincodeEventsResponse(
                block_number=e.block_number, events=[chaincode_event_pb2.ChaincodeEvent(
                    chaincode_id="traza", tx_id=e.transaction_id, event_name=e.event_name,
                    payload=e.payload)]))
        threading.Timer(0.3, self.delivered.set).start()
        return ChaincodeEvents(stream, checkpoint)


def listen_until_quiet(idx: EventIndex, network: FakeNetwork) -> int:
    stop = threading.Event()
    network.delivered.clear()
    out: list[int] = []
    t = threading.Thread(target=lambda: out.append(idx.listen(network, "traza", stop=stop)))
    t.start()
    network.delivered.wait(5)
    stop.set()
    t.join(5)
    assert not t.is_alive()
    return out[0]


def test_listen_starts_at_block_0_and_resumes_from_the_checkpoint(db):
    network = FakeNetwork(LIFE[:3])
    assert listen_until_quiet(EventIndex(db), network) == 3
    assert network.requests[0] == ("traza", None, None, 0)
    network.events = LIFE
    # A new listener (a restart) asks from the SQL checkpoint and gets only the rest.
    assert listen_until_quiet(EventIndex(db), network) == 2
    assert network.requests[1] == ("traza", 6, "hb1", 0)
    steps, donations, cp = rows(db)
    assert len(steps) == 4 and cp == (7, "t4")
