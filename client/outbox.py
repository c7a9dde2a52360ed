"""The outbox: ledger steps recorded locally first, then submitted by a worker with backoff.

Modelled on procrastinate's jobs. :func:`enqueue` writes the operational-log row and the
outbox row in the caller's transaction, before anything is submitted. A :class:`Worker`
claims one item in one statement (PostgreSQL ``FOR UPDATE SKIP LOCKED``; SQLite a
compare-and-set ``UPDATE ... WHERE status = 'todo'`` that wins when one row changed),
heartbeats while it submits, and records the result. A failure the ledger may heal (an MVCC
conflict, unreachable nodes, anything unknown) is retried as a row update (``attempts + 1``,
a later ``next_attempt_at``), never a sleep; a refusal by the contract (not found, wrong
state, unauthorized, invalid input) fails the item with its code. An item whose worker
stopped heartbeating is claimed again. Retries reuse the item's request id, which the
contract answers with the first result and no second write: a crash at any point resumes
without duplicates.

Steps of one donation are submitted in order: an item is not claimed while an earlier item
of the same donation is ``todo`` or ``doing`` (a ``failed`` one does not hold the others: the
contract judges whether they still apply).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, exists, select, update
from sqlalchemy.orm import Session, aliased

from .db import Database, DatabaseUnavailable, Operation, OutboxItem, utcnow
from .errors import InvalidInput, NotFound, Unauthorized, WrongState

__all__ = ["Backoff", "OutboxError", "SubmitResult", "Worker", "enqueue", "get", "wait"]

log = logging.getLogger(__name__)

TODO, DOING, DONE, FAILED = "todo", "doing", "done", "failed"
# Refusals the same request will always get: retrying cannot help.
PERMANENT: dict[type[Exception], str] = {
    NotFound: "NOT_FOUND", WrongState: "WRONG_STATE", Unauthorized: "UNAUTHORIZED",
    InvalidInput: "INVALID_INPUT",
}
OPERATION_FIELDS = frozenset(
    {"executor_sha256", "donor_ref", "action", "original_object", "modified_object"})


class OutboxError(Exception):
    """An outbox call was given something it cannot record (nothing was written)."""


@dataclass(frozen=True)
class SubmitResult:
    """What ``submit`` returns once the ledger committed the step."""

    transaction_id: str
    block_number: int | None
    result: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff: ``min(maximum, base * factor ** (attempts - 1))``, plus jitter.

    Parameters
    ----------
    base : float
        Delay after the first failed attempt, seconds (default 1).
    factor : float
        Growth per attempt (default 2).
    maximum : float
        Longest delay, seconds (default 300).
    jitter : float
        Up to this fraction of the delay is added at random, so retries of many items do
        not arrive together (default 0.1).
    max_attempts : int or None
        After this many failed attempts the item fails (``None``, the default: retry until
        committed, as the design asks).
    """

    base: float = 1.0
    factor: float = 2.0
    maximum: float = 300.0
    jitter: float = 0.1
    max_attempts: int | None = None

    def delay(self, attempts: int) -> float:
        """Seconds to wait before the next try, after ``attempts`` failed ones (>= 1)."""
        d = min(self.maximum, self.base * self.factor ** max(0, attempts - 1))
        return d * (1 + self.jitter * random.random())  # noqa: S311 (not a secret)


def _new_request_id() -> str:
    return f"r-{uuid.uuid4().hex}"


def enqueue(session: Session, *, donation_id: str, step: str, org: str, user: str,
            payload: Mapping[str, Any], sealed: bytes | None = None,
            request_id: str | None = None, operation: Mapping[str, Any]) -> OutboxItem:
    """Record a ledger step and its operational-log row in ``session``'s transaction.

    Nothing is submitted: a :class:`Worker` does that once the caller commits. Enqueueing
    the same ``request_id`` again for the same step and donation returns the recorded item
    (idempotent); for another step or donation it is refused.

    Parameters
    ----------
    session : Session
        The caller's session (e.g. ``with db.session() as s:``); committed by the caller.
    donation_id, step : str
        The donation and the contract transaction (``"Consent"``, ``"Store"``...).
    org, user : str
        The identity to submit as (``"hospital"``, ``"service1"``).
    payload : mapping
        The step's arguments as JSON (ids, hashes, codes: never personal data).
    sealed : bytes, optional
        Transient data already encrypted by the caller (e.g. the donor link).
    request_id : str, optional
        The step's request id (default: a new random one).
    operation : mapping
        The operational-log row: ``executor_sha256`` (required), ``donor_ref`` (sealed
        bytes), ``action`` (default: ``step``), ``original_object``, ``modified_object``.

    Raises
    ------
    OutboxError
        If ``operation`` has unknown or missing fields, ``payload`` is not JSON, or the
        request id was already used for another step.
    """
    unknown = set(operation) - OPERATION_FIELDS
    if unknown or not operation.get("executor_sha256"):
        raise OutboxError(f"operation needs executor_sha256 and only {sorted(OPERATION_FIELDS)}"
                          f"; unknown: {sorted(unknown)}")
    try:
        text = json.dumps(dict(payload), separators=(",", ":"), sort_keys=True)
    except (TypeError, ValueError) as e:
        raise OutboxError(f"payload of step {step} is not JSON: {e}") from None
    request_id = request_id or _new_request_id()
    existing = session.scalar(select(OutboxItem).where(OutboxItem.request_id == request_id))
    if existing is not None:
        if (existing.step, existing.donation_id) != (step, donation_id):
            raise OutboxError(f"request id {request_id} is already used for step "
                              f"{existing.step} on donation {existing.donation_id}")
        return existing
    op = Operation(donation_id=donation_id, action=operation.get("action") or step,
                   **{k: v for k, v in operation.items() if k != "action"})
    session.add(op)
    session.flush()  # the log row first: its number goes into the outbox row
    item = OutboxItem(request_id=request_id, donation_id=donation_id, step=step, org=org,
                      user=user, payload=text, sealed=sealed, status=TODO, attempts=0,
                      next_attempt_at=utcnow(), created_at=utcnow(), operation_id=op.number)
    session.add(item)
    session.flush()
    return item


def get(db: Database, request_id: str) -> OutboxItem | None:
    """The outbox item of ``request_id`` (detached), or ``None``."""
    with db.session() as s:
        return s.scalar(select(OutboxItem).where(OutboxItem.request_id == request_id))


def wait(db: Database, request_id: str, timeout: float, *, poll: float = 0.05) -> OutboxItem:
    """Wait until the item of ``request_id`` is ``done`` or ``failed``; return it.

    Raises
    ------
    KeyError
        If no item has that request id.
    TimeoutError
        If it is still ``todo``/``doing`` after ``timeout`` seconds (it stays queued).
    """
    deadline = time.monotonic() + timeout
    while True:
        item = get(db, request_id)
        if item is None:
            raise KeyError(f"no outbox item with request id {request_id}")
        if item.status in (DONE, FAILED):
            return item
        if time.monotonic() >= deadline:
            raise TimeoutError(f"step {item.step} of {item.donation_id} (request {request_id}) "
                               f"is still {item.status} after {timeout:g} s "
                               f"(attempts {item.attempts}, last error {item.last_error})")
        time.sleep(poll)


def _error_text(err: BaseException) -> tuple[str, bool]:
    """(``"CODE: message"``, permanent?) for a failed submit."""
    for kind, code in PERMANENT.items():
        if isinstance(err, kind):
            return f"{code}: {err}", True
    code = {"Conflict": "CONFLICT", "Unavailable": "UNAVAILABLE", "ClockSkew": "CLOCK_SKEW"}.get(
        type(err).__name__, type(err).__name__)
    return f"{code}: {err}"[:2000], False


Submit = Callable[[OutboxItem], SubmitResult]
# One alias for "an earlier item of the same donation": a stable statement shape, so the
# compiled SQL is cached (a new alias per claim costs more than the query).
_EARLIER = aliased(OutboxItem, name="earlier")


class Worker:
    """Submits outbox items, one at a time, through ``submit``.

    Parameters
    ----------
    db : Database
    submit : callable
        ``submit(item) -> SubmitResult``: submit ``item.step`` with ``item.arguments``
        (and ``item.sealed``, unsealed) as ``item.org``/``item.user`` with request id
        ``item.request_id``; raise :mod:`client.errors` types on failure.
    worker_id : str
        Names the claimer in ``claimed_by`` (e.g. host and pid).
    backoff : Backoff, optional
        Retry delays (default ``Backoff()``).
    stall_after : float, optional
        Seconds without a heartbeat after which a ``doing`` item is claimed again
        (default 30); heartbeats come every ``stall_after / 4``.
    poll : float, optional
        Seconds :meth:`run` waits when nothing is due (default 0.2).
    lag_retries : int, optional
        Tries (with backoff) before NOT_FOUND or WRONG_STATE fails an item (default 3): the
        previous step committed on one org's peer, and the peer this step goes through may
        not have that block yet. A retry is safe: the request id replays.
    """

    def __init__(self, db: Database, submit: Submit, *, worker_id: str,
                 backoff: Backoff | None = None, stall_after: float = 30.0,
                 poll: float = 0.2, lag_retries: int = 3) -> None:
        self.db = db
        self.submit = submit
        self.worker_id = worker_id
        self.backoff = backoff or Backoff()
        self.stall_after = stall_after
        self.poll = poll
        self.lag_retries = lag_retries
        self._next_reclaim = 0.0  # monotonic time of the next look for stalled items

    # -- claiming ----------------------------------------------------------------------

    @staticmethod
    def _due(now: dt.datetime) -> Any:
        blocked = exists().where(and_(_EARLIER.donation_id == OutboxItem.donation_id,
                                      _EARLIER.id < OutboxItem.id,
                                      _EARLIER.status.in_((TODO, DOING))))
        return and_(OutboxItem.status == TODO, OutboxItem.next_attempt_at <= now, ~blocked)

    def reclaim_stalled(self) -> int:
        """Put back ``doing`` items whose worker stopped heartbeating; return how many."""
        now = utcnow()
        limit = now - dt.timedelta(seconds=self.stall_after)
        with self.db.session() as s:
            res = s.execute(
                update(OutboxItem)
                .where(OutboxItem.status == DOING, OutboxItem.heartbeat_at < limit)
                .values(status=TODO, attempts=OutboxItem.attempts + 1, next_attempt_at=now,
                        claimed_by=None,
                        last_error="STALLED: the claiming worker stopped heartbeating")
                .execution_options(synchronize_session=False))
            return res.rowcount

    def claim(self) -> OutboxItem | None:
        """Claim the next due item (status ``doing``, claimed by this worker), or ``None``."""
        now = utcnow()
        with self.db.session() as s:
            if self.db.dialect == "postgresql":
                item = s.scalar(select(OutboxItem).where(self._due(now))
                                .order_by(OutboxItem.next_attempt_at, OutboxItem.id)
                                .limit(1).with_for_update(skip_locked=True, of=OutboxItem))
                if item is None:
                    return None
                item.status, item.claimed_by, item.heartbeat_at = DOING, self.worker_id, now
                s.flush()
                return item
            # SQLite: no row locks; the compare-and-set below wins when one row changed.
            ids = s.scalars(select(OutboxItem.id).where(self._due(now))
                            .order_by(OutboxItem.next_attempt_at, OutboxItem.id).limit(8)).all()
            for item_id in ids:
                res = s.execute(
                    update(OutboxItem)
                    .where(OutboxItem.id == item_id, self._due(now))
                    .values(status=DOING, claimed_by=self.worker_id, heartbeat_at=now)
                    .execution_options(synchronize_session=False))
                if res.rowcount == 1:
                    return s.get(OutboxItem, item_id, populate_existing=True)
            return None

    # -- one item ----------------------------------------------------------------------

    def _mine(self, item: OutboxItem) -> Any:
        return and_(OutboxItem.id == item.id, OutboxItem.status == DOING,
                    OutboxItem.claimed_by == self.worker_id)

    def _heartbeat(self, item: OutboxItem, done: threading.Event) -> None:
        while not done.wait(self.stall_after / 4):
            try:
                with self.db.session() as s:
                    s.execute(update(OutboxItem).where(self._mine(item))
                              .values(heartbeat_at=utcnow())
                              .execution_options(synchronize_session=False))
            except DatabaseUnavailable as e:  # the next beat may get through
                log.warning("heartbeat of outbox item %s failed: %s", item.id, e)

    def _finish(self, item: OutboxItem, values: dict[str, Any],
                stop: threading.Event | None) -> bool:
        """Record the outcome; while the database is down keep trying (the ledger has it)."""
        delay = 0.2
        while True:
            try:
                with self.db.session() as s:
                    res = s.execute(update(OutboxItem).where(self._mine(item)).values(**values)
                                    .execution_options(synchronize_session=False))
                    return res.rowcount == 1
            except DatabaseUnavailable as e:
                log.warning("recording outbox item %s: %s; retrying", item.id, e)
                if stop is not None and stop.is_set():
                    raise  # the item stays doing: it is claimed again once stalled
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    def process(self, item: OutboxItem, stop: threading.Event | None = None) -> OutboxItem:
        """Submit one claimed item and record done, failed or the next attempt."""
        done = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(item, done), daemon=True,
                                name=f"outbox-heartbeat-{item.id}")
        beat.start()
        try:
            outcome = self.submit(item)
        except Exception as e:  # noqa: BLE001 (every failure is recorded on the row)
            text, permanent = _error_text(e)
            attempts = item.attempts + 1
            if isinstance(e, (NotFound, WrongState)) and attempts <= self.lag_retries:
                permanent = False
            limit = self.backoff.max_attempts
            if permanent or (limit is not None and attempts >= limit):
                values = {"status": FAILED, "attempts": attempts, "last_error": text,
                          "done_at": utcnow(), "claimed_by": None}
                log.info("outbox item %s (%s %s) failed: %s", item.id, item.step,
                         item.donation_id, text)
            else:
                delay = self.backoff.delay(attempts)
                values = {"status": TODO, "attempts": attempts, "last_error": text,
                          "claimed_by": None,
                          "next_attempt_at": utcnow() + dt.timedelta(seconds=delay)}
                log.info("outbox item %s (%s %s) retried in %.1f s: %s", item.id, item.step,
                         item.donation_id, delay, text)
        else:
            values = {"status": DONE, "transaction_id": outcome.transaction_id,
                      "block_number": outcome.block_number, "done_at": utcnow(),
                      "result": json.dumps(outcome.result, separators=(",", ":"),
                                           sort_keys=True),
                      "last_error": None}
        finally:
            done.set()
            beat.join()
        if not self._finish(item, values, stop):
            # Reclaimed meanwhile (we looked stalled): the other worker's retry replays.
            log.warning("outbox item %s was reclaimed while this worker submitted it", item.id)
        for k, v in values.items():
            setattr(item, k, v)
        return item

    # -- loops -------------------------------------------------------------------------

    def run_once(self, stop: threading.Event | None = None) -> bool:
        """Reclaim stalled items (every ``stall_after / 4`` s), then claim and process one.

        Returns whether an item was processed.
        """
        if time.monotonic() >= self._next_reclaim:
            self.reclaim_stalled()
            self._next_reclaim = time.monotonic() + self.stall_after / 4
        item = self.claim()
        if item is None:
            return False
        self.process(item, stop)
        return True

    def run(self, stop: threading.Event) -> None:
        """Process items until ``stop`` is set; a database outage is waited out."""
        while not stop.is_set():
            try:
                busy = self.run_once(stop)
            except DatabaseUnavailable as e:
                log.warning("outbox worker %s: %s", self.worker_id, e)
                busy = False
                stop.wait(min(5.0, self.poll * 10))
            except Exception:  # a worker outlives one bad round; the item stays recorded
                log.exception("outbox worker %s: unexpected error", self.worker_id)
                busy = False
                stop.wait(min(5.0, self.poll * 10))
            if not busy:
                stop.wait(self.poll)

    def wait(self, request_id: str, timeout: float) -> OutboxItem:
        """Wait for one item to be done or failed (see :func:`wait`)."""
        return wait(self.db, request_id, timeout)
