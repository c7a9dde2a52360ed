"""Fabric CAs: one per org; every identity is registered and enrolled from them (no cryptogen).

Each org's CA issues both its signing certificates (with ``traza.role`` attributes for
users) and its TLS certificates (``tls`` enrollment profile).
"""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path

from anonymizer.files import write_secret

from . import binaries, templates
from .process import NetworkError, Node, port_open, run, start, wait_for
from .topology import Org, Topology


def ca_home(topo: Topology, org: Org) -> Path:
    return topo.run / "ca" / org.key


def ca_cert(topo: Topology, org: Org) -> Path:
    return ca_home(topo, org) / "ca-cert.pem"


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


def ca_node(topo: Topology, org: Org) -> Node:
    home = ca_home(topo, org)
    env = templates.render_env("ca.env.j2", org=org, home=home, domain=topo.domain)
    # The bootstrap identity (``-b user:pass``) by environment: never a secret on a
    # command line, where any local user can read it. Only the first start, which writes
    # the server's config and registry, needs it.
    if not (home / "fabric-ca-server-config.yaml").exists():
        env["FABRIC_CA_SERVER_BOOT"] = f"registrar:{_secret(topo, org, 'registrar')}"
    argv = [binaries.path("fabric-ca-server"), "start"]
    return Node(name=org.ca.name, argv=argv, env=env, home=home, port=org.ca.port)


def start_ca(topo: Topology, org: Org) -> None:
    node = ca_node(topo, org)
    start(node, org.ca.host)
    wait_for(
        f"{org.ca.name} on port {org.ca.port}",
        lambda: port_open(org.ca.host, org.ca.port) and ca_cert(topo, org).exists(),
        30,
        node,
    )


def _client(
    topo: Topology, org: Org, *args: str, home: Path, what: str, secret_env: dict[str, str]
) -> str:
    """Run fabric-ca-client against ``org``'s CA; ``secret_env`` goes by environment only.

    fabric-ca-client reads each flag from ``FABRIC_CA_CLIENT_<FLAG>`` too (``-u`` is
    ``FABRIC_CA_CLIENT_URL``, ``--id.secret`` ``FABRIC_CA_CLIENT_ID_SECRET``).
    """
    argv = [
        binaries.path("fabric-ca-client"),
        *args,
        "--caname",
        org.ca.name,
        "--tls.certfiles",
        str(ca_cert(topo, org)),
        "--home",
        str(home),
    ]
    return run(argv, env=secret_env, what=what)


def _enroll_url(topo: Topology, org: Org, name: str) -> str:
    return f"https://{name}:{_secret(topo, org, name)}@{org.ca.host}:{org.ca.port}"


def _registrar_home(topo: Topology, org: Org) -> Path:
    home = ca_home(topo, org) / "registrar"
    if not (home / "msp" / "signcerts").exists():
        _client(topo, org, "enroll", home=home, what=f"enroll {org.ca.name} registrar",
                secret_env={"FABRIC_CA_CLIENT_URL": _enroll_url(topo, org, "registrar")})
    return home


def register(topo: Topology, org: Org, name: str, id_type: str, attrs: str = "") -> str:
    """Register an identity once; return its enrollment secret."""
    secret = _secret(topo, org, name)
    marker = ca_home(topo, org) / "registered" / name
    if marker.exists():
        return secret
    args = [
        "register",
        "--id.name",
        name,
        "--id.type",
        id_type,
        "-u",
        org.ca.url,
    ]
    if attrs:
        args += ["--id.attrs", attrs]
    try:
        _client(topo, org, *args, home=_registrar_home(topo, org),
                what=f"register {name} at {org.ca.name}",
                secret_env={"FABRIC_CA_CLIENT_ID_SECRET": secret})
    except NetworkError as e:
        if "already registered" not in str(e):
            raise
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    return secret


def _single(folder: Path) -> Path:
    files = sorted(folder.iterdir())
    if len(files) != 1:
        raise NetworkError(f"expected one file in {folder}, found {len(files)}")
    return files[0]


def enroll(
    topo: Topology, org: Org, name: str, out: Path, *, hosts: list[str], tls_only: bool = False
) -> None:
    """Enroll ``name`` into ``out/msp`` (signing) and ``out/tls`` (TLS) unless done already.

    TLS files are laid out as ``server.crt``/``server.key``/``ca.crt`` so every node and
    client finds them under the same names.
    """
    url = {"FABRIC_CA_CLIENT_URL": _enroll_url(topo, org, name)}
    csr_hosts = ",".join(hosts)
    if not tls_only and not (out / "msp" / "signcerts").exists():
        msp = out / "msp"
        _client(
            topo,
            org,
            "enroll",
            "-M",
            str(msp),
            "--csr.hosts",
            csr_hosts,
            home=out,
            what=f"enroll {name}@{org.msp}",
            secret_env=url,
        )
        cacert = _single(msp / "cacerts")
        cacert.rename(msp / "cacerts" / "ca.pem")
        templates.render_file("msp-config.yaml.j2", msp / "config.yaml")
    if not (out / "tls" / "server.crt").exists():
        raw = out / "tls-enroll"
        _client(
            topo,
            org,
            "enroll",
            "-M",
            str(raw),
            "--enrollment.profile",
            "tls",
            "--csr.hosts",
            csr_hosts,
            home=out,
            what=f"enroll TLS of {name}@{org.msp}",
            secret_env=url,
        )
        tls = out / "tls"
        tls.mkdir(parents=True, exist_ok=True)
        shutil.copy(_single(raw / "signcerts"), tls / "server.crt")
        shutil.copy(_single(raw / "keystore"), tls / "server.key")
        shutil.copy(_single(raw / "tlscacerts"), tls / "ca.crt")
        shutil.rmtree(raw)
    (out / "fabric-ca-client-config.yaml").unlink(missing_ok=True)


def write_org_msp(topo: Topology, org: Org) -> None:
    """The org's MSP definition for the channel config: CA, TLS CA, node OUs."""
    msp = org_dir(topo, org) / "msp"
    for sub in ("cacerts", "tlscacerts"):
        (msp / sub).mkdir(parents=True, exist_ok=True)
        shutil.copy(ca_cert(topo, org), msp / sub / "ca.pem")
    templates.render_file("msp-config.yaml.j2", msp / "config.yaml")


def bootstrap_org(topo: Topology, org: Org) -> None:
    """Register and enroll every identity of ``org``: nodes, admin, users, chaincode server."""
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
        attrs = f"traza.role={u.role}:ecert" if u.role else ""
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
