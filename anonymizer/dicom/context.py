"""What one file's de-identification needs: profile, keys, engines and the report."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

from pydicom.multival import MultiValue
from pydicom.sequence import Sequence as DicomSequence

from anonymizer import dates
from anonymizer.engines import Engines
from anonymizer.known_values import KnownValues
from anonymizer.profile import Profile
from anonymizer.report import Report
from anonymizer.uids import UIDMapper, patient_pseudonym


@dataclass
class Context:
    """Everything one file's de-identification needs: profile, keys, engines, report."""

    profile: Profile
    secret: bytes
    donor: str
    report: Report
    # Text redaction and burned-in text engines (none by default: files that need one fail).
    engines: Engines = field(default_factory=Engines)
    # Identifying values known from elsewhere (the donor's other files), added to the file's.
    known: KnownValues | None = None
    # True when ``known`` already holds this file's own values (run's first pass read them).
    known_complete: bool = False
    uids: UIDMapper = field(init=False)
    date_offset: int = field(init=False)
    pseudonym: str = field(init=False)
    _report_key: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.uids = UIDMapper(self.secret, self.donor, self.profile.uid_root)
        self.date_offset = dates.donor_offset(self.secret, self.donor)
        self.pseudonym = patient_pseudonym(self.secret, self.donor)
        report_key = self.secret + b"\0report\0" + self.donor.encode()
        self._report_key = hashlib.sha256(report_key).digest()

    def digest(self, value: Any) -> str | None:
        """Return the keyed HMAC-SHA256 of an old value for the report (None for sequences)."""
        raw = _value_bytes(value)
        if raw is None:
            return None
        return hmac.digest(self._report_key, raw, "sha256").hex()


def _value_bytes(value: Any) -> bytes | None:
    if value is None:
        return b""
    if isinstance(value, DicomSequence):
        return None
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, MultiValue | list | tuple):
        return "\\".join(str(v) for v in value).encode("utf-8")
    return str(value).encode("utf-8")
