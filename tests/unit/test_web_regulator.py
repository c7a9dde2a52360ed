"""The regulator console on a SQLite index built from a captured bundle's real blocks.

The index rows come from ``tests/data/evidence/bundle-9-steps.json``'s blocks through
:class:`client.index.EventIndex` (as the listener writes them); a fake ledger reader serves
the same blocks and the bundle, so the block view and the integrity check run the real
parsers and ``verify_bundle`` offline.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError, IntegrityError

from client.db import Database
from client.db.models import AuditEntry, DonationIndex
from client.evidence import Bundle
from client.index import EventIndex, events_of_block
from tests.unit.web_fixtures import CAPTURED_BUNDLE, indexed_database, staff_session
from web import WebConfig, create_app
from web.fhir import QUERY_ACTIONS
from web.regulator import csv_cell

BUNDLE = CAPTURED_BUNDLE
REGULATOR = {"kind": "staff", "subject": "reg.ana", "role": "regulator", "org": "IMSSMSP"}


class FakeLedger:
    """Blocks and the bundle of the captured donation; anything else is missing."""

    def __init__(self, bundle: Bundle) -> None:
        self.b = bundle
        self.doc = json.loads(BUNDLE.read_text())
        self.reads: list[int] = []

    def block(self, number: int):
        self.reads.append(number)
        blocks = {**self.b.config_blocks, **self.b.blocks}
        if number not in blocks:
            raise LookupError(number)
        return blocks[number]

    def height(self) -> int:
        return max(self.b.blocks) + 1

    def bundle(self, donation_id: str, tx_blocks):
        assert donation_id == self.b.donation_id
        return self.doc


@pytest.fixture(scope="module")
def captured() -> Bundle:
    return Bundle.load(BUNDLE)


@pytest.fixture
def db(tmp_path, captured):
    database = indexed_database(tmp_path / "index.db", captured)
    yield database
    database.dispose()


@pytest.fixture
def app(db, captured):
    return create_app(WebConfig(database_url=str(db.url)), database=db,
                      ledger=FakeLedger(captured), library=lambda sha: True)


def signed_in(app, who=REGULATOR):
    client = app.test_client()
    staff_session(client, app.extensions["traza_db"], dict(who))
    return client


@pytest.fixture
def reg(app):
    return signed_in(app)


def audit_rows(db) -> list[AuditEntry]:
    with db.session() as s:
        return list(s.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def regulator_paths(app, donation_id: str, tx_id: str) -> list[str]:
    """Every GET route of the console, with real arguments."""
    args = {"donation_id": donation_id, "number": 9, "tx_id": tx_id}
    paths = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("regulator."):
            paths.append(rule.build({k: v for k, v in args.items() if k in rule.arguments})[1])
    return sorted(paths)


def test_the_index_holds_the_consent_facets(db, captured):
    with db.session() as s:
        d = s.get(DonationIndex, captured.donation_id)
    assert d.state == "STORED" and d.legal_regime in ("LFPDPPP_2025", "LGPDPPSO")
    assert d.purposes and set(d.purposes.split(",")) <= {"aiTraining", "commercial",
                                                         "research", "teaching"}


@pytest.mark.parametrize("who, status", [
    (None, 302),  # to the staff sign-in
    ({"kind": "donor", "subject": "d-1", "role": "donor", "org": "HospitalMSP"}, 403),
    ({"kind": "staff", "subject": "op", "role": "operator", "org": "HospitalMSP"}, 403),
    ({"kind": "staff", "subject": "cl", "role": "clinician", "org": "IMSSMSP"}, 403),
    ({"kind": "staff", "subject": "ad", "role": "admin", "org": "HospitalMSP"}, 403),
])
def test_only_a_regulator_opens_any_console_route(app, db, captured, who, status):
    client = signed_in(app, who) if who else app.test_client()
    paths = regulator_paths(app, captured.donation_id, captured.steps[1]["txId"])
    assert len(paths) == 10
    for path in paths:
        assert client.get(path).status_code == status, path
    assert audit_rows(db) == []  # refused before any read


def test_every_console_route_answers_a_regulator_and_is_audited(reg, app, db, captured):
    paths = regulator_paths(app, captured.donation_id, captured.steps[1]["txId"])
    for path in paths:
        r = reg.get(path)
        assert r.status_code == 200, path
        assert "Content-Security-Policy" in r.headers
    rows = audit_rows(db)
    assert len(rows) == len(paths)
    assert {r.actor for r in rows} == {"reg.ana"} and {r.role for r in rows} == {"regulator"}
    assert {r.action for r in rows} == {
        "regulator.search", "regulator.chart", "regulator.export", "regulator.history",
        "regulator.integrity", "regulator.block", "regulator.tx", "regulator.audit",
        "regulator.audit-export"}
    assert all(r.source == "127.0.0.1" and r.outcome == "success" for r in rows)


@pytest.mark.parametrize("query, found", [
    ("", 1), ("state=STORED", 1), ("state=ERASED", 0), ("org=HospitalMSP", 1),
    ("org=IMSSMSP", 0), ("date_from=2000-01-01&date_to=2100-01-01", 1),
    ("date_to=2000-01-01", 0),
])
def test_search_filters(reg, captured, query, found):
    r = reg.get(f"/regulator/?{query}")
    assert r.status_code == 200
    assert (captured.donation_id in r.get_data(as_text=True)) == bool(found)


def test_search_by_consent_purpose_and_regime(reg, db, captured):
    with db.session() as s:
        d = s.get(DonationIndex, captured.donation_id)
        purpose, regime = d.purposes.split(",")[0], d.legal_regime
    other = next(r for r in ("LFPDPPP_2025", "LGPDPPSO") if r != regime)
    page = reg.get(f"/regulator/?purpose={purpose}&regime={regime}").get_data(as_text=True)
    assert captured.donation_id in page
    assert captured.donation_id not in reg.get(f"/regulator/?regime={other}").get_data(
        as_text=True)


@pytest.mark.parametrize("query", [
    "state=BOGUS", "org=Hosp%20ital", "date_from=yesterday", "purpose=marketing",
    "regime=GDPR", "date_from=2026-02-01&date_to=2026-01-01",
])
def test_bad_filters_are_a_clear_400_and_query_nothing(reg, db, query):
    r = reg.get(f"/regulator/?{query}")
    assert r.status_code == 400
    assert "Revise estos campos" in r.get_data(as_text=True)
    assert reg.get(f"/regulator/export.csv?{query}").status_code == 400
    assert [a.outcome for a in audit_rows(db)] == ["invalid", "invalid"]


def test_csv_export_is_exact(reg, db, captured):
    r = reg.get("/regulator/export.csv?state=STORED")
    assert r.mimetype == "text/csv" and "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
    assert rows[0] == ["donationId", "state", "intakeMsp", "legalRegime", "purposes",
                       "registeredAt", "updatedAt", "lastBlock"]
    with db.session() as s:
        d = s.get(DonationIndex, captured.donation_id)
        assert rows[1:] == [[d.donation_id, "STORED", d.intake_msp, d.legal_regime,
                             d.purposes, d.registered_at.isoformat(),
                             d.updated_at.isoformat(), str(d.last_block)]]


def test_json_export_is_exact(reg, captured):
    doc = reg.get("/regulator/export.json?org=HospitalMSP").get_json()
    assert doc["filters"] == {"org": "HospitalMSP"} and doc["count"] == 1
    assert doc["byState"] == {"STORED": 1}
    assert doc["donations"][0]["donationId"] == captured.donation_id
    assert doc["donations"][0]["lastBlock"] == 16


@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://x\")", "+1+1", "-2", "@SUM(A1)",
                                   "\t=1", "\r=1"])
def test_csv_cells_starting_a_formula_are_neutralised(value):
    assert csv_cell(value) == "'" + value
    assert csv_cell("d-abc") == "d-abc" and csv_cell(None) == "" and csv_cell(16) == "16"


def test_a_formula_in_the_index_is_neutralised_in_the_export(reg, db):
    now = dt.datetime.now(dt.UTC)
    with db.session() as s:
        s.add(DonationIndex(donation_id="=cmd|'/c calc'!A0", state="STORED",
                            intake_msp="@HospitalMSP", registered_at=now, updated_at=now,
                            last_block=1))
    body = reg.get("/regulator/export.csv").get_data(as_text=True)
    row = next(r for r in csv.reader(io.StringIO(body)) if "calc" in r[0])
    assert row[0] == "'=cmd|'/c calc'!A0" and row[2] == "'@HospitalMSP"


def test_values_shown_back_are_escaped(reg, db):
    evil = "<script>alert(1)</script>"
    now = dt.datetime.now(dt.UTC)
    with db.session() as s:
        s.add(DonationIndex(donation_id="x", state="STORED", intake_msp=evil,
                            legal_regime=evil[:32], purposes='"><img src=x onerror=1>',
                            registered_at=now, updated_at=now, last_block=1))
    for path in ("/regulator/", "/regulator/donations/x"):
        html = reg.get(path).get_data(as_text=True)
        assert evil not in html and "<img src=x" not in html
        assert "&lt;script&gt;" in html
    html = reg.get(f"/regulator/audit?actor={evil}").get_data(as_text=True)
    assert evil not in html and "&lt;script&gt;" in html


def test_history_lists_every_step_with_its_transaction(reg, captured):
    html = reg.get(f"/regulator/donations/{captured.donation_id}").get_data(as_text=True)
    for step in captured.steps:
        assert step["txId"] in html
        assert f'/regulator/blocks/{step["block"]}"' in html
    assert reg.get("/regulator/donations/d-unknown").status_code == 404
    assert reg.get("/regulator/donations/..%2Fetc").status_code == 404


def test_block_view_checks_the_hash_link_and_lists_endorsers(reg, captured):
    html = reg.get("/regulator/blocks/9").get_data(as_text=True)
    assert "coincide con el bloque 8" in html
    assert "recalculado: igual" in html
    tx = captured.steps[1]["txId"]
    assert tx in html and "HospitalMSP" in html
    page = reg.get(f"/regulator/tx/{tx}").get_data(as_text=True)
    assert f'id="tx-{tx}" class="selected"' in page
    assert reg.get("/regulator/tx/" + "0" * 64).status_code == 404
    assert reg.get("/regulator/blocks/99").status_code == 503  # the fake has no block 99


def test_integrity_check_runs_verify_bundle(reg, captured, db):
    html = reg.get(f"/regulator/donations/{captured.donation_id}/integrity").get_data(
        as_text=True)
    assert "Todo se comprueba" in html and "FALLÓ" not in html
    assert audit_rows(db)[-1].action == "regulator.integrity"


def test_chart_is_an_svg_without_script_or_style(reg):
    r = reg.get("/regulator/chart.svg")
    assert r.mimetype == "image/svg+xml"
    svg = r.get_data(as_text=True)
    assert svg.startswith("<svg") and "<title" in svg and "<desc" in svg
    assert "<script" not in svg and "style" not in svg and "Resguardo en la biblioteca" in svg


def test_the_trace_viewer_records_reads_by_token_hash_only(app, db, captured):
    from client.donor import sha256_hex

    token = "tok" + "A" * 40
    with db.session() as s:
        s.get(DonationIndex, captured.donation_id).qr_token_sha256 = sha256_hex(token)
    client = app.test_client()
    assert client.get(f"/t/{token}").status_code == 200
    assert client.get(f"/t/{token}/verify").status_code == 200
    assert client.get(f"/t/{token}/evidence.json").status_code == 200
    rows = audit_rows(db)
    assert [r.action for r in rows] == ["trace.read", "trace.verify", "trace.evidence"]
    assert {r.actor for r in rows} == {f"qr:{sha256_hex(token)[:16]}"}
    assert {r.entity for r in rows} == {captured.donation_id}
    with db.session() as s:
        dump = " ".join(str(v) for row in s.execute(text("SELECT * FROM audit_log"))
                        for v in row)
    assert token not in dump


def test_audit_log_page_and_fhir_export(reg, db, captured):
    reg.get(f"/regulator/donations/{captured.donation_id}")
    reg.get("/regulator/?state=STORED")
    html = reg.get("/regulator/audit").get_data(as_text=True)
    assert "regulator.history" in html and captured.donation_id in html
    doc = reg.get("/regulator/audit.json").get_json()
    assert doc["resourceType"] == "Bundle" and doc["type"] == "collection"
    events = [e["resource"] for e in doc["entry"]]
    assert len(events) == doc["total"] == 3  # history, search, the audit page read
    for ev in events:
        assert ev["resourceType"] == "AuditEvent"
        assert ev["type"]["code"] == "rest"
        assert ev["type"]["system"] == "http://terminology.hl7.org/CodeSystem/audit-event-type"
        assert ev["recorded"].endswith("Z") and ev["outcome"] == "0"
        user = [a for a in ev["agent"] if a["requestor"]]
        assert len(user) == 1 and user[0]["who"]["identifier"]["value"] == "reg.ana"
        assert {c["code"] for a in ev["agent"] for c in a["type"]["coding"]} == {
            "110153", "110152", "IRCP"}
        assert ev["source"]["type"][0]["code"] == "4"
        assert ev["entity"][0]["what"]["identifier"]["value"]
    read, search = events[0], events[1]
    assert read["action"] == "R" and read["subtype"][0]["code"] == "read"
    assert read["meta"]["profile"][0].endswith("IHE.BasicAudit.Read")
    assert read["entity"][0]["role"]["code"] == "4"
    assert search["action"] == "E" and search["subtype"][0]["code"] == "search-type"
    assert search["entity"][0]["role"]["code"] == "24" and "query" in search["entity"][0]
    assert "regulator.search" in QUERY_ACTIONS


def test_the_audit_log_refuses_update_and_delete(db, reg):
    reg.get("/regulator/")
    with pytest.raises((IntegrityError, DatabaseError)), db.session() as s:
        s.execute(text("UPDATE audit_log SET actor = 'someone-else'"))
    with pytest.raises((IntegrityError, DatabaseError)), db.session() as s:
        s.execute(text("DELETE FROM audit_log"))
    assert [r.actor for r in audit_rows(db)] == ["reg.ana"]


def test_no_console_route_writes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("regulator."):
            assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule


def test_a_read_that_cannot_be_audited_is_not_served(reg, monkeypatch, captured):
    def broken(db):
        raise DatabaseError("INSERT", {}, Exception("disk full"))

    monkeypatch.setattr("web.audit.write", broken)
    r = reg.get(f"/regulator/donations/{captured.donation_id}")
    assert r.status_code == 503 and captured.donation_id not in r.get_data(as_text=True)


def test_the_console_and_the_append_only_log_on_both_backends(database_url, captured):
    """SQLite and PostgreSQL: the chart's month grouping, exports, the audit triggers."""
    database = Database.open(database_url)
    try:
        index = EventIndex(database)
        for n in sorted(captured.blocks):
            for event in events_of_block(captured.blocks[n], captured.chaincode):
                index.apply_event(event)
        app = create_app(WebConfig(database_url=database_url), database=database,
                         ledger=FakeLedger(captured), library=lambda sha: True)
        client = signed_in(app)
        assert captured.donation_id in client.get("/regulator/?state=STORED").get_data(
            as_text=True)
        svg = client.get("/regulator/chart.svg").get_data(as_text=True)
        assert "<rect" in svg and ": 1</title>" in svg  # one donation in its month
        assert client.get("/regulator/export.json").get_json()["count"] == 1
        assert client.get("/regulator/audit.json").get_json()["total"] == 3
        with database.read_session() as s:  # reads work in the read-only session
            assert s.get(DonationIndex, captured.donation_id).state == "STORED"
        with pytest.raises((IntegrityError, DatabaseError)), database.session() as s:
            s.execute(text("UPDATE audit_log SET outcome = 'x'"))
        with pytest.raises((IntegrityError, DatabaseError)), database.session() as s:
            s.execute(text("DELETE FROM audit_log"))
        assert len(audit_rows(database)) == 4
    finally:
        database.dispose()
