"""The pipeline steps of a paper record: Acquire the scans, Deidentify them by hand.

:class:`PaperSteps` is mixed into :class:`client.workflow.Pipeline`. The scans are staged
encrypted like DICOM originals (kind ``paper``, so the automatic de-identification leaves
them alone) with one Acquire step; the operator's boxes are burned in, the record written as
a Secondary Capture (:mod:`client.paper_dicom`) and staged as the donation's de-identified
object, its report beside it, and one Deidentify step records ``method: manual``, profile
``manual``, and the report's hash. The report lists the boxes per page and the operator by
the SHA-256 of their certificate (the ledger's ``executor``), never by name.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PIL import Image

from anonymizer.report import PixelMask, Report
from anonymizer.report import sha256 as report_sha256

from . import paper
from .db.models import DonationRecord
from .donations import Source, reports_sha256
from .donor import sha256_hex
from .errors import InvalidInput
from .intake import Deidentified
from .paper_dicom import secondary_capture

if TYPE_CHECKING:
    from .workflow import Pipeline

PAPER = "paper"  # staged-object kind of the scans
MANUAL_PROFILE = {"id": "manual", "version": "1"}


def manual_report(boxes: Sequence[paper.PageBoxes], *, operator_sha256: str,
                  input_sha256: str, output_sha256: str) -> dict[str, Any]:
    """The action report of a manual de-identification: boxes per page, operator by hash."""
    r = Report(profile_id=MANUAL_PROFILE["id"], profile_version=MANUAL_PROFILE["version"],
               edition="", input_sha256=input_sha256, output_sha256=output_sha256,
               pixel_masks=[PixelMask(p.page, tuple((b.x0, b.y0, b.x1, b.y1) for b in p.boxes),
                                      "manual") for p in boxes if p.boxes],
               pixel_checked=True,
               notes=[f"{len(boxes)} pages rasterized at {paper.DPI} dpi; boxes burned in",
                      "no text layer kept"])
    return {**r.to_dict(), "method": "manual", "operator_sha256": operator_sha256,
            "pages": [{"page": p.page + 1, "width": p.width, "height": p.height,
                       "boxes": len(p.boxes)} for p in boxes]}


class PaperSteps:
    """Paper-record steps of a :class:`~client.workflow.Pipeline` (mixed into it)."""

    def ingest_paper(self: Pipeline, donation_id: str, files: Sequence[bytes],
                     source: Source) -> list[str]:
        """Acquire: stage the scans of a paper record encrypted; their hashes on chain.

        Every file is rasterized first: an unreadable scan is refused before anything is
        staged; so is a second record for the same donation (its pages would mix).
        """
        paper.rasterize(files)
        with self.db.session() as s:
            if self.staged.of(s, donation_id, PAPER):
                raise InvalidInput(f"donation {donation_id} has a paper record staged already "
                                   "(work on it without giving the pages again)")
        return self.acquire(donation_id, files, source, kind=PAPER)

    def paper_pages(self: Pipeline, donation_id: str) -> list[Image.Image]:
        """The staged scans of ``donation_id`` as grey pages (decrypted in memory only)."""
        with self.db.session() as s:
            rec = self._record(s, donation_id)
            files = self.staged.read(rec, self.staged.of(s, donation_id, PAPER))
        if not files:
            raise InvalidInput(f"donation {donation_id} has no staged paper record")
        return paper.rasterize(files)

    def propose_paper(self: Pipeline, donation_id: str) -> list[paper.PageBoxes]:
        """The boxes OCR proposes on the staged record (nothing is staged or recorded)."""
        return paper.propose(self.paper_pages(donation_id))

    def deidentify_paper(self: Pipeline, donation_id: str,
                         boxes: Sequence[paper.PageBoxes] | dict[str, Any]) -> Deidentified:
        """Deidentify by hand: burn the operator's ``boxes`` in, stage the SC and its report.

        ``boxes`` is the checked list (:func:`client.paper.boxes_from_json`) or its JSON
        form. The step is submitted with the pipeline's operator identity, whose
        certificate hash the report names.
        """
        actor = self.config.operator_actor
        pages = self.paper_pages(donation_id)
        checked = (paper.boxes_from_json(boxes, pages) if isinstance(boxes, dict)
                   else paper.boxes_from_json(paper.boxes_to_json(boxes), pages))
        data = secondary_capture(paper.redact(pages, checked), secret=self.secrets.deid,
                                 donation_id=donation_id)
        with self.db.session() as s:
            originals = [o.sha256 for o in self.staged.of(s, donation_id, PAPER)]
        report = manual_report(checked, operator_sha256=self.ledger.executor(actor),
                               input_sha256=sha256_hex("".join(originals)),
                               output_sha256=sha256_hex(data))
        report_sha = report_sha256(report)
        done = Deidentified(data, report, report_sha, _summary_es(checked))
        with self.db.session() as s:
            rec: DonationRecord = self._record(s, donation_id)
            draft = self._stage(s, rec, actor, "deidentified", data)
            self._stage(s, rec, actor, "report", json.dumps(
                [{"reportSha256": report_sha, "report": report}]).encode())
            rid = self._enqueue(s, actor, "Deidentify", donation_id, {
                "deidentifiedSha256": [draft.sha256], "method": "manual",
                "profile": MANUAL_PROFILE, "reportSha256": reports_sha256([report_sha])}, rec)
        self.wait(rid)
        return done


def _summary_es(boxes: Sequence[paper.PageBoxes]) -> str:
    n = sum(len(p.boxes) for p in boxes)
    pages = len(boxes)
    return (f"Anonimización manual: se cubrieron {n} "
            f"{'región' if n == 1 else 'regiones'} con datos personales en {pages} "
            f"{'página' if pages == 1 else 'páginas'}; no se conserva texto digital.")
