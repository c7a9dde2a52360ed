"""Staff accounts: an argon2id password, a TOTP secret sealed at rest, lockout after failures.

:func:`authenticate` checks in SecureDrop's order: the lockout first (no password is tried
while locked), then the TOTP code (a code is accepted once: its time step must be newer than
the last one used), then the password. Every failure is one generic answer and counts; after
:data:`FREE_FAILURES` the account locks for a doubling delay (1 min, 2, 4 ... at most 1 h).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import time
from dataclasses import dataclass

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from client.crypto import seal, unseal
from client.db.models import StaffAccount, utcnow

from .principal import STAFF_ROLES, Principal

__all__ = ["FREE_FAILURES", "ORGS", "USERNAME", "AccountError", "NewAccount", "authenticate",
           "check_new", "create", "fabric_user", "set_disabled"]

ORGS = ("university", "hospital", "imss")
USERNAME = re.compile(r"[a-z][a-z0-9_-]{2,29}")
MIN_PASSWORD = 12
FREE_FAILURES = 5
MAX_LOCK = dt.timedelta(hours=1)
_hasher = PasswordHasher()  # argon2id, the library's RFC 9106 defaults
# Verified against when the username is unknown: the answer takes as long either way.
_DUMMY = _hasher.hash("traza-no-such-account")


class AccountError(ValueError):
    """An account cannot be created or changed; the message says why (never the password)."""


@dataclass(frozen=True)
class NewAccount:
    """What creating an account hands back: the row and the TOTP secret, shown once."""

    account: StaffAccount
    totp_secret: str

    @property
    def otpauth_uri(self) -> str:
        """The ``otpauth://`` URI an authenticator app scans (it holds the secret)."""
        return pyotp.TOTP(self.totp_secret).provisioning_uri(
            name=self.account.username, issuer_name="Traza")


def fabric_user(username: str) -> str:
    """The person's Fabric identity name in their org: ``w-<username>``.

    The prefix keeps it apart from the network's own users (``operator1``, ``service1``).
    """
    return f"w-{username}"


def _aad(username: str) -> bytes:
    return f"staff-totp:{username}".encode()


def check_new(s: Session, username: str, password: str) -> None:
    """Raise :class:`AccountError` unless ``username`` is free and valid and ``password``
    long enough."""
    if not USERNAME.fullmatch(username or ""):
        raise AccountError("the username must be 3-30 characters a-z 0-9 _ -, a letter first")
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    if s.scalar(select(StaffAccount.id).where(StaffAccount.username == username)) is not None:
        raise AccountError(f"the account {username} exists")


def create(s: Session, key: bytes, username: str, password: str, *, role: str, org: str,
           certificate_sha256: str | None = None) -> NewAccount:
    """Add an account; its TOTP secret is returned once and kept sealed under ``key``."""
    check_new(s, username, password)
    if role not in STAFF_ROLES:
        raise AccountError(f"the role must be one of {', '.join(STAFF_ROLES)}")
    if org not in ORGS:
        raise AccountError(f"the org must be one of {', '.join(ORGS)}")
    secret = pyotp.random_base32()
    account = StaffAccount(
        username=username, role=role, org=org, fabric_user=fabric_user(username),
        certificate_sha256=certificate_sha256, password_hash=_hasher.hash(password),
        totp_sealed=seal(key, secret.encode(), _aad(username)), totp_last_step=0,
        failed_attempts=0, created_at=utcnow())
    s.add(account)
    s.flush()
    return NewAccount(account, secret)


def set_disabled(s: Session, username: str, disabled: bool = True) -> StaffAccount:
    """Disable (or enable again) an account: a disabled one signs in no more."""
    account = s.scalar(select(StaffAccount).where(StaffAccount.username == username))
    if account is None:
        raise AccountError(f"no account {username}")
    account.disabled_at = utcnow() if disabled else None
    return account


def _fail(account: StaffAccount, now: dt.datetime) -> None:
    account.failed_attempts += 1
    over = account.failed_attempts - FREE_FAILURES
    if over >= 0:
        account.locked_until = now + min(dt.timedelta(minutes=2 ** min(over, 6)), MAX_LOCK)


def authenticate(s: Session, key: bytes, username: str, password: str, code: str, *,
                 clock: float | None = None) -> Principal | None:
    """The principal for a correct username, password and TOTP code; ``None`` otherwise."""
    now = utcnow()
    account = s.scalar(select(StaffAccount).where(StaffAccount.username == username)) \
        if USERNAME.fullmatch(username or "") else None
    if account is None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY, password or "-")
        return None
    if account.disabled_at is not None or (account.locked_until and account.locked_until > now):
        return None
    totp = pyotp.TOTP(unseal(key, account.totp_sealed, _aad(username)).decode())
    at = time.time() if clock is None else clock
    step = next((int(at // totp.interval) + d for d in (0, -1, 1)
                 if (code or "").strip() == totp.at(at + d * totp.interval)), None)
    try:
        password_ok = _hasher.verify(account.password_hash, password or "-")
    except (VerificationError, InvalidHashError):
        password_ok = False
    if step is None or step <= account.totp_last_step or not password_ok:
        _fail(account, now)
        return None
    account.totp_last_step, account.failed_attempts = step, 0
    account.locked_until, account.last_login_at = None, now
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    return Principal(kind="staff", subject=username, role=account.role, org=account.org)
