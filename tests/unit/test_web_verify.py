"""The trace viewer's verification panel and de-identification summary, on real blocks.

The index is built from ``tests/data/evidence/bundle-9-steps.json``'s blocks; the bundler
hands back that bundle (what the ledger would give), so the panel runs ``verify_bundle``
for real; a tampered bundle and a library copy that no longer hashes are caught.
"""

from __future__ import annotations

import base64
import json
import threading

import pytest

from anonymizer.report import summary_es
from client.db import Database
from client.db.database import sqlite_url
from client.db.models import DeidSummary, DonationIndex, StepIndex
from client.donor import sha256_hex
from client.evidence import Bundle
from client.index import events_of_block
from client.intake import Deidentified, summed_counts
from tests.unit.web_fixtures import CAPTURED_BUNDLE, indexed_database
from web import WebConfig, create_app
from web.live import start_listener

BUNDLE = CAPTURED_BUNDLE
TOKEN = "Qr" + "x" * 40


@pytest.fixture(scope="module")
def captured() -> Bundle:
    return Bundle.load(BUNDLE)


@pytest.fixture
def db(tmp_path, captured):
    database = indexed_database(tmp_path / "index.db", captured)
    with database.session() as s:
        s.get(DonationIndex, captured.donation_id).qr_token_sha256 = sha256_hex(TOKEN)
    yield database
    database.dispose()


def app_for(db, doc, library=None):
    return create_app(WebConfig(database_url=str(db.url)), database=db,
                      bundler=lambda donation_id, steps: doc, library=library)


def test_the_panel_passes_on_the_ledgers_own_bundle(db, captured):
    seen = []
    doc = json.loads(BUNDLE.read_text())
    html = app_for(db, doc, library=lambda sha: seen.append(sha) or True).test_client().get(
        f"/t/{TOKEN}/verify").get_data(as_text=True)
    assert "Todo se comprueba" in html and "FALLÓ" not in html
    assert sorted(seen) == sorted(captured.objects["librarySha256"])
    for step in captured.steps:  # each transaction with the orgs that endorsed it
        assert step["txId"] in html
    assert "HospitalMSP" in html and "bloque enlazado en la cadena de hashes" in html


def test_a_tampered_block_fails_the_panel(db, captured):
    doc = json.loads(BUNDLE.read_text())
    raw = bytearray(base64.b64decode(doc["blocks"][3]["block"]))
    raw[-40] ^= 0x01
    doc["blocks"][3]["block"] = base64.b64encode(bytes(raw)).decode()
    html = app_for(db, doc).test_client().get(f"/t/{TOKEN}/verify").get_data(as_text=True)
    assert "Algunas comprobaciones fallaron" in html and "FALLÓ" in html


def test_a_library_copy_that_no_longer_hashes_fails_the_panel(db):
    doc = json.loads(BUNDLE.read_text())
    html = app_for(db, doc, library=lambda sha: False).test_client().get(
        f"/t/{TOKEN}/verify").get_data(as_text=True)
    assert "Algunas comprobaciones fallaron" in html and "DISTINTA" in html


def test_the_panel_is_503_when_the_ledger_cannot_be_read(db):
    def down(*_):
        raise ConnectionError("peer down")

    app = create_app(WebConfig(database_url=str(db.url)), database=db, bundler=down)
    assert app.test_client().get(f"/t/{TOKEN}/verify").status_code == 503
    assert app.test_client().get("/t/" + "y" * 40 + "/verify").status_code == 404


def test_the_deidentify_step_shows_its_summary_in_spanish(db, captured):
    with db.session() as s:
        step = next(r for r in s.query(StepIndex).filter_by(step="Deidentify"))
        report = json.loads(step.evidence)["data"]["deidentification"]["reportSha256"]
        s.add(DeidSummary(report_sha256=report, donation_id=captured.donation_id, files=2,
                          counts=json.dumps({"removed": 30, "uid": 8, "date_shift": 4,
                                             "text_spans": 0, "pixel_boxes": 3,
                                             "pixel_frames_masked": 1})))
    html = app_for(db, {}).test_client().get(f"/t/{TOKEN}").get_data(as_text=True)
    assert ("Se eliminaron 30 datos de identificación, se reemplazaron 8 identificadores "
            "únicos, se desplazaron 4 fechas (se conservan los intervalos) y se cubrieron 3 "
            "regiones con texto en 1 cuadro de imagen.") in html
    assert "archivos: 2" in html
    assert html.count('class="deid"') == 1  # only under the Deidentify step


def test_a_summary_of_another_round_is_not_shown(db, captured):
    with db.session() as s:
        s.add(DeidSummary(report_sha256="e" * 64, donation_id=captured.donation_id, files=1,
                          counts=json.dumps({"removed": 1})))
    html = app_for(db, {}).test_client().get(f"/t/{TOKEN}").get_data(as_text=True)
    assert 'class="deid"' not in html


def test_summed_counts_add_files_up_and_count_pixel_checks():
    def out(counts, checked):
        return Deidentified(b"", {"counts": counts, "pixel_checked": checked}, "0" * 64, "")

    total = summed_counts([out({"removed": 2, "uid": 1}, True), out({"removed": 3}, False)])
    assert total == {"removed": 5, "uid": 1, "pixel_checked": 1}
    assert summary_es(total, pixel_checked=True) == (
        "Se eliminaron 5 datos de identificación, se reemplazó 1 identificador único y no se "
        "encontró texto en la imagen.")


class _Events:
    """A chaincode event stream: the captured events, then quiet until closed."""

    def __init__(self, events, done):
        self.events, self.done, self.closed = events, done, threading.Event()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __iter__(self):
        yield from self.events
        self.done.set()
        self.closed.wait(5)

    def close(self):
        self.closed.set()


def test_the_live_listener_indexes_while_the_web_serves(tmp_path, captured, monkeypatch):
    """start_listener follows the events through the reader's profile into the index."""
    db = Database.open(sqlite_url(tmp_path / "live.db"))
    events = [e for n in sorted(captured.blocks)
              for e in events_of_block(captured.blocks[n], captured.chaincode)]
    applied = threading.Event()

    class Network:
        def chaincode_events(self, chaincode, *, checkpoint, start_block):
            return _Events(events, applied)

    class Gateway:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def get_network(self, name):
            return Network()

    class Profile:
        channel, chaincode = "donations", "traza"

        @classmethod
        def from_dir(cls, *args):
            return cls()

        def gateway(self):
            return Gateway()

    monkeypatch.setattr("client.profile.Profile", Profile)
    stop = start_listener(WebConfig(database_url=str(db.url), profiles_dir=tmp_path), db)
    assert stop is not None
    assert applied.wait(10)
    stop.set()
    with db.session() as s:
        assert s.get(DonationIndex, captured.donation_id).state == "STORED"
    db.dispose()
    assert start_listener(WebConfig(database_url=str(db.url)), db) is None
