"""The donor's review in Chromium on the real network (Fabric, MinIO, SMTP, SQLite).

Donor A signs in with the code the SMTP server received, reviews, asks for changes, signs
in again after the pipeline de-identified and resubmitted, and accepts; donor B refuses
after the confirmation page and gets the erasure receipt. The ledger ends ACCEPTED and
ERASED. The app is the integration tests' Hospital site (``test_web_review.site``), served
by werkzeug in a thread on a port derived from ``TRAZA_TEST_PORT_SHIFT``.
"""

from __future__ import annotations

import io
import threading

import pytest
from werkzeug.serving import make_server

from client.donations import Donations
from client.settings import open_pipeline
from client.synthetic import person
from tests.integration.test_web_review import (  # noqa: F401  (fixtures and helpers)
    _index,
    _post,
    _staff,
    _study,
    _wait_code,
    site,
)

from .conftest import PORT_SHIFT

pytestmark = pytest.mark.timeout(900)
PORT = 18380 + PORT_SHIFT


@pytest.fixture(scope="module")
def served(site):  # noqa: F811
    app, settings, people = site
    server = make_server("127.0.0.1", PORT, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # one operator session for the whole module: a TOTP code is accepted only once
    operator = _staff(app, "opera", people["opera"][0])
    yield f"http://127.0.0.1:{PORT}", app, settings, operator
    server.shutdown()
    thread.join(5)


def _under_review(settings, operator, profiles, seed: int) -> tuple[str, str]:
    study, _ = _study(seed)
    email_addr = person(seed).email
    with open_pipeline(settings) as p:
        did = p.register(email_addr).donation_id
        p.consent(did)
    r = _post(operator, "/personal/ingreso",
              {"donation_id": did, "source": "human", "age_band": "40-64",
               "files": (io.BytesIO(study), "estudio.dcm", "application/dicom")},
              content_type="multipart/form-data")
    assert r.status_code == 200, r.get_data(as_text=True)
    with open_pipeline(settings) as p:
        p.submit_for_review(did)
    _index(settings, profiles)
    return did, email_addr


def _sign_in(page, base: str, fabric, email_addr: str) -> None:
    before = set((fabric.run / "mail").glob("*.eml"))
    page.goto(base + "/entrar")
    page.fill("#email", email_addr)
    page.click("main button[type=submit]")
    page.wait_for_selector("#code")
    page.fill("#code", _wait_code(fabric.run / "mail", before))
    page.click("main button[type=submit]")
    page.wait_for_selector("text=Revise su donación")


def _state(profiles, did: str) -> str:
    service = profiles("hospital", "service1")
    with service.gateway() as gw:
        contract = gw.get_network(service.channel).get_contract(service.chaincode)
        return Donations(contract).get(did)["state"]


def test_changes_then_accept_and_a_refusal_with_its_receipt(served, fabric, profiles,
                                                           page_at, screenshot):
    base, app, settings, operator = served
    did, email_addr = _under_review(settings, operator, profiles, 51)
    page = page_at("phone")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text
            else None)

    _sign_in(page, base, fabric, email_addr)
    images = page.locator(".side img")
    assert images.count() == 2
    for i in range(2):  # the original and the de-identified image were drawn
        assert images.nth(i).evaluate("img => img.complete && img.naturalWidth") > 0
    screenshot(page, "review")
    page.fill("#comment", "Oculten también la institución.")
    page.click("text=Pedir cambios")
    page.wait_for_load_state()
    assert _state(profiles, did) == "CHANGES_REQUESTED"

    with open_pipeline(settings) as p:  # the intake de-identifies again and resubmits
        p.deidentify(did)
        p.submit_for_review(did)
    _index(settings, profiles)
    page.context.clear_cookies()
    _sign_in(page, base, fabric, email_addr)
    page.click("text=Acepto la versión desidentificada")
    page.wait_for_selector("text=ya no se pueden ver")
    screenshot(page, "accepted")
    assert _state(profiles, did) == "ACCEPTED"

    other, other_email = _under_review(settings, operator, profiles, 52)
    page = page_at("desktop")
    _sign_in(page, base, fabric, other_email)
    page.click("text=Ya no quiero donar")
    page.wait_for_selector("text=Sí, rechazar y borrar")
    screenshot(page, "refuse-confirm")
    page.click("text=Sí, rechazar y borrar")
    page.wait_for_selector("text=Su donación se borró")
    assert other in page.content()  # the receipt names the donation and its erasure tx
    screenshot(page, "receipt")
    assert _state(profiles, other) == "ERASED"
    assert errors == []
