"""Where and as whom to connect: a peer's gateway, an MSP identity, the channel and contract."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .gateway import Contract, Gateway, Identity, Signer, connect


@dataclass(frozen=True)
class Profile:
    """A connection profile: one identity talking to one peer's gateway."""

    msp_id: str
    msp_dir: Path
    peer: str
    tls_ca: Path
    server_name: str
    channel: str = "donations"
    chaincode: str = "traza"

    @classmethod
    def from_env(cls) -> Profile:
        """Read ``TRAZA_MSP_ID``, ``TRAZA_MSP_DIR``, ``TRAZA_PEER``, ``TRAZA_TLS_CA``,
        ``TRAZA_PEER_NAME`` (TLS server name), ``TRAZA_CHANNEL``, ``TRAZA_CHAINCODE``."""
        missing = [
            k
            for k in ("TRAZA_MSP_ID", "TRAZA_MSP_DIR", "TRAZA_PEER", "TRAZA_TLS_CA")
            if not os.environ.get(k)
        ]
        if missing:
            raise ValueError(f"set {', '.join(missing)} (or use --org/--user on the local network)")
        return cls(
            msp_id=os.environ["TRAZA_MSP_ID"],
            msp_dir=Path(os.environ["TRAZA_MSP_DIR"]),
            peer=os.environ["TRAZA_PEER"],
            tls_ca=Path(os.environ["TRAZA_TLS_CA"]),
            server_name=os.environ.get("TRAZA_PEER_NAME", ""),
            channel=os.environ.get("TRAZA_CHANNEL", "donations"),
            chaincode=os.environ.get("TRAZA_CHAINCODE", "traza"),
        )

    @classmethod
    def local(cls, org: str, user: str = "service1") -> Profile:
        """The profile of ``user`` of ``org`` on the network run by ``traza network up``."""
        from network import topology
        from network.ca import tls_ca, user_dir

        topo = topology.load()
        o = topo.org(org)
        msp = user_dir(o, user) / "msp"
        if not msp.exists():
            raise ValueError(f"no identity {user!r} of {o.msp} in {msp.parent}: is the network up?")
        peer = o.peers[0]
        return cls(
            msp_id=o.msp,
            msp_dir=msp,
            peer=peer.address,
            tls_ca=tls_ca(o),
            server_name=peer.fqdn,
            channel=topo.channel,
            chaincode=topo.chaincode["name"],
        )

    @contextmanager
    def gateway(self) -> Iterator[Gateway]:
        """Open a gateway connection with this profile's identity."""
        identity = Identity.from_msp_dir(self.msp_id, self.msp_dir)
        signer = Signer.from_msp_dir(self.msp_dir)
        with connect(
            identity,
            signer,
            target=self.peer,
            tls_root_cert=self.tls_ca.read_bytes(),
            server_name=self.server_name or None,
        ) as gw:
            yield gw

    @contextmanager
    def contract(self) -> Iterator[Contract]:
        """Open a gateway and yield this profile's contract."""
        with self.gateway() as gw:
            yield gw.get_network(self.channel).get_contract(self.chaincode)
