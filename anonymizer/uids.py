"""Deterministic replacement of instance UIDs and patient IDs with keyed hashes.

The same (secret, donor, UID) always gives the same new UID, so studies, series, frames of
reference and cross-file references (SR, RT, SEG, registration) still line up after
de-identification, while nobody without the secret can link them back.

References
----------
DICOM PS3.15 2024b E.3.9 (Retain UIDs Option, and replacement of UIDs otherwise);
PS3.5 9.1 (UID encoding rules) and B.2 (UUID-derived UIDs under 2.25).
"""

from __future__ import annotations

import hashlib
import hmac
import re

from pydicom._uid_dict import UID_dictionary

_VALID = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")
MAX_UID = 64


def keyed_hash(secret: bytes, *parts: str) -> bytes:
    """Return HMAC-SHA256 of ``parts`` joined by NUL under ``secret``."""
    return hmac.new(secret, "\0".join(parts).encode("utf-8"), hashlib.sha256).digest()


def is_well_known(uid: str) -> bool:
    """Return True for UIDs of the DICOM registry (SOP classes, transfer syntaxes, ...)."""
    return uid in UID_dictionary


class UIDMapper:
    """Map instance UIDs to ``<root>.<int>`` keyed by (secret, donor); keep registry UIDs.

    Parameters
    ----------
    secret
        The institution's de-identification key (never stored with the data).
    donor
        The scope of consistency: every file of one donor maps a UID the same way.
    root
        UID root of the new values; ``2.25`` (PS3.5 B.2) by default.
    """

    def __init__(self, secret: bytes, donor: str, root: str = "2.25") -> None:
        if not _VALID.fullmatch(root) or len(root) > MAX_UID - 2:
            raise ValueError("uid root must be a valid UID prefix")
        self._secret = secret
        self._donor = donor
        self._root = root
        # Decimal digits left for the hashed part (at most 39 = 128 bits).
        self._digits = min(39, MAX_UID - len(root) - 1)

    def map(self, uid: str) -> str:
        """Return the replacement for ``uid`` (unchanged if it is a registry UID or empty)."""
        uid = uid.strip().rstrip("\0")
        if not uid or is_well_known(uid):
            return uid
        digest = keyed_hash(self._secret, "uid", self._donor, uid)
        value = int.from_bytes(digest[:16], "big") % (10**self._digits)
        return f"{self._root}.{value}"


def patient_pseudonym(secret: bytes, donor: str) -> str:
    """Return the donor's PatientID pseudonym: ``TRZ`` + 16 hex digits of a keyed hash."""
    return "TRZ" + keyed_hash(secret, "patient-id", donor)[:8].hex().upper()
