"""A staff person's own Fabric identity: registered and enrolled at their org's CA.

``traza web user add`` calls :func:`enroll_person` (through the composition root): the
person is registered as ``<fabric_user>.<org domain>`` with the ``traza.role`` attribute
of their role, enrolled into the web's wallet ``<run>/web/wallet/<org>/<fabric_user>/``
(signing and TLS client keys 0600, folders 0700), and a connection profile for them is written to
``<run>/web/wallet/profiles/<org>/<fabric_user>.json``, where the pipeline's ledger finds
it (:class:`client.ledger.Ledger` ``identity_dirs``).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from anonymizer.files import private_dir

from .ca import enroll, register
from .profiles import profile_of
from .topology import Topology

__all__ = ["FABRIC_ROLES", "enroll_person", "wallet_dir"]

# Web role -> the contract's traza.role (an admin manages accounts and takes no step).
FABRIC_ROLES = {"operator": "operator", "clinician": "clinician", "regulator": "regulator",
                "admin": None}


def wallet_dir(topo: Topology) -> Path:
    return topo.run / "web" / "wallet"


def _tighten(folder: Path) -> None:
    """Every folder 0700 and every file 0600 under ``folder``: the wallet holds keys."""
    for root, dirs, files in os.walk(folder):
        os.chmod(root, 0o700)
        for d in dirs:
            os.chmod(Path(root) / d, 0o700)
        for f in files:
            os.chmod(Path(root) / f, 0o600)


def enroll_person(topo: Topology, org: str, fabric_user: str, role: str) -> tuple[Path, str]:
    """Register and enroll one person; return their profile file and certificate SHA-256.

    Idempotent: an identity enrolled before is kept (its certificate is returned).
    """
    if role not in FABRIC_ROLES:
        raise ValueError(f"unknown web role {role!r}")
    o = topo.org(org)
    if o.orderers:
        raise ValueError(f"{org} is the orderer org: staff belong to a member org")
    name = f"{fabric_user}.{o.domain}"
    fabric_role = FABRIC_ROLES[role]
    register(topo, o, name, "client", f"traza.role={fabric_role}" if fabric_role else "")
    wallet = private_dir(wallet_dir(topo))
    out = wallet / o.key / fabric_user
    private_dir(out)
    enroll(topo, o, name, out, hosts=[name])
    _tighten(wallet / o.key)
    profile = replace(profile_of(topo, o, fabric_user), msp_dir=out / "msp",
                      tls_cert=out / "tls" / "server.crt", tls_key=out / "tls" / "server.key")
    path = profile.save(private_dir(wallet / "profiles" / o.key) / f"{fabric_user}.json")
    cert = (out / "msp" / "signcerts" / "cert.pem").read_bytes()
    der = x509.load_pem_x509_certificate(cert).public_bytes(Encoding.DER)
    return path, hashlib.sha256(der).hexdigest()
