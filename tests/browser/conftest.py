"""Real-browser tests: Debian's Chromium driven by Playwright, against the app in waitress.

No browser is downloaded: Playwright launches ``/usr/bin/chromium`` (``apt-get install
chromium``, in scripts/install-system.sh) headless, with a fresh temporary profile per
browser (Playwright's own ``launch`` makes one and removes it). The app runs as
``python -m web serve`` in a child process on a port derived from
``TRAZA_TEST_PORT_SHIFT``, ready when ``/healthz`` answers; its log is printed when the
test ends (pytest shows it on failure). Screenshots go to ``tests/.artifacts/screenshots/``
(git-ignored), each path printed. The network fixtures are the integration tests' own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.conftest import (  # noqa: F401  (fixtures shared with integration)
    PORT_SHIFT,
    REPO,
    as_,
    fabric,
    network_up,
    profiles,
    profiles_dir,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
# 8300 + shift: clear of the network's ports (7050-20054 pattern) and of the demo's 8080.
WEB_PORT = 8300 + PORT_SHIFT
ARTIFACTS = Path(os.environ.get("TRAZA_TEST_ARTIFACTS", REPO / "tests" / ".artifacts"))
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 900}}


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
            item.add_marker(pytest.mark.browser)


@dataclass
class WebServer:
    """A running ``python -m web serve``: its base URL and run folder."""

    base: str
    run: Path
    proc: subprocess.Popen[str]

    def url(self, path: str) -> str:
        return self.base + path


def wait_up(base: str, proc: subprocess.Popen[str], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the web server exited {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing answered on {base}")


@pytest.fixture(scope="session")
def web_server() -> Iterator[Callable[..., WebServer]]:
    """``web_server(run, database_url, port=WEB_PORT)`` -> a started :class:`WebServer`.

    ``run`` is laid out as ``traza network up`` does (``profiles/``, ``minio/``): the
    viewer reads evidence with the regulator's profile, the library with ``minio/hospital.json``.
    Stopped at the end of the session; its output is printed then.
    """
    started: list[tuple[subprocess.Popen[str], Path]] = []
    running: dict[tuple[Path, str, int], WebServer] = {}

    def start(run: Path, database_url: str, *, port: int = WEB_PORT,
              listen: bool = False) -> WebServer:
        key = (run, database_url, port)
        if key in running and running[key].proc.poll() is None:
            return running[key]
        log = run / "web-test.log"
        env = {**os.environ, "TRAZA_WEB_DATABASE_URL": database_url}
        argv = [sys.executable, "-m", "web", "serve", "--port", str(port), "--run-dir",
                str(run), "--listen" if listen else "--no-listen"]
        with open(log, "w") as out:
            proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=out,
                                    stderr=subprocess.STDOUT, text=True)
        started.append((proc, log))
        base = f"http://127.0.0.1:{port}"
        try:
            wait_up(base, proc)
        except AssertionError:
            print(log.read_text())
            raise
        running[key] = WebServer(base, run, proc)
        return running[key]

    yield start
    for proc, log in started:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        print(f"--- web server log {log}:\n{log.read_text()}")


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, launched by Playwright (never a downloaded browser)."""
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: run scripts/install-system.sh")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                               args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page_at(browser, request):
    """``page_at("phone" | "desktop")`` -> a Playwright page in a fresh context (es-MX)."""
    contexts = []

    def make(kind: str, **options):
        ctx = browser.new_context(viewport=VIEWPORTS[kind], locale="es-MX",
                                  accept_downloads=True, **options)
        ctx.set_default_timeout(60_000)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def screenshot(request) -> Callable[..., Path]:
    """``screenshot(page, name)`` -> the PNG saved under the run artifacts (path printed)."""
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)

    def shot(page, name: str, *, full_page: bool = True) -> Path:
        width = page.viewport_size["width"] if page.viewport_size else 0
        path = folder / f"{request.node.name}-{name}-{width}.png"
        page.screenshot(path=str(path), full_page=full_page)
        print(f"screenshot: {path}")
        return path

    return shot


@dataclass
class Stored:
    """A donation taken to STORED through :class:`client.workflow.Pipeline`."""

    donation_id: str
    viewer_url: str
    message_id: str | None
    library: list[str]
    run: Path
    database_url: str


@pytest.fixture(scope="session")
def stored(fabric, profiles, tmp_path_factory) -> Stored:  # noqa: F811
    """One donation of two corpus files, end to end, indexed; its run folder for the web.

    The run folder links the test network's ``profiles/`` and ``minio/`` and keeps the
    intake pipeline's SQLite where ``traza web`` looks for it. The viewer base is the
    browser tests' server, so the QR in the e-mail opens it.
    """
    from bench.deid.corpus import generate_corpus
    from client.donations import Source
    from client.index import EventIndex
    from client.ledger import Actor
    from client.mail import MailSettings
    from client.settings import Settings, open_pipeline
    from client.workflow import PipelineConfig

    run = tmp_path_factory.mktemp("web-run")
    (run / "profiles").symlink_to(fabric.run / "profiles")
    (run / "minio").symlink_to(fabric.run / "minio")
    home = run / "pipeline" / "hospital"
    home.mkdir(parents=True)
    src = tmp_path_factory.mktemp("corpus")
    manifest = generate_corpus(src, n_files=6, seed=3, quiet=True)
    folder = tmp_path_factory.mktemp("donation")
    for i, entry in enumerate(manifest.files[:2]):
        (folder / f"{i}.dcm").write_bytes((src / entry["path"]).read_bytes())
    url = f"sqlite:///{home / 'traza.db'}"
    settings = Settings(home=home, profiles_dir=run / "profiles",
                        objects_file=run / "minio" / "hospital.json", database_url=url,
                        mail=MailSettings(fabric.mail.host, fabric.mail.port,
                                          "no-responder@traza.local"),
                        pipeline=PipelineConfig(intake_org="hospital", deid_org="university",
                                                viewer_base=f"http://127.0.0.1:{WEB_PORT}"))
    with open_pipeline(settings) as p:
        reg = p.register("rosa.mendez.browser@correo.example")
        did = reg.donation_id
        p.consent(did)
        p.ingest(did, folder, Source("human", "40-64", "C50.9"))
        p.deidentify(did)
        p.diagnose(did, "R91.8", "Sin hallazgos relevantes.",
                   clinician=Actor("imss", "clinician1"))
        p.submit_for_review(did)
        p.accept(did)
        library = p.store(did)
        regulator = profiles("imss", "regulator1")
        with regulator.gateway() as gw:
            EventIndex(p.db).rebuild(gw.get_network(regulator.channel), regulator.chaincode)
        p.db.dispose()
    return Stored(did, reg.viewer_url, reg.message_id, library, run, url)
