"""ECDSA signatures the way Fabric checks them: SHA-256 digest, DER encoding, low-S.

Fabric's MSP rejects ECDSA signatures whose S is in the upper half of the curve order
(``bccsp/sw/ecdsa.go``, to rule out signature malleability), so every signature is normalised
with ``s = n - s`` when ``s > n / 2``.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from .identity import read_signcert

__all__ = ["CURVE_ORDERS", "Signer", "to_low_s"]

# Order n of the curves Fabric CA issues keys on (SEC 2, section 2.4.2 and 2.5.1).
CURVE_ORDERS = {
    "secp256r1": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "secp384r1": int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF"
        "581A0DB248B0A77AECEC196ACCC52973",
        16,
    ),
}


def to_low_s(signature: bytes, curve_order: int) -> bytes:
    """Return the DER ECDSA ``signature`` with S moved to the lower half of the curve order.

    Parameters
    ----------
    signature : bytes
        DER-encoded ECDSA signature (r, s).
    curve_order : int
        Order n of the curve the key is on.
    """
    r, s = decode_dss_signature(signature)
    if s > curve_order // 2:
        s = curve_order - s
    return encode_dss_signature(r, s)


class Signer:
    """Signs messages with an EC private key for Fabric (ECDSA over SHA-256, low-S DER).

    Parameters
    ----------
    private_key : cryptography EllipticCurvePrivateKey
        Key on P-256 (what Fabric CA issues by default) or P-384.
    """

    def __init__(self, private_key: ec.EllipticCurvePrivateKey) -> None:
        if not isinstance(private_key, ec.EllipticCurvePrivateKey):
            raise TypeError(f"an EC private key is required, not {type(private_key).__name__}")
        curve = private_key.curve.name
        if curve not in CURVE_ORDERS:
            raise ValueError(f"unsupported curve {curve}; use one of {sorted(CURVE_ORDERS)}")
        self._key = private_key
        self._order = CURVE_ORDERS[curve]

    @classmethod
    def from_pem(cls, key_pem: bytes, password: bytes | None = None) -> Signer:
        """Return a signer for a PEM private key (PKCS#8 or SEC 1, as Fabric CA writes)."""
        key = serialization.load_pem_private_key(key_pem, password=password)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"the PEM key is {type(key).__name__}, an EC private key is needed")
        return cls(key)

    @classmethod
    def from_pem_file(cls, path: str | PathLike[str], password: bytes | None = None) -> Signer:
        """Return a signer for the PEM private key in the file at ``path``."""
        return cls.from_pem(Path(path).read_bytes(), password)

    @classmethod
    def from_msp_dir(cls, path: str | PathLike[str]) -> Signer:
        """Return a signer for the private key in an MSP folder (``keystore/``).

        When ``keystore/`` holds several keys (re-enrolment leaves the old one), the key whose
        public half matches the certificate in ``signcerts/`` is used.

        Raises
        ------
        FileNotFoundError
            If ``keystore/`` is missing or empty.
        ValueError
            If several keys are present and none matches the signing certificate.
        """
        keystore = Path(path) / "keystore"
        files = sorted(p for p in keystore.glob("*") if p.is_file()) if keystore.is_dir() else []
        if not files:
            raise FileNotFoundError(f"no private key in {keystore}")
        signers = [cls.from_pem_file(file) for file in files]
        if len(signers) == 1:
            return signers[0]
        wanted = read_signcert(Path(path)).public_key().public_numbers()
        for signer in signers:
            if signer.public_key().public_numbers() == wanted:
                return signer
        raise ValueError(f"none of the {len(files)} keys in {keystore} matches the signcert")

    def public_key(self) -> ec.EllipticCurvePublicKey:
        """Return the public half of the signing key."""
        return self._key.public_key()

    def matches(self, certificate: x509.Certificate) -> bool:
        """Return whether ``certificate`` carries this signer's public key."""
        cert_key = certificate.public_key()
        return (
            isinstance(cert_key, ec.EllipticCurvePublicKey)
            and cert_key.public_numbers() == self.public_key().public_numbers()
        )

    def sign(self, message: bytes) -> bytes:
        """Return the low-S DER ECDSA signature of SHA-256(``message``)."""
        signature = self._key.sign(message, ec.ECDSA(hashes.SHA256()))
        return to_low_s(signature, self._order)
