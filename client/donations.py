"""The donation contract as typed calls: one method per transition and per query.

Each transition builds the contract's JSON, carries a client request id (a retry with the
same id is answered by the ledger with the first result, writing nothing), waits for the
commit and maps failures to :mod:`client.errors`. Retries happen only where they are safe:
read conflicts (MVCC) and unreachable nodes, always with the same request id.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from .donor import DonorSecret, sha256_hex
from .errors import Conflict, DonationError, Unavailable, from_gateway
from .gateway import Contract, GatewayError

AgeBand = Literal["0-17", "18-39", "40-64", "65-89", "90+"]
LegalRegime = Literal["LFPDPPP_2025", "LGPDPPSO"]


@dataclass(frozen=True)
class Source:
    """Where the data comes from: a person (age band, condition code) or synthetic."""

    kind: Literal["human", "synthetic"]
    age_band: AgeBand | None = None
    condition_code: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.age_band:
            out["ageBand"] = self.age_band
        if self.condition_code:
            out["conditionCode"] = self.condition_code
        return out


@dataclass(frozen=True)
class Evidence:
    """Hash of a signature or of a one-time-code acknowledgement."""

    kind: Literal["signature", "otp"]
    sha256: str


@dataclass(frozen=True)
class Consent:
    """A consent version: form shown, purposes, retention, legal regime, acceptance."""

    form_id: str
    form_version: str
    form_sha256: str
    acceptance: Evidence
    legal_regime: LegalRegime
    retention_months: int = 120
    ai_training: bool = True
    teaching: bool = True
    research: bool = True
    commercial: bool = False
    minor: bool = False
    guardian_evidence: Evidence | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "acceptance": asdict(self.acceptance), "formId": self.form_id,
            "formVersion": self.form_version, "formSha256": self.form_sha256,
            "purposes": {"aiTraining": self.ai_training, "teaching": self.teaching,
                         "research": self.research, "commercial": self.commercial},
            "retentionMonths": self.retention_months, "legalRegime": self.legal_regime,
            "minor": self.minor, "guardianConsent": self.minor,
        }
        if self.minor:
            if self.guardian_evidence is None:
                raise ValueError("a minor's consent needs the guardian's evidence")
            out["guardianEvidence"] = asdict(self.guardian_evidence)
        return out


@dataclass(frozen=True)
class Step:
    """A committed step: the contract's evidence, its transaction and block."""

    evidence: dict[str, Any]
    transaction_id: str
    block_number: int | None

    @property
    def state(self) -> str:
        return self.evidence.get("to", "")


@dataclass(frozen=True)
class Page:
    """One page of a regulator query; pass ``bookmark`` back for the next ("" = last)."""

    records: list[dict[str, Any]]
    bookmark: str
    fetched: int = field(default=0)


def reports_sha256(report_hashes: Sequence[str]) -> str:
    """The ``reportSha256`` of a step that de-identified several files.

    SHA-256 of the files' action-report hashes concatenated in file order.
    """
    return sha256_hex("".join(report_hashes))


def new_request_id() -> str:
    return f"r-{uuid.uuid4().hex}"


class Donations:
    """Typed access to the ``traza`` contract through one identity's gateway.

    Parameters
    ----------
    contract : client.gateway.Contract
        The contract, e.g. ``Profile.from_dir(profiles_dir, "hospital").contract()``.
    retries : int, optional
        Tries after an MVCC conflict or an unreachable node (default 4), with backoff.
    """

    def __init__(self, contract: Contract, *, retries: int = 4, backoff: float = 0.5) -> None:
        self.contract = contract
        self.retries = retries
        self.backoff = backoff

    # -- transitions -------------------------------------------------------------------

    def step(self, name: str, donation_id: str, data: dict[str, Any] | None = None, *,
             request_id: str | None = None, transient: dict[str, bytes] | None = None,
             endorsing_orgs: Sequence[str] = ()) -> Step:
        """Submit transition ``name`` with ``data`` (its JSON) and wait for its commit.

        The typed methods below call this; the outbox worker calls it with a stored step.
        """
        args = [request_id or new_request_id(), donation_id]
        if name != "LinkDonor":
            args.append(json.dumps(data or {}, separators=(",", ":"), sort_keys=True))
        for attempt in range(self.retries + 1):
            try:
                commit = self.contract.submit_async(name, arguments=args, transient=transient,
                                                    endorsing_orgs=endorsing_orgs)
                status = commit.status()
                status.raise_for_status()
                return Step(json.loads(commit.result), commit.transaction_id,
                            status.block_number)
            except GatewayError as e:
                err = from_gateway(e)
                if not isinstance(err, (Conflict, Unavailable)) or attempt == self.retries:
                    raise err from e
            time.sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable")

    def register(self, donor: DonorSecret, *, request_id: str | None = None) -> Step:
        """RegisterDonation: the commitment and QR token hash go on the channel, nothing else."""
        return self.step("RegisterDonation", donor.donation_id,
                          {"commitment": donor.commitment, "qrTokenSha256": donor.qr_token_sha256},
                          request_id=request_id)

    def link_donor(self, donor: DonorSecret, contact_ref: str, *,
                   request_id: str | None = None) -> Step:
        """LinkDonor: the donor link goes, as transient data, to the intake org's collection."""
        link = {"contactRef": contact_ref, "donorPseudonym": donor.donor_pseudonym,
                "salt": donor.salt.hex()}
        return self.step("LinkDonor", donor.donation_id, request_id=request_id,
                          transient={"donor_link": json.dumps(link).encode()})

    def reissue_qr(self, donation_id: str, qr_token_sha256: str, *,
                   request_id: str | None = None) -> Step:
        """ReissueQR: the new QR token's hash replaces the old one, so the old token opens nothing.

        Only the hash goes on the channel, never the token. The contract refuses the same hash
        again (:class:`~client.errors.InvalidInput`) and a stored or erased donation
        (:class:`~client.errors.WrongState`); the state is kept.
        """
        return self.step("ReissueQR", donation_id, {"qrTokenSha256": qr_token_sha256},
                          request_id=request_id)

    def consent(self, donation_id: str, consent: Consent, *, request_id: str | None = None) -> Step:
        return self.step("Consent", donation_id, consent.to_json(), request_id=request_id)

    def acquire(self, donation_id: str, original_sha256: Sequence[str], source: Source, *,
                request_id: str | None = None) -> Step:
        return self.step("Acquire", donation_id, {"originalSha256": list(original_sha256),
                                                   "source": source.to_json()},
                          request_id=request_id)

    def deidentify(self, donation_id: str, deidentified_sha256: Sequence[str], *,
                   profile_id: str, profile_version: str, report_sha256: str,
                   method: Literal["automatic", "manual"] = "automatic",
                   request_id: str | None = None) -> Step:
        return self.step("Deidentify", donation_id, {
            "deidentifiedSha256": list(deidentified_sha256), "method": method,
            "profile": {"id": profile_id, "version": profile_version},
            "reportSha256": report_sha256}, request_id=request_id)

    def diagnose(self, donation_id: str, signature_sha256: str, *, finding_code: str | None = None,
                 signature_code: str | None = None, report_sha256: str | None = None,
                 request_id: str | None = None) -> Step:
        data = {"signatureSha256": signature_sha256, "findingCode": finding_code,
                "signatureCode": signature_code, "reportSha256": report_sha256}
        return self.step("Diagnose", donation_id, _present(data), request_id=request_id)

    def submit_for_review(self, donation_id: str, review_session_id: str | None = None, *,
                          request_id: str | None = None) -> Step:
        return self.step("SubmitForReview", donation_id,
                          _present({"reviewSessionId": review_session_id}), request_id=request_id)

    def _decision(self, step: str, donation_id: str, comment_sha256: str | None,
                  reason_code: str | None, request_id: str | None) -> Step:
        return self.step(step, donation_id, _present({"commentSha256": comment_sha256,
                                                       "reasonCode": reason_code}),
                          request_id=request_id)

    def request_changes(self, donation_id: str, *, comment_sha256: str | None = None,
                        reason_code: str | None = None, request_id: str | None = None) -> Step:
        """The donor asks for changes (recorded by the intake org on the donor's behalf)."""
        return self._decision("RequestChanges", donation_id, comment_sha256, reason_code,
                              request_id)

    def accept(self, donation_id: str, *, comment_sha256: str | None = None,
               reason_code: str | None = None, request_id: str | None = None) -> Step:
        return self._decision("Accept", donation_id, comment_sha256, reason_code, request_id)

    def revoke(self, donation_id: str, *, comment_sha256: str | None = None,
               reason_code: str | None = None, request_id: str | None = None) -> Step:
        return self._decision("Revoke", donation_id, comment_sha256, reason_code, request_id)

    def store(self, donation_id: str, library_sha256: Sequence[str], *,
              request_id: str | None = None) -> Step:
        """Store: final; the contract purges the donor link from the intake org's peers."""
        return self.step("Store", donation_id, {"librarySha256": list(library_sha256)},
                          request_id=request_id)

    def erase(self, donation_id: str, deleted_sha256: Sequence[str], *, key_destroyed: bool,
              request_id: str | None = None) -> Step:
        """Erase after Revoke: evidence that staged objects and their key were destroyed."""
        return self.step("Erase", donation_id, {"deletedSha256": list(deleted_sha256),
                                                 "keyDestroyed": key_destroyed},
                          request_id=request_id)

    # -- queries -----------------------------------------------------------------------

    def _query(self, name: str, *args: str) -> Any:
        try:
            return json.loads(self.contract.evaluate_transaction(name, *args))
        except GatewayError as e:
            raise from_gateway(e) from e

    def get(self, donation_id: str) -> dict[str, Any]:
        return self._query("GetDonation", donation_id)

    def history(self, donation_id: str) -> list[dict[str, Any]]:
        """Every version of the donation record, newest first (GetHistoryForKey)."""
        return self._query("GetHistory", donation_id)

    def lifecycle(self) -> dict[str, Any]:
        """The contract's lifecycle table (states, steps, allowed transitions)."""
        return self._query("GetLifecycle")

    def consents(self, donation_id: str) -> dict[str, Any]:
        return self._query("GetConsent", donation_id)

    def _page(self, name: str, *args: str, page_size: int, bookmark: str) -> Page:
        raw = self._query(name, *args, str(page_size), bookmark)
        return Page(raw.get("records") or [], raw.get("bookmark", ""), raw.get("fetchedCount", 0))

    def by_state(self, state: str, *, page_size: int = 50, bookmark: str = "") -> Page:
        return self._page("QueryByState", state, page_size=page_size, bookmark=bookmark)

    def by_org(self, msp_id: str, *, page_size: int = 50, bookmark: str = "") -> Page:
        return self._page("QueryByOrg", msp_id, page_size=page_size, bookmark=bookmark)

    def by_date_range(self, from_day: str, to_day: str, *, page_size: int = 50,
                      bookmark: str = "") -> Page:
        """Every step taken between two days (``YYYY-MM-DD``, UTC, inclusive)."""
        return self._page("QueryByDateRange", from_day, to_day, page_size=page_size,
                          bookmark=bookmark)

    def counts(self) -> dict[str, Any]:
        """Donations per state and intake org."""
        return self._query("CountByStateAndOrg")

    def verify_commitment(self, donor: DonorSecret) -> bool:
        """Whether the donor's salt and pseudonym open the donation's commitment.

        Evaluated, never submitted: submitted arguments would be written into a block.
        """
        return bool(self._query("VerifyDonorCommitment", donor.donation_id, donor.salt.hex(),
                                donor.donor_pseudonym))

    def donor_link(self, donation_id: str) -> dict[str, Any]:
        """The private donor link (intake org's operator/service only; gone once purged)."""
        return self._query("GetDonorLink", donation_id)


def _present(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


__all__ = ["Consent", "DonationError", "Donations", "Evidence", "Page", "Source", "Step"]
