"""A clinician's findings on a de-identified study, signed with the clinician's Fabric identity.

The findings are a small canonical JSON document; its SHA-256 is signed (ECDSA P-256, low-S
DER, the same signature a Fabric proposal carries) with the private key of the clinician's
own enrolment certificate. The signature is detached: the document, the signature and the
certificate travel together (:class:`SignedFinding`) and anyone can check them later with the
certificate alone. The ledger's Diagnose step carries the document's hash
(``reportSha256``), the signature's hash (``signatureSha256``) and the finding code.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from anonymizer.text_es import find_phi

from .gateway import Identity, Signer

# ICD-10 (WHO/CIE-10 as used in Mexico): a letter, two digits, an optional dot and 1-2 more.
ICD10 = re.compile(r"^[A-TV-Z][0-9]{2}(?:\.[0-9A-Z]{1,2})?$")
MAX_TEXT = 2000


class FindingError(ValueError):
    """The findings are malformed, carry personal data, or their signature does not verify."""


def canonical(data: dict[str, Any]) -> bytes:
    """Sorted keys, no spaces, UTF-8: the bytes that are hashed and signed."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def finding_document(donation_id: str, finding_code: str, text: str = "", *,
                     study_sha256: list[str], at: datetime | None = None) -> dict[str, Any]:
    """Build the findings document, refusing a bad code or text that carries personal data.

    Parameters
    ----------
    donation_id : str
        The donation whose de-identified study was read.
    finding_code : str
        ICD-10 code of the main finding (e.g. ``R91.8``).
    text : str, optional
        The clinician's impression in Spanish; checked with the anonymizer's Spanish
        detector: a name, CURP, phone... in it is refused, not silently redacted.
    study_sha256 : list of str
        Hashes of the de-identified objects the finding is about (as on the ledger).
    """
    if not ICD10.match(finding_code):
        raise FindingError("finding code must be an ICD-10 code such as R91.8")
    if len(text) > MAX_TEXT:
        raise FindingError(f"finding text is over {MAX_TEXT} characters")
    spans = find_phi(text) if text else []
    if spans:
        kinds = ", ".join(sorted({s.category for s in spans}))
        raise FindingError(f"finding text for {donation_id} carries personal data ({kinds}): "
                           "describe the study without identifying anyone")
    return {"donationId": donation_id, "findingCode": finding_code, "text": text,
            "studySha256": sorted(study_sha256),
            "signedAt": (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "version": 1}


@dataclass(frozen=True)
class SignedFinding:
    """A findings document, its detached signature and the signer's certificate (PEM)."""

    document: dict[str, Any]
    signature: bytes
    certificate_pem: bytes
    msp_id: str

    @property
    def sha256(self) -> str:
        """SHA-256 of the canonical document (``reportSha256`` on the ledger)."""
        return hashlib.sha256(canonical(self.document)).hexdigest()

    @property
    def signature_sha256(self) -> str:
        """SHA-256 of the DER signature (``signatureSha256`` on the ledger)."""
        return hashlib.sha256(self.signature).hexdigest()

    @property
    def signer_sha256(self) -> str:
        """SHA-256 of the signer's DER certificate: the ledger's ``executor`` for that step."""
        cert = x509.load_pem_x509_certificate(self.certificate_pem)
        return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()

    def to_json(self) -> bytes:
        return canonical({"document": self.document, "mspId": self.msp_id,
                          "signature": base64.b64encode(self.signature).decode(),
                          "certificate": self.certificate_pem.decode()})

    @classmethod
    def from_json(cls, raw: bytes) -> SignedFinding:
        try:
            data = json.loads(raw)
            return cls(data["document"], base64.b64decode(data["signature"]),
                       data["certificate"].encode(), data["mspId"])
        except (ValueError, KeyError, TypeError) as e:
            raise FindingError("not a signed finding") from e

    def verify(self) -> None:
        """Check the signature against the certificate; raise :class:`FindingError` if not."""
        cert = x509.load_pem_x509_certificate(self.certificate_pem)
        key = cert.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise FindingError("the signer's certificate has no EC key")
        try:
            key.verify(self.signature, canonical(self.document), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature as e:
            raise FindingError(f"the signature of the finding on "
                               f"{self.document.get('donationId')} does not verify") from e


def sign(document: dict[str, Any], identity: Identity, signer: Signer) -> SignedFinding:
    """Sign ``document`` with the clinician's key; the key must match the certificate."""
    if not signer.matches(identity.x509):
        raise FindingError("the signing key does not match the clinician's certificate")
    return SignedFinding(document, signer.sign(canonical(document)),
                         identity.x509.public_bytes(Encoding.PEM), identity.msp_id)
