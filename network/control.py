"""Bring the whole network up, down, report its status, reset it."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

from anonymizer.files import private_dir

from . import binaries, ca, chaincode, channel, mailserver, minio, minio_accounts, nodes, profiles
from .process import NetworkError, Node, pid_of, port_open, start, stop, wait_port
from .topology import Topology

Progress = Callable[[str], None]


def _say(msg: str) -> None:
    print(f"[network] {msg}", file=sys.stderr, flush=True)


def mail_dir(topo: Topology) -> Path:
    """Where the mail node keeps its messages (``<run>/mail``), log and pid."""
    return topo.run / "mail"


def all_nodes(topo: Topology) -> list[Node]:
    """Every process the network runs, in start order."""
    out = [ca.ca_node(topo, o) for o in topo.all_orgs]
    out += [nodes.orderer_node(topo, o) for o in topo.orderers]
    out += [nodes.peer_node(topo, p) for p in topo.peers]
    out.append(minio.minio_node(topo))
    if topo.mail:
        out.append(mailserver.mail_node(topo, mail_dir(topo)))
    dep = chaincode.deployed(topo)
    if dep:
        out += [chaincode.server_node(topo, o, dep) for o in topo.orgs]
    return out


def check_ports(topo: Topology, items: list[Node]) -> None:
    """Fail before starting anything if a port we need is taken by a process not ours."""
    taken = [
        f"{n.name} (port {n.port})"
        for n in items
        if not pid_of(n) and port_open("127.0.0.1", n.port)
    ]
    if taken:
        raise NetworkError(
            "ports already taken by other processes: "
            + ", ".join(taken)
            + "; stop them or change network/topology.yaml"
        )


def up(topo: Topology, *, install: bool = True, say: Progress = _say) -> chaincode.Deployment:
    """Start every node, create and join the channel, deploy the contract; idempotent.

    Writes a connection profile per org and user (``<run>/profiles/<org>/<user>.json``) and
    returns when a transaction has committed through every org's gateway using them.
    """
    t0 = time.monotonic()
    binaries.ensure_installed(install)
    private_dir(topo.run)  # keys, CA secrets and credentials inside: ours alone
    check_ports(topo, [n for n in all_nodes(topo) if not n.name.startswith("chaincode-")])
    say("certificate authorities")
    for org in topo.all_orgs:
        ca.start_ca(topo, org)
    for org in topo.all_orgs:
        ca.bootstrap_org(topo, org)
    profiles.write_profiles(topo)
    say(f"connection profiles in {profiles.profiles_dir(topo)}")
    say("orderers (Raft) and channel genesis block")
    channel.genesis_block(topo)
    orderers = [(o, nodes.orderer_node(topo, o)) for o in topo.orderers]
    for o, node in orderers:
        start(node, o.host)
    for o, node in orderers:
        wait_port(node, o.host, o.admin_port)
        channel.join_orderer(topo, o)
    say("peers")
    peers = [(p, nodes.peer_node(topo, p)) for p in topo.peers]
    for p, node in peers:
        start(node, p.host)
    for p, node in peers:
        wait_port(node, p.host, p.port)
        channel.join_peer(topo, p)
    say("MinIO")
    minio.start_minio(topo)
    minio_accounts.provision_network(topo)  # buckets, per-org scoped users (root only here)
    if topo.mail:
        say(f"mail server (messages in {mail_dir(topo)})")
        mailserver.start_mail(topo, mail_dir(topo))
    say("contract (CCaaS): build, install, approve, commit")
    dep = chaincode.deploy(topo)
    say("waiting for a transaction to commit through every org's gateway")
    from .ready import wait_ready  # the gateway client is only needed from here on

    wait_ready(topo, timeout=180, say=say)
    say(
        f"up in {time.monotonic() - t0:.0f} s: channel {topo.channel}, contract "
        f"{topo.chaincode['name']} {dep.version} (sequence {dep.sequence})"
    )
    return dep


def down(topo: Topology, say: Progress = _say) -> list[str]:
    """Stop every process this network started (and only those); return their names."""
    stopped = [n.name for n in reversed(all_nodes(topo)) if stop(n)]
    say(f"stopped {len(stopped)} processes" + (f": {', '.join(stopped)}" if stopped else ""))
    return stopped


def reset(topo: Topology, say: Progress = _say) -> None:
    """Stop everything and wipe all network state (crypto, ledgers, objects)."""
    down(topo, say)
    shutil.rmtree(topo.run, ignore_errors=True)
    say(f"removed {topo.run}")


def status(topo: Topology) -> list[dict]:
    """One row per node: name, pid (or None), port, port open."""
    return [
        {
            "name": n.name,
            "pid": pid_of(n),
            "port": n.port,
            "listening": port_open("127.0.0.1", n.port),
            "log": str(n.logfile),
        }
        for n in all_nodes(topo)
    ]


def node_by_name(topo: Topology, name: str) -> Node:
    for n in all_nodes(topo):
        if n.name == name:
            return n
    names = ", ".join(n.name for n in all_nodes(topo))
    raise NetworkError(f"no node {name!r}; nodes are: {names}")
