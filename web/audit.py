"""The audit log: every read of donor-facing or regulator data, append-only.

:func:`record` is what views call; the regulator console shows the rows and exports them as
FHIR AuditEvent resources (IHE BALP style).
"""

from __future__ import annotations

from flask import g, request

from client.db.models import AuditEntry

from . import principal

__all__ = ["record"]


def record(action: str, entity: str | None = None, outcome: str = "success", *,
           actor: str | None = None, role: str | None = None) -> None:
    """Append one row for the current request: who (principal or anonymous), what, from where.

    ``entity`` is a donation id, a hash or a query name: never personal data or a token.
    ``actor``/``role`` name a caller who is no principal (the QR holder: ``qr:<token hash>``).
    The row joins the request's database session (``g.db``) and commits with it.
    """
    who = principal.current()
    g.db.add(AuditEntry(actor=(actor or (who.subject if who else "anonymous"))[:64],
                        role=(role or (who.role if who else "anonymous"))[:32],
                        action=action[:32], entity=entity[:128] if entity else None,
                        outcome=outcome[:16], source=(request.remote_addr or "")[:64] or None))
