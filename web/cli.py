"""``traza web``: serve the trace viewer with waitress, in the foreground or the background.

``traza web start`` runs ``python -m web serve`` detached, its pid in
``<run>/web/web.pid`` and its output in ``<run>/web/web.log``; ``traza web stop`` ends it.
The index read is the intake org's pipeline database (``<run>/pipeline/<org>/traza.db``)
unless ``--database-url`` names another.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click

from anonymizer.files import private_dir

from .config import WebConfig

__all__ = ["web"]

DEFAULT_RUN = Path("network/run")


def _run_dir(ctx: click.Context, run_dir: Path | None) -> Path:
    obj = ctx.find_root().obj or {}
    return Path(run_dir or obj.get("run_dir") or DEFAULT_RUN)


def _config(run: Path, intake: str, database_url: str | None, reader: str,
            trusted_proxies: int = 0) -> WebConfig:
    from client.settings import Settings

    org, _, user = reader.partition("/")
    url = database_url or Settings.for_run_dir(run, intake).database
    return WebConfig(database_url=url, profiles_dir=run / "profiles", reader_org=org,
                     reader_user=user or "regulator1", trusted_proxies=trusted_proxies)


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
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, run_dir: Path | None, intake: str,
          database_url: str | None, reader: str, trusted_proxies: int, threads: int) -> None:
    """Serve in the foreground with waitress."""
    import waitress

    from . import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = create_app(_config(_run_dir(ctx, run_dir), intake, database_url, reader,
                             trusted_proxies))
    click.echo(f"serving on http://{host}:{port}/")
    waitress.serve(app, host=host, port=port, threads=threads, ident="traza")


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
