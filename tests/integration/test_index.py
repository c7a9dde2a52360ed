"""Issue 9: steps submitted through the outbox reach the event index exactly once, and
``rebuild`` from the ledger alone gives the same rows, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from client import outbox
from client.db import DonationIndex, StepIndex
from client.index import EventIndex
from client.outbox import Backoff, Worker

from .donation_flow import Flow
from .outbox_worker import LedgerSubmit, enqueue_all, happy_steps

pytestmark = pytest.mark.timeout(900)


class Listener:
    """``EventIndex.listen`` in a thread, as the regulator of IMSS."""

    def __init__(self, db, profiles) -> None:
        self.index = EventIndex(db)
        self.profile = profiles("imss", "regulator1")
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            with self.profile.gateway() as gw:
                self.index.listen(gw.get_network(self.profile.channel), "traza", stop=self.stop,
                                  reconnect_after=0.5)
        except BaseException as e:  # noqa: BLE001 (reported by the test)
            self.errors.append(e)

    def __enter__(self) -> Listener:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive()
        assert self.errors == []


def steps_of(db, donation_id: str) -> list[tuple[str, str, int]]:
    with db.session() as s:
        return [(r.step, r.transaction_id, r.block_number) for r in s.scalars(
            select(StepIndex).where(StepIndex.donation_id == donation_id)
            .order_by(StepIndex.block_number))]


def wait_indexed(db, donation_id: str, state: str, timeout: float = 60) -> DonationIndex:
    deadline = time.monotonic() + timeout
    while True:
        with db.session() as s:
            row = s.get(DonationIndex, donation_id)
        if row is not None and row.state == state:
            return row
        assert time.monotonic() < deadline, f"index shows {row and row.state}, not {state}"
        time.sleep(0.2)


def snapshot(db, up_to_block: int) -> tuple[list, list]:
    with db.session() as s:
        steps = [(r.transaction_id, r.donation_id, r.step, r.from_state, r.to_state,
                  r.block_number, r.timestamp, r.msp, r.executor, r.chaincode_version,
                  r.package_id, r.evidence)
                 for r in s.scalars(select(StepIndex).where(StepIndex.block_number <= up_to_block)
                                    .order_by(StepIndex.transaction_id))]
        donations = [(r.donation_id, r.state, r.intake_msp, r.qr_token_sha256, r.registered_at,
                      r.updated_at, r.last_block)
                     for r in s.scalars(select(DonationIndex)
                                        .where(DonationIndex.last_block <= up_to_block)
                                        .order_by(DonationIndex.donation_id))]
    return steps, donations


def run_worker(db, stop: threading.Event, profiles_dir) -> tuple[threading.Thread, LedgerSubmit]:
    submit = LedgerSubmit(profiles_dir)
    worker = Worker(db, submit, worker_id="it-worker", backoff=Backoff(base=0.5, maximum=4),
                    poll=0.05)
    t = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    t.start()
    return t, submit


def test_outbox_steps_reach_the_index_once_and_rebuild_agrees(db, as_, profiles,
                                                               profiles_dir):
    flow = Flow(as_)
    entries = happy_steps(flow)
    stop = threading.Event()
    with Listener(db, profiles) as listener:
        enqueue_all(db, flow, entries)
        worker, submit = run_worker(db, stop, profiles_dir)
        try:
            items = [outbox.wait(db, e["request_id"], timeout=240) for e in entries]
        finally:
            stop.set()
            worker.join(60)
            submit.close()
        assert [(i.step, i.status) for i in items] == [(e["step"], "done") for e in entries]
        row = wait_indexed(db, flow.id, "STORED")
        assert row.intake_msp == "HospitalMSP"
        assert row.qr_token_sha256 == flow.donor.qr_token_sha256
    indexed = steps_of(db, flow.id)
    # Exactly once, in order, with the transactions the outbox recorded.
    assert [s for s, _, _ in indexed] == [e["step"] for e in entries]
    assert [tx for _, tx, _ in indexed] == [i.transaction_id for i in items]
    assert len({tx for _, tx, _ in indexed}) == len(entries)
    assert row.last_block == indexed[-1][2]
    checkpoint = listener.index.checkpointer
    assert checkpoint.block_number >= indexed[-1][2]

    listened = snapshot(db, checkpoint.block_number)
    with profiles("imss", "regulator1").gateway() as gw:
        t0 = time.perf_counter()
        report = EventIndex(db).rebuild(gw.get_network("donations"), "traza")
        took = time.perf_counter() - t0
    print(f"\nrebuild on {db.dialect}: {report} in {took:.2f} s")
    rebuilt = snapshot(db, checkpoint.block_number)
    assert rebuilt == listened
    assert report.blocks > checkpoint.block_number
    assert steps_of(db, flow.id) == indexed
