"""Checkpoints: start position of a resumed listener, checkpointers, and the events iterator
moving its checkpointer as events are consumed."""

from __future__ import annotations

import json
import os

import pytest
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import chaincode_event_pb2

from client.gateway import (
    ChaincodeEvent,
    ChaincodeEvents,
    Checkpoint,
    FileCheckpointer,
    InMemoryCheckpointer,
)
from client.gateway.events import chaincode_events_request, start_position


def describe(position):
    kind = position.WhichOneof("Type")
    return ("specified", position.specified.number) if kind == "specified" else (kind, None)


def checkpointer_at(block_number, transaction_id):
    cp = InMemoryCheckpointer()
    if block_number is not None:
        cp.save(block_number, transaction_id)
    return cp


@pytest.mark.parametrize(
    ("checkpoint", "start_block", "expected_position", "expected_after"),
    [
        (None, None, ("next_commit", None), ""),
        (None, 5, ("specified", 5), ""),
        (None, 0, ("specified", 0), ""),
        (checkpointer_at(None, None), 5, ("specified", 5), ""),  # empty checkpoint: start_block
        (checkpointer_at(9, "tx-a"), 5, ("specified", 9), "tx-a"),  # checkpoint wins
        (checkpointer_at(10, None), None, ("specified", 10), ""),
        (ChaincodeEvent(4, "tx-b", "traza", "Consent", b""), None, ("specified", 4), "tx-b"),
    ],
)
def test_start_position(checkpoint, start_block, expected_position, expected_after):
    position, after = start_position(checkpoint, start_block)
    assert describe(position) == expected_position
    assert after == expected_after


def test_negative_start_block_is_refused():
    with pytest.raises(ValueError, match="start_block"):
        start_position(None, -1)


def test_request_carries_position_and_identity():
    request = chaincode_events_request(
        channel="donations",
        chaincode="traza",
        creator=b"creator",
        checkpoint=checkpointer_at(3, "tx-c"),
    )
    assert request.channel_id == "donations"
    assert request.chaincode_id == "traza"
    assert request.identity == b"creator"
    assert request.start_position.specified.number == 3
    assert request.after_transaction_id == "tx-c"


def test_event_and_checkpointers_satisfy_checkpoint_protocol(tmp_path):
    assert isinstance(ChaincodeEvent(1, "t", "c", "e", b""), Checkpoint)
    assert isinstance(InMemoryCheckpointer(), Checkpoint)
    assert isinstance(FileCheckpointer(tmp_path / "cp.json"), Checkpoint)


@pytest.fixture(params=["memory", "file"])
def checkpointer(request, tmp_path):
    if request.param == "memory":
        return InMemoryCheckpointer()
    return FileCheckpointer(tmp_path / "state" / "cp.json")


def test_checkpointer_positions(checkpointer):
    assert (checkpointer.block_number, checkpointer.transaction_id) == (None, None)
    checkpointer.checkpoint_transaction(4, "tx-1")
    assert (checkpointer.block_number, checkpointer.transaction_id) == (4, "tx-1")
    checkpointer.checkpoint_block(4)
    assert (checkpointer.block_number, checkpointer.transaction_id) == (5, None)
    checkpointer.checkpoint_chaincode_event(ChaincodeEvent(6, "tx-2", "traza", "E", b"p"))
    assert (checkpointer.block_number, checkpointer.transaction_id) == (6, "tx-2")


def test_file_checkpointer_resumes_after_restart(tmp_path):
    path = tmp_path / "cp.json"
    FileCheckpointer(path).checkpoint_transaction(11, "tx-z")
    reopened = FileCheckpointer(path)
    assert (reopened.block_number, reopened.transaction_id) == (11, "tx-z")
    assert json.loads(path.read_text()) == {"blockNumber": 11, "transactionId": "tx-z"}
    reopened.checkpoint_block(11)
    assert (FileCheckpointer(path).block_number, FileCheckpointer(path).transaction_id) == (
        12,
        None,
    )


def test_file_checkpointer_replaces_atomically(tmp_path, monkeypatch):
    path = tmp_path / "cp.json"
    cp = FileCheckpointer(path)
    cp.checkpoint_transaction(1, "tx-1")

    def crash(src, dst):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk gone"):
        cp.checkpoint_transaction(2, "tx-2")
    # The old checkpoint is intact and no temporary file is left behind.
    assert json.loads(path.read_text()) == {"blockNumber": 1, "transactionId": "tx-1"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cp.json"]
    assert (cp.block_number, cp.transaction_id) == (1, "tx-1")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not a checkpoint file"),
        ("{}", "not a checkpoint file"),
        ("[]", "not a checkpoint file"),
        ('{"blockNumber": -1}', "non-negative"),
        ('{"blockNumber": "7"}', "non-negative"),
        ('{"blockNumber": 7, "transactionId": 5}', "transactionId"),
    ],
)
def test_corrupt_checkpoint_file_is_reported(tmp_path, content, message):
    path = tmp_path / "cp.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        FileCheckpointer(path)


class ListStream:
    """Stands in for the gRPC stream: yields responses, records cancellation."""

    def __init__(self, responses):
        self._responses = iter(responses)
        self.cancelled = False

    def __iter__(self):
        return self

    def __next__(self):
        if self.cancelled:
            raise StopIteration
        return next(self._responses)

    def cancel(self):
        self.cancelled = True


def response(block_number, *tx_ids):
    return gateway_pb2.ChaincodeEventsResponse(
        block_number=block_number,
        events=[
            chaincode_event_pb2.ChaincodeEvent(
                chaincode_id="traza", tx_id=tx, event_name="Step", payload=tx.encode()
            )
            for tx in tx_ids
        ],
    )


def test_events_are_flattened_from_blocks():
    events = ChaincodeEvents(ListStream([response(3, "a", "b"), response(5, "c")]))
    got = [(e.block_number, e.transaction_id, e.chaincode_name, e.payload) for e in events]
    assert got == [(3, "a", "traza", b"a"), (3, "b", "traza", b"b"), (5, "c", "traza", b"c")]


def test_event_is_checkpointed_when_the_next_is_asked_for():
    cp = InMemoryCheckpointer()
    events = ChaincodeEvents(ListStream([response(3, "a", "b"), response(5, "c")]), cp)
    next(events)
    assert cp.block_number is None  # "a" handed out, not yet done
    next(events)
    assert (cp.block_number, cp.transaction_id) == (3, "a")
    next(events)
    assert (cp.block_number, cp.transaction_id) == (3, "b")


def test_leaving_with_block_normally_checkpoints_last_event():
    cp = InMemoryCheckpointer()
    stream = ListStream([response(3, "a", "b")])
    with ChaincodeEvents(stream, cp) as events:
        for event in events:
            if event.transaction_id == "a":
                break
    assert (cp.block_number, cp.transaction_id) == (3, "a")
    assert stream.cancelled


def test_failure_while_handling_event_leaves_it_unchecked():
    cp = InMemoryCheckpointer()
    stream = ListStream([response(3, "a", "b")])
    with pytest.raises(RuntimeError), ChaincodeEvents(stream, cp) as events:
        for event in events:
            if event.transaction_id == "b":
                raise RuntimeError("handler failed")
    assert (cp.block_number, cp.transaction_id) == (3, "a")
    assert stream.cancelled
