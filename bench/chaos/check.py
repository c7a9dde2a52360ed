"""After a chaos run: states, exactly-once commits, the event index, identical chains.

* every donation's state on the ledger is the state its last committed step leads to;
* every committed request id appears exactly once in its donation's history, and the history
  holds nothing else (``duplicated`` counts the extra events);
* the event index (built by a listener during the run) holds every committed step's
  transaction;
* every peer (Deliver through its org's gateway) and every orderer (``peer channel fetch``
  from it) has the same block headers: the hash chain is identical, and each peer's chain
  links (each block's ``previous_hash`` is the hash of the header before it).
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from fabric_protos.common import common_pb2
from sqlalchemy import select

from client.db import Database
from client.db.models import StepIndex
from client.evidence import block_header_hash
from client.profile import Profile
from network import binaries, nodes
from network.process import NetworkError, run
from network.topology import Topology

from .load import STATE_AFTER, Tally


@dataclass
class Findings:
    """What the checks found; empty lists mean all is well."""

    wrong_state: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # committed, not in the history
    duplicated: int = 0
    not_indexed: list[str] = field(default_factory=list)
    chains: dict[str, int] = field(default_factory=dict)  # node -> height compared
    chain_mismatch: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.wrong_state or self.missing or self.duplicated or self.not_indexed
                    or self.chain_mismatch)


def check_donations(tally: Tally, regulator: Profile, db: Database, f: Findings) -> None:
    """States, exactly-once and the index, for every donation the load touched."""
    from client.donations import Donations

    with regulator.contract() as contract:
        d = Donations(contract)
        for did, steps in tally.committed.items():
            history = [h["event"] for h in d.history(did)]
            public = [c for c in steps if c.step != "LinkDonor"]  # LinkDonor writes no record
            seen = Counter(e["requestId"] for e in history)
            f.duplicated += sum(n - 1 for n in seen.values()) + len(
                set(seen) - {c.request_id for c in public})
            f.missing += [f"{did} {c.step} {c.request_id}" for c in public
                          if c.request_id not in seen]
            state = d.get(did)["state"]
            if public and state != STATE_AFTER[public[-1].step]:
                f.wrong_state.append(f"{did} is {state} after {public[-1].step}")
            with db.session() as s:
                indexed = set(s.scalars(select(StepIndex.transaction_id)
                                        .where(StepIndex.donation_id == did)))
            f.not_indexed += [f"{did} {e['step']} {e['txId']}" for e in history
                              if e["txId"] not in indexed]


def _headers(blocks) -> list[tuple[int, bytes, bytes]]:
    return [(b.header.number, b.header.previous_hash, b.header.data_hash) for b in blocks]


def peer_headers(profile: Profile, height: int) -> list[tuple[int, bytes, bytes]]:
    """Block headers 0..height-1 from the profile's gateway peer (Deliver)."""
    with profile.gateway() as gw, gw.get_network(profile.channel).blocks(
            0, height - 1, headers_only=True) as bl:
        return _headers(bl)


def orderer_header(topo: Topology, orderer, number: int,
                   timeout: float = 90) -> tuple[int, bytes, bytes]:
    """Block ``number``'s header as ``orderer`` holds it (``peer channel fetch``).

    A restarted orderer answers SERVICE_UNAVAILABLE until it has caught up: retried.
    """
    admin = topo.orgs[0].peers[0]
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "block.pb"
        while True:
            try:
                run([binaries.path("peer"), "channel", "fetch", str(number), str(out),
                     "-c", topo.channel, *nodes.orderer_flags(topo, orderer, admin)],
                    env=nodes.admin_env(topo, admin),
                    what=f"fetch block {number} from {orderer.name}")
                break
            except NetworkError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        block = common_pb2.Block.FromString(out.read_bytes())
    return _headers([block])[0]


def check_chains(topo: Topology, profiles: dict[str, Profile], height: int, f: Findings) -> None:
    """Identical headers 0..height-1 on every peer; the same last header on every orderer."""
    reference = None
    for org, profile in profiles.items():
        headers = peer_headers(profile, height)
        f.chains[f"peer {org}"] = len(headers)
        for (n, _, _), (m, prev, _) in zip(headers, headers[1:], strict=False):
            if m != n + 1 or prev != block_header_hash(*headers[n]):
                f.chain_mismatch.append(f"peer {org}: block {m} does not link to {n}")
        if reference is None:
            reference = headers
        elif headers != reference:
            f.chain_mismatch.append(f"peer {org} differs from the first peer")
    for o in topo.orderers:
        last = orderer_header(topo, o, height - 1)
        f.chains[o.name] = height
        if reference is not None and last != reference[height - 1]:
            f.chain_mismatch.append(f"{o.name}: block {height - 1} differs from the peers'")
