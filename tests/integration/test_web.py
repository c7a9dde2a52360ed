"""The trace viewer on the real network: the index rebuilt from the ledger, the page the QR
opens served by waitress, and its evidence download verified offline."""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from client.db import Database
from client.db.database import sqlite_url
from client.index import EventIndex
from client.verify_bundle import verify_bundle

from .donation_flow import Flow, wait_state

pytestmark = pytest.mark.timeout(600)
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def indexed(as_, profiles, fabric, tmp_path_factory):
    """A donation of four steps, indexed into a pipeline database laid out as ``up`` does."""
    flow = Flow(as_)
    for step in ("register", "link", "consent", "acquire"):
        flow.run(step, user="operator1")
    wait_state(as_, "imss", flow.id, "ACQUIRED")
    run = tmp_path_factory.mktemp("run")
    (run / "profiles").symlink_to(fabric.run / "profiles")
    home = run / "pipeline" / "hospital"
    home.mkdir(parents=True)
    db = Database.open(sqlite_url(home / "traza.db"))
    regulator = profiles("imss", "regulator1")
    with regulator.gateway() as gw:
        EventIndex(db).rebuild(gw.get_network(regulator.channel), regulator.chaincode)
    db.dispose()
    return flow, run


def wait_up(base: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing answered on {base}")


def test_the_qr_page_and_its_evidence_through_waitress(indexed):
    flow, run = indexed
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "web", "serve", "--port", str(port), "--run-dir", str(run)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(base)
        with urllib.request.urlopen(f"{base}/t/{flow.donor.qr_token}", timeout=10) as r:
            html = r.read().decode()
        for words in ("Registro", "Vínculo con el donante", "Consentimiento", "Adquisición",
                      "Estudios recibidos", flow.originals[0]):
            assert words in html
        with urllib.request.urlopen(f"{base}/t/{flow.donor.qr_token}/evidence.json",
                                    timeout=60) as r:
            bundle = r.read().decode()
        try:
            urllib.request.urlopen(f"{base}/t/{secrets.token_urlsafe(32)}", timeout=10)
            raise AssertionError("an unknown token answered")
        except urllib.error.HTTPError as e:
            assert e.code == 404
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert flow.donor.qr_token not in out
    doc = json.loads(bundle)
    assert doc["donationId"] == flow.id and len(doc["steps"]) == 4
    assert [c for c in verify_bundle(bundle) if not c.ok] == []
