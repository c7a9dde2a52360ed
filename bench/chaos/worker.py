"""An outbox worker for chaos runs: ``TRAZA_DATABASE_URL=... python -m bench.chaos.worker
WORKER_ID --profiles DIR`` submits queued steps until killed.

The transient donor link is stored as is in ``sealed`` by the load (bench.chaos.load), so it
is passed through unsealed; the workflow proper seals it under the org's key.
"""

from __future__ import annotations

import argparse
import logging
import os
import threading

from client.db import Database
from client.ledger import Ledger
from client.outbox import Backoff, Worker


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("worker_id")
    parser.add_argument("--profiles", required=True)
    a = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    db = Database(os.environ["TRAZA_DATABASE_URL"])
    ledger = Ledger(a.profiles, unseal=lambda item: {"donor_link": item.sealed})
    # A killed worker's claimed item is taken over after stall_after seconds.
    Worker(db, ledger.submit, worker_id=a.worker_id, stall_after=3.0,
           backoff=Backoff(base=0.5, maximum=4), poll=0.05).run(threading.Event())


if __name__ == "__main__":
    main()
