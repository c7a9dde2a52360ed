"""The Python side of the benchmark: N threads submitting through :mod:`client.gateway`."""

from __future__ import annotations

import sys
import threading
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass

from client.gateway import Contract
from client.profile import Profile

from .kinds import failure_kind
from .stats import OK, Record, step_times

__all__ = ["CONNECTION_MODES", "ClientRun", "probe", "run_python"]

# shared: every submitter uses one gateway connection (one gRPC channel, HTTP/2 multiplexed);
# per-submitter: each opens its own. The Go load generator takes the same two modes.
CONNECTION_MODES = ("shared", "per-submitter")

REQUEST_PREFIX = "bench-py-"

# Seconds a submitter waits after a failed transaction, so a refused connection does not turn
# the loop into a busy one (the Go load generator waits as long).
FAILURE_PAUSE = 0.1


@dataclass(frozen=True)
class ClientRun:
    """Raw outcome of one client's run at one level.

    ``wall`` is seconds from the first submit to the last submitter stopping; ``cpu`` the CPU
    seconds the client process used meanwhile (-1 if unknown).
    """

    records: list[Record]
    wall: float
    cpu: float


class _Budget:
    """Hands out at most ``limit`` transaction starts to all submitters."""

    def __init__(self, limit: int) -> None:
        self._left = limit
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self._left <= 0:
                return False
            self._left -= 1
            return True

    @property
    def exhausted(self) -> bool:
        return self._left <= 0


def submit_one(contract: Contract, function: str, request_id: str, steps: list[float]) -> str:
    """Submit ``function(request_id)`` and wait for its commit status; return the outcome kind.

    Runs the steps :meth:`Contract.submit_async` runs, then ``status()``, and appends the
    seconds each step took to ``steps`` (endorse with building and signing the proposal;
    submit with signing the transaction; commit status), so a failure leaves the steps reached.
    """
    t = time.perf_counter()

    def lap() -> None:
        nonlocal t
        now = time.perf_counter()
        steps.append(now - t)
        t = now

    proposal = contract.new_proposal(function, arguments=[request_id])
    try:
        transaction = proposal.endorse()
    finally:
        lap()
    try:
        commit = transaction.submit()
    finally:
        lap()
    try:
        status = commit.status()
    finally:
        lap()
    return OK if status.successful else f"commit:{status.code}"


def probe(profile: Profile, function: str = "Heartbeat") -> float:
    """Submit one transaction and wait for its commit; return its latency in seconds.

    Raises
    ------
    GatewayError
        If it fails: the network is not ready for the benchmark.
    """
    with profile.contract() as contract:
        start = time.perf_counter()
        contract.submit(function, arguments=[REQUEST_PREFIX + uuid.uuid4().hex])
        return time.perf_counter() - start


def run_python(
    profile: Profile,
    *,
    concurrency: int,
    duration: float,
    max_tx: int,
    connections: str = "shared",
    function: str = "Heartbeat",
) -> tuple[ClientRun, bool]:
    """Run ``concurrency`` submitter threads for ``duration`` seconds or ``max_tx`` transactions.

    Each submitter loops endorse -> submit -> commit status (closed loop, one transaction in
    flight per submitter). Returns the run and whether ``max_tx`` stopped it before the
    duration.
    """
    if connections not in CONNECTION_MODES:
        raise ValueError(f"connections must be one of {CONNECTION_MODES}, got {connections!r}")
    budget = _Budget(max_tx)
    records: list[Record] = []
    lock = threading.Lock()
    reported: set[str] = set()

    with ExitStack() as stack:
        if connections == "shared":
            shared = stack.enter_context(profile.contract())
            contracts = [shared] * concurrency
        else:
            contracts = [stack.enter_context(profile.contract()) for _ in range(concurrency)]

        began = time.perf_counter()
        cpu_before = time.process_time()

        def submitter(contract: Contract) -> None:
            mine: list[Record] = []
            # Bounded: stops at the duration or once max_tx transactions have started.
            while time.perf_counter() - began < duration and budget.take():
                start = time.perf_counter()
                steps: list[float] = []
                try:
                    kind = submit_one(contract, function, REQUEST_PREFIX + uuid.uuid4().hex, steps)
                except Exception as error:  # any failure is a measured outcome, not a crash
                    kind = failure_kind(error)
                    with lock:
                        if kind not in reported:
                            reported.add(kind)
                            print(f"python: first {kind}: {error}", file=sys.stderr)
                latency = time.perf_counter() - start
                mine.append(Record(start - began, latency, kind, step_times(steps)))
                if kind != OK:
                    time.sleep(FAILURE_PAUSE)
            with lock:
                records.extend(mine)

        threads = [
            threading.Thread(target=submitter, args=(c,), name=f"submitter-{i}", daemon=True)
            for i, c in enumerate(contracts)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - began
        cpu = time.process_time() - cpu_before
    return ClientRun(records, wall, cpu), budget.exhausted
