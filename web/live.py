"""The live index: while the web serves, a thread follows the ledger's chaincode events.

The viewer reads the SQL event index; without a listener it shows what the last
``traza index rebuild`` saw. :func:`start_listener` runs
:meth:`client.index.EventIndex.listen` (resuming from the index's checkpoint) through the
reader's connection profile until the returned event is set.
"""

from __future__ import annotations

import logging
import threading

from client.db import Database
from client.index import EventIndex

from .config import WebConfig

__all__ = ["start_listener"]

log = logging.getLogger("traza.web")


def start_listener(config: WebConfig, db: Database, *,
                   retry_after: float = 5.0) -> threading.Event | None:
    """Start the index listener thread; returns its stop event (``None`` without profiles)."""
    if config.profiles_dir is None:
        return None
    from client.profile import Profile

    stop = threading.Event()

    def run() -> None:
        index = EventIndex(db)
        while not stop.is_set():
            try:
                profile = Profile.from_dir(config.profiles_dir, config.reader_org,
                                           config.reader_user)
                with profile.gateway() as gw:
                    n = index.listen(gw.get_network(profile.channel),
                                     profile.chaincode or config.chaincode, stop=stop)
                    log.info("index listener stopped after %d events", n)
            except Exception as e:  # a refused identity, a missing profile: retry, never die
                log.warning("index listener: %s; retrying in %.0f s", type(e).__name__,
                            retry_after)
                stop.wait(retry_after)

    threading.Thread(target=run, daemon=True, name="index-listener").start()
    return stop
