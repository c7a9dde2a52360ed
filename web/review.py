"""The donor's review, behind their own sign-in: originals beside de-identified, decisions.

Everything here is the signed-in donor's own donation (the principal's subject): no route
takes a donation id, and an image is found by its hash among that donation's objects only,
so one donor can never name another's. Originals are shown only while the ledger says
UNDER_REVIEW; after a decision (each a ledger step through the pipeline) they are not.
Every read is audit-logged.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from client.errors import DonationError
from client.objects import ObjectStoreError
from client.workflow import PipelineError

from . import audit, principal
from .i18n import OPERATION_NAMES, STATE_NAMES
from .principal import DONOR
from .render import RenderError, presets_for, to_png
from .review_data import load, masks_for, object_for

__all__ = ["bp"]

log = logging.getLogger("traza.web")
bp = Blueprint("review", __name__, url_prefix="/revision")
SHA = re.compile(r"[0-9a-f]{64}")
MAX_COMMENT = 2000
OPEN = "UNDER_REVIEW"


def _who() -> principal.Principal:
    who = principal.current()
    assert who is not None  # require(DONOR) ran first
    return who


def _pipeline() -> Any:
    # No g.db before this: the pipeline writes in its own transactions, and SQLite takes
    # one writer at a time (g.db opens lazily; audit.record comes after).
    return current_app.extensions["traza_pipeline_for"](_who())


@bp.get("/")
@principal.require(DONOR)
def index() -> Any:
    """The review page (or, once decided, where the donation stands)."""
    did = _who().subject
    try:
        with _pipeline() as p:
            material = load(p, did)
    except (LookupError, DonationError, PipelineError, ObjectStoreError) as e:
        log.warning("review: %s for %s", type(e).__name__, did)
        audit.record("review-read", did, outcome="failure")
        return render_template("review/unavailable.html"), 503
    session["review_open"] = material.state == OPEN
    audit.record("review-read", did)
    state = str(STATE_NAMES.get(material.state, material.state))
    if material.state != OPEN:
        return render_template("review/status.html", state=state, code=material.state)
    return render_template("review/index.html", m=material, state=state,
                           operations=OPERATION_NAMES,
                           presets={p.number: presets_for(p.modality) for p in material.pairs})


@bp.get("/imagen/<sha>/<int:frame>.png")
@principal.require(DONOR)
def image(sha: str, frame: int) -> Response:
    """One frame of one of the donor's objects as PNG (``?preset=``; ``?mask=`` outlines)."""
    did = _who().subject
    if not SHA.fullmatch(sha) or not session.get("review_open"):
        abort(404)
    with _pipeline() as p:
        found = object_for(p, did, sha)
        if found is None:
            audit.record("review-image", did, outcome="failure")
            abort(404)
        data, kind = found
        boxes: list[list[int]] = []
        if kind == "deidentified" and request.args.get("mask") == "1":
            boxes = masks_for(p, did, sha).get(frame, [])
    try:
        png = to_png(data, frame=frame, preset=request.args.get("preset"), boxes=boxes)
    except RenderError:
        abort(404)
    audit.record("review-image", did)
    return Response(png, mimetype="image/png", headers={"Cache-Control": "no-store"})


def _decide(what: str, step: Any) -> Any:
    did = _who().subject
    try:
        with _pipeline() as p:
            result = step(p, did)
    except (DonationError, PipelineError, ObjectStoreError) as e:
        log.warning("review %s: %s for %s", what, type(e).__name__, did)
        audit.record(f"review-{what}", did, outcome="failure")
        return render_template("review/unavailable.html"), 409
    session["review_open"] = False
    audit.record(f"review-{what}", did)
    return result


@bp.post("/aceptar")
@principal.require(DONOR)
def accept() -> Any:
    """Accept the de-identified version (Accept on the ledger)."""
    out = _decide("accept", lambda p, did: p.accept(did))
    return out if isinstance(out, tuple) else redirect(url_for("review.index"))


@bp.post("/cambios")
@principal.require(DONOR)
def request_changes() -> Any:
    """Ask for changes; the comment stays off-chain, sealed, its hash on the ledger."""
    comment = request.form.get("comment", "").strip()
    if len(comment) > MAX_COMMENT:
        return render_template("review/too_long.html", limit=MAX_COMMENT), 400
    out = _decide("changes", lambda p, did: p.request_changes(did, comment or None))
    return out if isinstance(out, tuple) else redirect(url_for("review.index"))


@bp.route("/rechazar", methods=["GET", "POST"])
@principal.require(DONOR)
def refuse() -> Any:
    """Refuse: a confirmation page first; then Revoke and Erase, and the receipt."""
    if request.method == "GET":
        audit.record("review-refuse-confirm", _who().subject)
        return render_template("review/refuse.html")
    out = _decide("refuse", lambda p, did: p.refuse(did))
    if isinstance(out, tuple):
        return out
    principal.sign_out()  # nothing is left to review
    return render_template("review/refused.html", receipt=out)
