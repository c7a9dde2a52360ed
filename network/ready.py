"""Readiness: a transaction must commit through every org's gateway, not just ports open.

Right after peers join, gossip needs ~30 s before each gateway knows the other orgs'
peers, and endorsements for a MAJORITY policy fail until then: so we retry, not sleep.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from client.gateway import Commit, GatewayError, Status
from client.profile import Profile

from .process import NetworkError
from .topology import Topology


def heartbeat(profile: Profile) -> tuple[Commit, Status]:
    """Submit a Heartbeat as ``profile`` and wait for its commit (raises if invalid)."""
    with profile.contract() as contract:
        commit = contract.submit_async("Heartbeat", arguments=[f"hb-{uuid.uuid4().hex[:16]}"])
        status = commit.status()
        status.raise_for_status()
        return commit, status


def wait_ready(
    topo: Topology, timeout: float = 180, say: Callable[[str], None] = lambda _: None
) -> dict[str, int]:
    """Wait until a Heartbeat commits through each org's gateway; return block per org."""
    deadline = time.monotonic() + timeout
    blocks: dict[str, int] = {}
    last, said_at = "", 0.0
    for org in topo.orgs:
        while True:
            try:
                _, status = heartbeat(Profile.local(org.key))
                blocks[org.msp] = status.block_number
                say(f"{org.msp}: committed in block {blocks[org.msp]}")
                break
            except GatewayError as e:
                last = str(e)
                if time.monotonic() - said_at > 10:  # progress, not a line per retry
                    said_at = time.monotonic()
                    say(f"{org.msp}: not yet: {last.splitlines()[-1][:200]}")
            if time.monotonic() > deadline:
                raise NetworkError(
                    f"no transaction committed through {org.msp}'s gateway "
                    f"in {timeout:.0f} s; last error: {last}"
                )
            time.sleep(2)
    return blocks
