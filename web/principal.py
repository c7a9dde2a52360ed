"""Who is signed in: one :class:`Principal` in the (signed, server-keyed) session cookie.

Donors sign in with a one-time code sent to their e-mail (``kind="donor"``, ``subject`` =
the donation id they may review); staff with password + TOTP (``kind="staff"``, ``subject``
= the account's username, ``role`` one of :data:`STAFF_ROLES`, ``org`` the member org whose
Fabric identity signs their steps). Views guard themselves with :func:`require`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal, TypeVar

from flask import abort, redirect, request, session, url_for

__all__ = ["DONOR", "STAFF_ROLES", "Principal", "current", "require", "sign_in", "sign_out"]

DONOR = "donor"
STAFF_ROLES = ("operator", "clinician", "regulator", "admin")
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Principal:
    """A signed-in person."""

    kind: Literal["donor", "staff"]
    subject: str
    role: str
    org: str

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"


def current() -> Principal | None:
    """The signed-in principal, or ``None``."""
    raw = session.get("principal")
    if not isinstance(raw, dict):
        return None
    try:
        return Principal(**raw)
    except TypeError:
        return None


def sign_in(principal: Principal) -> None:
    """Start a fresh session for ``principal`` (the old session's contents are dropped)."""
    session.clear()
    session["principal"] = asdict(principal)
    session["since"] = int(time.time())
    session.permanent = True


def sign_out() -> None:
    """End the session."""
    session.clear()


def require(*roles: str) -> Callable[[F], F]:
    """Guard a view: signed in with one of ``roles`` (a donor's role is :data:`DONOR`).

    Not signed in: redirect to the sign-in page of the kind the roles ask for. Signed in
    with another role: 403.
    """

    def wrap(view: F) -> F:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            who = current()
            if who is None:
                endpoint = "auth.donor_login" if roles == (DONOR,) else "auth.staff_login"
                try:
                    return redirect(url_for(endpoint, next=request.path))
                except Exception:  # the auth blueprint is not registered
                    abort(401)
            if who.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return wrap
