"""The viewer served by waitress in its own process (``python -m web serve``, ``web start``)."""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_web_trace import add_donation

from client.db import Database
from client.db.database import sqlite_url
from web.cli import web

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(port: int, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing answered on port {port}")


@pytest.fixture
def run_dir(tmp_path):
    """A run folder whose hospital pipeline database holds one indexed donation."""
    home = tmp_path / "pipeline" / "hospital"
    home.mkdir(parents=True)
    db = Database.open(sqlite_url(home / "traza.db"))
    token = secrets.token_urlsafe(32)
    add_donation(db, token)
    db.dispose()
    return tmp_path, token


def fetch(url: str) -> tuple[int, dict[str, str], str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def test_waitress_serves_the_trace(run_dir):
    run, token = run_dir
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "web", "serve", "--port", str(port), "--run-dir", str(run)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_up(port)
        status, headers, html = fetch(f"http://127.0.0.1:{port}/t/{token}")
        assert status == 200 and "Adquisición" in html
        assert headers["Cache-Control"] == "no-store"
        assert headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert headers["Server"] == "traza"
        status, _, body = fetch(f"http://127.0.0.1:{port}/t/{secrets.token_urlsafe(32)}")
        assert status == 404 and token not in body
        status, _, _ = fetch(f"http://127.0.0.1:{port}/static/traza.css")
        assert status == 200
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert token not in out


# ``start`` leaves its child running on purpose (Popen warns when the object goes).
@pytest.mark.filterwarnings("ignore:subprocess .* is still running:ResourceWarning")
def test_start_and_stop_in_the_background(run_dir):
    run, token = run_dir
    port = free_port()
    runner = CliRunner()
    result = runner.invoke(web, ["start", "--port", str(port), "--run-dir", str(run)])
    assert result.exit_code == 0, result.output
    pidfile = run / "web" / "web.pid"
    pid = int(pidfile.read_text())
    try:
        wait_up(port)
        assert fetch(f"http://127.0.0.1:{port}/t/{token}")[0] == 200
        again = runner.invoke(web, ["start", "--port", str(port), "--run-dir", str(run)])
        assert "already running" in again.output
    finally:
        result = runner.invoke(web, ["stop", "--run-dir", str(run)])
    assert result.exit_code == 0 and f"stopped (pid {pid})" in result.output
    assert not pidfile.exists()
    assert not Path(f"/proc/{pid}").exists() or b"serve" not in Path(
        f"/proc/{pid}/cmdline").read_bytes()
    log = (run / "web" / "web.log").read_text()
    assert "serving on" in log and token not in log
    assert "not running" in runner.invoke(web, ["stop", "--run-dir", str(run)]).output


def test_under_traza_the_run_folder_comes_from_the_root_command(tmp_path):
    import click

    @click.group()
    @click.pass_context
    def root(ctx):  # as client/cli.py's group fills ctx.obj
        ctx.obj = {"run_dir": tmp_path}

    root.add_command(web)
    stale = tmp_path / "web" / "web.pid"
    stale.parent.mkdir()
    stale.write_text("999999999\n")  # no such process
    result = CliRunner().invoke(root, ["web", "stop"])
    assert result.exit_code == 0 and "not running" in result.output
    assert not stale.exists()
