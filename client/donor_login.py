"""A donor's review sign-in: a one-time code e-mailed to the address of their account.

:meth:`DonorLogin.start` finds the account by the keyed hash of the address typed (the
pipeline's own lookup key), opens a :class:`~client.db.models.ReviewSession` for the
account's donation that waits for the donor's review, and e-mails the code. The code is kept
only as a keyed hash; it is valid for :attr:`DonorLogin.minutes`, for :attr:`MAX_ATTEMPTS`
tries and once. The caller's answer never depends on whether the address is known: ``start``
returns a session id in both cases (a decoy that no code opens when it is not).
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import mail
from .db.models import DonationIndex, DonationRecord, DonorAccount, ReviewSession, utcnow
from .donor import keyed_hash, new_id

MAX_ATTEMPTS = 5
RESEND_SECONDS = 60  # one code per donation per minute: no mail flood, no code farming
CODE_DIGITS = 6
REVIEW_STATES = ("UNDER_REVIEW",)


@dataclass(frozen=True)
class Verified:
    """A code that matched: the donation the donor may review."""

    donation_id: str
    account_id: int


class DonorLogin:
    """Start and finish donor sign-ins on one intake org's database.

    Parameters
    ----------
    accounts_key : bytes
        The pipeline's account key (:class:`client.pipeline_config.Secrets` ``accounts``).
    send : callable
        ``send(message)`` delivers an e-mail (``mail.send`` with the pipeline's settings).
    sender : str
        The ``From`` address.
    minutes : int
        How long a code is valid.
    """

    def __init__(self, accounts_key: bytes, send: Callable[[EmailMessage], object], *,
                 sender: str, minutes: int = 10) -> None:
        self.key, self.send, self.sender, self.minutes = accounts_key, send, sender, minutes

    def _code_hash(self, session_id: str, code: str) -> str:
        # Keyed: six digits are guessed offline in a moment from a plain hash.
        return keyed_hash(self.key, "review-code", f"{session_id}:{code}")

    def _donation(self, s: Session, account_id: int) -> str | None:
        """The account's oldest open donation that waits for the donor's review."""
        return s.scalar(
            select(DonationRecord.donation_id)
            .join(DonationIndex, DonationIndex.donation_id == DonationRecord.donation_id)
            .where(DonationRecord.account_id == account_id,
                   DonationIndex.state.in_(REVIEW_STATES))
            .order_by(DonationRecord.created_at).limit(1))

    def start(self, s: Session, email: str) -> str:
        """Open a review session for ``email`` and send its code; return the session id.

        The id is returned whether or not a code was sent (unknown address, no donation
        under review, a code sent less than a minute ago): only the donor's mailbox knows.
        """
        email = email.strip().lower()
        decoy = new_id("s")
        if not mail.is_address(email):
            return decoy
        account = s.scalar(select(DonorAccount).where(
            DonorAccount.email_hmac == keyed_hash(self.key, "email", email)))
        donation_id = self._donation(s, account.id) if account is not None else None
        if account is None or donation_id is None:
            return decoy
        now = utcnow()
        recent = s.scalar(select(ReviewSession.id).where(
            ReviewSession.donation_id == donation_id, ReviewSession.used_at.is_(None),
            ReviewSession.created_at > now - dt.timedelta(seconds=RESEND_SECONDS)).limit(1))
        if recent is not None:
            return recent
        code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
        session_id = new_id("s")
        s.add(ReviewSession(id=session_id, donation_id=donation_id, account_id=account.id,
                            code_hash=self._code_hash(session_id, code),
                            expires_at=now + dt.timedelta(minutes=self.minutes), attempts=0,
                            created_at=now))
        s.flush()
        self.send(mail.code_message(email, code, sender=self.sender, minutes=self.minutes))
        return session_id

    def verify(self, s: Session, session_id: str, code: str) -> Verified | None:
        """The donation ``code`` opens in review session ``session_id``, or ``None``.

        Every try counts; after :data:`MAX_ATTEMPTS` the session opens nothing any more (a
        new code must be asked for). A code that matched is spent.
        """
        row = s.get(ReviewSession, session_id) if isinstance(session_id, str) else None
        now = utcnow()
        if row is None or row.used_at is not None or row.expires_at <= now \
                or row.attempts >= MAX_ATTEMPTS:
            return None
        row.attempts += 1
        code = (code or "").strip()
        if not (code.isdigit() and len(code) == CODE_DIGITS) or not hmac.compare_digest(
                self._code_hash(session_id, code), row.code_hash):
            return None
        row.used_at = now
        if row.account_id is None:
            return None
        return Verified(row.donation_id, row.account_id)


__all__ = ["MAX_ATTEMPTS", "DonorLogin", "Verified"]
