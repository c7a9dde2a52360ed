"""What the donor's review shows, read through the pipeline: pairs, changes, consent.

The de-identification report object (staged, sealed) pairs each original with its
de-identified version by their hashes (``input_sha256``, ``output_sha256``); only the drafts
the ledger names as current are shown. Original values come from the donor's own originals,
unsealed with the donation's data key (:class:`client.staging.StagedObjects`): they are
shown to the donor only, and never logged.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

import pydicom

from client.db.models import DonationIndex, DonationRecord, StagedObject
from client.workflow import Pipeline

from .render import RenderError, frame_count, modality

__all__ = ["Change", "Material", "Pair", "load", "masks_for", "object_for"]

MAX_FILES = 50  # files whose attribute changes are listed (each is read and parsed)
MAX_VALUE = 200
_STEP = re.compile(r"([A-Za-z0-9]+)(?:\[(\d+)\])?")


@dataclass(frozen=True)
class Change:
    """One attribute change of one file, as the donor reads it."""

    file: int
    path: str
    operation: str
    before: str
    after: str


@dataclass
class Pair:
    """An original and its current de-identified version."""

    number: int
    original: StagedObject
    deidentified: StagedObject | None
    modality: str = ""
    frames: int = 0
    masks: dict[int, list[list[int]]] = field(default_factory=dict)


@dataclass
class Material:
    """The whole review page's data."""

    donation_id: str
    state: str
    consent: dict[str, Any] | None
    pairs: list[Pair]
    changes: list[Change]


def _value(ds: pydicom.Dataset, path: str) -> str | None:
    """The value at a report path (``ContentSequence[2].TextValue``), as text."""
    node: Any = ds
    for part in path.split("."):
        m = _STEP.fullmatch(part)
        if m is None or not isinstance(node, pydicom.Dataset) or m.group(1) not in node:
            return None
        node = node[m.group(1)].value
        if m.group(2) is not None:
            try:
                node = node[int(m.group(2))]
            except (IndexError, TypeError):
                return None
    if isinstance(node, pydicom.Sequence):
        return f"({len(node)})"
    if isinstance(node, bytes):
        return f"({len(node)} bytes)"
    text = str(node)
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE] + "…"


def _parse(data: bytes) -> pydicom.Dataset | None:
    try:
        return pydicom.dcmread(io.BytesIO(data), force=True, stop_before_pixels=True)
    except Exception:
        return None


def _reports(p: Pipeline, rec: DonationRecord, rows: list[StagedObject]) -> list[dict[str, Any]]:
    if not rows:
        return []
    try:
        doc = json.loads(p.staged.read(rec, [rows[-1]])[0])  # the newest report set
    except ValueError:
        return []
    return [entry.get("report", {}) for entry in doc if isinstance(entry, dict)]


def _record(s: Any, donation_id: str) -> DonationRecord:
    rec = s.get(DonationRecord, donation_id)
    if rec is None:
        raise LookupError(f"donation {donation_id} has no open record here")
    return rec


def load(p: Pipeline, donation_id: str) -> Material:
    """The review of ``donation_id``: ledger state and consent, pairs and changes."""
    donations = p.ledger.donations(p.config.service_actor)
    current = donations.get(donation_id)
    consent = None
    if current.get("consentVersion"):
        versions = donations.consents(donation_id).get("versions") or []
        consent = versions[-1] if versions else None
    with p.db.session() as s:
        rec = _record(s, donation_id)
        originals = p.staged.of(s, donation_id, "original")
        drafts = {o.sha256: o for o in p.staged.of(s, donation_id, "deidentified")}
        report_rows = p.staged.of(s, donation_id, "report")
        reports = _reports(p, rec, report_rows)
    wanted = set(current.get("deidentifiedSha256") or [])
    by_input = {r.get("input_sha256"): r for r in reports}
    pairs: list[Pair] = []
    changes: list[Change] = []
    for number, original in enumerate(originals, 1):
        report = by_input.get(original.sha256, {})
        out = report.get("output_sha256")
        draft = drafts.get(out) if out in wanted else None
        pair = Pair(number, original, draft)
        for m in report.get("pixel_masks") or []:
            pair.masks.setdefault(int(m.get("frame", 0)), []).extend(m.get("boxes") or [])
        pairs.append(pair)
    with p.db.session() as s:
        rec = _record(s, donation_id)
        for pair in pairs[:MAX_FILES]:
            objs = [pair.original] + ([pair.deidentified] if pair.deidentified else [])
            datas = p.staged.read(rec, objs)
            with contextlib.suppress(RenderError):
                pair.modality, pair.frames = modality(datas[0]), frame_count(datas[0])
            before = _parse(datas[0])
            after = _parse(datas[1]) if len(datas) > 1 else None
            report = by_input.get(pair.original.sha256, {})
            for a in report.get("attributes") or []:
                path = str(a.get("path", ""))
                changes.append(Change(
                    pair.number, path, str(a.get("operation", "")),
                    (_value(before, path) if before is not None else None) or "—",
                    (_value(after, path) if after is not None else None) or "—"))
    return Material(donation_id, str(current.get("state", "")), consent, pairs, changes)


def masks_for(p: Pipeline, donation_id: str, sha256: str) -> dict[int, list[list[int]]]:
    """The masked boxes per frame of the de-identified object ``sha256`` (newest report)."""
    with p.db.session() as s:
        rec = s.get(DonationRecord, donation_id)
        rows = p.staged.of(s, donation_id, "report") if rec is not None else []
        reports = _reports(p, rec, rows) if rec is not None else []
    out: dict[int, list[list[int]]] = {}
    for r in reports:
        if r.get("output_sha256") == sha256:
            for m in r.get("pixel_masks") or []:
                out.setdefault(int(m.get("frame", 0)), []).extend(m.get("boxes") or [])
    return out


def object_for(p: Pipeline, donation_id: str, sha256: str) -> tuple[bytes, str] | None:
    """The plaintext and kind of the donation's staged image object ``sha256``, or ``None``.

    Only originals and de-identified objects of ``donation_id``: a hash of anyone else's
    object finds nothing; nor does any once the index says the review is over (a decision
    taken in another session).
    """
    with p.db.session() as s:
        rec = s.get(DonationRecord, donation_id)
        indexed = s.get(DonationIndex, donation_id)
        if rec is None or (indexed is not None and indexed.state != "UNDER_REVIEW"):
            return None
        objs = [o for o in p.staged.of(s, donation_id, "original", "deidentified")
                if o.sha256 == sha256]
        if not objs:
            return None
        return p.staged.read(rec, objs[:1])[0], objs[0].kind
