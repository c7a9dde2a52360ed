"""The ``traza`` command line: network, de-identification and donation steps.

The composition root: the only module of ``client/`` that imports ``network/``. Client
commands find the network through its connection profiles; by default those that
``traza network up`` writes in its run folder (``TRAZA_NETWORK_RUN``, else network/run).
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from network.cli import network
from network.topology import DEFAULT_RUN

from .demo import demo


def _local_profiles() -> str:
    """The profiles folder of the local network, read at the command line's edge."""
    return str(Path(os.environ.get("TRAZA_NETWORK_RUN") or DEFAULT_RUN) / "profiles")


@click.group(
    context_settings={
        "auto_envvar_prefix": "TRAZA",
        "help_option_names": ["-h", "--help"],
        "default_map": {"demo": {"profiles_dir": _local_profiles}},
    }
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


if __name__ == "__main__":
    main()
