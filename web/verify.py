"""The verification panel: a donation's evidence bundle checked on demand, on the server.

The same checks ``traza verify bundle`` runs offline (:func:`client.verify_bundle.verify_bundle`,
not a second copy), the orgs that endorsed each transaction, and each library object read
back from MinIO and hashed against the ledger's ``librarySha256``. The donor need not trust
this panel: the page offers the bundle for an offline check too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fabric_protos.msp import identities_pb2

from client.evidence import Bundle, parse_transactions
from client.verify_bundle import Check, verify_bundle

__all__ = ["LibraryCheck", "Verification", "endorsers_of", "library_checker", "verify"]

log = logging.getLogger("traza.web")
# sha256 -> True (read back, hashes to its name), False (missing or altered); raises when the
# store cannot be reached.
LibraryCheck = Callable[[str], bool]


@dataclass(frozen=True)
class Verification:
    """What the panel shows."""

    checks: list[Check]
    endorsers: dict[str, list[str]]  # transaction id -> endorsing MSP ids
    library: list[tuple[str, bool | None]] = field(default_factory=list)  # None: not checked

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    @property
    def ok(self) -> bool:
        return not self.failed and all(v is not False for _, v in self.library)

    def summary(self) -> dict[str, int]:
        """Counts for the page's headline."""
        return {"checks": len(self.checks), "failed": len(self.failed),
                "transactions": len(self.endorsers),
                "library": sum(1 for _, v in self.library if v)}


def endorsers_of(bundle: Bundle) -> dict[str, list[str]]:
    """Each transaction of the bundle's steps -> the MSP ids whose peers endorsed it."""
    wanted = {s["txId"] for s in bundle.steps}
    out: dict[str, list[str]] = {}
    for block in bundle.blocks.values():
        for tx in parse_transactions(block):
            if tx.tx_id in wanted:
                out[tx.tx_id] = sorted({identities_pb2.SerializedIdentity.FromString(
                    e.endorser).mspid for e in tx.endorsements})
    return out


def verify(doc: Mapping[str, Any], library: LibraryCheck | None = None) -> Verification:
    """Check bundle ``doc``; with ``library``, read back every ``librarySha256`` object."""
    checks = verify_bundle(doc)
    try:
        bundle = Bundle.from_json(doc)
    except ValueError:
        return Verification(checks, {})
    results: list[tuple[str, bool | None]] = []
    for sha in bundle.objects.get("librarySha256", []):
        if library is None:
            results.append((sha, None))
            continue
        try:
            results.append((sha, library(sha)))
        except Exception as e:  # MinIO down: not checked, not failed
            log.warning("verify: library read %s: %s", sha[:12], type(e).__name__)
            results.append((sha, None))
    return Verification(checks, endorsers_of(bundle), results)


def library_checker(objects_file: Path | None) -> LibraryCheck | None:
    """A :data:`LibraryCheck` on the org's library bucket (``None`` without settings)."""
    if objects_file is None or not Path(objects_file).exists():
        return None
    from client.objects import (
        ObjectIntegrityError,
        ObjectNotFound,
        ObjectStoreConfig,
        open_store,
    )

    store = open_store(ObjectStoreConfig.from_file(objects_file))

    def check(sha256: str) -> bool:
        try:
            store.library.get(sha256)  # hashes what it read, raises if it differs
        except (ObjectNotFound, ObjectIntegrityError):
            return False
        return True

    return check
