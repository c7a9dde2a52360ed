"""``traza web``: serve the web app with waitress, and manage staff accounts.

``traza web start`` runs ``python -m web serve`` detached, its pid in
``<run>/web/web.pid`` and its output in ``<run>/web/web.log``; ``traza web stop`` ends it.
The app reads and writes the intake org's pipeline database (``<run>/pipeline/<org>/
traza.db``) unless ``--database-url`` names another; its keys (``session.key``,
``accounts.key``) and the staff wallet live in ``<run>/web/`` (0600/0700).

``traza web user add NAME --role R --org O`` reads the password from a prompt (or stdin),
never from the command line; it enrolls the person's own Fabric identity through the
``enroll_staff`` callable the composition root puts in the context (``client/cli.py``), and
writes the TOTP secret and its ``otpauth://`` URI to a 0600 file, never to the terminal.
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

from anonymizer.files import private_dir, write_secret

from .config import WebConfig

__all__ = ["web"]

DEFAULT_RUN = Path("network/run")
SENDER = "no-responder@traza.local"


def _run_dir(ctx: click.Context, run_dir: Path | None) -> Path:
    obj = ctx.find_root().obj or {}
    return Path(run_dir or obj.get("run_dir") or DEFAULT_RUN)


def _mail(ctx: click.Context, mail: str | None):  # -> MailSettings | None
    from client.mail import MailSettings

    if mail:
        host, _, port = mail.rpartition(":")
        if not host or not port.isdigit():
            raise click.BadParameter("use host:port", param_hint="--mail")
        return MailSettings(host, int(port), SENDER)
    return (ctx.find_root().obj or {}).get("mail")


def _config(run: Path, intake: str, database_url: str | None, reader: str,
            trusted_proxies: int = 0, mail=None, viewer_url: str | None = None) -> WebConfig:
    from client.settings import Settings

    org, _, user = reader.partition("/")
    extra = {"viewer_base": viewer_url} if viewer_url else {}
    settings = Settings.for_run_dir(run, intake, mail=mail, database_url=database_url, **extra)
    objects = settings.objects_file if settings.objects_file.exists() else None
    return WebConfig(database_url=settings.database, profiles_dir=run / "profiles",
                     reader_org=org, reader_user=user or "regulator1",
                     trusted_proxies=trusted_proxies, home=run / "web", intake_org=intake,
                     pipeline=settings, objects_file=objects)


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
        click.option("--mail", envvar="TRAZA_WEB_MAIL", default=None,
                     help="SMTP host:port for the donors' sign-in codes (default the "
                          "network's mail server)."),
        click.option("--tls-cert", envvar="TRAZA_WEB_TLS_CERT", default=None,
                     type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="PEM certificate (chain): serve HTTPS instead of HTTP."),
        click.option("--tls-key", envvar="TRAZA_WEB_TLS_KEY", default=None,
                     type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Its private key (PEM, mode 0600)."),
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
          database_url: str | None, reader: str, trusted_proxies: int, mail: str | None,
          threads: int, listen: bool, tls_cert: Path | None, tls_key: Path | None) -> None:
    """Serve in the foreground: waitress, or cheroot over TLS with a certificate."""
    import waitress

    from . import create_app
    from .live import start_listener

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    obj = ctx.find_root().obj or {}
    config = _config(_run_dir(ctx, run_dir), intake, database_url, reader, trusted_proxies,
                     _mail(ctx, mail), obj.get("viewer_url"))
    if not (config.profiles_dir and config.profiles_dir.is_dir()):
        listen = False
    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together")
    app = create_app(config)
    stop = start_listener(config, app.extensions["traza_db"]) if listen else None
    scheme = "https" if tls_cert else "http"
    click.echo(f"serving on {scheme}://{host}:{port}/" + (" (index listener on)" if stop else ""))
    try:
        if tls_cert and tls_key:
            from .tls import tls_server

            server = tls_server(app, host, port, cert=tls_cert, key=tls_key, threads=threads)
            try:
                server.safe_start()
            finally:
                server.stop()
        else:
            waitress.serve(app, host=host, port=port, threads=threads, ident="traza")
    finally:
        if stop is not None:
            stop.set()


@web.command()
@_options
@click.pass_context
def start(ctx: click.Context, host: str, port: int, run_dir: Path | None, intake: str,
          database_url: str | None, reader: str, trusted_proxies: int,
          mail: str | None, tls_cert: Path | None, tls_key: Path | None) -> None:
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
    if (settings := _mail(ctx, mail)) is not None:
        args += ["--mail", f"{settings.host}:{settings.port}"]
    if tls_cert and tls_key:  # paths only: the key stays in its 0600 file
        args += ["--tls-cert", str(tls_cert.resolve()), "--tls-key", str(tls_key.resolve())]
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
    scheme = "https" if tls_cert else "http"
    click.echo(f"web viewer on {scheme}://{host}:{port}/ (pid {proc.pid}, log {home / 'web.log'})")


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


# -- staff accounts ------------------------------------------------------------------------


@web.group()
def user() -> None:
    """Staff accounts: password + TOTP, each bound to the person's own Fabric identity."""


def _accounts(ctx: click.Context, run_dir: Path | None, intake: str, database_url: str | None):
    from client.db import Database

    from .sessions import load_key

    run = _run_dir(ctx, run_dir)
    config = _config(run, intake, database_url, "imss/regulator1")
    return run, Database.open(config.database_url), load_key(run / "web", "accounts.key")


def _account_options(f):
    for option in reversed([
        click.option("--run-dir", type=click.Path(path_type=Path), default=None),
        click.option("--intake", default="hospital", show_default=True,
                     help="The intake org whose database keeps the accounts."),
        click.option("--database-url", envvar="TRAZA_WEB_DATABASE_URL", default=None),
    ]):
        f = option(f)
    return f


@user.command("add")
@click.argument("username")
@click.option("--role", required=True,
              type=click.Choice(["operator", "clinician", "regulator", "admin"]))
@click.option("--org", required=True, type=click.Choice(["university", "hospital", "imss"]))
@_account_options
@click.pass_context
def user_add(ctx: click.Context, username: str, role: str, org: str, run_dir: Path | None,
             intake: str, database_url: str | None) -> None:
    """Add a staff account and enroll the person's own Fabric identity.

    The password is asked for (or read from stdin); the TOTP secret and its otpauth URI
    are written to <run>/web/totp/USERNAME.txt (0600) for the person's authenticator app.
    """
    from . import accounts

    if not accounts.USERNAME.fullmatch(username):
        raise click.BadParameter("3-30 characters a-z 0-9 _ -, a letter first",
                                 param_hint="USERNAME")
    enroll = (ctx.find_root().obj or {}).get("enroll_staff")
    if enroll is None:
        raise click.ClickException("no network to enroll the person's Fabric identity in "
                                   "(run `traza web user add` from the traza command)")
    password = click.prompt("Password", hide_input=True, confirmation_prompt=True,
                            err=True)
    run, db, key = _accounts(ctx, run_dir, intake, database_url)
    try:
        with db.session() as s:  # both refused before any enrolment
            accounts.check_new(s, username, password)
        try:
            _, cert_sha256 = enroll(org, accounts.fabric_user(username), role)
        except (OSError, ValueError, RuntimeError) as e:  # the CA down, no such org...
            raise click.ClickException(f"cannot enroll {accounts.fabric_user(username)} "
                                       f"at {org}'s CA: {e}") from None
        with db.session() as s:
            made = accounts.create(s, key, username, password, role=role, org=org,
                                   certificate_sha256=cert_sha256)
            totp_file = write_secret(run / "web" / "totp" / f"{username}.txt",
                                     f"secret: {made.totp_secret}\n{made.otpauth_uri}\n")
    except accounts.AccountError as e:
        raise click.ClickException(str(e)) from None
    finally:
        db.dispose()
    click.echo(f"account {username} ({role}, {org}) added; Fabric identity "
               f"{accounts.fabric_user(username)}@{org} (certificate {cert_sha256[:16]}...)")
    click.echo(f"TOTP secret for the authenticator app: {totp_file} (0600; hand it over, "
               "then delete it)")


@user.command("list")
@_account_options
@click.pass_context
def user_list(ctx: click.Context, run_dir: Path | None, intake: str,
              database_url: str | None) -> None:
    """List the staff accounts (never a secret)."""
    from sqlalchemy import select

    from client.db.models import StaffAccount, utcnow

    _, db, _ = _accounts(ctx, run_dir, intake, database_url)
    with db.session() as s:
        rows = list(s.scalars(select(StaffAccount).order_by(StaffAccount.username)))
        now = utcnow()
        for a in rows:
            state = "disabled" if a.disabled_at else (
                "locked" if a.locked_until and a.locked_until > now else "active")
            click.echo(f"{a.username}\t{a.role}\t{a.org}\t{a.fabric_user}\t{state}")
    db.dispose()
    if not rows:
        click.echo("no staff accounts")


@user.command("disable")
@click.argument("username")
@click.option("--enable", is_flag=True, help="Enable the account again.")
@_account_options
@click.pass_context
def user_disable(ctx: click.Context, username: str, enable: bool, run_dir: Path | None,
                 intake: str, database_url: str | None) -> None:
    """Disable a staff account (it signs in no more); --enable undoes it."""
    from . import accounts

    _, db, _ = _accounts(ctx, run_dir, intake, database_url)
    try:
        with db.session() as s:
            accounts.set_disabled(s, username, not enable)
    except accounts.AccountError as e:
        raise click.ClickException(str(e)) from None
    finally:
        db.dispose()
    click.echo(f"account {username} {'enabled' if enable else 'disabled'}")
