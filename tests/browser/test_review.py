"""The donor's sign-in and review in a real browser (system Chromium through Playwright).

E-mail address, the code from the (fake) mailbox, the review page with both images drawn,
the English toggle kept, accept; then the originals are gone. No script runs and no CSP
violation is reported. Screenshots at phone and desktop widths go with the run's artifacts.
The app (fake ledger and staging, as in web_fixtures) is served by werkzeug in a thread on a
port derived from TRAZA_TEST_PORT_SHIFT. The browser is the package's shared Chromium.
"""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from tests.unit.web_fixtures import World, code_of, make_app

from .conftest import PORT_SHIFT

PORT = 18180 + PORT_SHIFT


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


def test_donor_signs_in_reviews_and_accepts(served, browser, screenshot):
    base, world, donor = served
    page = browser.new_page(viewport={"width": 390, "height": 844}, locale="es-MX")
    page.set_default_timeout(60_000)  # as page_at: a loaded 2-core machine is slow
    try:
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
        phone = screenshot(page, "review")
        page.set_viewport_size({"width": 1366, "height": 900})
        screenshot(page, "review")
        page.click("text=English")
        page.wait_for_selector("text=Review your donation")
        page.click("text=I accept the de-identified version")
        page.wait_for_selector("text=can no longer be viewed")
        assert errors == []
    finally:
        page.close()
    assert [(s[0], s[1]) for s in world.steps] == [("Accept", donor.donation_id)]
    assert phone.stat().st_size > 0
