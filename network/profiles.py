"""Connection profiles of the local network: one file per org and user, as clients read them.

``traza network up`` writes ``<run>/profiles/<org>/<user>.json`` for every user of every
application org (the shape is :class:`client.profile.Profile`'s); clients, the web app and
the tests find the network through these files only, never through this package.
"""

from __future__ import annotations

from pathlib import Path

from client.profile import MinioAccess, Profile

from . import minio
from .ca import tls_ca, user_dir
from .topology import Org, Topology


def profiles_dir(topo: Topology) -> Path:
    """The folder of this network's connection profiles."""
    return topo.run / "profiles"


def profile_path(topo: Topology, org: Org, user: str) -> Path:
    return profiles_dir(topo) / org.key / f"{user}.json"


def profile_of(topo: Topology, org: Org, user: str) -> Profile:
    """The profile of ``user`` of ``org``: its org's first peer, its MSP and TLS pair, MinIO."""
    peer = org.peers[0]
    tls = user_dir(topo, org, user) / "tls"
    return Profile(
        msp_id=org.msp,
        msp_dir=user_dir(topo, org, user) / "msp",
        peer=peer.address,
        tls_ca=tls_ca(topo, org),
        server_name=peer.fqdn,
        channel=topo.channel,
        chaincode=topo.chaincode["name"],
        minio=MinioAccess(
            endpoint=topo.minio.address,
            secure=True,
            credentials=minio.account_file(topo, org),
            ca_file=minio.ca_file(topo),
        ),
        tls_cert=tls / "server.crt",
        tls_key=tls / "server.key",
    )


def write_profiles(topo: Topology) -> list[Path]:
    """Write the profile of every user of every application org; return the files."""
    return [
        profile_of(topo, org, u.name).save(profile_path(topo, org, u.name))
        for org in topo.orgs
        for u in topo.users
    ]


def local(topo: Topology, org: str, user: str = "service1") -> Profile:
    """The profile of ``user`` of ``org`` on the network ``topo`` describes, from its file."""
    return Profile.from_dir(profiles_dir(topo), topo.org(org).key, user)
