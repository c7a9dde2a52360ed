"""An outbox worker on the test network: the ``submit`` the tests use, and a subprocess main.

``TRAZA_DATABASE_URL=... python -m tests.integration.outbox_worker WORKER_ID --profiles DIR
[--pause before|after ...]`` runs a :class:`client.outbox.Worker` until killed (the URL
comes from the environment: it may hold a password). With ``--pause``, at that boundary of
every step it prints ``BEFORE <request id>`` (claimed, not submitted) or ``AFTER <request
id> <tx id>`` (committed on the ledger, not yet marked done) and waits for a line on stdin,
so the test can SIGKILL it exactly there.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import threading
from pathlib import Path
from typing import Any

from client.db import Database, OutboxItem
from client.donations import Source
from client.donor import new_id
from client.ledger import Ledger
from client.outbox import Backoff, SubmitResult, Worker, enqueue

from .donation_flow import Flow, consent, h


def happy_steps(flow: Flow) -> list[dict[str, Any]]:
    """The happy path of ``flow``'s donation as outbox entries (step, org, user, payload)."""
    import json

    donor = flow.donor
    flow.deidentified = [h("deid"), h("deid")]
    link = {"contactRef": new_id("c"), "donorPseudonym": donor.donor_pseudonym,
            "salt": donor.salt.hex()}
    steps = [
        ("RegisterDonation", "hospital", "operator1",
         {"commitment": donor.commitment, "qrTokenSha256": donor.qr_token_sha256}),
        ("LinkDonor", "hospital", "operator1", {}),
        ("Consent", "hospital", "operator1", consent().to_json()),
        ("Acquire", "hospital", "operator1",
         {"originalSha256": flow.originals, "source": Source("human", "40-64").to_json()}),
        ("Deidentify", "university", "service1",
         {"deidentifiedSha256": flow.deidentified, "method": "automatic",
          "profile": {"id": "library", "version": "2"}, "reportSha256": h("report")}),
        ("Diagnose", "imss", "clinician1", {"signatureSha256": h("sig"), "findingCode": "C50.9"}),
        ("SubmitForReview", "hospital", "service1", {"reviewSessionId": new_id("s")}),
        ("Accept", "hospital", "service1", {}),
        ("Store", "hospital", "service1", {"librarySha256": flow.deidentified}),
    ]
    return [{"step": step, "org": org, "user": user, "payload": payload,
             "sealed": json.dumps(link).encode() if step == "LinkDonor" else None,
             "request_id": f"r-{secrets.token_hex(12)}"}
            for step, org, user, payload in steps]


def enqueue_all(db: Database, flow: Flow, entries: list[dict[str, Any]]) -> None:
    """Record every entry in one transaction, as the workflow would step by step."""
    with db.session() as s:
        for e in entries:
            enqueue(s, donation_id=flow.id, operation={"executor_sha256": h("executor")}, **e)


class LedgerSubmit(Ledger):
    """The workflow's :class:`client.ledger.Ledger`, pausing at step boundaries if asked.

    ``sealed`` is used as the transient donor link as is (the workflow unseals it first).
    """

    def __init__(self, profiles_dir: str | Path, pause: frozenset[str] = frozenset()) -> None:
        super().__init__(profiles_dir, unseal=lambda item: {"donor_link": item.sealed})
        self.pause = pause

    def _boundary(self, line: str) -> None:
        print(line, flush=True)
        sys.stdin.readline()

    def submit(self, item: OutboxItem) -> SubmitResult:
        if "before" in self.pause:
            self._boundary(f"BEFORE {item.request_id}")
        result = super().submit(item)
        if "after" in self.pause:
            self._boundary(f"AFTER {item.request_id} {result.transaction_id}")
        return result

    __call__ = submit


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("worker_id")
    parser.add_argument("--profiles", required=True, help="the test network's profiles folder")
    parser.add_argument("--pause", action="append", default=[], choices=["before", "after"])
    parser.add_argument("--stall-after", type=float, default=2.0)
    a = parser.parse_args()
    db = Database(os.environ["TRAZA_DATABASE_URL"])
    submit = LedgerSubmit(a.profiles, frozenset(a.pause))
    worker = Worker(db, submit, worker_id=a.worker_id, stall_after=a.stall_after,
                    backoff=Backoff(base=0.5, maximum=5), poll=0.1)
    print("READY", flush=True)
    worker.run(threading.Event())


if __name__ == "__main__":
    main()
