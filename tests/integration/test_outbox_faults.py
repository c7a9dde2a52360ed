"""Issue 9 faults: the outbox worker SIGKILLed at step boundaries in a real subprocess, and
PostgreSQL down while steps are recorded. Each ends with every step committed exactly once
and no event missing from the index."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench.chaos.processes import PrivatePostgres, Unavailable
from client import outbox
from client.db import Database, DatabaseUnavailable, Operation
from client.outbox import Backoff, Worker, enqueue

from .donation_flow import Flow, h, wait_state
from .outbox_worker import LedgerSubmit, enqueue_all, happy_steps
from .test_index import Listener, steps_of, wait_indexed

pytestmark = pytest.mark.timeout(900)

REPO = Path(__file__).resolve().parents[2]


class Child:
    """``tests.integration.outbox_worker`` in a subprocess, its stdout read line by line."""

    def __init__(self, url: str, profiles_dir, worker_id: str, *pause: str) -> None:
        env = dict(os.environ, TRAZA_DATABASE_URL=url, PYTHONPATH=str(REPO))
        args = [a for p in pause for a in ("--pause", p)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.outbox_worker", worker_id,
             "--profiles", str(profiles_dir), *args],
            cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        assert self.next_line() == "READY"

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.strip())
        self.lines.put("EOF")

    def next_line(self, timeout: float = 120) -> str:
        line = self.lines.get(timeout=timeout)
        assert line != "EOF", f"worker exited with {self.proc.wait()}"
        return line

    def go_on(self) -> None:
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        assert self.proc.wait(10) == -signal.SIGKILL

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.kill()


def run_until(child: Child, boundary: str, request_id: str) -> str:
    """Let ``child`` pass every boundary until ``boundary request_id``; return that line."""
    while True:
        line = child.next_line()
        if line.split()[:2] == [boundary, request_id]:
            return line
        child.go_on()


def url_of(db: Database) -> str:
    return db.url.render_as_string(hide_password=False)


def test_worker_killed_at_step_boundaries_commits_each_step_once(db, as_, profiles,
                                                                  profiles_dir):
    flow = Flow(as_)
    entries = happy_steps(flow)
    rid = {e["step"]: e["request_id"] for e in entries}
    children: list[Child] = []
    with Listener(db, profiles):
        enqueue_all(db, flow, entries)
        try:
            # 1. Claimed Consent, killed before submitting it.
            first = Child(url_of(db), profiles_dir, "w-first", "before")
            children.append(first)
            run_until(first, "BEFORE", rid["Consent"])
            first.kill()
            assert outbox.get(db, rid["Consent"]).status == "doing"
            # 2. A new worker reclaims it once stalled; killed after Deidentify committed on
            #    the ledger but before the outbox marked it done.
            second = Child(url_of(db), profiles_dir, "w-second", "before", "after")
            children.append(second)
            committed = run_until(second, "AFTER", rid["Deidentify"]).split()[2]
            second.kill()
            assert outbox.get(db, rid["Deidentify"]).status == "doing"
            # 3. A third worker finishes: Deidentify is submitted again and replayed.
            third = Child(url_of(db), profiles_dir, "w-third")
            children.append(third)
            items = [outbox.wait(db, e["request_id"], timeout=240) for e in entries]
        finally:
            for c in children:
                c.stop()
        assert [(i.step, i.status) for i in items] == [(e["step"], "done") for e in entries]
        by_step = {i.step: i for i in items}
        assert by_step["Consent"].attempts >= 1 and by_step["Deidentify"].attempts >= 1
        assert by_step["Deidentify"].transaction_id == committed  # the first commit, replayed
        wait_indexed(db, flow.id, "STORED")
    # The ledger took each step once; the index saw each event once.
    with as_("imss", "regulator1") as d:
        history = [v["event"]["step"] for v in d.history(flow.id)]
    public = [e["step"] for e in entries if e["step"] != "LinkDonor"]  # private writes only
    assert sorted(history) == sorted(public)
    indexed = steps_of(db, flow.id)
    assert [s for s, _, _ in indexed] == [e["step"] for e in entries]
    assert [tx for _, tx, _ in indexed] == [i.transaction_id for i in items]


# -- PostgreSQL down --------------------------------------------------------------------


@pytest.fixture
def private_postgres():
    try:
        pg = PrivatePostgres()
    except Unavailable as e:
        if os.environ.get("CI") == "true":
            pytest.fail(str(e))
        pytest.skip(str(e))
    pg.start()
    yield pg
    pg.remove()


def test_postgres_down_is_a_clear_error_and_nothing_is_lost(
        private_postgres, as_, profiles, profiles_dir):
    pg = private_postgres
    db = Database.open(pg.url)
    flow = Flow(as_)
    register, _, consent, acquire, *_ = happy_steps(flow)
    stop = threading.Event()
    ledger = LedgerSubmit(profiles_dir)
    restarted = threading.Event()

    def submit(item):
        result = ledger(item)
        if item.step == "Acquire":  # committed on the ledger; the database goes down now
            pg.stop()
            threading.Timer(3, lambda: (pg.start(), restarted.set())).start()
        return result

    worker = Worker(db, submit, worker_id="w-pg", backoff=Backoff(base=0.5, maximum=2),
                    poll=0.05)
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        enqueue_all(db, flow, [register])
        assert outbox.wait(db, register["request_id"], timeout=120).status == "done"

        pg.stop()
        with pytest.raises(DatabaseUnavailable) as err, db.session() as s:
            enqueue(s, donation_id=flow.id, operation={"executor_sha256": h("executor")},
                    **consent)
        assert f"127.0.0.1:{pg.port}" in str(err.value) and "unavailable" in str(err.value)
        assert thread.is_alive()  # the worker waits the outage out

        pg.start()
        enqueue_all(db, flow, [consent])  # the caller's retry, same request id
        item = outbox.wait(db, consent["request_id"], timeout=120)
        assert item.status == "done"

        # Down between the ledger's commit and "done": the worker keeps the result and
        # records it once the database is back.
        enqueue_all(db, flow, [acquire])
        assert restarted.wait(120)
        item = outbox.wait(db, acquire["request_id"], timeout=120)
        assert (item.status, item.attempts) == ("done", 0)
        assert item.result_json["step"] == "Acquire"
    finally:
        stop.set()
        thread.join(60)
        ledger.close()
        db.dispose()
    assert wait_state(as_, "imss", flow.id, "ACQUIRED")["state"] == "ACQUIRED"
    with as_("imss", "regulator1") as d:
        assert sorted(v["event"]["step"] for v in d.history(flow.id)) == [
            "Acquire", "Consent", "RegisterDonation"]
    again = Database(pg.url)
    with again.session() as s:  # one log row per step: the failed try left none
        assert s.scalar(select(func.count()).select_from(Operation)) == 3
    again.dispose()
