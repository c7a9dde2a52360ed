"""Fabric CAs: one server per org holding two CAs, a signing CA and a TLS CA (no cryptogen).

The signing CA (``ca.<org>``) issues enrollment certificates (with ``traza.role``
attributes for users), which sign transactions and make MSP membership; the TLS CA
(``tlsca.<org>``, a second CA of the same server through ``cafiles``) issues only TLS
certificates, which open connections. A stolen TLS key thus signs nothing, and a node's
transport trust (``tls/ca.crt``, the channel's ``tlscacerts``) is not its MSP's.

Identities are registered and enrolled through the CA's REST API
(:mod:`network.ca_client`), so no secret is ever on a command line or in a URL; the
registrar's own secret is only in the server's 0600 config file.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import yaml

from anonymizer.files import atomic_write, private_dir, write_secret
from client.gateway import Signer

from . import binaries, ca_client, templates
from .process import NetworkError, Node, port_open, start, wait_for
from .topology import Org, Topology


def ca_home(topo: Topology, org: Org) -> Path:
    return topo.run / "ca" / org.key


def ca_cert(topo: Topology, org: Org) -> Path:
    """The signing CA's certificate (it also signs the CA server's own TLS certificate)."""
    return ca_home(topo, org) / "ca-cert.pem"


def tls_ca_home(topo: Topology, org: Org) -> Path:
    return ca_home(topo, org) / "tlsca"


def tls_ca_cert(topo: Topology, org: Org) -> Path:
    """The TLS CA's certificate, as the CA server writes it."""
    return tls_ca_home(topo, org) / "ca-cert.pem"


def org_dir(topo: Topology, org: Org) -> Path:
    return topo.run / "orgs" / org.key


def tls_ca(topo: Topology, org: Org) -> Path:
    """The org's TLS CA certificate, as clients and other nodes trust it."""
    return org_dir(topo, org) / "msp" / "tlscacerts" / "ca.pem"


def user_dir(topo: Topology, org: Org, user: str) -> Path:
    return org_dir(topo, org) / "users" / user


def node_dir(topo: Topology, node_id: str) -> Path:
    return topo.run / "nodes" / node_id


def _secret(topo: Topology, org: Org, name: str) -> str:
    """The random secret of one identity, created once and kept (0600) under the run folder."""
    path = ca_home(topo, org) / "secrets.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    if name not in data:
        data[name] = secrets.token_urlsafe(18)
        write_secret(path, json.dumps(data, indent=1))
    return data[name]


def _write_server_config(topo: Topology, org: Org) -> None:
    """Write the CA server's config (0600: it holds the registrar's secret) and the TLS CA's.

    Written by us before the first start, so the bootstrap identity needs neither ``-b`` on
    the command line nor ``FABRIC_CA_SERVER_BOOT`` in the environment (both readable by
    other processes); everything else is the rendered environment's.
    """
    home = ca_home(topo, org)
    config = home / "fabric-ca-server-config.yaml"
    if config.exists():
        return
    tls_cfg = tls_ca_home(topo, org) / "fabric-ca-config.yaml"
    atomic_write(tls_cfg, templates.render("tlsca-config.yaml.j2", org=org, domain=topo.domain))
    doc = yaml.safe_load(templates.render("ca-server-config.yaml.j2", org=org, domain=topo.domain,
                                          tls_config=tls_cfg))
    doc["registry"]["identities"][0]["pass"] = _secret(topo, org, "registrar")
    write_secret(config, yaml.safe_dump(doc, sort_keys=False))


def ca_node(topo: Topology, org: Org) -> Node:
    home = ca_home(topo, org)
    env = templates.render_env("ca.env.j2", org=org, home=home, domain=topo.domain)
    argv = [binaries.path("fabric-ca-server"), "start"]
    return Node(name=org.ca.name, argv=argv, env=env, home=home, port=org.ca.port)


def start_ca(topo: Topology, org: Org) -> None:
    config = ca_home(topo, org) / "fabric-ca-server-config.yaml"
    if config.exists() and not (tls_ca_home(topo, org) / "fabric-ca-config.yaml").exists():
        raise NetworkError(
            f"{topo.run} was made before the TLS CAs (one CA for TLS, one for signing, per "
            f"org): its certificates and channel cannot be upgraded in place; run "
            f"`traza network reset` (with the same --topology/--run) and `up` again"
        )
    private_dir(ca_home(topo, org))  # the CA's keys and registrar secret: 0700 folders
    private_dir(tls_ca_home(topo, org))
    _write_server_config(topo, org)
    node = ca_node(topo, org)
    start(node, org.ca.host)
    wait_for(
        f"{org.ca.name} on port {org.ca.port}",
        lambda: port_open(org.ca.host, org.ca.port)
        and ca_cert(topo, org).exists()
        and tls_ca_cert(topo, org).exists(),
        30,
        node,
    )


def _endpoint(topo: Topology, org: Org, tls: bool) -> ca_client.CAEndpoint:
    return ca_client.CAEndpoint(
        url=org.ca.url, name=org.ca.tls_name if tls else org.ca.name, tls_root=ca_cert(topo, org)
    )


def _registrar(topo: Topology, org: Org, tls: bool) -> tuple[bytes, Signer]:
    """The registrar's certificate and key at the signing or TLS CA (enrolled once)."""
    home = (tls_ca_home(topo, org) if tls else ca_home(topo, org)) / "registrar"
    cert = home / "cert.pem"
    if not cert.exists():
        got = ca_client.enroll(_endpoint(topo, org, tls), "registrar",
                               _secret(topo, org, "registrar"), home / "keystore",
                               hosts=[], profile="tls" if tls else "")
        atomic_write(cert, got.cert_pem)
    return cert.read_bytes(), Signer.from_msp_dir(home)


def register(topo: Topology, org: Org, name: str, id_type: str, attrs: str = "") -> str:
    """Register an identity once at both CAs of ``org``; return its enrollment secret.

    ``attrs`` is ``name=value`` pairs separated by commas (ecert attributes); only the
    signing CA gets them, TLS certificates carry no roles.
    """
    secret = _secret(topo, org, name)
    pairs = dict(a.split("=", 1) for a in attrs.split(",") if a)
    for tls in (False, True):
        marker = ca_home(topo, org) / ("registered-tls" if tls else "registered") / name
        if marker.exists():
            continue
        cert, signer = _registrar(topo, org, tls)
        ca_client.register(_endpoint(topo, org, tls), cert, signer, name, secret, id_type,
                           {} if tls else pairs)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    return secret


def enroll(
    topo: Topology, org: Org, name: str, out: Path, *, hosts: list[str], tls_only: bool = False
) -> None:
    """Enroll ``name`` into ``out/msp`` (signing CA) and ``out/tls`` (TLS CA) unless done.

    TLS files are laid out as ``server.crt``/``server.key``/``ca.crt`` so every node and
    client finds them under the same names (a client uses its pair to authenticate).
    Keys are written 0600 in 0700 folders from their first byte.
    """
    secret = _secret(topo, org, name)
    msp = out / "msp"
    if not tls_only and not (msp / "signcerts" / "cert.pem").exists():
        got = ca_client.enroll(_endpoint(topo, org, False), name, secret, msp / "keystore",
                               hosts=hosts)
        atomic_write(msp / "cacerts" / "ca.pem", ca_cert(topo, org).read_bytes())
        templates.render_file("msp-config.yaml.j2", msp / "config.yaml")
        atomic_write(msp / "signcerts" / "cert.pem", got.cert_pem)  # last: marks it done
    tls = out / "tls"
    if not (tls / "server.crt").exists():
        private_dir(tls)
        got = ca_client.enroll(_endpoint(topo, org, True), name, secret, tls / "keystore",
                               hosts=hosts, profile="tls")
        got.key_path.replace(tls / "server.key")
        (tls / "keystore").rmdir()
        atomic_write(tls / "ca.crt", tls_ca_cert(topo, org).read_bytes())
        atomic_write(tls / "server.crt", got.cert_pem)  # last: marks it done


def write_org_msp(topo: Topology, org: Org) -> None:
    """The org's MSP definition for the channel config: signing CA, TLS CA, node OUs."""
    msp = org_dir(topo, org) / "msp"
    atomic_write(msp / "cacerts" / "ca.pem", ca_cert(topo, org).read_bytes())
    atomic_write(msp / "tlscacerts" / "ca.pem", tls_ca_cert(topo, org).read_bytes())
    templates.render_file("msp-config.yaml.j2", msp / "config.yaml")


def bootstrap_org(topo: Topology, org: Org) -> None:
    """Register and enroll every identity of ``org``: nodes, admin, users, chaincode server."""
    private_dir(org_dir(topo, org).parent)  # keys below: folders 0700 (an older run's too)
    private_dir(org_dir(topo, org))
    write_org_msp(topo, org)
    loopback = ["localhost", "127.0.0.1"]
    for node, id_type in [*((p, "peer") for p in org.peers),
                          *((o, "orderer") for o in org.orderers)]:
        register(topo, org, node.fqdn, id_type)
        enroll(topo, org, node.fqdn, node_dir(topo, node.node_id),
               hosts=[node.fqdn, node.host, *loopback])
    admin = f"admin.{org.domain}"
    register(topo, org, admin, "admin")
    enroll(topo, org, admin, user_dir(topo, org, "admin"), hosts=[admin])
    if org.orderers:
        return
    for u in topo.users:
        attrs = f"traza.role={u.role}" if u.role else ""
        name = f"{u.name}.{org.domain}"
        register(topo, org, name, "client", attrs)
        enroll(topo, org, name, user_dir(topo, org, u.name), hosts=[name])
    if org.chaincode_server:
        cc = f"chaincode.{org.domain}"
        register(topo, org, cc, "client")
        enroll(
            topo,
            org,
            cc,
            node_dir(topo, f"{org.key}-chaincode"),
            hosts=[cc, org.chaincode_server.host, *loopback],
            tls_only=True,
        )
