"""The audit log: every read of donor-facing or regulator data, append-only.

:func:`record` is what views call; the rows of a request are written by :func:`write` in
one short transaction of their own after the view ran and before the response leaves
(the view reads in a read-only session, so readers never queue on the write lock). If they
cannot be written the response is replaced by a 503: no read goes unrecorded. The
regulator console shows the rows and exports them as FHIR AuditEvent resources (IHE BALP
style); nothing updates or deletes them (the database refuses it too, migration 0003).
"""

from __future__ import annotations

import contextlib
import threading

from flask import g, request

from client.db import Database
from client.db.models import AuditEntry

from . import principal

__all__ = ["record", "write"]


def record(action: str, entity: str | None = None, outcome: str = "success", *,
           actor: str | None = None, role: str | None = None) -> None:
    """Append one row for the current request: who (principal or anonymous), what, from where.

    ``entity`` is a donation id, a hash or a query name: never personal data or a token.
    ``actor``/``role`` name a caller who is no principal (the QR holder: ``qr:<token hash>``).
    The row is kept on ``g`` and written by :func:`write` when the view returns.
    """
    who = principal.current()
    g.setdefault("audit_rows", []).append(AuditEntry(
        actor=(actor or (who.subject if who else "anonymous"))[:64],
        role=(role or (who.role if who else "anonymous"))[:32], action=action[:32],
        entity=entity[:128] if entity else None, outcome=outcome[:16],
        source=(request.remote_addr or "")[:64] or None))


# SQLite has one writer at a time and its busy handler waits by sleeping (1, 2, 5 ... 100 ms):
# threads of this process queue on a lock instead, which wakes the next one at once.
_write_lock = threading.Lock()


def write(db: Database) -> int:
    """Append the request's pending rows in one transaction; returns how many."""
    rows = g.pop("audit_rows", [])
    if rows:
        lock = _write_lock if db.dialect == "sqlite" else contextlib.nullcontext()
        with lock, db.session() as s:
            s.add_all(rows)
    return len(rows)
