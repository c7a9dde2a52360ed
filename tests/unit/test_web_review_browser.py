"""The donor's sign-in and review in a real browser (system Chromium through Playwright).

E-mail address, the code from the (fake) mailbox, the review page with both images drawn,
the English toggle kept, accept; then the originals are gone. No script runs and no CSP
violation is reported. Screenshots at phone and desktop widths go to the test's folder.
The app (fake ledger and staging, as in web_fixtures) is served by werkzeug in a thread on a
port derived from TRAZA_TEST_PORT_SHIFT. Skipped when Playwright or Chromium is missing.
"""

from __future__ import annotations

import os
import shutil
import threading

import pytest
from web_fixtures import World, code_of, make_app
from werkzeug.serving import make_server

CHROMIUM = shutil.which("chromium")
playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no system Chromium")
PORT = 18180 + int(os.environ.get("TRAZA_TEST_PORT_SHIFT", "5"))


@pytest.fixture
def served(tmp_path):
    world = World(tmp_path)
    donor = world.add_donor(41)
    app = make_app(world)
    server = make_server("127.0.0.1", PORT, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{PORT}", world, donor
    server.shutdown()
    thread.join(5)
    world.db.dispose()


def test_donor_signs_in_reviews_and_accepts(served, tmp_path):
    base, world, donor = served
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844}, locale="es-MX")
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if "Refused" in m.text
                    or "Content Security Policy" in m.text else None)
            page.goto(base + "/entrar")
            page.fill("#email", donor.email)
            page.click("button[type=submit]")
            page.wait_for_selector("#code")
            page.fill("#code", code_of(world.sent[-1]))
            page.click("main button[type=submit]")
            page.wait_for_selector("text=Revise su donación")
            assert donor.planted[0] in page.content()  # the donor's own original value
            images = page.locator(".side img")
            assert images.count() == 2
            for i in range(2):  # both PNGs were served and decoded
                assert images.nth(i).evaluate("img => img.complete && img.naturalWidth") > 0
            page.screenshot(path=str(tmp_path / "review-phone.png"), full_page=True)
            page.set_viewport_size({"width": 1280, "height": 900})
            page.screenshot(path=str(tmp_path / "review-desktop.png"), full_page=True)
            page.click("text=English")
            page.wait_for_selector("text=Review your donation")
            page.click("text=I accept the de-identified version")
            page.wait_for_selector("text=can no longer be viewed")
            assert errors == []
        finally:
            browser.close()
    assert [(s[0], s[1]) for s in world.steps] == [("Accept", donor.donation_id)]
    assert (tmp_path / "review-phone.png").stat().st_size > 0
