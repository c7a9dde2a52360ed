"""client.outbox on SQLite and PostgreSQL: enqueue with its log row, claim, retry, fail, stall."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import select, update

from client import outbox
from client.db import Operation, OutboxItem, utcnow
from client.errors import Conflict, InvalidInput, NotFound, Unauthorized, Unavailable, WrongState
from client.outbox import Backoff, OutboxError, SubmitResult, Worker, enqueue

EXECUTOR = "e" * 64
FAST = Backoff(base=0.0, jitter=0.0)


def put(db, step="Consent", donation="d-1", request_id=None, **kw):
    with db.session() as s:
        item = enqueue(s, donation_id=donation, step=step, org="hospital", user="service1",
                       payload=kw.pop("payload", {"formId": "consent-general"}),
                       request_id=request_id,
                       operation={"executor_sha256": EXECUTOR, "donor_ref": b"\x01sealed"},
                       **kw)
    return item


class Recorder:
    """A submit that records calls and fails as told (a list of exceptions, then success)."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def __call__(self, item: OutboxItem) -> SubmitResult:
        with self.lock:
            self.calls.append((item.request_id, item.step))
            if self.failures:
                raise self.failures.pop(0)
        return SubmitResult(f"tx-{item.request_id}", 7, {"to": "CONSENTED"})


def test_enqueue_writes_the_log_row_and_the_item_in_one_transaction(db):
    item = put(db, sealed=b"\x02link", request_id="r-1")
    with db.session() as s:
        op = s.get(Operation, item.operation_id)
        row = s.scalar(select(OutboxItem))
    assert op.action == "Consent" and op.donation_id == "d-1" and op.donor_ref == b"\x01sealed"
    assert row.request_id == "r-1" and row.status == "todo" and row.sealed == b"\x02link"
    assert row.arguments == {"formId": "consent-general"}


def test_enqueue_rolled_back_leaves_neither_row(db):
    with pytest.raises(RuntimeError), db.session() as s:
        enqueue(s, donation_id="d-1", step="Consent", org="hospital", user="service1",
                payload={}, operation={"executor_sha256": EXECUTOR})
        raise RuntimeError("caller failed after enqueue")
    with db.session() as s:
        assert s.scalars(select(Operation)).all() == []
        assert s.scalars(select(OutboxItem)).all() == []


def test_enqueue_same_request_id_is_idempotent(db):
    first = put(db, request_id="r-1")
    again = put(db, request_id="r-1")
    assert again.id == first.id
    with db.session() as s:
        assert len(s.scalars(select(Operation)).all()) == 1
    with pytest.raises(OutboxError, match="already used for step Consent"):
        put(db, step="Acquire", request_id="r-1")


@pytest.mark.parametrize(("operation", "payload", "message"), [
    ({}, {}, "needs executor_sha256"),
    ({"executor_sha256": EXECUTOR, "email": "x"}, {}, "unknown: \\['email'\\]"),
    ({"executor_sha256": EXECUTOR}, {"when": object()}, "not JSON"),
])
def test_enqueue_refuses_bad_input(db, operation, payload, message):
    with pytest.raises(OutboxError, match=message), db.session() as s:
        enqueue(s, donation_id="d-1", step="Consent", org="hospital", user="service1",
                payload=payload, operation=operation)


def test_worker_submits_and_records_the_result(db):
    put(db, request_id="r-1")
    submit = Recorder()
    worker = Worker(db, submit, worker_id="w1", backoff=FAST)
    assert worker.run_once() is True
    assert worker.run_once() is False
    item = worker.wait("r-1", timeout=1)
    assert (item.status, item.transaction_id, item.block_number) == ("done", "tx-r-1", 7)
    assert item.result_json == {"to": "CONSENTED"} and item.done_at is not None
    assert submit.calls == [("r-1", "Consent")]


@pytest.mark.parametrize(("error", "code"), [
    (NotFound("donation d-1 does not exist"), "NOT_FOUND"),
    (WrongState("donation d-1 is STORED: step Consent needs state REGISTERED"), "WRONG_STATE"),
    (Unauthorized("step Accept needs traza.role service"), "UNAUTHORIZED"),
    (InvalidInput("invalid formId"), "INVALID_INPUT"),
])
def test_contract_refusals_fail_the_item_with_their_code(db, error, code):
    put(db, request_id="r-1")
    submit = Recorder(error)
    worker = Worker(db, submit, worker_id="w1", backoff=FAST, lag_retries=0)
    worker.run_once()
    item = outbox.get(db, "r-1")
    assert item.status == "failed" and item.error_code == code
    assert str(error) in item.last_error
    assert worker.run_once() is False and len(submit.calls) == 1


def test_a_lagging_peer_gets_a_few_tries_before_a_state_error_fails(db):
    put(db, request_id="r-1")
    lag = WrongState("donation d-1 is REGISTERED: step Consent needs state REGISTERED")
    worker = Worker(db, Recorder(lag, NotFound("donation d-1 does not exist")), worker_id="w1",
                    backoff=FAST, lag_retries=2)
    while worker.run_once():
        pass
    assert outbox.get(db, "r-1").status == "done" and outbox.get(db, "r-1").attempts == 2
    always = Worker(db, Recorder(*[lag] * 5), worker_id="w2", backoff=FAST, lag_retries=2)
    put(db, request_id="r-3", donation="d-3")
    while always.run_once():
        pass
    item = outbox.get(db, "r-3")
    assert (item.status, item.attempts, item.error_code) == ("failed", 3, "WRONG_STATE")


@pytest.mark.parametrize("error", [Conflict("MVCC"), Unavailable("peer down"), OSError("reset")])
def test_transient_failures_are_retried_as_a_row_update(db, error):
    put(db, request_id="r-1")
    worker = Worker(db, Recorder(error), worker_id="w1",
                    backoff=Backoff(base=60.0, jitter=0.0))
    before = utcnow()
    worker.run_once()
    item = outbox.get(db, "r-1")
    assert item.status == "todo" and item.attempts == 1
    assert item.next_attempt_at >= before + dt.timedelta(seconds=59)  # backoff, not a sleep
    assert worker.run_once() is False  # not due yet
    with db.session() as s:
        s.execute(update(OutboxItem).values(next_attempt_at=utcnow()))
    assert worker.run_once() is True
    item = outbox.get(db, "r-1")
    assert item.status == "done" and item.attempts == 1 and item.last_error is None


def test_backoff_grows_and_is_capped():
    b = Backoff(base=1, factor=2, maximum=10, jitter=0)
    assert [b.delay(n) for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 8, 10]
    assert 1 <= Backoff(base=1, jitter=0.5).delay(1) <= 1.5


def test_max_attempts_fails_the_item(db):
    put(db, request_id="r-1")
    worker = Worker(db, Recorder(Unavailable("a"), Unavailable("b")), worker_id="w1",
                    backoff=Backoff(base=0, jitter=0, max_attempts=2))
    worker.run_once()
    worker.run_once()
    item = outbox.get(db, "r-1")
    assert (item.status, item.attempts, item.error_code) == ("failed", 2, "UNAVAILABLE")


def test_steps_of_one_donation_go_in_order(db):
    put(db, step="Consent", request_id="r-1")
    put(db, step="Acquire", request_id="r-2")
    put(db, step="RegisterDonation", donation="d-2", request_id="r-3")
    submit = Recorder(Unavailable("peer down"))  # the first try of r-1 fails
    worker = Worker(db, submit, worker_id="w1", backoff=Backoff(base=60, jitter=0))
    while worker.run_once():
        pass
    # r-1 waits for its retry, r-2 waits for r-1; the other donation went ahead.
    assert submit.calls == [("r-1", "Consent"), ("r-3", "RegisterDonation")]
    with db.session() as s:
        s.execute(update(OutboxItem).values(next_attempt_at=utcnow()))
    while worker.run_once():
        pass
    assert submit.calls[2:] == [("r-1", "Consent"), ("r-2", "Acquire")]


def test_a_failed_step_does_not_hold_the_next(db):
    put(db, step="Deidentify", request_id="r-1")
    put(db, step="Revoke", request_id="r-2")
    submit = Recorder(WrongState("donation d-1 is REGISTERED"))
    worker = Worker(db, submit, worker_id="w1", backoff=FAST, lag_retries=0)
    while worker.run_once():
        pass
    assert [outbox.get(db, r).status for r in ("r-1", "r-2")] == ["failed", "done"]


def test_stalled_items_are_reclaimed_and_resubmitted(db):
    put(db, request_id="r-1")
    dead = Worker(db, Recorder(), worker_id="dead", stall_after=1.0)
    assert dead.claim() is not None  # claimed, then the worker "dies"
    alive = Worker(db, Recorder(), worker_id="alive", stall_after=1.0, backoff=FAST)
    assert alive.run_once() is False  # still heartbeating recently
    with db.session() as s:
        s.execute(update(OutboxItem).values(heartbeat_at=utcnow() - dt.timedelta(seconds=5)))
    assert alive.reclaim_stalled() == 1
    assert alive.run_once() is True
    item = outbox.get(db, "r-1")
    assert (item.status, item.attempts) == ("done", 1)


def test_heartbeat_keeps_a_slow_submit_claimed(db):
    put(db, request_id="r-1")

    def slow(item):
        time.sleep(3.0)
        return SubmitResult("tx", 1, {})

    worker = Worker(db, slow, worker_id="slow", stall_after=1.0, backoff=FAST)
    other = Worker(db, Recorder(), worker_id="other", stall_after=1.0)
    t = threading.Thread(target=worker.run_once)
    t.start()
    time.sleep(2.2)  # over twice stall_after: only the heartbeats keep it claimed
    assert other.reclaim_stalled() == 0
    assert other.run_once() is False
    t.join()
    item = outbox.get(db, "r-1")
    assert (item.status, item.attempts) == ("done", 0)


def test_a_lost_claim_does_not_overwrite_the_new_owner(db):
    put(db, request_id="r-1")
    first = Worker(db, Recorder(), worker_id="first")
    item = first.claim()
    with db.session() as s:  # meanwhile reclaimed by another worker
        s.execute(update(OutboxItem).values(claimed_by="second"))
    first.process(item)
    with db.session() as s:
        row = s.scalar(select(OutboxItem))
    assert (row.status, row.claimed_by) == ("doing", "second")


def test_concurrent_workers_submit_each_item_once(db):
    n = 40
    for i in range(n):
        put(db, donation=f"d-{i % 10}", request_id=f"r-{i}")
    submit = Recorder()
    stop = threading.Event()
    workers = [Worker(db, submit, worker_id=f"w{k}", poll=0.01) for k in range(4)]
    threads = [threading.Thread(target=w.run, args=(stop,)) for w in workers]
    for t in threads:
        t.start()
    try:
        for i in range(n):
            assert outbox.wait(db, f"r-{i}", timeout=60).status == "done"
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert sorted(r for r, _ in submit.calls) == sorted(f"r-{i}" for i in range(n))


def test_wait_names_the_item_on_timeout(db):
    put(db, request_id="r-1")
    with pytest.raises(TimeoutError, match="Consent of d-1 .*still todo"):
        outbox.wait(db, "r-1", timeout=0.1)
    with pytest.raises(KeyError):
        outbox.wait(db, "r-nope", timeout=0.1)
