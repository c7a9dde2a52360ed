"""The live index: ``web serve`` follows the ledger's events while it serves, so a step
committed after the server started shows on the trace page without a rebuild."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from client.db import Database
from client.db.database import sqlite_url

from .conftest import PORT_SHIFT
from .donation_flow import Flow
from .test_web import wait_up

pytestmark = pytest.mark.timeout(600)
REPO = Path(__file__).resolve().parents[2]
PORT = 8302 + PORT_SHIFT  # the browser tests use 8300 + shift


def page(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.read().decode()
    except urllib.error.HTTPError:
        return None


def test_a_step_committed_while_serving_appears_on_the_page(as_, fabric, tmp_path):
    run = tmp_path / "run"
    (run / "pipeline" / "hospital").mkdir(parents=True)
    (run / "profiles").symlink_to(fabric.run / "profiles")
    Database.open(sqlite_url(run / "pipeline" / "hospital" / "traza.db")).dispose()
    log = tmp_path / "web.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "web", "serve", "--port", str(PORT),
                                 "--run-dir", str(run), "--listen"], cwd=REPO,
                                stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))
    base = f"http://127.0.0.1:{PORT}"
    try:
        wait_up(base)
        flow = Flow(as_)
        flow.run("register", user="operator1")
        url = f"{base}/t/{flow.donor.qr_token}"
        deadline = time.monotonic() + 60
        while (html := page(url)) is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert html is not None and "Registro" in html, "the listener did not index it"
        assert "Consentimiento" not in html
        for step in ("link", "consent"):
            flow.run(step, user="operator1")
        deadline = time.monotonic() + 60
        while "Consentimiento" not in (page(url) or "") and time.monotonic() < deadline:
            time.sleep(0.5)
        assert "Consentimiento" in (page(url) or "")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert "index listener on" in log.read_text()
    assert flow.donor.qr_token not in log.read_text()
