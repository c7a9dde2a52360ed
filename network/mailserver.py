"""A local SMTP server that keeps every message it receives as a 0600 ``.eml`` file.

It stands in for the institutions' mail relay in the demo and the tests: ``traza network up``
starts it as the node ``mail`` (messages under ``network/run/mail/``), ``down`` stops it.
Run by hand::

    python -m network.mailserver --dir DIR --host 127.0.0.1 --port 2525 \
        [--tls-cert CERT.pem --tls-key KEY.pem [--implicit-tls]]

With a certificate it offers STARTTLS and refuses mail before it (or, with
``--implicit-tls``, speaks TLS from the first byte, as on port 465). It needs no password:
it accepts every message and delivers none. What it prints names only the files it writes
(a time stamp and random characters), never an address or any content.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import signal
import ssl
import sys
import threading
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from pathlib import Path

from anonymizer.files import private_dir, write_secret

from .process import Node, start, wait_port
from .topology import NETWORK_DIR, Topology

SUFFIX = ".eml"


def message_name(now: datetime | None = None) -> str:
    """A file name for a new message: UTC time to the microsecond, then 8 random hex digits.

    Names sort in the order messages arrived (within a microsecond, at random).
    """
    now = now or datetime.now(UTC)
    return f"{now.strftime('%Y%m%dT%H%M%S.%fZ')}-{secrets.token_hex(4)}{SUFFIX}"


def latest_message(folder: str | Path) -> Path | None:
    """The last message kept in ``folder`` (by arrival), or None if there is none."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    names = sorted(p.name for p in folder.glob(f"*{SUFFIX}") if p.is_file())
    return folder / names[-1] if names else None


def find_message(folder: str | Path, message_id: str) -> Path | None:
    """The kept message whose Message-ID is ``message_id`` (as :func:`client.mail.send`
    returns it), newest first, or None."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    parser = BytesHeaderParser()
    for name in sorted((p.name for p in folder.glob(f"*{SUFFIX}")), reverse=True):
        with open(folder / name, "rb") as f:
            if str(parser.parse(f).get("Message-ID", "")).strip() == message_id.strip():
                return folder / name
    return None


class KeepHandler:
    """aiosmtpd handler: each message's bytes, as received, to ``folder/<name>.eml`` (0600)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd API)
        path = write_secret(self.folder / message_name(), envelope.original_content)
        print(f"kept {path.name}", flush=True)
        return "250 OK message kept"


def _tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


def serve(folder: Path, host: str, port: int, *, tls_cert: Path | None = None,
          tls_key: Path | None = None, implicit_tls: bool = False,
          stop: threading.Event | None = None) -> None:
    """Run the server until ``stop`` is set (or SIGTERM/SIGINT when run as a program)."""
    from aiosmtpd.controller import Controller  # only the server process needs it

    private_dir(folder)  # the messages hold recipients' addresses: owner only
    tls = _tls_context(tls_cert, tls_key) if tls_cert and tls_key else None
    starttls = tls if not implicit_tls else None
    controller = Controller(
        KeepHandler(folder),
        hostname=host,
        port=port,
        ssl_context=tls if implicit_tls else None,
        server_hostname="traza-mail.local",  # not this machine's name
        server_kwargs={"tls_context": starttls, "require_starttls": starttls is not None},
    )
    controller.start()
    mode = " (implicit TLS)" if implicit_tls and tls else " (STARTTLS)" if tls else ""
    print(f"listening on {host}:{port}{mode}", flush=True)
    stop = stop or threading.Event()
    try:
        stop.wait()
    finally:
        controller.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m network.mailserver", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", required=True, type=Path, help="folder for the .eml files")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=2525)
    ap.add_argument("--tls-cert", type=Path, help="PEM certificate: offer STARTTLS")
    ap.add_argument("--tls-key", type=Path, help="PEM key of --tls-cert")
    ap.add_argument("--implicit-tls", action="store_true",
                    help="TLS from the first byte instead of STARTTLS")
    args = ap.parse_args(argv)
    if (args.tls_cert is None) != (args.tls_key is None):
        ap.error("--tls-cert and --tls-key go together")
    if args.implicit_tls and args.tls_cert is None:
        ap.error("--implicit-tls needs --tls-cert and --tls-key")
    # aiosmtpd logs sessions at INFO (envelope addresses among them): errors only.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    serve(args.dir, args.host, args.port, tls_cert=args.tls_cert, tls_key=args.tls_key,
          implicit_tls=args.implicit_tls, stop=stop)
    return 0


# --- the network node -----------------------------------------------------------------


def mail_node(topo: Topology, home: Path) -> Node:
    """The ``mail`` node: this module as a process, messages and log in ``home``."""
    assert topo.mail is not None
    argv = [sys.executable, "-m", "network.mailserver", "--dir", str(home),
            "--host", topo.mail.host, "--port", str(topo.mail.port)]
    # The node runs in its home folder: PYTHONPATH finds this checkout's packages.
    env = {"PYTHONPATH": str(NETWORK_DIR.parent)}
    return Node(name="mail", argv=argv, env=env, home=home, port=topo.mail.port)


def start_mail(topo: Topology, home: Path) -> None:
    """Start the mail node (unless it runs) and wait until it accepts connections."""
    node = mail_node(topo, home)
    private_dir(home)
    start(node, topo.mail.host)
    wait_port(node, topo.mail.host, topo.mail.port, timeout=30)


if __name__ == "__main__":
    sys.exit(main())
