"""A synthetic event index of N donations, bulk-inserted, for the web benchmark.

Rows look like what :class:`client.index.EventIndex` writes (states, MSPs, steps with
evidence JSON, a QR token hash per donation) but are made up: random-looking ids, no data.
Token ``i`` is :func:`token` (deterministic), so the load generator can ask for any of them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

from sqlalchemy import insert

from client.db import Database, DonationIndex, StepIndex
from client.db.database import sqlite_url

__all__ = ["STEPS", "build_index", "token"]

STEPS = [("RegisterDonation", "", "REGISTERED"), ("Consent", "REGISTERED", "CONSENTED"),
         ("Acquire", "CONSENTED", "ACQUIRED"), ("Deidentify", "ACQUIRED", "DEIDENTIFIED"),
         ("SubmitForReview", "DEIDENTIFIED", "UNDER_REVIEW"),
         ("Accept", "UNDER_REVIEW", "ACCEPTED"), ("Store", "ACCEPTED", "STORED")]
MSPS = ("HospitalMSP", "UniversityMSP", "IMSSMSP")
BATCH = 5_000


def token(i: int) -> str:
    """The QR token of synthetic donation ``i`` (the viewer's token format, 32 chars)."""
    return f"bench{i:010d}" + "x" * 17


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def build_index(path: Path, donations: int) -> Database:
    """A fresh SQLite index at ``path`` with ``donations`` donations of 1-7 steps each."""
    path.unlink(missing_ok=True)
    db = Database.open(sqlite_url(path))
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    block = 10
    with db.engine.begin() as conn:
        donation_rows, step_rows = [], []
        for i in range(donations):
            did = f"d-{_sha(f'bench-{i}')[:24]}"
            n_steps = 1 + i % len(STEPS)
            at = start + dt.timedelta(minutes=i)
            for k in range(n_steps):
                step, frm, to = STEPS[k]
                tx = _sha(f"tx-{i}-{k}")
                ev = {"donationId": did, "step": step, "from": frm, "to": to,
                      "mspId": MSPS[i % 3], "txId": tx, "timestamp": at.isoformat(),
                      "data": {"acquisition": {"originalSha256": [_sha(f"o-{i}")]}}
                      if step == "Acquire" else {}}
                step_rows.append({
                    "donation_id": did, "step": step, "from_state": frm, "to_state": to,
                    "transaction_id": tx, "block_number": block, "timestamp": at,
                    "msp": MSPS[i % 3], "executor": _sha(f"ex-{i % 50}"),
                    "chaincode_version": "1.0", "package_id": "traza_1.0:" + "9" * 64,
                    "evidence": json.dumps(ev, separators=(",", ":"), sort_keys=True)})
                block += 1
            donation_rows.append({
                "donation_id": did, "state": STEPS[n_steps - 1][2], "intake_msp": MSPS[i % 3],
                "qr_token_sha256": _sha(token(i)), "registered_at": at, "updated_at": at,
                "last_block": block - 1, "legal_regime": ("LGPDPPSO", "LFPDPPP_2025")[i % 2],
                "purposes": "aiTraining,research"})
            if len(step_rows) >= BATCH:
                conn.execute(insert(StepIndex), step_rows)
                step_rows = []
            if len(donation_rows) >= BATCH:
                conn.execute(insert(DonationIndex), donation_rows)
                donation_rows = []
        if step_rows:
            conn.execute(insert(StepIndex), step_rows)
        if donation_rows:
            conn.execute(insert(DonationIndex), donation_rows)
    return db
