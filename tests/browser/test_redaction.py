"""The redaction page in a real browser (system Chromium through Playwright): drag to add a
box, drag a box to move it, double-click to remove it; the form posts what is shown.

The app (fake paper pipeline, as in test_web_redaction.py) is served by werkzeug in a thread
on a port derived from TRAZA_TEST_PORT_SHIFT. Skipped when Playwright or Chromium is missing.
"""

from __future__ import annotations

import re
import threading

import pytest
from PIL import Image, ImageDraw
from werkzeug.serving import make_server

from tests.unit.test_web_redaction import DID, OPERATOR, FakePaper, staff_accounts

from .conftest import PORT_SHIFT

PORT = 18080 + PORT_SHIFT


@pytest.fixture
def served(tmp_path, monkeypatch):
    from client.db import Database
    from client.db.database import sqlite_url
    from web import WebConfig, create_app, redaction

    page = Image.new("L", (800, 1000), 240)
    ImageDraw.Draw(page).text((100, 100), "Nombre: Prueba", fill=0)
    fake = FakePaper([page])
    # no OCR here: one proposed box, so the page opens fast
    monkeypatch.setattr(redaction.paper, "propose", lambda pages: [
        redaction.paper.PageBoxes(0, 800, 1000, (redaction.paper.Box(90, 90, 300, 130),))])
    db = Database.open(sqlite_url(tmp_path / "web.db"))
    app = create_app(WebConfig(database_url=str(db.url)), database=db)
    app.secret_key = "test-" + "k" * 32
    app.extensions["traza_pipeline_for"] = lambda principal: fake
    staff_accounts(db)

    @app.get("/test-sign-in")  # the auth pages are another issue's: sign in for the test
    def sign_in():
        from web.principal import Principal
        from web.principal import sign_in as start
        start(Principal(**OPERATOR))
        return "ok"

    server = make_server("127.0.0.1", PORT, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{PORT}", fake
    server.shutdown()
    thread.join(5)


def _boxes(page) -> list[str]:
    return [ln for ln in page.input_value("#boxes-1").splitlines() if ln.strip()]


def test_drag_add_move_and_remove_boxes_then_submit(served, browser, screenshot):
    base, fake = served
    page = browser.new_page(viewport={"width": 1000, "height": 1400}, locale="es-MX")
    page.set_default_timeout(60_000)  # as page_at: a loaded 2-core machine is slow
    try:
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))  # script errors
        page.on("console", lambda m: errors.append(m.text) if "Refused" in m.text
                or "Content Security Policy" in m.text else None)
        page.goto(base + "/test-sign-in")
        page.goto(f"{base}/staff/redaction/{DID}")
        page.wait_for_selector(".sheet.live .box")
        assert _boxes(page) == ["90 90 300 130"]
        img = page.locator(".sheet img").bounding_box()
        scale = img["width"] / 800
        # add: drag on an empty part of the page
        page.mouse.move(img["x"] + 400 * scale, img["y"] + 500 * scale)
        page.mouse.down()
        page.mouse.move(img["x"] + 600 * scale, img["y"] + 560 * scale, steps=5)
        page.mouse.up()
        lines = _boxes(page)
        assert len(lines) == 2
        x0, y0, x1, y1 = map(int, lines[1].split())
        assert abs(x0 - 400) <= 2 and abs(y1 - 560) <= 2
        # move the first box 50 page pixels right
        first = page.locator(".box").first.bounding_box()
        page.mouse.move(first["x"] + 5, first["y"] + 5)
        page.mouse.down()
        page.mouse.move(first["x"] + 5 + 50 * scale, first["y"] + 5, steps=5)
        page.mouse.up()
        assert abs(int(_boxes(page)[0].split()[0]) - 140) <= 2
        # remove the added one
        page.locator(".box").nth(1).dblclick()
        assert len(_boxes(page)) == 1
        screenshot(page, "boxes")
        page.click("button[value=submit]")
        page.wait_for_selector("text=Anonimización registrada")
        assert errors == []  # no CSP violation or script error
    finally:
        page.close()
    sent = fake.deidentified[0][0].boxes
    assert len(sent) == 1 and abs(sent[0].x0 - 140) <= 2 and sent[0].y1 == 130
    assert re.fullmatch(r"d-c{24}", DID)
