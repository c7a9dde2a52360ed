"""The ``traza`` command line: network, de-identification and donation steps.

The composition root: the only module of ``client/`` that imports ``network/``. Client
commands find the network through the files ``traza network up`` writes in its run folder
(connection profiles, MinIO credentials) and its layout (the local mail server); the run
folder and layout are read here, at the edge (``TRAZA_NETWORK_RUN``, ``TRAZA_TOPOLOGY``).
"""

from __future__ import annotations

import os

import click

from network.cli import network
from network.staff import enroll_person
from network.topology import load
from web.cli import web

from .commands_index import index
from .demo import demo
from .donation_cli import donation, keys, verify, worker
from .intake_cli import intake
from .mail import MailSettings
from .verify_bundle import verify_bundle_command

SENDER = "no-responder@traza.local"


def _local(ctx: click.Context) -> None:
    """Fill ``ctx.obj`` with the local network's run folder and mail server."""
    topo = load(os.environ.get("TRAZA_TOPOLOGY") or None,
                os.environ.get("TRAZA_NETWORK_RUN") or None)
    obj = ctx.ensure_object(dict)
    obj.setdefault("run_dir", topo.run)
    obj.setdefault("viewer_url", os.environ.get("TRAZA_VIEWER_URL", "http://127.0.0.1:8080"))
    obj.setdefault("enroll_staff", lambda org, user, role: enroll_person(topo, org, user, role))
    if topo.mail and os.environ.get("TRAZA_MAIL", "on") != "off":
        obj.setdefault("mail", MailSettings(topo.mail.host, topo.mail.port, SENDER))
        obj.setdefault("mail_dir", topo.run / "mail")


@click.group(
    context_settings={"auto_envvar_prefix": "TRAZA", "help_option_names": ["-h", "--help"]}
)
@click.version_option(package_name="traza")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Traza: traceable donation of clinical data on a Hyperledger Fabric ledger."""
    if ctx.invoked_subcommand not in ("network", "deid"):
        _local(ctx)


verify.add_command(verify_bundle_command)  # traza verify bundle FILE (offline)
for command in (network, demo, donation, intake, verify, keys, worker, index, web):
    cli.add_command(command)
try:
    from anonymizer.cli import deid
except ImportError:  # the anonymizer's CLI is optional for ledger-only installs
    deid = None
if deid is not None:
    cli.add_command(deid)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
