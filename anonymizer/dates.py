"""Shift dates by one offset per donor (Retain Longitudinal Temporal Information, modified).

Every DA and DT of a donor moves by the same whole number of days, derived from a keyed hash,
so the intervals between studies, series and events are kept; times of day (TM) and the
time part and UTC offset of DT stay as they were.

References
----------
DICOM PS3.15 2024b E.3.6 (Retain Longitudinal Temporal Information Options);
PS3.5 6.2 (DA, DT, TM value formats).
"""

from __future__ import annotations

import datetime as dt
import re

from anonymizer.uids import keyed_hash

# Offsets are in the past so shifted dates never land in the future.
MIN_DAYS, MAX_DAYS = 365, 3650

_DT = re.compile(r"(\d{4})(\d{2})?(\d{2})?(.*)", re.S)


def donor_offset(secret: bytes, donor: str) -> int:
    """Return the donor's day offset, in ``-MAX_DAYS..-MIN_DAYS``, from a keyed hash."""
    n = int.from_bytes(keyed_hash(secret, "date-offset", donor)[:8], "big")
    return -(MIN_DAYS + n % (MAX_DAYS - MIN_DAYS + 1))


def _shift_date(year: int, month: int, day: int, days: int) -> dt.date:
    return dt.date(year, month, day) + dt.timedelta(days=days)


def shift_da(value: str, days: int) -> str:
    """Return DA ``value`` (``YYYYMMDD``, or a range ``A-B``) moved by ``days``.

    Raises ``ValueError`` if the value is not a valid date (callers then empty it).
    """
    value = value.strip()
    if "-" in value:
        return "-".join(shift_da(v, days) if v else "" for v in value.split("-", 1))
    if not re.fullmatch(r"\d{8}", value):
        # ACR-NEMA style YYYY.MM.DD is also seen in old files.
        if re.fullmatch(r"\d{4}\.\d{2}\.\d{2}", value):
            value = value.replace(".", "")
        else:
            raise ValueError("not a DA value")
    d = _shift_date(int(value[:4]), int(value[4:6]), int(value[6:8]), days)
    return d.strftime("%Y%m%d")


def shift_dt(value: str, days: int) -> str:
    """Return DT ``value`` moved by ``days``, keeping its precision, time and UTC offset.

    A DT with only ``YYYY`` or ``YYYYMM`` is shifted from its first day and cut back to the
    same precision. Raises ``ValueError`` if the value is not a valid date-time.
    """
    value = value.strip()
    if "-" in value[4:] and not re.search(r"[+-]\d{4}$", value):
        # A range (query form); a trailing -ZZXX is a UTC offset, not a range.
        a, b = value.split("-", 1)
        return f"{shift_dt(a, days) if a else ''}-{shift_dt(b, days) if b else ''}"
    m = _DT.fullmatch(value)
    if not m:
        raise ValueError("not a DT value")
    year, month, day, rest = m[1], m[2], m[3], m[4]
    if rest and not re.fullmatch(r"\d{0,6}(\.\d{1,6})?([+-]\d{4})?", rest):
        raise ValueError("not a DT value")
    d = _shift_date(int(year), int(month or 1), int(day or 1), days)
    text = d.strftime("%Y%m%d")[: 4 + (2 if month else 0) + (2 if day else 0)]
    return text + rest
