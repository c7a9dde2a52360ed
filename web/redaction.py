"""Manual redaction of scanned pages (operators): upload, OCR-proposed boxes, preview, submit.

``/staff/redaction`` takes a paper record in (the scans are staged encrypted: Acquire);
``/staff/redaction/<donation>`` shows each page with the boxes OCR proposes; the operator
moves, adds or removes them (with ``static/redaction.js``, or without JavaScript by editing
the coordinates, one box per line ``x0 y0 x1 y1`` in page pixels), previews the burned
pages and submits: the boxes are burned in and the Deidentify step (manual) is signed with
the operator's own Fabric identity, through the pipeline
``current_app.extensions["traza_pipeline_for"](principal)`` returns.

Page images carry personal data: they are rendered from the staged scans in memory, sent
``Cache-Control: no-store`` and only to operators; every view is audit-logged. Uploads are
read into memory (never a temporary file on disk).
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from PIL import Image
from wtforms import ValidationError

from client import paper
from client.donations import Source
from client.errors import DonationError
from client.objects import ObjectStoreError
from client.pipeline_config import PipelineError

from . import audit, principal

__all__ = ["bp", "install_redaction", "parse_boxes"]

bp = Blueprint("redaction", __name__, url_prefix="/staff/redaction")
DONATION = re.compile(r"d-[0-9a-f]{24,64}")
AGE_BANDS = ("0-17", "18-39", "40-64", "65-89", "90+")
MAX_UPLOAD = 128 * 1024 * 1024
MAX_BOXES_POST = 512 * 1024
FAILURES = (DonationError, PipelineError, ObjectStoreError, ValueError)
_LINE = re.compile(r"^\s*(\d+)[\s,]+(\d+)[\s,]+(\d+)[\s,]+(\d+)\s*$")


def install_redaction(app: Any) -> None:
    """Register the blueprint and the template's ``csrf_token()`` (Flask-WTF).

    The views check the CSRF token themselves, after raising the request's size limit
    (the app allows 16 KiB; a scanned record is megabytes): an app-wide ``CSRFProtect``
    would read the form first, under the small limit, so the blueprint is exempted from it.
    """
    app.register_blueprint(bp)
    app.jinja_env.globals.setdefault("csrf_token", generate_csrf)
    if "csrf" in app.extensions:
        app.extensions["csrf"].exempt(bp)


@bp.before_app_request
def _limits() -> None:
    """Size limits of this blueprint's POSTs, set before anything reads the form."""
    if request.method == "POST" and request.blueprint == bp.name:
        request.max_content_length = (MAX_UPLOAD if request.endpoint == "redaction.upload"
                                      else MAX_BOXES_POST)
        # Werkzeug spools uploads over 500 kB to a temporary file: scans stay in memory.
        request._get_file_stream = _in_memory  # type: ignore[attr-defined]


def _in_memory(*_args: Any, **_kwargs: Any) -> io.BytesIO:
    return io.BytesIO()


# -- helpers ------------------------------------------------------------------------------

@contextlib.contextmanager
def _pipeline() -> Iterator[Any]:
    """The signed-in operator's pipeline (their Fabric identity signs the steps)."""
    made = current_app.extensions["traza_pipeline_for"](principal.current())
    if hasattr(made, "__enter__"):
        with made as p:
            yield p
    else:
        yield made


def _audit(action: str, entity: str) -> None:
    if g.get("db") is not None:
        audit.record(action, entity)
        return
    with current_app.extensions["traza_db"].session() as s:
        g.db = s
        try:
            audit.record(action, entity)
        finally:
            g.pop("db", None)


def _donation(donation_id: str) -> str:
    if not DONATION.fullmatch(donation_id):
        abort(404)
    return donation_id


def _check_csrf() -> None:
    try:
        validate_csrf(request.form.get("csrf_token"))
    except (ValidationError, CSRFError):
        abort(400)


def boxes_text(boxes: tuple[Any, ...]) -> str:
    """Boxes as the form's text: one ``x0 y0 x1 y1`` a line."""
    return "\n".join(f"{b.x0} {b.y0} {b.x1} {b.y1}" for b in boxes)


def parse_boxes(texts: list[str], pages: list[Image.Image]) -> list[paper.PageBoxes]:
    """The form's text per page -> checked boxes (:func:`client.paper.boxes_from_json`)."""
    listed = []
    for i, (text, page) in enumerate(zip(texts, pages, strict=True)):
        boxes = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            m = _LINE.match(line)
            if not m:
                raise paper.InvalidInput(
                    _("Page %(page)d, line %(line)d: write four numbers x0 y0 x1 y1.",
                      page=i + 1, line=n))
            boxes.append(dict(zip(("x0", "y0", "x1", "y1"), map(int, m.groups()),
                                  strict=True)))
        listed.append({"page": i + 1, "width": page.width, "height": page.height,
                       "boxes": boxes})
    return paper.boxes_from_json({"format": paper.BOXES_FORMAT, "pages": listed}, pages)


def _query_boxes(raw: str, page: Image.Image) -> paper.PageBoxes:
    """``x0,y0,x1,y1;...`` from the preview image's URL (coordinates only)."""
    return parse_boxes([raw.replace(";", "\n")], [page])[0]


def _png(img: Image.Image) -> Response:
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=False)
    return Response(buf.getvalue(), mimetype="image/png",
                    headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def _views(pages: list[Image.Image], boxes: list[paper.PageBoxes]) -> list[dict[str, Any]]:
    return [{"n": i + 1, "width": p.width, "height": p.height,
             "text": boxes_text(b.boxes), "count": len(b.boxes),
             "query": ";".join(f"{x.x0},{x.y0},{x.x1},{x.y1}" for x in b.boxes)}
            for i, (p, b) in enumerate(zip(pages, boxes, strict=True))]


# -- views --------------------------------------------------------------------------------

@bp.get("")
@principal.require("operator")
def index() -> Any:
    """The upload form (a new paper record) and the form that opens a staged one."""
    wanted = request.args.get("d", "").strip()
    if DONATION.fullmatch(wanted):
        return redirect(url_for("redaction.record", donation_id=wanted), code=303)
    return render_template("redaction/index.html", age_bands=AGE_BANDS)


@bp.post("")
@principal.require("operator")
def upload() -> Any:
    """Stage a paper record's scans encrypted (Acquire), then open it."""
    _check_csrf()
    donation_id = request.form.get("donation_id", "").strip()
    if not DONATION.fullmatch(donation_id):
        return _index_error(_("The donation id is not valid."))
    files = [f.read() for f in request.files.getlist("pages") if f.filename]
    band = request.form.get("age_band") or None
    synthetic = request.form.get("synthetic") == "1"
    condition = request.form.get("condition", "").strip().upper() or None
    if synthetic == bool(band) or band not in (None, *AGE_BANDS) or (synthetic and condition):
        return _index_error(_("Choose synthetic data, or the age band of a person."))
    source = Source("synthetic") if synthetic else Source("human", band, condition)  # type: ignore[arg-type]
    try:
        with _pipeline() as p:
            p.ingest_paper(donation_id, files, source)
    except FAILURES as e:
        return _index_error(_("The record was not taken in: %(why)s", why=str(e)))
    _audit("paper-acquire", donation_id)
    return redirect(url_for("redaction.record", donation_id=donation_id), code=303)


def _index_error(message: str) -> Any:
    return render_template("redaction/index.html", age_bands=AGE_BANDS, error=message), 400


@bp.get("/<donation_id>")
@principal.require("operator")
def record(donation_id: str) -> Any:
    """Each page with the boxes OCR proposes, ready to edit."""
    _donation(donation_id)
    try:
        with _pipeline() as p:
            pages = p.paper_pages(donation_id)
            proposed = paper.propose(pages)
    except FAILURES:
        abort(404)
    _audit("paper-view", donation_id)
    return render_template("redaction/record.html", donation_id=donation_id,
                           pages=_views(pages, proposed), preview=False)


@bp.post("/<donation_id>")
@principal.require("operator")
def submit(donation_id: str) -> Any:
    """``action=preview`` shows the burned pages; ``action=submit`` records the step."""
    _check_csrf()
    _donation(donation_id)
    action = request.form.get("action")
    with _pipeline() as p:
        try:
            pages = p.paper_pages(donation_id)
        except FAILURES:
            abort(404)
        texts = [request.form.get(f"boxes-{i + 1}", "") for i in range(len(pages))]
        try:
            boxes = parse_boxes(texts, pages)
        except paper.InvalidInput as e:
            views = [{"n": i + 1, "width": pg.width, "height": pg.height, "text": t,
                      "count": 0, "query": ""} for i, (pg, t) in enumerate(zip(
                          pages, texts, strict=True))]
            return render_template("redaction/record.html", donation_id=donation_id,
                                   pages=views, preview=False, error=str(e)), 400
        if action != "submit":
            return render_template("redaction/record.html", donation_id=donation_id,
                                   pages=_views(pages, boxes), preview=True)
        try:
            done = p.deidentify_paper(donation_id, boxes)
        except FAILURES as e:
            return render_template("redaction/record.html", donation_id=donation_id,
                                   pages=_views(pages, boxes), preview=True,
                                   error=_("The step was not recorded: %(why)s",
                                           why=str(e))), 409
    _audit("paper-deidentify", donation_id)
    return render_template("redaction/done.html", donation_id=donation_id,
                           summary=done.summary_es, pages=len(pages),
                           boxes=sum(len(b.boxes) for b in boxes))


@bp.get("/<donation_id>/pages/<int:n>.png")
@principal.require("operator")
def page_image(donation_id: str, n: int) -> Any:
    """Page ``n`` (from 1) as PNG; with ``?boxes=x0,y0,x1,y1;...`` the burned preview."""
    _donation(donation_id)
    try:
        with _pipeline() as p:
            pages = p.paper_pages(donation_id)
    except FAILURES:
        abort(404)
    if not 1 <= n <= len(pages):
        abort(404)
    page = pages[n - 1]
    raw = request.args.get("boxes")
    if raw is not None:
        try:
            page = paper.redact([page], [_query_boxes(raw, page)])[0]
        except paper.InvalidInput:
            abort(400)
    _audit("paper-page", donation_id)
    return _png(page)
