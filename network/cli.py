"""``traza network up|down|status|logs|reset|upgrade``: run the consortium on this machine.

The command line is the only place the network's layout file and run folder are read from
the environment (``TRAZA_TOPOLOGY``, ``TRAZA_NETWORK_RUN``); everything below is handed the
loaded :class:`~network.topology.Topology`.
"""

from __future__ import annotations

import sys
import time

import click

from . import chaincode, control, topology
from .process import NetworkError, tail


def _topo(ctx: click.Context) -> topology.Topology:
    obj = ctx.obj or {}
    return topology.load(obj.get("topology"), obj.get("run"))


def _guard(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except NetworkError as e:
        raise click.ClickException(str(e)) from e


@click.group()
@click.option(
    "--topology",
    "topology_file",
    envvar="TRAZA_TOPOLOGY",
    type=click.Path(dir_okay=False),
    help="Layout file (default network/topology.yaml).",
)
@click.option(
    "--run",
    "run_dir",
    envvar="TRAZA_NETWORK_RUN",
    type=click.Path(file_okay=False),
    help="Runtime folder: crypto, ledgers, logs, profiles (default network/run).",
)
@click.pass_context
def network(ctx: click.Context, topology_file: str | None, run_dir: str | None) -> None:
    """Run the Traza Fabric network (CAs, Raft orderers, peers, contract, MinIO) natively."""
    ctx.ensure_object(dict).update(topology=topology_file, run=run_dir)


@network.command()
@click.option("--no-install", is_flag=True, help="Fail instead of installing missing binaries.")
@click.pass_context
def up(ctx: click.Context, no_install: bool) -> None:
    """Start everything and wait until a transaction commits through every org."""
    _guard(control.up, _topo(ctx), install=not no_install)


@network.command()
@click.pass_context
def down(ctx: click.Context) -> None:
    """Stop every process `up` started (and nothing else); keep all state."""
    _guard(control.down, _topo(ctx))


@network.command()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def reset(ctx: click.Context, yes: bool) -> None:
    """Stop everything and wipe ledgers, certificates and objects."""
    if not yes:
        click.confirm("Wipe the whole local network state?", abort=True)
    _guard(control.reset, _topo(ctx))


@network.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """Show each node: running or not, its port and log file."""
    topo = _topo(ctx)
    rows = _guard(control.status, topo)
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        state = f"running pid {r['pid']}" if r["pid"] else "stopped"
        click.echo(f"{r['name']:<{width}}  {state:<18} port {r['port']:<5}  {r['log']}")
    dep = chaincode.deployed(topo)
    if dep:
        click.echo(
            f"contract: version {dep.version}, sequence {dep.sequence}, package {dep.package_id}"
        )
    if not all(r["pid"] for r in rows):
        sys.exit(3)


@network.command()
@click.argument("node")
@click.option("-n", "--lines", default=40, show_default=True, help="How many last lines.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines.")
@click.pass_context
def logs(ctx: click.Context, node: str, lines: int, follow: bool) -> None:
    """Print the log of NODE (e.g. orderer1, university-peer0, ca.hospital, minio)."""
    n = _guard(control.node_by_name, _topo(ctx), node)
    click.echo(tail(n, lines))
    if follow:
        with open(n.logfile, errors="replace") as f:
            f.seek(0, 2)
            while True:
                line = f.readline()
                if line:
                    click.echo(line, nl=False)
                else:
                    time.sleep(0.3)


@network.command()
@click.option("--version", "version", help="New contract version (default: same version).")
@click.pass_context
def upgrade(ctx: click.Context, version: str | None) -> None:
    """Redeploy the contract with the next sequence number (new version optional)."""
    topo = _topo(ctx)
    current = _guard(chaincode.committed, topo)
    if not current:
        raise click.ClickException("the contract is not deployed: run `traza network up` first")
    dep = _guard(
        chaincode.deploy,
        topo,
        version=version or current["version"],
        sequence=current["sequence"] + 1,
    )
    click.echo(
        f"contract {topo.chaincode['name']} {dep.version} committed at sequence "
        f"{dep.sequence} ({dep.package_id})"
    )
