"""Staff pages: intake upload (operators) and the clinician's findings form.

Every ledger step here is taken through ``traza_pipeline_for(principal)`` and so signed by
the signed-in person's own Fabric identity (:mod:`web.identity`). Uploads are bounded by
size (``web.install_limits``: larger on this page only), file count (zip
members included) and content (each file must be DICOM or a zip, by its bytes, whatever
type the browser claims).
"""

from __future__ import annotations

import logging
import re
import zipfile
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, render_template, request

from anonymizer.errors import InputError
from anonymizer.files import private_dir
from anonymizer.pipeline import collect_inputs
from client.donations import Source
from client.errors import DonationError
from client.findings import FindingError
from client.intake import scratch
from client.objects import ObjectStoreError
from client.workflow import PipelineError

from . import audit, principal
from .identity import actor_of
from .principal import STAFF_ROLES

__all__ = ["bp"]

log = logging.getLogger("traza.web")
bp = Blueprint("staff", __name__, url_prefix="/personal")
DONATION_ID = re.compile(r"d-[0-9a-f]{24}")
ICD10 = re.compile(r"[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?")
AGE_BANDS = ("0-17", "18-39", "40-64", "65-89", "90+")
CONTENT_TYPES = {"application/dicom", "application/zip", "application/x-zip-compressed",
                 "application/octet-stream"}
MAX_TEXT = 2000


def _who() -> principal.Principal:
    who = principal.current()
    assert who is not None
    return who


def _pipeline() -> Any:
    # No g.db before this (see web.review).
    return current_app.extensions["traza_pipeline_for"](_who())


@bp.get("/")
@principal.require(*STAFF_ROLES)
def home() -> str:
    """The staff start page: what this role may do."""
    return render_template("staff/home.html", who=_who())


def _kind(head: bytes) -> str | None:
    if head[:4] == b"PK\x03\x04":
        return "zip"
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "dicom"
    return None


def _save_uploads(folder: Path, limit: int) -> str | None:
    """Write the uploaded files into ``folder``; an error message, or ``None``."""
    files = [f for f in request.files.getlist("files") if f and f.filename]
    if not files:
        return "none"
    count = 0
    for i, f in enumerate(files):
        if (f.mimetype or "application/octet-stream") not in CONTENT_TYPES:
            return "type"
        path = folder / f"{i:05d}.upload"  # never the client's file name
        f.save(path)
        with path.open("rb") as fh:
            kind = _kind(fh.read(132))
        if kind is None:
            return "type"
        if kind == "zip":
            # Unpacked here (names and sizes checked, as the anonymizer does): the
            # pipeline reads one folder of DICOM files.
            try:
                with zipfile.ZipFile(path) as z:
                    members = sum(1 for m in z.infolist() if not m.is_dir())
            except zipfile.BadZipFile:
                return "type"
            if count + members > limit:
                return "count"
            try:
                items, refused = collect_inputs(path, private_dir(folder / f"{i:05d}"))
            except InputError:  # unsafe names, links, a zip bomb
                return "type"
            path.unlink()
            if refused:
                return "type"
            count += len(items)
        else:
            count += 1
            path.rename(path.with_suffix(".dcm"))
        if count > limit:
            return "count"
    return None


@bp.route("/ingreso", methods=["GET", "POST"])
@principal.require("operator")
def intake() -> Any:
    """Upload a donor's DICOM files or a zip: Acquire, then automatic de-identification."""
    if request.method == "GET":
        return render_template("staff/intake.html", error=None, done=None)
    config = current_app.config["TRAZA"]
    f = request.form
    did = f.get("donation_id", "").strip()
    kind = f.get("source", "human")
    band = f.get("age_band") or None
    condition = f.get("condition_code", "").strip().upper() or None
    if (not DONATION_ID.fullmatch(did) or kind not in ("human", "synthetic")
            or (band is not None and band not in AGE_BANDS)
            or (condition is not None and not ICD10.fullmatch(condition))):
        return render_template("staff/intake.html", error="input", done=None), 400
    source = (Source("synthetic") if kind == "synthetic"
              else Source("human", age_band=band, condition_code=condition))  # type: ignore[arg-type]
    with scratch() as tmp:
        problem = _save_uploads(tmp, config.upload_files)
        if problem:
            return render_template("staff/intake.html", error=problem, done=None), 400
        try:
            with _pipeline() as p:
                hashes = p.ingest(did, tmp, source)
                results = p.deidentify(did)
        except (DonationError, PipelineError, ObjectStoreError) as e:
            log.warning("intake: %s for %s", type(e).__name__, did)
            audit.record("staff-intake", did, outcome="failure")
            return render_template("staff/intake.html", error="pipeline", done=None), 409
    audit.record("staff-intake", did)
    return render_template("staff/intake.html", error=None,
                           done={"donation_id": did, "files": len(hashes),
                                 "summaries": [r.summary_es for r in results][:20]})


@bp.route("/hallazgos", methods=["GET", "POST"])
@principal.require("clinician")
def findings() -> Any:
    """The clinician's finding on a de-identified study, signed with their own identity."""
    if request.method == "GET":
        return render_template("staff/findings.html", error=None, done=None)
    f = request.form
    did = f.get("donation_id", "").strip()
    code = f.get("finding_code", "").strip().upper()
    text = f.get("text", "").strip()
    if not DONATION_ID.fullmatch(did) or not ICD10.fullmatch(code) or len(text) > MAX_TEXT:
        return render_template("staff/findings.html", error="input", done=None), 400
    try:
        with _pipeline() as p:
            signed = p.diagnose(did, code, text, clinician=actor_of(_who(), p.config))
    except FindingError:
        return render_template("staff/findings.html", error="text", done=None), 400
    except (DonationError, PipelineError, ObjectStoreError) as e:
        log.warning("findings: %s for %s", type(e).__name__, did)
        audit.record("staff-findings", did, outcome="failure")
        return render_template("staff/findings.html", error="pipeline", done=None), 409
    audit.record("staff-findings", did)
    return render_template("staff/findings.html", error=None,
                           done={"donation_id": did, "sha256": signed.sha256})
