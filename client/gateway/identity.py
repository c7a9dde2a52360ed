"""Client identity: an MSP id and an X.509 certificate, serialized as Fabric's creator bytes."""

from __future__ import annotations

from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

from cryptography import x509
from fabric_protos.msp import identities_pb2

__all__ = ["Identity", "read_signcert"]


def read_signcert(msp_dir: Path) -> x509.Certificate:
    """Return the certificate in ``<msp_dir>/signcerts`` (exactly one is expected)."""
    return x509.load_pem_x509_certificate(_signcert_path(msp_dir).read_bytes())


def _signcert_path(msp_dir: Path) -> Path:
    signcerts = msp_dir / "signcerts"
    files = sorted(p for p in signcerts.glob("*.pem") if p.is_file()) if signcerts.is_dir() else []
    if not files:
        raise FileNotFoundError(f"no certificate (*.pem) in {signcerts}")
    if len(files) > 1:
        names = ", ".join(p.name for p in files)
        raise ValueError(f"{signcerts} holds {len(files)} certificates ({names}); keep one")
    return files[0]


@dataclass(frozen=True)
class Identity:
    """Who signs: an MSP id and a PEM X.509 certificate.

    Parameters
    ----------
    msp_id : str
        Member organisation, e.g. ``"UniversityMSP"``.
    certificate : bytes
        PEM certificate issued by that organisation's CA.

    Raises
    ------
    ValueError
        If ``msp_id`` is empty or ``certificate`` is not a PEM X.509 certificate.
    """

    msp_id: str
    certificate: bytes
    _cert: x509.Certificate = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.msp_id:
            raise ValueError("an MSP id is required")
        if isinstance(self.certificate, str):
            object.__setattr__(self, "certificate", self.certificate.encode())
        try:
            cert = x509.load_pem_x509_certificate(self.certificate)
        except ValueError as exc:
            raise ValueError(f"the certificate for {self.msp_id} is not PEM X.509: {exc}") from None
        object.__setattr__(self, "_cert", cert)

    @classmethod
    def from_pem_file(cls, msp_id: str, path: str | PathLike[str]) -> Identity:
        """Return the identity of ``msp_id`` with the PEM certificate in the file at ``path``."""
        return cls(msp_id, Path(path).read_bytes())

    @classmethod
    def from_msp_dir(cls, msp_id: str, path: str | PathLike[str]) -> Identity:
        """Return the identity of ``msp_id`` with the certificate in ``<path>/signcerts/``.

        ``path`` is an MSP folder as written by ``fabric-ca-client enroll``.
        """
        return cls.from_pem_file(msp_id, _signcert_path(Path(path)))

    @property
    def x509(self) -> x509.Certificate:
        """The parsed certificate."""
        return self._cert

    @property
    def creator(self) -> bytes:
        """Serialized ``msp.SerializedIdentity``: the creator field of every signed header."""
        serialized = identities_pb2.SerializedIdentity(mspid=self.msp_id, id_bytes=self.certificate)
        return serialized.SerializeToString()
