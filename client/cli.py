"""The ``traza`` command line: network, de-identification and donation steps."""

from __future__ import annotations

import click

from network.cli import network

from .demo import demo


@click.group(
    context_settings={"auto_envvar_prefix": "TRAZA", "help_option_names": ["-h", "--help"]}
)
@click.version_option(package_name="traza")
def cli() -> None:
    """Traza: traceable donation of clinical data on a Hyperledger Fabric ledger."""


cli.add_command(network)
cli.add_command(demo)
try:
    from anonymizer.cli import deid
except ImportError:  # the anonymizer's CLI is optional for ledger-only installs
    deid = None
if deid is not None:
    cli.add_command(deid)


def main() -> None:
    cli()
