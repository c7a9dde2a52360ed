"""Peers, orderers and the shared config folder they read (Fabric's stock YAML files)."""

from __future__ import annotations

from pathlib import Path

import yaml

from . import binaries, templates
from .ca import node_dir, tls_ca, user_dir
from .process import Node
from .topology import Orderer, Peer, Topology

BUILDER_DIR = Path(__file__).resolve().parent / "builders" / "ccaas"


def config_dir(topo: Topology) -> Path:
    """Fabric's stock core.yaml/orderer.yaml, copied once; nodes override them by env."""
    out = topo.run / "config"
    if not (out / "core.yaml").exists():
        src = binaries.bin_dirs()["config"]
        out.mkdir(parents=True, exist_ok=True)
        core = yaml.safe_load((src / "core.yaml").read_text())
        # No Docker here: an empty endpoint keeps the peer from registering a Docker
        # health check (an empty env var would be ignored by viper, hence the edit).
        core["vm"]["endpoint"] = ""
        (out / "core.yaml").write_text(yaml.safe_dump(core, sort_keys=False))
        (out / "orderer.yaml").write_text((src / "orderer.yaml").read_text())
    return out


def client_roots(topo: Topology) -> list[str]:
    """Every org's TLS CA: whose certificates a peer or orderer accepts from its clients."""
    return [str(tls_ca(topo, o)) for o in topo.all_orgs]


def peer_node(topo: Topology, peer: Peer) -> Node:
    home = node_dir(topo, peer.node_id)
    env = templates.render_env(
        "peer.env.j2",
        peer=peer,
        node_dir=home,
        config_dir=config_dir(topo),
        builder_dir=BUILDER_DIR,
        tls_ca=tls_ca(topo, peer.org),
        client_roots=client_roots(topo),
    )
    return Node(
        name=peer.node_id,
        argv=[binaries.path("peer"), "node", "start"],
        env=env,
        home=home,
        port=peer.port,
    )


def orderer_node(topo: Topology, orderer: Orderer) -> Node:
    home = node_dir(topo, orderer.node_id)
    env = templates.render_env(
        "orderer.env.j2",
        orderer=orderer,
        node_dir=home,
        config_dir=config_dir(topo),
        client_roots=client_roots(topo),
    )
    return Node(
        name=orderer.node_id, argv=[binaries.path("orderer")], env=env, home=home, port=orderer.port
    )


def admin_env(topo: Topology, peer: Peer) -> dict[str, str]:
    """Environment for the ``peer`` CLI acting as the org admin against ``peer``.

    The admin's TLS pair authenticates the CLI to every peer and orderer (mutual TLS).
    """
    tls = user_dir(topo, peer.org, "admin") / "tls"
    return {
        "FABRIC_CFG_PATH": str(config_dir(topo)),
        "CORE_PEER_LOCALMSPID": peer.org.msp,
        "CORE_PEER_MSPCONFIGPATH": str(user_dir(topo, peer.org, "admin") / "msp"),
        "CORE_PEER_ADDRESS": peer.address,
        "CORE_PEER_TLS_ENABLED": "true",
        "CORE_PEER_TLS_ROOTCERT_FILE": str(tls_ca(topo, peer.org)),
        "CORE_PEER_TLS_CLIENTAUTHREQUIRED": "true",
        "CORE_PEER_TLS_CLIENTCERT_FILE": str(tls / "server.crt"),
        "CORE_PEER_TLS_CLIENTKEY_FILE": str(tls / "server.key"),
        "FABRIC_LOGGING_SPEC": "warning",
    }


def orderer_flags(topo: Topology, orderer: Orderer, peer: Peer) -> list[str]:
    """``peer`` CLI flags to reach an orderer over mutual TLS as ``peer``'s org admin."""
    tls = user_dir(topo, peer.org, "admin") / "tls"
    return [
        "-o",
        orderer.address,
        "--ordererTLSHostnameOverride",
        orderer.fqdn,
        "--tls",
        "--cafile",
        str(tls_ca(topo, orderer.org)),
        "--clientauth",
        "--certfile",
        str(tls / "server.crt"),
        "--keyfile",
        str(tls / "server.key"),
    ]
