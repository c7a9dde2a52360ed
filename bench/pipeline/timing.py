"""Where a pipeline's time goes: wrappers around its public calls and the primitives below.

The bench process replaces (monkeypatches) a few functions and methods with timed wrappers
for the duration of a run: the Pipeline's steps, the object store's puts and gets (and the
AES-GCM sealing inside them), the de-identification (scratch copy and the anonymizer), the
ledger's submit-and-wait and query, and the outbox worker's polls. Totals are summed over
threads, so with parallel donations they are thread-seconds, not wall time.
"""

from __future__ import annotations

import functools
import importlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

STEPS = ("register", "consent", "ingest", "deidentify", "submit_for_review", "accept", "store")

# (module, class or None, attribute, key). Order is the report's order; a key whose time is
# inside another's says so in PARENT.
PRIMITIVES: tuple[tuple[str, str | None, str, str], ...] = (
    ("client.objects", "Staging", "put", "staging put"),
    ("client.objects", None, "seal", "seal (AES-GCM)"),
    ("client.objects", "Staging", "get", "staging get"),
    ("client.objects", None, "unseal", "unseal (AES-GCM)"),
    ("client.objects", "Staging", "delete", "staging delete"),
    ("client.objects", "Staging", "delete_many", "staging delete"),
    ("client.objects", "Library", "put", "library put"),
    ("client.workflow", None, "deidentify_staged", "de-identify"),
    ("client.intake", None, "run", "anonymizer run"),
    ("client.ledger", "Ledger", "submit", "ledger submit+commit"),
    ("client.donations", "Donations", "get", "ledger query"),
    ("client.crypto", "KeyRing", "unwrap", "data key unwrap"),
    ("client.staging", None, "sha256_hex", "sha256 of staged data"),
    # Every way a session reaches the database; only the outermost call in a thread counts
    # (commit flushes, a query autoflushes).
    ("sqlalchemy.orm", "Session", "execute", "SQL"),
    ("sqlalchemy.orm", "Session", "flush", "SQL"),
    ("sqlalchemy.orm", "Session", "get", "SQL"),
    ("sqlalchemy.orm.session", "SessionTransaction", "commit", "SQL"),
)
PARENT = {"seal (AES-GCM)": "staging put", "unseal (AES-GCM)": "staging get",
          "anonymizer run": "de-identify"}
IDLE_POLL_S = 0.2  # Pipeline.wait sleeps this long after a poll that found nothing to do


@dataclass
class Total:
    seconds: float = 0.0
    calls: int = 0

    def to_json(self) -> dict[str, float | int]:
        return {"seconds": round(self.seconds, 4), "calls": self.calls}


class Timings:
    """Thread-safe totals of seconds and calls per key; also counts idle outbox polls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.totals: dict[str, Total] = {}
        self.idle_polls = 0
        self.submitted: list[str] = []  # donation id of every step this process submitted
        self.per_call: dict[str, list[float]] = {}

    def add(self, key: str, seconds: float, *, keep: bool = False) -> None:
        with self._lock:
            t = self.totals.setdefault(key, Total())
            t.seconds += seconds
            t.calls += 1
            if keep:
                self.per_call.setdefault(key, []).append(seconds)

    def reset(self) -> None:
        with self._lock:
            self.totals.clear()
            self.per_call.clear()
            self.submitted.clear()
            self.idle_polls = 0

    def to_json(self) -> dict[str, Any]:
        return {"totals": {k: v.to_json() for k, v in self.totals.items()},
                "idle_polls": self.idle_polls, "per_call": self.per_call}


_ACTIVE = threading.local()


def _timed(timings: Timings, key: str, fn: Callable[..., Any], keep: bool) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        active = _ACTIVE.__dict__.setdefault("keys", set())
        if key in active:  # inside a call timed under the same key: counted there
            return fn(*args, **kwargs)
        active.add(key)
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            timings.add(key, time.perf_counter() - t0, keep=keep)
            active.discard(key)
    return wrapper


@contextmanager
def instrumented(timings: Timings) -> Iterator[Timings]:
    """Install the timed wrappers; the originals are put back on exit."""
    from client.outbox import Worker
    from client.workflow import Pipeline

    saved: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, attr: str, new: Any) -> None:
        saved.append((owner, attr, owner.__dict__[attr] if isinstance(owner, type)
                      else getattr(owner, attr)))
        setattr(owner, attr, new)

    for step in STEPS:
        patch(Pipeline, step, _timed(timings, f"step {step}", getattr(Pipeline, step), True))
    for module, cls, attr, key in PRIMITIVES:
        owner: Any = importlib.import_module(module)
        if cls:
            owner = getattr(owner, cls)
        patch(owner, attr, _timed(timings, key, getattr(owner, attr), False))

    from client.ledger import Ledger
    timed_submit = Ledger.submit

    @functools.wraps(timed_submit)
    def submit(self: Any, item: Any) -> Any:
        result = timed_submit(self, item)
        with timings._lock:  # whose step it was: another pipeline's, in a shared outbox
            timings.submitted.append(item.donation_id)
        return result

    patch(Ledger, "submit", submit)
    run_once = Worker.run_once

    @functools.wraps(run_once)
    def counted(self: Any, *args: Any, **kwargs: Any) -> bool:
        progressed = run_once(self, *args, **kwargs)
        if not progressed:
            with timings._lock:
                timings.idle_polls += 1
        return progressed

    patch(Worker, "run_once", counted)
    try:
        yield timings
    finally:
        for owner, attr, old in reversed(saved):
            setattr(owner, attr, old)
