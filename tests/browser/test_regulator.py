"""Regulator search -> export -> history -> transaction -> integrity -> the audit log shows
those reads, in Chromium.

The regulator is signed in with a session cookie signed by the server's own key
(``<run>/web/session.key``), in ``principal.sign_in``'s format: the sign-in pages are
another area's, this test is about the console.
"""

from __future__ import annotations

import csv
import io
import json
import time

import pytest
from flask import Flask

pytestmark = pytest.mark.timeout(900)
REGULATOR = {"kind": "staff", "subject": "reg.browser", "role": "regulator", "org": "IMSSMSP"}


def staff_account(database_url: str, who: dict) -> None:
    """The account row a staff session needs (it ends when its account does)."""
    from client.db import Database
    from client.db.models import StaffAccount

    db = Database.open(database_url)
    with db.session() as s:
        if s.query(StaffAccount).filter_by(username=who["subject"]).first() is None:
            s.add(StaffAccount(username=who["subject"], role=who["role"], org=who["org"],
                               fabric_user="w-" + who["subject"], password_hash="-",
                               totp_sealed=b"-", totp_last_step=0, failed_attempts=0))
    db.dispose()


def session_cookie(server, principal: dict) -> dict:
    """A ``traza_session`` cookie the server accepts, signed with its key."""
    signer = Flask("cookie")
    signer.secret_key = (server.run / "web" / "session.key").read_bytes()
    value = signer.session_interface.get_signing_serializer(signer).dumps(
        {"principal": principal, "since": int(time.time()), "_permanent": True})
    return {"name": "traza_session", "value": value, "url": server.base,
            "httpOnly": True, "sameSite": "Strict"}


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_search_history_export_audit(width, stored, web_server, page_at, screenshot, tmp_path):
    server = web_server(stored.run, stored.database_url)
    page = page_at(width)
    page.goto(server.url("/regulator/"))  # no session yet: the staff sign-in
    assert "/personal/entrar" in page.url
    staff_account(stored.database_url, REGULATOR)
    page.context.add_cookies([session_cookie(server, REGULATOR)])

    page.goto(server.url("/regulator/"))
    page.get_by_label("Estado").select_option("STORED")
    page.get_by_label("Organización de registro (MSP)").fill("HospitalMSP")
    page.get_by_role("button", name="Buscar").click()
    page.wait_for_url("**state=STORED**")
    link = page.get_by_role("link", name=stored.donation_id)
    assert link.count() == 1
    assert page.locator(".chart img").evaluate("i => i.complete && i.naturalWidth > 0")
    screenshot(page, "search")

    with page.expect_download() as info:
        page.locator("#export-csv").click()
    path = tmp_path / f"{width}.csv"
    info.value.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert stored.donation_id in {r["donationId"] for r in rows}
    assert {r["state"] for r in rows} == {"STORED"}
    with page.expect_download() as info:
        page.locator("#export-json").click()
    doc = json.loads(info.value.path().read_text())
    assert doc["filters"] == {"state": "STORED", "org": "HospitalMSP"}
    assert doc["count"] == len(rows)

    link.click()
    page.wait_for_url(f"**/regulator/donations/{stored.donation_id}")
    assert page.locator("#donation-id").inner_text() == stored.donation_id
    assert page.locator(".timeline .step").count() >= 8
    screenshot(page, "history")
    history_url = page.url
    page.locator(".timeline .step").first.get_by_role("link").first.click()  # its transaction
    page.wait_for_url("**/regulator/tx/**")
    assert page.locator("tr.selected .mark.ok").inner_text() == "VALID"
    assert page.locator("#data-hash-check").inner_text() == "recalculado: igual"
    assert "coincide con el bloque" in page.locator(".facts").inner_text()
    screenshot(page, "transaction")
    page.goto(history_url)
    page.locator("#integrity").click()
    assert page.locator("#verdict h2").inner_text() == "Todo se comprueba"

    page.get_by_role("link", name="Bitácora de auditoría").first.click()
    page.wait_for_url("**/regulator/audit")
    table = page.locator("table.audit tbody")
    actions = table.locator("tr td:nth-child(4)").all_inner_texts()
    who = set(table.locator("tr td:nth-child(2)").all_inner_texts())
    for action in ("regulator.search", "regulator.chart", "regulator.export",
                   "regulator.history", "regulator.tx", "regulator.integrity"):
        assert action in actions, action
    assert "reg.browser" in who
    assert f"{stored.donation_id}" in table.inner_text()
    screenshot(page, "audit")
    with page.expect_download() as info:
        page.locator("#audit-export").click()
    fhir = json.loads(info.value.path().read_text())
    assert fhir["resourceType"] == "Bundle"
    mine = [e["resource"] for e in fhir["entry"]
            if any(a.get("who", {}).get("identifier", {}).get("value") == "reg.browser"
                   for a in e["resource"]["agent"])]
    assert {"R", "E"} <= {e["action"] for e in mine}
    assert all(e["resourceType"] == "AuditEvent" for e in mine)
