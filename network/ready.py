"""Readiness: a transaction must commit through every org's gateway, not just ports open.

Right after peers join, gossip needs a while (up to its reconnect interval after the
first anchor-peer contact) before each gateway knows every other org's peer. MAJORITY
needs only two orgs, but a step that writes or purges an intake org's private collection
also needs that org's peer: so each gateway must endorse with *every* org before the
network is ready. We retry, not sleep.
"""

from __future__ import annotations

import ssl
import time
import urllib.request
import uuid
from collections.abc import Callable, Sequence

from client.gateway import Commit, GatewayError, Status
from client.profile import Profile

from .ca import tls_ca, user_dir
from .process import NetworkError
from .profiles import local
from .topology import Org, Topology


def operations_context(topo: Topology, org: Org) -> ssl.SSLContext:
    """TLS for ``org``'s operations endpoints: its TLS CA, and its admin's pair as the client.

    Peers and orderers serve ``/healthz``, ``/metrics`` and ``/logspec`` only to clients
    of their own org's TLS CA.
    """
    context = ssl.create_default_context(cafile=str(tls_ca(topo, org)))
    tls = user_dir(topo, org, "admin") / "tls"
    context.load_cert_chain(tls / "server.crt", tls / "server.key")
    return context


def operations_get(topo: Topology, org: Org, host: str, port: int, path: str,
                   timeout: float = 3) -> bytes:
    """GET ``path`` (``/healthz``, ``/metrics``) from a node of ``org`` over mutual TLS."""
    url = f"https://{host}:{port}{path}"
    with urllib.request.urlopen(  # noqa: S310 (https, a node of ours)
        url, timeout=timeout, context=operations_context(topo, org)
    ) as r:
        return r.read()


def heartbeat(profile: Profile, endorsing_orgs: Sequence[str] = ()) -> tuple[Commit, Status]:
    """Submit a Heartbeat as ``profile`` and wait for its commit (raises if invalid).

    ``endorsing_orgs`` (MSP ids) makes the gateway ask a peer of each of those orgs.
    """
    with profile.contract() as contract:
        commit = contract.submit_async("Heartbeat", arguments=[f"hb-{uuid.uuid4().hex}"],
                                       endorsing_orgs=endorsing_orgs)
        status = commit.status()
        status.raise_for_status()
        return commit, status


def wait_ready(
    topo: Topology, timeout: float = 180, say: Callable[[str], None] = lambda _: None
) -> dict[str, int]:
    """Wait until each org's gateway on ``topo`` commits a Heartbeat endorsed by every org.

    Each org is reached through its ``service1`` connection profile in ``topo``'s run
    folder (so the profiles ``up`` wrote are proven too). Returns the block per org.
    """
    everyone = [org.msp for org in topo.orgs]
    deadline = time.monotonic() + timeout
    blocks: dict[str, int] = {}
    last, said_at = "", 0.0
    for org in topo.orgs:
        while True:
            try:
                _, status = heartbeat(local(topo, org.key), everyone)
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
