"""``traza index``: fill the event index from chaincode events, or rebuild it from the ledger."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from .db import Database, DatabaseError
from .gateway import GatewayError, Network
from .index import EventIndex
from .profile import Profile
from .settings import Settings


@click.group("index")
@click.option("--database-url", envvar="TRAZA_DATABASE_URL", default=None,
              help="SQLite file or PostgreSQL URL of the off-chain state "
                   "(default: the intake pipeline's database on the local network).")
@click.option("--intake", default="hospital", show_default=True,
              help="Whose pipeline database holds the index (local network).")
@click.option("--org", default="imss", show_default=True,
              help="Org whose peer is read (local network); see --from-env.")
@click.option("--user", default="regulator1", show_default=True,
              help="Identity that reads the channel (any member's reader).")
@click.option("--from-env", is_flag=True,
              help="Connect with TRAZA_MSP_ID, TRAZA_MSP_DIR, TRAZA_PEER... instead.")
@click.pass_context
def index(ctx: click.Context, database_url: str | None, intake: str, org: str, user: str,
          from_env: bool) -> None:
    """The event index the web reads: per donation its state, per step its transaction."""
    run = ctx.ensure_object(dict).get("run_dir")  # the local network's, from the CLI root
    if database_url is None and run is None:
        raise click.UsageError("give --database-url")
    if database_url is None:
        database_url = Settings.for_run_dir(Path(run), intake).database
    ctx.obj.update(url=database_url, org=org, user=user, from_env=from_env,
                   profiles=Path(run) / "profiles" if run else None)


@contextmanager
def _open(ctx: click.Context) -> Iterator[tuple[EventIndex, Network, str]]:
    o = ctx.obj
    try:
        profile = (Profile.from_env() if o["from_env"]
                   else Profile.from_dir(o["profiles"], o["org"], o["user"]))
        db = Database.open(o["url"])
    except (ValueError, DatabaseError) as e:
        raise click.ClickException(str(e)) from e
    try:
        with profile.gateway() as gw:
            yield EventIndex(db), gw.get_network(profile.channel), profile.chaincode
    except (GatewayError, DatabaseError) as e:
        raise click.ClickException(f"{type(e).__name__}: {e}") from e
    finally:
        db.dispose()


@index.command()
@click.pass_context
def rebuild(ctx: click.Context) -> None:
    """Rebuild the index from the ledger alone (every block from 0, read with Deliver)."""
    with _open(ctx) as (idx, network, chaincode):
        report = idx.rebuild(network, chaincode)
    click.echo(f"{report.blocks} blocks, {report.events} events: {report.donations} donations, "
               f"{report.steps} steps indexed")


@index.command()
@click.pass_context
def listen(ctx: click.Context) -> None:
    """Index chaincode events as they are committed, from the checkpoint; Ctrl-C stops."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with _open(ctx) as (idx, network, chaincode):
        click.echo(f"listening from {idx.checkpointer!r}", err=True)
        n = idx.listen(network, chaincode, stop=stop)
    click.echo(f"{n} events applied; {idx.checkpointer!r}")
