"""What only the donor keeps: the commitment salt, their pseudonym, the QR capability token.

The ledger holds ``sha256(salt || donorPseudonym || donationId)`` and ``sha256(qrToken)``;
the donor's account and QR keep the salt and token, so the donor can prove a donation is
theirs (``VerifyDonorCommitment``) even after the private link is purged.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass


def new_id(prefix: str) -> str:
    """A random id such as ``d-3f9a...`` (lowercase hex: the contract's id form)."""
    return f"{prefix}-{secrets.token_hex(12)}"


def commitment(salt: bytes, donor_pseudonym: str, donation_id: str) -> str:
    """Hex SHA-256 of salt (32 raw bytes) || pseudonym || donation id (UTF-8)."""
    if len(salt) != 32:
        raise ValueError("the salt must be 32 random bytes")
    return hashlib.sha256(salt + donor_pseudonym.encode() + donation_id.encode()).hexdigest()


def sha256_hex(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def keyed_hash(key: bytes, purpose: str, value: str) -> str:
    """Hex HMAC-SHA256 of ``purpose:value`` under ``key``: a lookup key that hides the value.

    The pipeline finds a donor account by ``keyed_hash(accounts_key, "email", address)``;
    the purpose keeps hashes of one kind from matching another's.
    """
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class DonorSecret:
    """The donor's half of a donation: never on the ledger, never in logs or URLs."""

    donation_id: str
    donor_pseudonym: str
    salt: bytes
    qr_token: str

    @classmethod
    def new(cls, donation_id: str, donor_pseudonym: str) -> DonorSecret:
        return cls(donation_id, donor_pseudonym, secrets.token_bytes(32),
                   secrets.token_urlsafe(32))

    @property
    def commitment(self) -> str:
        return commitment(self.salt, self.donor_pseudonym, self.donation_id)

    @property
    def qr_token_sha256(self) -> str:
        return sha256_hex(self.qr_token)
