"""The manual redaction page with a fake paper pipeline: guard, CSRF, boxes, preview, submit.

The real pipeline behind the page (MinIO, Fabric, the operator's identity) is in
tests/integration/test_intake.py.
"""

from __future__ import annotations

import io
import re
import time

import numpy as np
import pytest
from PIL import Image

from client import paper
from client.db import Database
from client.db.database import sqlite_url
from client.db.models import AuditEntry
from client.intake import Deidentified
from client.synthetic import person
from tests.data.paper import fonts_available, scanned_form
from web import WebConfig, accounts, create_app

DID = "d-" + "c" * 24
OPERATOR = {"kind": "staff", "subject": "operator1", "role": "operator", "org": "hospital"}


class FakePaper:
    """The paper steps of a pipeline, on pages held in memory."""

    def __init__(self, pages):
        self.pages = pages
        self.ingested: list[tuple[str, list[bytes], object]] = []
        self.deidentified: list[list[paper.PageBoxes]] = []

    def ingest_paper(self, donation_id, files, source):
        paper.rasterize(files)
        self.ingested.append((donation_id, files, source))

    def paper_pages(self, donation_id):
        if donation_id != DID:
            raise paper.InvalidInput("no staged paper record")
        return self.pages

    def deidentify_paper(self, donation_id, boxes):
        self.deidentified.append(list(boxes))
        return Deidentified(b"", {}, "0" * 64, "Anonimización manual: prueba.")


@pytest.fixture(scope="module")
def form():
    img, planted, _ = scanned_form(person(5), seed=5)
    return img, planted


@pytest.fixture
def app(tmp_path, form):
    db = Database.open(sqlite_url(tmp_path / "web.db"))
    app = create_app(WebConfig(database_url=str(db.url)), database=db)
    app.secret_key = "test-" + "k" * 32
    staff_accounts(db)
    fake = FakePaper([form[0]])
    app.extensions["traza_pipeline_for"] = lambda principal: fake
    app.extensions["test_fake"] = fake
    return app


def staff_accounts(db) -> None:
    """The accounts the sessions below name (a staff session ends when its account does)."""
    with db.session() as s:
        for name, role in (("operator1", "operator"), ("clinician1", "clinician")):
            accounts.create(s, b"k" * 32, name, "x" * 12, role=role, org="hospital")


def _client(app, who=OPERATOR):
    c = app.test_client()
    if who:
        with c.session_transaction() as s:
            s["principal"] = who
            s["since"] = int(time.time())  # as web.principal.sign_in sets it
    return c


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_only_operators_reach_the_pages(app):
    r = _client(app, None).get("/staff/redaction")
    assert r.status_code == 302 and r.headers["Location"].startswith("/personal/entrar")
    clinician = {**OPERATOR, "subject": "clinician1", "role": "clinician"}
    for url in ("/staff/redaction", f"/staff/redaction/{DID}",
                f"/staff/redaction/{DID}/pages/1.png"):
        assert _client(app, clinician).get(url).status_code == 403
    assert _client(app).get("/staff/redaction/not-an-id").status_code == 404


def test_the_form_is_spanish_first_with_a_csrf_token_and_no_inline_script(app):
    r = _client(app).get("/staff/redaction")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Anonimización manual" in html and _csrf(html)
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert not re.search(r"<script(?![^>]*\bsrc=)", html) and " style=" not in html
    assert "no deje esta página abierta" in html  # not the viewer's "no clinical content"


def test_a_post_without_the_csrf_token_is_refused(app):
    c = _client(app)
    assert c.post("/staff/redaction", data={"donation_id": DID}).status_code == 400
    assert c.post(f"/staff/redaction/{DID}", data={"action": "submit"}).status_code == 400
    assert app.extensions["test_fake"].ingested == []


def test_an_upload_is_staged_from_memory_and_opens_the_record(app, form):
    c = _client(app)
    token = _csrf(c.get("/staff/redaction").get_data(as_text=True))
    png = io.BytesIO()
    form[0].save(png, "PNG")
    r = c.post("/staff/redaction", content_type="multipart/form-data", data={
        "csrf_token": token, "donation_id": DID, "age_band": "40-64", "condition": "r07.4",
        "pages": (io.BytesIO(png.getvalue()), "scan.png")})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/staff/redaction/{DID}")
    did, files, source = app.extensions["test_fake"].ingested[0]
    assert did == DID and files == [png.getvalue()]
    assert source.to_json() == {"kind": "human", "ageBand": "40-64", "conditionCode": "R07.4"}
    bad = c.post("/staff/redaction", data={"csrf_token": token, "donation_id": DID,
                                           "synthetic": "1", "age_band": "18-39"})
    assert bad.status_code == 400 and "grupo de edad" in bad.get_data(as_text=True)


def test_the_record_shows_the_proposed_boxes_and_a_submit_burns_the_edited_ones(app, form):
    c = _client(app)
    r = c.get(f"/staff/redaction/{DID}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'src="/static/redaction.js"' in html
    proposed = re.search(r'name="boxes-1"[^>]*>([^<]*)</textarea>', html).group(1).strip()
    lines = proposed.splitlines()
    assert len(lines) >= len(form[1]) - 1
    for v in form[1]:  # no planted value in the page's HTML (only coordinates)
        assert v.value not in html
    edited = "\n".join(lines[1:] + ["10 10 200 60"])  # one removed, one added
    token = _csrf(html)
    preview = c.post(f"/staff/redaction/{DID}", data={
        "csrf_token": token, "action": "preview", "boxes-1": edited})
    assert preview.status_code == 200 and "Vista previa" in preview.get_data(as_text=True)
    src = re.search(r'<img[^>]+src="([^"]+boxes=[^"]+)"', preview.get_data(as_text=True))
    img = c.get(src.group(1).replace("&amp;", "&"))
    assert img.headers["Cache-Control"] == "no-store"
    burned = np.asarray(Image.open(io.BytesIO(img.data)))
    assert burned[10:60, 10:200].max() == 0  # the added box is black in the preview
    done = c.post(f"/staff/redaction/{DID}", data={
        "csrf_token": token, "action": "submit", "boxes-1": edited})
    assert done.status_code == 200 and "Anonimización registrada" in done.get_data(as_text=True)
    sent = app.extensions["test_fake"].deidentified[0][0]
    assert len(sent.boxes) == len(lines) and sent.boxes[-1] == paper.Box(10, 10, 200, 60)
    with app.extensions["traza_db"].session() as s:
        actions = [a.action for a in s.query(AuditEntry).all()]
    assert {"paper-view", "paper-page", "paper-deidentify"} <= set(actions)


@pytest.mark.parametrize(("text", "message"), [
    ("10 10 20", "escriba cuatro números"),
    ("10 10 5 20", "outside the page or empty"),
])
def test_bad_coordinates_are_shown_back_and_nothing_is_recorded(app, text, message):
    c = _client(app)
    token = _csrf(c.get("/staff/redaction").get_data(as_text=True))
    r = c.post(f"/staff/redaction/{DID}", data={"csrf_token": token, "action": "submit",
                                               "boxes-1": text})
    assert r.status_code == 400 and message in r.get_data(as_text=True)
    assert text in r.get_data(as_text=True)  # what was typed stays in the form
    assert app.extensions["test_fake"].deidentified == []


def test_the_page_image_is_the_scan_and_an_unknown_page_is_404(app, form):
    c = _client(app)
    r = c.get(f"/staff/redaction/{DID}/pages/1.png")
    assert r.status_code == 200 and r.mimetype == "image/png"
    assert Image.open(io.BytesIO(r.data)).size == form[0].size
    assert c.get(f"/staff/redaction/{DID}/pages/2.png").status_code == 404
    assert c.get(f"/staff/redaction/{DID}/pages/1.png?boxes=1,2,3").status_code == 400


pytestmark = pytest.mark.skipif(not fonts_available(), reason="fonts for the scanned form")
