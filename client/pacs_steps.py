"""The pipeline steps of a study pushed from a hospital PACS (:mod:`client.pacs`).

A study is tied to its donation **beforehand**: the operator registers the Study Instance
UID the hospital will send for an open donation (:meth:`PacsSteps.expect_study`, ``traza
intake pacs expect``), with the data source the Acquire step records. SQL keeps only a
keyed hash of the UID (HMAC under the intake org's account key). The SCP stages every
instance encrypted as it arrives, before it answers Success (:meth:`stage_received`), and
records one Acquire step per donation when the association is released
(:meth:`record_received`): the hashes of all the originals staged for it.

:class:`PacsSteps` is mixed into :class:`client.workflow.Pipeline`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from .db.models import ExpectedStudy, StagedObject
from .donations import Source
from .donor import sha256_hex
from .errors import InvalidInput

if TYPE_CHECKING:
    from .workflow import Pipeline

_UID = frozenset("0123456789.")


def source_from_json(raw: str) -> Source:
    data = json.loads(raw)
    return Source(data["kind"], data.get("ageBand"), data.get("conditionCode"))


class PacsSteps:
    """PACS-push steps of a :class:`~client.workflow.Pipeline` (mixed into it)."""

    def _study_key(self: Pipeline, study_uid: str) -> str:
        return self._hmac("study-uid", study_uid.strip().rstrip("\0"))

    def expect_study(self: Pipeline, donation_id: str, study_uid: str, source: Source) -> None:
        """Register that the PACS will send ``study_uid`` for the open ``donation_id``.

        Raises InvalidInput for a malformed UID or one already expected (for any donation).
        """
        uid = study_uid.strip()
        if not uid or len(uid) > 64 or not set(uid) <= _UID or ".." in uid:
            raise InvalidInput("the Study Instance UID is not a DICOM UID (digits and dots, "
                               "at most 64 characters)")
        with self.db.session() as s:
            self._record(s, donation_id)  # an open donation of this intake org
            key = self._study_key(uid)
            if s.get(ExpectedStudy, key) is not None:
                raise InvalidInput("that study is already expected for a donation")
            s.add(ExpectedStudy(study_hmac=key, donation_id=donation_id,
                                source_json=json.dumps(source.to_json()),
                                created_at=datetime.now(UTC)))

    def expected_donation(self: Pipeline, study_uid: str) -> tuple[str, Source] | None:
        """The donation and source a study is expected for, or ``None``."""
        with self.db.session() as s:
            row = s.get(ExpectedStudy, self._study_key(study_uid))
            if row is None or row.received_at is not None:
                return None
            return row.donation_id, source_from_json(row.source_json)

    def stage_received(self: Pipeline, donation_id: str, instances: Sequence[bytes]) -> None:
        """Stage received instances (Part 10 bytes) encrypted, with their log rows; no step.

        An instance already staged for the donation (resent after an aborted association)
        is not staged twice.
        """
        actor = self.config.operator_actor
        with self.db.session() as s:
            hashes = [sha256_hex(d) for d in instances]
            have = set(s.scalars(select(StagedObject.sha256).where(
                StagedObject.donation_id == donation_id, StagedObject.kind == "original",
                StagedObject.sha256.in_(hashes))))
            new = [d for d, h in zip(instances, hashes, strict=True) if h not in have]
            if new:
                self._stage_many(s, self._record(s, donation_id), actor, "original", new)

    def record_received(self: Pipeline, donation_id: str) -> list[str]:
        """Acquire: the hashes of every original staged for ``donation_id``, one step.

        The donation's expected studies are marked received: a second push is refused.
        """
        actor = self.config.operator_actor
        with self.db.session() as s:
            rec = self._record(s, donation_id)
            rows = list(s.execute(select(ExpectedStudy).where(
                ExpectedStudy.donation_id == donation_id)).scalars())
            if not rows:
                raise InvalidInput(f"donation {donation_id} expects no PACS study")
            hashes = sorted({o.sha256 for o in self.staged.of(s, donation_id, "original")})
            rid = self._enqueue(s, actor, "Acquire", donation_id, {
                "originalSha256": hashes,
                "source": source_from_json(rows[0].source_json).to_json()}, rec)
            now = datetime.now(UTC)
            for row in rows:
                row.received_at = now
        self.wait(rid)
        return hashes
