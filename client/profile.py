"""Where and as whom to connect: a peer's gateway, an MSP identity, the channel and contract.

A connection profile is a small JSON file, one per org and user, as fabric-samples'
``connection-org1.json``; ``traza network up`` writes them to
``network/run/profiles/<org>/<user>.json``::

    {
      "version": 1,
      "msp": {"id": "HospitalMSP", "dir": "<run>/orgs/hospital/users/operator1/msp"},
      "gateway": {"address": "127.0.0.1:9051",
                  "server_name": "peer0.hospital.traza.local",
                  "tls_ca": "<run>/orgs/hospital/msp/tlscacerts/ca.pem",
                  "client_cert": "<run>/orgs/hospital/users/operator1/tls/server.crt",
                  "client_key": "<run>/orgs/hospital/users/operator1/tls/server.key"},
      "channel": "donations",
      "chaincode": "traza",
      "minio": {"endpoint": "127.0.0.1:9000", "secure": true,
                "ca_file": "<run>/orgs/orderer/msp/tlscacerts/ca.pem",
                "credentials": "<run>/minio/hospital.json"}
    }

``client_cert``/``client_key`` are the identity's TLS pair from its org's TLS CA, which the
peers require (mutual TLS); the key file must be 0600. Relative paths are read from the
profile's folder; ``minio``, ``client_cert``/``client_key`` and ``ca_file`` are optional.
Any other network is reached with a hand-written profile or environment variables
(:meth:`Profile.from_env`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from os import PathLike
from pathlib import Path
from typing import Any

from anonymizer.files import atomic_write, read_secret

from .gateway import Contract, Gateway, Identity, Signer, connect

FORMAT_VERSION = 1


@dataclass(frozen=True)
class MinioAccess:
    """Where an org's object store answers and the file with its service-account keys."""

    endpoint: str
    credentials: Path
    secure: bool = False
    ca_file: Path | None = None  # the CA of MinIO's TLS certificate (else the system's)


@dataclass(frozen=True)
class Profile:
    """A connection profile: one identity talking to one peer's gateway.

    ``tls_cert``/``tls_key`` are the client's TLS certificate and key (mutual TLS).
    """

    msp_id: str
    msp_dir: Path
    peer: str
    tls_ca: Path
    server_name: str
    channel: str = "donations"
    chaincode: str = "traza"
    minio: MinioAccess | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None

    # -- the file format -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The profile as the JSON document :meth:`from_dict` reads."""
        doc: dict[str, Any] = {
            "version": FORMAT_VERSION,
            "msp": {"id": self.msp_id, "dir": str(self.msp_dir)},
            "gateway": {
                "address": self.peer,
                "server_name": self.server_name,
                "tls_ca": str(self.tls_ca),
            },
            "channel": self.channel,
            "chaincode": self.chaincode,
        }
        if self.tls_cert is not None and self.tls_key is not None:
            doc["gateway"]["client_cert"] = str(self.tls_cert)
            doc["gateway"]["client_key"] = str(self.tls_key)
        if self.minio is not None:
            doc["minio"] = {
                "endpoint": self.minio.endpoint,
                "secure": self.minio.secure,
                "credentials": str(self.minio.credentials),
            }
            if self.minio.ca_file is not None:
                doc["minio"]["ca_file"] = str(self.minio.ca_file)
        return doc

    def save(self, path: str | PathLike[str]) -> Path:
        """Write the profile to ``path`` atomically (it holds paths, no secrets)."""
        return atomic_write(path, json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], folder: Path | None = None) -> Profile:
        """Build a profile from its JSON document; relative paths are taken from ``folder``.

        Raises
        ------
        ValueError
            If the version is unknown or a required field is missing.
        """
        if not isinstance(doc, Mapping):
            raise ValueError(f"a connection profile is a JSON object, not {type(doc).__name__}")
        if doc.get("version", FORMAT_VERSION) != FORMAT_VERSION:
            raise ValueError(f"profile version {doc.get('version')!r} is not {FORMAT_VERSION}")

        def path(value: str) -> Path:
            p = Path(value)
            return p if p.is_absolute() or folder is None else folder / p

        def optional(value: str | None) -> Path | None:
            return path(value) if value else None

        try:
            msp, gw = doc["msp"], doc["gateway"]
            minio = doc.get("minio")
            if bool(gw.get("client_cert")) != bool(gw.get("client_key")):
                raise ValueError("gateway client_cert and client_key go together (mutual TLS)")
            return cls(
                msp_id=msp["id"],
                msp_dir=path(msp["dir"]),
                peer=gw["address"],
                tls_ca=path(gw["tls_ca"]),
                server_name=gw.get("server_name", ""),
                channel=doc.get("channel", "donations"),
                chaincode=doc.get("chaincode", "traza"),
                minio=MinioAccess(
                    endpoint=minio["endpoint"],
                    credentials=path(minio["credentials"]),
                    secure=bool(minio.get("secure", False)),
                    ca_file=optional(minio.get("ca_file")),
                )
                if minio
                else None,
                tls_cert=optional(gw.get("client_cert")),
                tls_key=optional(gw.get("client_key")),
            )
        except (KeyError, TypeError) as e:
            raise ValueError(f"connection profile lacks {e}") from None

    @classmethod
    def from_file(cls, path: str | PathLike[str]) -> Profile:
        """Read a connection profile file (see the module docstring for its shape)."""
        path = Path(path)
        try:
            doc = json.loads(path.read_text())
        except OSError as e:
            raise ValueError(f"cannot read connection profile {path}: {e.strerror}") from None
        except json.JSONDecodeError as e:
            raise ValueError(f"connection profile {path} is not JSON: {e}") from None
        try:
            return cls.from_dict(doc, folder=path.parent)
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None

    @classmethod
    def from_dir(
        cls, profiles_dir: str | PathLike[str], org: str, user: str = "service1"
    ) -> Profile:
        """The profile of ``user`` of ``org`` in a folder laid out ``<org>/<user>.json``.

        ``org`` is the org's short name in any case (``hospital``, ``Hospital``) or its MSP id.
        """
        folder = Path(profiles_dir)
        key = org.lower()
        candidates = [key] + ([key.removesuffix("msp")] if key.endswith("msp") else [])
        for name in candidates:
            path = folder / name / f"{user}.json"
            if path.is_file():
                return cls.from_file(path)
        raise ValueError(f"no profile for {user} of {org} in {folder}: is the network up?")

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, base: Profile | None = None
    ) -> Profile:
        """A profile from environment variables, over ``base`` or ``TRAZA_PROFILE``'s file.

        ``TRAZA_PROFILE`` names a profile file to start from; ``TRAZA_MSP_ID``,
        ``TRAZA_MSP_DIR``, ``TRAZA_PEER``, ``TRAZA_TLS_CA``, ``TRAZA_PEER_NAME`` (TLS server
        name), ``TRAZA_TLS_CERT``, ``TRAZA_TLS_KEY`` (the client's TLS pair),
        ``TRAZA_CHANNEL``, ``TRAZA_CHAINCODE`` override its fields. Without a base the first
        four are required.
        """
        env = os.environ if environ is None else environ
        if base is None and env.get("TRAZA_PROFILE"):
            base = cls.from_file(env["TRAZA_PROFILE"])
        if base is None:
            missing = [
                k
                for k in ("TRAZA_MSP_ID", "TRAZA_MSP_DIR", "TRAZA_PEER", "TRAZA_TLS_CA")
                if not env.get(k)
            ]
            if missing:
                raise ValueError(f"set {', '.join(missing)} (or TRAZA_PROFILE=<profile file>)")
            base = cls(
                msp_id=env["TRAZA_MSP_ID"],
                msp_dir=Path(env["TRAZA_MSP_DIR"]),
                peer=env["TRAZA_PEER"],
                tls_ca=Path(env["TRAZA_TLS_CA"]),
                server_name="",
            )
        fields = {
            "msp_id": ("TRAZA_MSP_ID", str),
            "msp_dir": ("TRAZA_MSP_DIR", Path),
            "peer": ("TRAZA_PEER", str),
            "tls_ca": ("TRAZA_TLS_CA", Path),
            "server_name": ("TRAZA_PEER_NAME", str),
            "tls_cert": ("TRAZA_TLS_CERT", Path),
            "tls_key": ("TRAZA_TLS_KEY", Path),
            "channel": ("TRAZA_CHANNEL", str),
            "chaincode": ("TRAZA_CHAINCODE", str),
        }
        changes = {f: kind(env[var]) for f, (var, kind) in fields.items() if env.get(var)}
        return replace(base, **changes)

    # -- connecting ------------------------------------------------------------------------

    def client_tls(self) -> tuple[bytes, bytes] | tuple[None, None]:
        """The client's TLS certificate and key (PEM), or ``(None, None)`` without them.

        Raises
        ------
        anonymizer.files.LooseSecretError
            If the key file is readable by group or others.
        """
        if self.tls_cert is None or self.tls_key is None:
            return None, None
        return self.tls_cert.read_bytes(), read_secret(self.tls_key)

    @contextmanager
    def gateway(self) -> Iterator[Gateway]:
        """Open a gateway connection with this profile's identity (mutual TLS if it has a pair)."""
        identity = Identity.from_msp_dir(self.msp_id, self.msp_dir)
        signer = Signer.from_msp_dir(self.msp_dir)
        cert, key = self.client_tls()
        with connect(
            identity,
            signer,
            target=self.peer,
            tls_root_cert=self.tls_ca.read_bytes(),
            server_name=self.server_name or None,
            client_cert=cert,
            client_key=key,
        ) as gw:
            yield gw

    @contextmanager
    def contract(self) -> Iterator[Contract]:
        """Open a gateway and yield this profile's contract."""
        with self.gateway() as gw:
            yield gw.get_network(self.channel).get_contract(self.chaincode)
