"""The per-file action report: what was done to which attribute, never the values.

Its canonical JSON hash (:meth:`Report.sha256`) is the evidence recorded on the ledger for the
DEIDENTIFIED step; :meth:`Report.summary_es` is what the donor reads.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

# Operation names used in AttributeAction.operation, and how the Spanish summary counts them.
REMOVED_OPERATIONS = frozenset({"removed", "emptied", "dummy", "pseudonym"})


@dataclass(frozen=True)
class AttributeAction:
    """One attribute touched.

    ``path`` locates it inside sequences (``ContentSequence[2].TextValue``); ``action`` is the
    Table E.1-1 letter applied (X, Z, D, U, C, K); ``operation`` says what it did
    (removed, emptied, dummy, pseudonym, uid, date_shift, text_clean, age_capped, ...);
    ``old_hmac`` is a keyed HMAC-SHA256 of the old value (keyed so that short values such as a
    birth date cannot be recovered from the report by trying every candidate).
    """

    path: str
    tag: str
    keyword: str
    vr: str
    action: str
    operation: str
    old_hmac: str | None = None


@dataclass(frozen=True)
class TextSpan:
    """A span of personal data replaced in a text value: offsets in the old text, category."""

    path: str
    start: int
    end: int
    category: str


@dataclass(frozen=True)
class PixelMask:
    """Boxes masked in one frame (0-based) as (x0, y0, x1, y1); ``source`` is pixel or overlay."""

    frame: int
    boxes: tuple[tuple[int, int, int, int], ...]
    source: str = "pixel"


@dataclass
class Report:
    """The action report for one file."""

    profile_id: str
    profile_version: str
    edition: str
    input_sha256: str = ""
    output_sha256: str = ""
    attributes: list[AttributeAction] = field(default_factory=list)
    text_spans: list[TextSpan] = field(default_factory=list)
    pixel_masks: list[PixelMask] = field(default_factory=list)
    pixel_checked: bool = False
    notes: list[str] = field(default_factory=list)

    def add(self, action: AttributeAction) -> None:
        """Record an attribute action."""
        self.attributes.append(action)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON-ready data."""
        # Built by hand: dataclasses.asdict deep-copies every field, which cost more than
        # the rest of a small file's report.
        return {
            "profile_id": self.profile_id,
            "profile_version": self.profile_version,
            "edition": self.edition,
            "input_sha256": self.input_sha256,
            "output_sha256": self.output_sha256,
            "attributes": [
                {"path": a.path, "tag": a.tag, "keyword": a.keyword, "vr": a.vr,
                 "action": a.action, "operation": a.operation, "old_hmac": a.old_hmac}
                for a in self.attributes
            ],
            "text_spans": [
                {"path": t.path, "start": t.start, "end": t.end, "category": t.category}
                for t in self.text_spans
            ],
            "pixel_masks": [
                {"frame": m.frame, "boxes": [list(b) for b in m.boxes], "source": m.source}
                for m in self.pixel_masks
            ],
            "pixel_checked": self.pixel_checked,
            "notes": list(self.notes),
            "counts": self.counts(),
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """Return the report as JSON text (UTF-8 safe, keys sorted)."""
        return to_json(self.to_dict(), indent=indent)

    def canonical_json(self) -> bytes:
        """Return the canonical JSON bytes: sorted keys, no whitespace, UTF-8."""
        return canonical_json(self.to_dict())

    def sha256(self) -> str:
        """Return the hex SHA-256 of :meth:`canonical_json` (the value put on the ledger)."""
        return sha256(self.to_dict())


    def counts(self) -> dict[str, int]:
        """Return how many attributes each operation touched, plus spans and masked boxes."""
        out: dict[str, int] = {}
        for a in self.attributes:
            out[a.operation] = out.get(a.operation, 0) + 1
        out["text_spans"] = len(self.text_spans)
        out["pixel_boxes"] = sum(len(m.boxes) for m in self.pixel_masks)
        out["pixel_frames_masked"] = len({(m.source, m.frame) for m in self.pixel_masks})
        return out

    def summary_es(self) -> str:
        """Return a one-paragraph Spanish summary for the donor.

        Example: "Se eliminaron 42 datos de identificación, se reemplazaron 12 identificadores
        únicos y se desplazaron 6 fechas."
        """
        return summary_es(self.counts(), pixel_checked=self.pixel_checked)


def summary_es(c: dict[str, int], *, pixel_checked: bool = False) -> str:
    """The Spanish summary of :meth:`Report.counts` (one file's, or several files' summed).

    Counts only, never values: the trace viewer shows it after the reports are purged.
    """
    removed = sum(v for k, v in c.items() if k in REMOVED_OPERATIONS)
    parts = []
    if removed:
        parts.append(_n(removed, "se eliminó {} dato", "se eliminaron {} datos")
                     + " de identificación")
    if c.get("uid"):
        parts.append(_n(c["uid"], "se reemplazó {} identificador único",
                        "se reemplazaron {} identificadores únicos"))
    if c.get("date_shift"):
        parts.append(_n(c["date_shift"], "se desplazó {} fecha",
                        "se desplazaron {} fechas") + " (se conservan los intervalos)")
    if c.get("text_clean"):
        parts.append(_n(c["text_clean"], "se limpió {} texto", "se limpiaron {} textos")
                     + " (" + _n(c["text_spans"], "{} dato personal reemplazado",
                                 "{} datos personales reemplazados") + ")")
    if c.get("age_capped"):
        parts.append("la edad mayor de 89 años se agrupó como 90 o más")
    if c.get("pixel_boxes"):
        parts.append(_n(c["pixel_boxes"], "se cubrió {} región con texto",
                        "se cubrieron {} regiones con texto")
                     + " en " + _n(c.get("pixel_frames_masked", 0), "{} cuadro de imagen",
                                   "{} cuadros de imagen"))
    elif pixel_checked:
        parts.append("no se encontró texto en la imagen")
    if not parts:
        return "No fue necesario cambiar ningún dato de este archivo."
    text = ", ".join(parts[:-1]) + (" y " if len(parts) > 1 else "") + parts[-1]
    return text[0].upper() + text[1:] + "."


def _n(count: int, one: str, many: str) -> str:
    return (one if count == 1 else many).format(count)


def canonical_json(data: dict[str, Any]) -> bytes:
    """Return a report's data (:meth:`Report.to_dict`) as canonical JSON bytes."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")
                      ).encode("utf-8")


def to_json(data: dict[str, Any], *, indent: int | None = 2) -> str:
    """Return a report's data (:meth:`Report.to_dict`) as JSON text (keys sorted)."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=indent)


def sha256(data: dict[str, Any]) -> str:
    """Return the hex SHA-256 of a report's data as canonical JSON (:meth:`Report.sha256`)."""
    return hashlib.sha256(canonical_json(data)).hexdigest()
