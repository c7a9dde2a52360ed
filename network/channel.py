"""The `donations` channel: genesis block, orderers joined by osnadmin, peers joined."""

from __future__ import annotations

import json
from pathlib import Path

from . import binaries, templates
from .ca import tls_ca, user_dir
from .nodes import admin_env
from .process import NetworkError, run, wait_for
from .topology import Orderer, Peer, Topology


def block_path(topo: Topology) -> Path:
    return topo.run / "channel" / f"{topo.channel}.block"


def genesis_block(topo: Topology) -> Path:
    """Write the channel's genesis block (once) from the rendered configtx.yaml."""
    block = block_path(topo)
    if block.exists():
        return block
    folder = block.parent
    templates.render_file("configtx.yaml.j2", folder / "configtx.yaml", topo=topo, run=topo.run)
    run(
        [
            binaries.path("configtxgen"),
            "-profile",
            "TrazaChannel",
            "-outputBlock",
            str(block),
            "-channelID",
            topo.channel,
        ],
        env={"FABRIC_CFG_PATH": str(folder)},
        what="configtxgen (genesis block)",
    )
    return block


def _osnadmin(topo: Topology, orderer: Orderer, *args: str) -> str:
    admin = user_dir(topo, orderer.org, "admin") / "tls"
    return run(
        [
            binaries.path("osnadmin"),
            "channel",
            *args,
            "-o",
            f"{orderer.host}:{orderer.admin_port}",
            "--ca-file",
            str(tls_ca(topo, orderer.org)),
            "--client-cert",
            str(admin / "server.crt"),
            "--client-key",
            str(admin / "server.key"),
        ],
        what=f"osnadmin channel {args[0]} on {orderer.name}",
    )


def join_orderer(topo: Topology, orderer: Orderer) -> None:
    """Join an orderer to the channel through the channel participation API (mutual TLS)."""
    listed = _osnadmin(topo, orderer, "list")
    body = listed[listed.find("{") :] if "{" in listed else "{}"
    channels = json.loads(body).get("channels") or []
    if any(c.get("name") == topo.channel for c in channels):
        return
    _osnadmin(
        topo, orderer, "join", "--channelID", topo.channel, "--config-block", str(block_path(topo))
    )


def join_peer(topo: Topology, peer: Peer) -> None:
    env = admin_env(topo, peer)
    listed = run(
        [binaries.path("peer"), "channel", "list"], env=env, what=f"list channels of {peer.node_id}"
    )
    if topo.channel in listed.split():
        return

    # The orderers need a moment to elect a Raft leader before peers can pull blocks.
    def joined() -> bool:
        try:
            run(
                [binaries.path("peer"), "channel", "join", "-b", str(block_path(topo))],
                env=env,
                what=f"join {peer.node_id} to {topo.channel}",
            )
            return True
        except NetworkError as e:
            if "already exists" in str(e):
                return True
            raise

    wait_for(f"{peer.node_id} to join {topo.channel}", joined, 30)


def height(topo: Topology, peer: Peer) -> int:
    """The channel's block height as seen by ``peer``."""
    out = run(
        [binaries.path("peer"), "channel", "getinfo", "-c", topo.channel],
        env=admin_env(topo, peer),
        what=f"channel info on {peer.node_id}",
    )
    info = json.loads(out[out.find("{") :])
    return int(info["height"])

