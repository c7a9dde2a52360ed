"""Scan -> trace -> verify, in Chromium: the QR in the donor's e-mail opens the trace page,
the verification panel checks the ledger, the evidence download passes ``traza verify``."""

from __future__ import annotations

import email
import email.policy
import io
import json
import subprocess
import sys

import pytest
from PIL import Image

from network import mailserver

from .conftest import REPO

pytestmark = pytest.mark.timeout(1200)


def scan_qr(fabric, message_id: str) -> str:
    """The URL in the QR image of the kept e-mail (what a phone camera would open)."""
    import zxingcpp

    path = mailserver.find_message(fabric.run / "mail", message_id)
    assert path is not None, "the QR e-mail was not kept by the SMTP server"
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    png = next(p for p in msg.walk() if p.get_content_type() == "image/png")
    codes = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.get_content())))
    assert len(codes) == 1
    return codes[0].text


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_scan_trace_verify(width, stored, fabric, web_server, page_at, screenshot, tmp_path):
    url = scan_qr(fabric, stored.message_id)
    assert url == stored.viewer_url
    server = web_server(stored.run, stored.database_url)
    page = page_at(width)
    page.goto(url)
    assert page.locator("h1").inner_text() == "La trazabilidad de su donación"
    assert page.locator(".state-name").inner_text() == "Resguardo en la biblioteca"
    steps = page.locator(".timeline .step h3").all_inner_texts()
    assert steps[0] == "Registro" and steps[-1] == "Resguardo en la biblioteca"
    assert "Desidentificación" in steps
    deid = page.locator(".deid").first.inner_text()
    assert deid.startswith("Se ") and "datos de identificación" in deid
    screenshot(page, "trace")

    # Keyboard only: the first Tab reaches the skip link; the panel opens with Enter.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.locator("#verify-now").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/verify")
    verdict = page.locator("#verdict")
    assert verdict.locator("h2").inner_text() == "Todo se comprueba"
    assert "0 fallaron" in verdict.inner_text()
    library = page.locator(".mark.ok").filter(has_text="igual").count()
    assert library == len(stored.library)
    assert page.locator(".mark.bad").count() == 0
    screenshot(page, "verify")

    with page.expect_download() as info:
        page.get_by_role("link", name="Descargar la evidencia (JSON)").click()
    bundle = tmp_path / "evidencia.json"
    info.value.save_as(bundle)
    doc = json.loads(bundle.read_text())
    assert doc["donationId"] == stored.donation_id
    res = subprocess.run([sys.executable, "-m", "client.cli", "verify", "bundle", str(bundle)],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert server.base in url
