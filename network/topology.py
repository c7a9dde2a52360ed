"""The consortium layout read from ``network/topology.yaml``: orgs, nodes, ports, run folder.

A :class:`Topology` carries the run folder its network lives in (crypto, ledgers, logs,
pids, connection profiles), so every function that is handed a topology knows where to
look; nothing below the command line reads the environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

NETWORK_DIR = Path(__file__).resolve().parent
DEFAULT_TOPOLOGY = NETWORK_DIR / "topology.yaml"
DEFAULT_RUN = NETWORK_DIR / "run"


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class CA:
    org: str
    host: str
    port: int
    operations_port: int

    @property
    def name(self) -> str:
        return f"ca.{self.org.lower()}"

    @property
    def tls_name(self) -> str:
        """The org's TLS CA, a second CA in the same server (it issues TLS certificates only)."""
        return f"tlsca.{self.org.lower()}"

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"


@dataclass(frozen=True)
class _Node:
    """A peer or orderer: where it listens and the name its TLS certificate carries."""

    org: Org
    name: str
    host: str
    port: int

    @property
    def fqdn(self) -> str:
        return f"{self.name}.{self.org.domain}"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Peer(_Node):
    chaincode_port: int
    operations_port: int

    @property
    def node_id(self) -> str:
        return f"{self.org.name.lower()}-{self.name}"


@dataclass(frozen=True)
class Orderer(_Node):
    admin_port: int
    operations_port: int

    @property
    def node_id(self) -> str:
        return self.name


@dataclass(frozen=True, eq=False)
class Org:
    name: str
    msp: str
    domain: str
    ca: CA
    peers: list[Peer] = field(default_factory=list)
    orderers: list[Orderer] = field(default_factory=list)
    chaincode_server: Endpoint | None = None

    @property
    def key(self) -> str:
        """Lower-case short name used in folder names (``university``)."""
        return self.name.lower()


@dataclass(frozen=True)
class User:
    name: str
    role: str | None


@dataclass(frozen=True)
class Topology:
    domain: str
    channel: str
    batch_timeout: str
    chaincode: dict
    orderer_org: Org
    orgs: list[Org]
    users: list[User]
    minio: Endpoint
    minio_console_port: int
    run: Path  # runtime folder of this network (absolute)
    mail: Endpoint | None = None  # the local SMTP server (network/mailserver.py), if any

    @property
    def all_orgs(self) -> list[Org]:
        return [self.orderer_org, *self.orgs]

    @property
    def peers(self) -> list[Peer]:
        return [p for o in self.orgs for p in o.peers]

    @property
    def orderers(self) -> list[Orderer]:
        return self.orderer_org.orderers

    def org(self, name_or_msp: str) -> Org:
        """Return the org named ``University`` / ``university`` / ``UniversityMSP``."""
        for o in self.all_orgs:
            if name_or_msp in (o.name, o.key, o.msp):
                return o
        raise KeyError(f"no org {name_or_msp!r} in the topology")

    def ports(self) -> list[tuple[str, int]]:
        """Every (owner, port) the network listens on, for the port-taken check."""
        out: list[tuple[str, int]] = []
        for o in self.all_orgs:
            out += [(o.ca.name, o.ca.port), (f"{o.ca.name} operations", o.ca.operations_port)]
            for p in o.peers:
                out += [
                    (p.node_id, p.port),
                    (f"{p.node_id} chaincode", p.chaincode_port),
                    (f"{p.node_id} operations", p.operations_port),
                ]
            for n in o.orderers:
                out += [
                    (n.node_id, n.port),
                    (f"{n.node_id} admin", n.admin_port),
                    (f"{n.node_id} operations", n.operations_port),
                ]
            if o.chaincode_server:
                out.append((f"chaincode {o.key}", o.chaincode_server.port))
        out += [("minio", self.minio.port), ("minio console", self.minio_console_port)]
        if self.mail:
            out.append(("mail", self.mail.port))
        return out


def _org(raw: dict, domain: str) -> Org:
    ca = CA(org=raw["name"], **raw["ca"])
    ccs = raw.get("chaincode_server")
    org = Org(
        name=raw["name"],
        msp=raw["msp"],
        domain=f"{raw['name'].lower()}.{domain}",
        ca=ca,
        chaincode_server=Endpoint(**ccs) if ccs else None,
    )
    org.peers.extend(Peer(org=org, **p) for p in raw.get("peers", []))
    org.orderers.extend(Orderer(org=org, **n) for n in raw.get("orderers", []))
    return org


def load(path: Path | str | None = None, run: Path | str | None = None) -> Topology:
    """Read a topology file and bind it to the run folder of its network.

    Parameters
    ----------
    path : path-like, optional
        The layout file (default ``network/topology.yaml``).
    run : path-like, optional
        The network's runtime folder (default ``network/run``).
    """
    path = Path(path or DEFAULT_TOPOLOGY)
    raw = yaml.safe_load(path.read_text())
    domain = raw["domain"]
    return Topology(
        domain=domain,
        channel=raw["channel"],
        batch_timeout=raw["batch_timeout"],
        chaincode=raw["chaincode"],
        orderer_org=_org(raw["orderer_org"], domain),
        orgs=[_org(o, domain) for o in raw["orgs"]],
        users=[User(**u) for u in raw["users"]],
        minio=Endpoint(raw["minio"]["host"], raw["minio"]["port"]),
        minio_console_port=raw["minio"]["console_port"],
        run=Path(run or DEFAULT_RUN).resolve(),
        mail=Endpoint(raw["mail"]["host"], raw["mail"]["port"]) if raw.get("mail") else None,
    )
