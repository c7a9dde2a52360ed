"""``traza web``: serve the trace viewer with waitress, in the foreground or the background.

``traza web start`` runs ``python -m web serve`` detached, its pid in
``<run>/web/web.pid`` and its output in ``<run>/web/web.log``; ``traza web stop`` ends it.
The index read is the intake org's pipeline database (``<run>/pipeline/<org>/traza.db``)
unless ``--database-url`` names another.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import click

from anonymizer.files import private_dir, write_secret

from .config import WebConfig

__all__ = ["web"]

DEFAULT_RUN = Path("network/run")


def _run_dir(ctx: click.Context, run_dir: Path | None) -> Path:
    obj = ctx.find_root().obj or {}
    return Path(run_dir or obj.get("run_dir") or DEFAULT_RUN)


def session_key(run: Path) -> bytes:
    """The session-signing key in ``<run>/web/session.key`` (made 0600 at first use)."""
    path = private_dir(run / "web") / "session.key"
    if not path.exists():
        write_secret(path, secrets.token_bytes(32))
    return path.read_bytes()


def _config(run: Path, intake: str, database_url: str | None, reader: str,
            trusted_proxies: int = 0) -> WebConfig:
    from client.settings import Settings

    org, _, user = reader.partition("/")
    settings = Settings.for_run_dir(run, intake)
    objects = settings.objects_file if settings.objects_file.exists() else None
    return WebConfig(database_url=database_url or settings.database,
                     profiles_dir=run / "profiles", reader_org=org,
                     reader_user=user or "regulator1", trusted_proxies=trusted_proxies,
                     secret_key=session_key(run), objects_file=objects)


def _pid(pidfile: Path) -> int | None:
    """The pid in ``pidfile`` if that process still runs ``web serve``."""
    try:
        pid = int(pidfile.read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError, IndexError):
        return None
    return pid if b"web" in cmdline and b"serve" in cmdline else None


def _options(f):  # the options serve and start share
    for option in reversed([
        click.option("--host", default="127.0.0.1", show_default=True),
        click.option("--port", default=8080, show_default=True, type=int),
        click.option("--run-dir", type=click.Path(path_type=Path), default=None,
                     help="The network's run folder (default network/run)."),
        click.option("--intake", default="hospital", show_default=True,
                     help="The intake org whose pipeline database holds the index."),
        click.option("--database-url", envvar="TRAZA_WEB_DATABASE_URL", default=None,
                     help="The index's database (default the intake org's SQLite)."),
        click.option("--reader", default="imss/regulator1", show_default=True,
                     help="org/user whose profile reads the evidence blocks."),
        click.option("--trusted-proxies", default=0, show_default=True, type=int,
                     help="Reverse proxies in front that set X-Forwarded-For."),
    ]):
        f = option(f)
    return f


@click.group()
def web() -> None:
    """The trace viewer (the page the donor's QR opens)."""


@web.command()
@_options
@click.option("--threads", default=4, show_default=True, type=int)
@click.option("--listen/--no-listen", default=True, show_default=True,
              help="Keep the event index current from the ledger while serving.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, run_dir: Path | None, intake: str,
          database_url: str | None, reader: str, trusted_proxies: int, threads: int,
          listen: bool) -> None:
    """Serve in the foreground with waitress."""
    import waitress

    from . import create_app
    from .live import start_listener

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = _config(_run_dir(ctx, run_dir), intake, database_url, reader, trusted_proxies)
    if not (config.profiles_dir and config.profiles_dir.is_dir()):
        listen = False
    app = create_app(config)
    stop = start_listener(config, app.extensions["traza_db"]) if listen else None
    click.echo(f"serving on http://{host}:{port}/" + (" (index listener on)" if stop else ""))
    try:
        waitress.serve(app, host=host, port=port, threads=threads, ident="traza")
    finally:
        if stop is not None:
            stop.set()


@web.command()
@_options
@click.pass_context
def start(ctx: click.Context, host: str, port: int, run_dir: Path | None, intake: str,
          database_url: str | None, reader: str, trusted_proxies: int) -> None:
    """Serve in the background (pid file and log under the run folder)."""
    run = _run_dir(ctx, run_dir).resolve()
    home = private_dir(run / "web")
    pidfile = home / "web.pid"
    if (pid := _pid(pidfile)) is not None:
        click.echo(f"web viewer already running (pid {pid})")
        return
    args = [sys.executable, "-m", "web", "serve", "--host", host, "--port", str(port),
            "--run-dir", str(run), "--intake", intake, "--reader", reader,
            "--trusted-proxies", str(trusted_proxies)]
    env = dict(os.environ)
    if database_url:  # through the environment: a URL may hold a password
        env["TRAZA_WEB_DATABASE_URL"] = database_url
    with open(home / "web.log", "ab") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, env=env,
                                cwd=Path(__file__).resolve().parents[1])
    pidfile.write_text(f"{proc.pid}\n")
    time.sleep(0.5)
    if proc.poll() is not None:
        raise click.ClickException(f"the web viewer exited; see {home / 'web.log'}")
    click.echo(f"web viewer on http://{host}:{port}/ (pid {proc.pid}, log {home / 'web.log'})")


@web.command()
@click.option("--run-dir", type=click.Path(path_type=Path), default=None)
@click.pass_context
def stop(ctx: click.Context, run_dir: Path | None) -> None:
    """Stop the background viewer."""
    pidfile = _run_dir(ctx, run_dir) / "web" / "web.pid"
    pid = _pid(pidfile)
    if pid is None:
        click.echo("web viewer not running")
        pidfile.unlink(missing_ok=True)
        return
    os.kill(pid, signal.SIGTERM)
    for _ in range(50):
        if _pid(pidfile) is None:
            break
        time.sleep(0.1)
    pidfile.unlink(missing_ok=True)
    click.echo(f"web viewer stopped (pid {pid})")
