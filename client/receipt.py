"""Erasure receipts: what was deleted when a donation was refused or revoked, and how to check it.

A receipt is a JSON document (plus a Spanish text for the donor) naming the Revoke and Erase
transactions, every staged object that was deleted (kind, SHA-256 of its plaintext, object
name in the ``staging`` bucket) and the destruction of the data key. Nothing in it identifies
the donor. :func:`verify_receipt` checks it against the ledger (the donation is ERASED, the
Erase step carries exactly these hashes and the key destruction, the donor link is purged)
and against MinIO (no listed object is still there).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from anonymizer.files import atomic_write

from .donations import Donations
from .errors import DonationError, NotFound

KIND = "traza-erasure-receipt"
KINDS_ES = {"original": "original", "deidentified": "borrador desidentificado",
            "report": "reporte de desidentificación", "finding": "hallazgo clínico firmado",
            "comment": "comentario del donante", "draft": "borrador"}


@dataclass(frozen=True)
class Receipt:
    """An erasure receipt (see the module docstring); ``to_json`` is what is handed over."""

    donation_id: str
    erase: dict[str, Any]
    revoke: dict[str, Any] | None
    deleted: list[dict[str, str]]
    staging_bucket: str
    issued_at: str = field(default_factory=lambda: datetime.now(UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": KIND, "version": 1, "donationId": self.donation_id,
                "issuedAt": self.issued_at, "revoke": self.revoke, "erase": self.erase,
                "stagingBucket": self.staging_bucket, "deleted": self.deleted,
                "keyDestroyed": True,
                "checks": [
                    "GetDonation: la donación está en estado ERASED",
                    "el paso Erase (txId) lleva deletedSha256 = los sha256 de esta lista y "
                    "keyDestroyed = true",
                    "GetDonorLink: el vínculo con el donante ya no existe (purgado)",
                    "MinIO: ningún objeto listado sigue en el bucket de staging"]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, ensure_ascii=False, sort_keys=True)

    def save(self, path: str) -> None:
        atomic_write(path, self.to_json())

    def text_es(self) -> str:
        """The receipt in plain Spanish, for the donor."""
        erase, lines = self.erase, []
        lines.append(f"Constancia de borrado de la donación {self.donation_id}")
        lines.append("")
        if self.revoke:
            lines.append(f"Revocación registrada en el bloque {self.revoke.get('blockNumber')} "
                         f"(transacción {self.revoke.get('txId')}).")
        lines.append(f"Borrado registrado en el bloque {erase.get('blockNumber')} "
                     f"(transacción {erase.get('txId')}), el {erase.get('timestamp')} (UTC).")
        lines.append("")
        lines.append(f"Se borraron {len(self.deleted)} objetos cifrados que estaban en "
                     "resguardo temporal:")
        for d in self.deleted:
            lines.append(f"  - {KINDS_ES.get(d['kind'], d['kind'])}: huella SHA-256 "
                         f"{d['sha256']}")
        lines += ["",
                  "Se destruyó la llave con la que estaban cifrados: aunque quedara una copia, "
                  "ya nadie podría leerla.",
                  "El vínculo entre usted y esta donación se purgó del registro privado de la "
                  "institución.",
                  "",
                  "Cómo comprobarlo: con este archivo, cualquier persona puede ejecutar "
                  "`traza verify receipt` y confirmar en el registro compartido (blockchain) "
                  "que la donación está BORRADA, que el paso de borrado lista exactamente "
                  "estas huellas y que ningún objeto sigue guardado.",
                  "Su código QR sigue mostrando los pasos de la donación, nunca su contenido."]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_json(cls, raw: str | bytes) -> Receipt:
        try:
            d = json.loads(raw)
            if d.get("kind") != KIND:
                raise ValueError("not an erasure receipt")
            return cls(d["donationId"], d["erase"], d.get("revoke"), d["deleted"],
                       d["stagingBucket"], d["issuedAt"])
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"not a Traza erasure receipt: {e}") from None


def _step_ref(evidence: dict[str, Any] | None) -> dict[str, Any] | None:
    if evidence is None:
        return None
    return {"txId": evidence.get("txId"), "blockNumber": evidence.get("blockNumber"),
            "timestamp": evidence.get("timestamp"), "step": evidence.get("step"),
            "data": evidence.get("data")}


def build_receipt(donation_id: str, erased: dict[str, Any], revoked: dict[str, Any] | None,
                  deleted: list[dict[str, str]], *, staging_bucket: str) -> Receipt:
    """The receipt of an Erase step (its evidence), after the Revoke that preceded it."""
    return Receipt(donation_id, _step_ref(erased) or {}, _step_ref(revoked), deleted,
                   staging_bucket)


@dataclass
class Check:
    """One verification line: what was checked and whether it held."""

    what: str
    ok: bool
    detail: str = ""


def verify_receipt(receipt: Receipt, donations: Donations,
                   staging_exists: Any | None = None) -> list[Check]:
    """Check ``receipt`` against the ledger (and MinIO when ``staging_exists`` is given).

    ``staging_exists(name) -> bool`` looks an object up in the staging bucket.
    """
    did, checks = receipt.donation_id, []
    try:
        donation = donations.get(did)
    except NotFound:
        return [Check("la donación existe en el registro", False, f"{did} no existe")]
    checks.append(Check("la donación está en estado ERASED", donation.get("state") == "ERASED",
                        f"estado {donation.get('state')}"))
    history = donations.history(did)
    erase = next((h["event"] for h in history if h.get("event", {}).get("step") == "Erase"),
                 None)
    ok_tx = erase is not None and erase.get("txId") == receipt.erase.get("txId")
    checks.append(Check("el paso Erase del registro es la transacción del recibo", ok_tx,
                        str(receipt.erase.get("txId"))))
    deletion = (erase or {}).get("data", {}).get("deletion", {})
    listed = sorted({d["sha256"] for d in receipt.deleted})
    checks.append(Check("las huellas borradas coinciden con las del registro",
                        sorted(deletion.get("deletedSha256", [])) == listed,
                        f"{len(listed)} huellas"))
    staged = set(donation.get("stagedSha256", []))
    checks.append(Check("todo lo que estuvo en resguardo está en la lista",
                        staged <= set(listed), f"{len(staged)} en resguardo"))
    checks.append(Check("la llave de cifrado se destruyó", bool(deletion.get("keyDestroyed"))))
    try:
        donations.donor_link(did)
        checks.append(Check("el vínculo con el donante fue purgado", False, "sigue ahí"))
    except NotFound:
        checks.append(Check("el vínculo con el donante fue purgado",
                            bool(deletion.get("linkPurged"))))
    except DonationError as e:  # e.g. an identity of another org may not look
        checks.append(Check("el vínculo con el donante fue purgado", False,
                            f"no se pudo comprobar con esta identidad: {type(e).__name__}"))
    if staging_exists is not None:
        left = [d["object"] for d in receipt.deleted if staging_exists(d["object"])]
        checks.append(Check("ningún objeto listado sigue en MinIO", not left,
                            f"{len(left)} siguen" if left else ""))
    return checks
