"""The load of a chaos run: donor threads walking donations through the outbox.

Each thread registers a donation and takes it to STORED as Hospital's operator and service,
one step at a time: it records the step in SQL (the outbox row and its log row, with a
request id), waits until the outbox worker (a separate process) has committed it, then goes
on; before Acquire it stages two small objects in MinIO. Anything down (SQL, MinIO) is waited
out with the same request id, as the workflow's callers do. The tally keeps every request id
that committed, the ones that failed, and the time of every commit (the longest stall is the
longest gap between two commits).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from client import outbox
from client.db import Database, DatabaseUnavailable
from client.donor import DonorSecret, new_id
from client.objects import ObjectStore, ObjectStoreError

T = TypeVar("T")
INTAKE = "hospital"
# The step each request leads to, for the final state check.
STATE_AFTER = {"RegisterDonation": "REGISTERED", "Consent": "CONSENTED", "Acquire": "ACQUIRED",
               "Deidentify": "DEIDENTIFIED", "SubmitForReview": "UNDER_REVIEW",
               "Accept": "ACCEPTED", "Store": "STORED"}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Committed:
    request_id: str
    step: str
    transaction_id: str


@dataclass
class Tally:
    """What the load did, shared by its threads."""

    started: float = field(default_factory=time.monotonic)
    committed: dict[str, list[Committed]] = field(default_factory=dict)  # donation -> steps
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # donation, step, error
    commits: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def commit(self, donation_id: str, c: Committed) -> None:
        with self.lock:
            self.committed.setdefault(donation_id, []).append(c)
            self.commits.append(time.monotonic())

    def fail(self, donation_id: str, step: str, error: str) -> None:
        with self.lock:
            self.failed.append((donation_id, step, error))

    @property
    def steps(self) -> int:
        return sum(len(v) for v in self.committed.values())

    def longest_stall(self, until: float | None = None) -> float:
        """The longest time without a commit, from the start to ``until`` (default: now)."""
        end = until or time.monotonic()
        marks = [self.started, *sorted(c for c in self.commits if c <= end), end]
        return max(b - a for a, b in zip(marks, marks[1:], strict=False))


def patiently(what: Callable[[], T], stop: threading.Event, timeout: float) -> T:
    """Call ``what`` until SQL and MinIO answer (their outages are waited out)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return what()
        except (DatabaseUnavailable, ObjectStoreError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def plan(donor: DonorSecret, originals: list[str], deidentified: list[str]) -> list[dict]:
    """The donation's steps as outbox entries (step, user, payload, sealed link)."""
    link = {"contactRef": new_id("c"), "donorPseudonym": donor.donor_pseudonym,
            "salt": donor.salt.hex()}
    consent = {"acceptance": {"kind": "otp", "sha256": sha(secrets.token_bytes(8))},
               "formId": "consent-general", "formSha256": sha(b"form v3"),
               "formVersion": "3", "legalRegime": "LGPDPPSO", "minor": False,
               "guardianConsent": False, "retentionMonths": 120,
               "purposes": {"aiTraining": True, "commercial": False, "research": True,
                            "teaching": True}}
    steps = [
        ("RegisterDonation", "operator1",
         {"commitment": donor.commitment, "qrTokenSha256": donor.qr_token_sha256}),
        ("LinkDonor", "operator1", {}),
        ("Consent", "operator1", consent),
        ("Acquire", "operator1", {"originalSha256": originals,
                                  "source": {"kind": "human", "ageBand": "40-64"}}),
        ("Deidentify", "service1",
         {"deidentifiedSha256": deidentified, "method": "automatic",
          "profile": {"id": "library", "version": "2"}, "reportSha256": sha(b"report")}),
        ("SubmitForReview", "service1", {"reviewSessionId": new_id("s")}),
        ("Accept", "service1", {}),
        ("Store", "service1", {"librarySha256": deidentified}),
    ]
    return [{"step": s, "org": INTAKE, "user": u, "payload": p,
             "sealed": json.dumps(link).encode() if s == "LinkDonor" else None,
             "request_id": new_id("r")} for s, u, p in steps]


def donor_thread(db: Database, store: ObjectStore, tally: Tally, stop: threading.Event, *,
                 step_timeout: float = 240) -> None:
    """Walk donations to STORED until ``stop`` is set (the current step is finished)."""
    while not stop.is_set():
        donor = DonorSecret.new(new_id("d"), new_id("p"))
        did = donor.donation_id
        blobs = [secrets.token_bytes(256) for _ in range(2)]
        deidentified = [sha(secrets.token_bytes(16)) for _ in range(2)]
        for entry in plan(donor, [sha(b) for b in blobs], deidentified):
            if stop.is_set():
                break
            try:
                if entry["step"] == "Acquire":  # the originals first reach staging
                    for blob in blobs:
                        patiently(lambda b=blob, d=did: store.staging.put(
                            secrets.token_bytes(32), b, donation_id=d), stop, step_timeout)
                item = _submit(db, did, entry, stop, step_timeout)
            except (TimeoutError, DatabaseUnavailable, ObjectStoreError) as e:
                tally.fail(did, entry["step"], f"{type(e).__name__}: {e}"[:300])
                break
            if item.status != outbox.DONE:
                tally.fail(did, entry["step"], item.last_error or item.status)
                break
            tally.commit(did, Committed(entry["request_id"], entry["step"],
                                        item.transaction_id or ""))


def _submit(db: Database, did: str, entry: dict[str, Any], stop: threading.Event,
            timeout: float):
    def record() -> None:
        with db.session() as s:
            outbox.enqueue(s, donation_id=did, operation={"executor_sha256": sha(b"chaos")},
                           **entry)

    patiently(record, stop, timeout)  # a retry after an outage: same request id
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        try:
            return outbox.wait(db, entry["request_id"], timeout=max(left, 0.1))
        except DatabaseUnavailable:
            if left <= 0:
                raise
            time.sleep(0.5)
