"""The donation pipeline: every step of a donation, with its objects, log and ledger step.

Each method does the off-chain work of one step (stage encrypted objects, de-identify, sign a
finding, publish to the library, destroy a key), writes its operation-log row and its outbox
row in one SQL transaction, and then lets the outbox worker submit the ledger step with the
row's request id. A crash at any point leaves the step either not yet recorded or recorded
and submitted exactly once when the worker resumes (the contract replays a request id).

Objects of an open donation live in the ``staging`` bucket, sealed (AES-256-GCM) under the
donation's data key, which SQL keeps wrapped by the intake org's key-encryption key. At
STORED the de-identified objects go to the content-addressed ``library`` and everything that
links the donor to the donation is destroyed off-chain (:meth:`Pipeline.purge`).
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import consent as consent_forms
from . import findings, mail, qr
from .crypto import KeyRing, new_data_key, seal, unseal
from .db import Database, forget_donor_links
from .db.models import (
    DeidSummary,
    DonationRecord,
    DonorAccount,
    Operation,
    OutboxItem,
    StagedObject,
)
from .donations import Consent, Evidence, LegalRegime, Source, reports_sha256
from .donor import DonorSecret, keyed_hash, new_id, sha256_hex
from .errors import InvalidInput, from_text
from .intake import Deidentified, deidentify_staged, read_inputs, summed_counts
from .ledger import Actor, Ledger
from .objects import ObjectStore
from .outbox import Worker, enqueue
from .pacs_steps import PacsSteps
from .paper_steps import PaperSteps
from .pipeline_config import PipelineConfig, PipelineError, Registration, Secrets
from .receipt import Receipt, build_receipt
from .staging import StagedObjects, in_parallel


class Pipeline(PaperSteps, PacsSteps):
    """The donation workflow of one intake org.

    Parameters
    ----------
    config : PipelineConfig
    db : client.db.Database
    store : client.objects.ObjectStore
        The intake org's scoped access to ``staging`` and ``library``.
    keys : client.crypto.KeyRing
        The intake org's key-encryption keys.
    secrets : Secrets
    ledger : client.ledger.Ledger
    mail_settings : client.mail.MailSettings, optional
        Where the QR e-mail goes out; ``None`` sends nothing (the link is returned).
    on_step : callable, optional
        ``on_step(evidence, actor)`` after each step this pipeline waited for commits
        (the evidence carries ``blockNumber``): progress for a command line.
    """

    def __init__(self, config: PipelineConfig, *, db: Database, store: ObjectStore,
                 keys: KeyRing, secrets: Secrets, ledger: Ledger,
                 mail_settings: mail.MailSettings | None = None,
                 worker_id: str | None = None,
                 on_step: Callable[[dict[str, Any], Actor], None] | None = None) -> None:
        self.config, self.db, self.objects, self.keys = config, db, store, keys
        self.secrets, self.ledger, self.mail_settings = secrets, ledger, mail_settings
        self.on_step = on_step
        self.staged = StagedObjects(store.staging, keys)
        ledger.unseal = self._unseal_transient
        self.worker = Worker(db, ledger.submit, worker_id=worker_id or new_id("w"))

    # -- helpers -----------------------------------------------------------------------

    def _hmac(self, purpose: str, value: str) -> str:
        return keyed_hash(self.secrets.accounts, purpose, value)

    def _record(self, s: Session, donation_id: str) -> DonationRecord:
        rec = s.get(DonationRecord, donation_id)
        if rec is None:
            raise PipelineError(f"donation {donation_id} has no open record here "
                                "(unknown, another intake org's, or already stored/erased)")
        return rec

    def _unseal_transient(self, item: OutboxItem) -> dict[str, bytes]:
        with self.db.session() as s:
            key = self.staged.data_key(self._record(s, item.donation_id))
        raw = json.loads(unseal(key, item.sealed, f"{item.request_id}:transient".encode()))
        return {k: v.encode() for k, v in raw.items()}

    def _donor_ref(self, rec: DonationRecord) -> bytes:
        """The account id sealed under the donation's key: unreadable once it is destroyed."""
        return seal(self.staged.data_key(rec), str(rec.account_id).encode(),
                    f"{rec.donation_id}:donor-ref".encode())

    def _log(self, s: Session, actor: Actor, action: str, rec: DonationRecord | None,
             donation_id: str, original: str | None = None, modified: str | None = None) -> None:
        s.add(Operation(executor_sha256=self.ledger.executor(actor), donation_id=donation_id,
                        donor_ref=self._donor_ref(rec) if rec else None, action=action,
                        original_object=original,
                        modified_object=modified, at=datetime.now(UTC)))

    def _stage(self, s: Session, rec: DonationRecord, actor: Actor, kind: str,
               data: bytes) -> StagedObject:
        return self._stage_many(s, rec, actor, kind, [data])[0]

    def _stage_many(self, s: Session, rec: DonationRecord, actor: Actor, kind: str,
                    datas: Sequence[bytes]) -> list[StagedObject]:
        """Stage ``datas`` (:meth:`StagedObjects.put`) with an operation-log row each."""
        objs = self.staged.put(s, rec, kind, datas)
        for obj in objs:
            self._log(s, actor, f"stage-{kind}", rec, rec.donation_id, modified=obj.name)
        return objs

    def _enqueue(self, s: Session, actor: Actor, step: str, donation_id: str,
                 payload: dict[str, Any] | None, rec: DonationRecord | None, *,
                 transient: dict[str, str] | None = None) -> str:
        request_id = new_id("r")
        sealed = None
        if transient is not None and rec is not None:
            sealed = seal(self.staged.data_key(rec), json.dumps(transient).encode(),
                          f"{request_id}:transient".encode())
        enqueue(s, request_id=request_id, donation_id=donation_id, step=step, org=actor.org,
                user=actor.user, payload=payload or {}, sealed=sealed,
                operation={"executor_sha256": self.ledger.executor(actor),
                           "donor_ref": self._donor_ref(rec) if rec else None})
        return request_id

    def wait(self, request_id: str) -> dict[str, Any]:
        """Run the worker until ``request_id`` is committed; its evidence, or the refusal."""
        deadline = time.monotonic() + self.config.step_timeout
        while True:
            progressed = self.worker.run_once()
            with self.db.session() as s:
                item = s.execute(select(OutboxItem).where(
                    OutboxItem.request_id == request_id)).scalar_one()
                if item.status == "done":
                    evidence = {**(item.result_json or {}), "blockNumber": item.block_number}
                    if self.on_step:
                        self.on_step(evidence, Actor(item.org, item.user))
                    return evidence
                if item.status == "failed":
                    raise from_text(item.last_error or "", transaction_id=item.transaction_id,
                                    default=f"step {item.step} of {item.donation_id} failed")
            if time.monotonic() > deadline:
                raise PipelineError(f"step {item.step} of {item.donation_id} not committed in "
                                    f"{self.config.step_timeout:.0f} s ({item.attempts} tries; "
                                    f"last error: {item.last_error}); the outbox keeps it")
            if not progressed:
                time.sleep(0.2)

    def _step(self, actor: Actor, step: str, donation_id: str,
              payload: dict[str, Any] | None) -> dict[str, Any]:
        """Queue a step that stages nothing and wait for it; its evidence."""
        with self.db.session() as s:
            rec = s.get(DonationRecord, donation_id)
            request_id = self._enqueue(s, actor, step, donation_id, payload, rec)
        return self.wait(request_id)

    # -- steps -------------------------------------------------------------------------

    def register(self, email: str) -> Registration:
        """Register a donor (RegisterDonation + LinkDonor) and e-mail the QR.

        The account keeps a keyed pseudonym and the e-mail sealed; the ledger gets only the
        commitment and the QR token's hash.
        """
        email = email.strip().lower()
        if not mail.is_address(email):
            raise InvalidInput("the e-mail address is not valid")
        did = new_id("d")
        donor = DonorSecret.new(did, "p-" + self._hmac("pseudonym", email)[:24])
        actor = self.config.operator_actor
        with self.db.session() as s:
            account = s.execute(select(DonorAccount).where(
                DonorAccount.email_hmac == self._hmac("email", email))).scalar_one_or_none()
            if account is None:
                akey, ref = new_data_key(), new_id("c")
                account = DonorAccount(pseudonym=donor.donor_pseudonym, contact_ref=ref,
                                       email_hmac=self._hmac("email", email),
                                       wrapped_key=self.keys.wrap(akey, ref),
                                       email_sealed=seal(akey, email.encode(), ref.encode()),
                                       created_at=datetime.now(UTC))
                s.add(account)
                s.flush()
            dk = new_data_key()
            rec = DonationRecord(donation_id=did, account_id=account.id,
                                 intake_org=self.config.intake_org,
                                 wrapped_key=self.keys.wrap(dk, did),
                                 kek_id=self.keys.current.kek_id,
                                 salt_sealed=seal(dk, donor.salt, f"{did}:salt".encode()),
                                 created_at=datetime.now(UTC))
            s.add(rec)
            s.flush()
            registered = self._enqueue(s, actor, "RegisterDonation", did,
                                       {"commitment": donor.commitment,
                                        "qrTokenSha256": donor.qr_token_sha256}, rec)
            link = self._enqueue(s, actor, "LinkDonor", did, None, rec, transient={
                "donor_link": json.dumps({"contactRef": account.contact_ref,
                                          "donorPseudonym": donor.donor_pseudonym,
                                          "salt": donor.salt.hex()})})
        self.wait(registered)
        self.wait(link)
        url = qr.viewer_url(self.config.viewer_base, donor.qr_token)
        message_id = self._mail_qr(email, url, did)
        return Registration(did, account.contact_ref, url, message_id)

    def reissue_qr(self, donation_id: str, email: str | None = None) -> Registration:
        """Re-issue the donor's QR (ReissueQR): a new token, the previous one opens nothing.

        Only the new token's hash goes on chain, through the outbox like every step; the new
        QR is e-mailed to the donor's address, unsealed from the account. ``email``, when the
        operator types it, must be that same address (a QR is a capability: it never goes to
        anyone else). Open donations only: after STORED or ERASED nothing here links the
        donor to the donation, and the contract refuses the step on those states.
        """
        with self.db.session() as s:
            rec = self._record(s, donation_id)
            account = s.get(DonorAccount, rec.account_id) if rec.account_id else None
            if account is None:
                raise PipelineError(f"donation {donation_id} has no donor account here")
            if email is not None:
                email = email.strip().lower()
                if not mail.is_address(email) or not hmac.compare_digest(
                        self._hmac("email", email), account.email_hmac):
                    raise InvalidInput(f"the e-mail address is not the donor's of {donation_id}")
            else:
                akey = self.keys.unwrap(account.wrapped_key, account.contact_ref)
                email = unseal(akey, account.email_sealed, account.contact_ref.encode()).decode()
            contact_ref = account.contact_ref
            token = secrets.token_urlsafe(32)  # as DonorSecret's: only its hash leaves here
            rid = self._enqueue(s, self.config.operator_actor, "ReissueQR", donation_id,
                                {"qrTokenSha256": sha256_hex(token)}, rec)
        self.wait(rid)
        url = qr.viewer_url(self.config.viewer_base, token)
        return Registration(donation_id, contact_ref, url, self._mail_qr(email, url, donation_id))

    def _mail_qr(self, email: str, url: str, donation_id: str) -> str | None:
        if self.mail_settings is None:
            return None
        msg = mail.qr_message(email, url, donation_ref=donation_id,
                              sender=self.mail_settings.sender)
        message_id = mail.send(self.mail_settings, msg)
        with self.db.session() as s:
            self._log(s, self.config.service_actor, "mail-qr", s.get(DonationRecord, donation_id),
                      donation_id)
        return message_id

    def consent(self, donation_id: str, *, acceptance: Evidence | None = None,
                form: consent_forms.ConsentForm | None = None,
                legal_regime: LegalRegime | None = None, minor: bool = False,
                guardian_evidence: Evidence | None = None, commercial: bool = False,
                retention_months: int = 120) -> dict[str, Any]:
        """Consent: the form's SHA-256 and the donor's acceptance evidence go on chain."""
        form = form or consent_forms.load()
        acceptance = acceptance or Evidence("otp", sha256_hex(secrets.token_bytes(32)))
        c = Consent(form_id=form.form_id, form_version=form.version, form_sha256=form.sha256,
                    acceptance=acceptance, legal_regime=legal_regime or self.config.legal_regime,
                    retention_months=retention_months, commercial=commercial, minor=minor,
                    guardian_evidence=guardian_evidence)
        return self._step(self.config.operator_actor, "Consent", donation_id, c.to_json())

    def ingest(self, donation_id: str, source_path: str | Path, source: Source) -> list[str]:
        """Acquire: stage a DICOM file, folder or zip encrypted; the originals' hashes on chain."""
        return self.acquire(donation_id, list(read_inputs(Path(source_path))), source)

    def acquire(self, donation_id: str, items: Sequence[bytes], source: Source, *,
                kind: str = "original") -> list[str]:
        """Acquire: stage ``items`` (in memory) encrypted, one step with their hashes.

        The one Acquire of every intake channel: files and folders (:meth:`ingest`), a
        PACS push (:mod:`client.pacs`), scanned paper (``kind="paper"``,
        :meth:`ingest_paper`).
        """
        actor = self.config.operator_actor
        if not items:
            raise InvalidInput(f"nothing to ingest for {donation_id}")
        with self.db.session() as s:
            rec = self._record(s, donation_id)
            hashes = [o.sha256 for o in self._stage_many(s, rec, actor, kind, items)]
            rid = self._enqueue(s, actor, "Acquire", donation_id,
                                {"originalSha256": sorted(set(hashes)),
                                 "source": source.to_json()}, rec)
        self.wait(rid)
        return hashes

    def deidentify(self, donation_id: str) -> list[Deidentified]:
        """De-identify every original; drafts and reports staged; Deidentify on chain.

        Returns each file's result (bytes, action report, Spanish summary), in order.
        """
        actor = self.config.deid_actor
        with self.db.session() as s:
            rec = self._record(s, donation_id)
            originals = self.staged.of(s, donation_id, "original")
            if not originals:  # a paper-only donation (it failed with an IndexError)
                raise PipelineError(f"donation {donation_id} has no DICOM originals staged "
                                    "(a paper record is de-identified by hand: "
                                    "traza intake paper)")
            plain = self.staged.read(rec, originals)
        outputs = deidentify_staged(plain, secret=self.secrets.deid, donor=donation_id,
                                    profile=self.config.profile, jobs=self.config.jobs)
        with self.db.session() as s:
            rec = self._record(s, donation_id)
            drafts = self._stage_many(s, rec, actor, "deidentified", [o.data for o in outputs])
            # One object for the whole set (one request, not one per file); the ledger's
            # reportSha256 is recomputed from it: the hash of the files' report hashes.
            self._stage(s, rec, actor, "report", json.dumps(
                [{"reportSha256": o.report_sha256, "report": o.report} for o in outputs]).encode())
            first = outputs[0].report
            report_sha = reports_sha256([o.report_sha256 for o in outputs])
            # Counts only (no values): what the trace viewer says once the reports are purged.
            s.merge(DeidSummary(report_sha256=report_sha, donation_id=donation_id,
                                files=len(outputs), counts=json.dumps(summed_counts(outputs))))
            rid = self._enqueue(s, actor, "Deidentify", donation_id, {
                "deidentifiedSha256": sorted({d.sha256 for d in drafts}), "method": "automatic",
                "profile": {"id": first["profile_id"], "version": first["profile_version"]},
                "reportSha256": report_sha}, rec)
        self.wait(rid)
        return outputs

    def diagnose(self, donation_id: str, finding_code: str, text: str = "", *,
                 clinician: Actor) -> findings.SignedFinding:
        """Diagnose: a finding signed by the clinician's own identity, submitted as them."""
        current = self.ledger.donations(self.config.service_actor).get(donation_id)
        doc = findings.finding_document(donation_id, finding_code, text,
                                        study_sha256=current.get("deidentifiedSha256", []))
        identity, signer = self.ledger.identity(clinician)
        signed = findings.sign(doc, identity, signer)
        with self.db.session() as s:
            rec = self._record(s, donation_id)
            self._stage(s, rec, clinician, "finding", signed.to_json())
            rid = self._enqueue(s, clinician, "Diagnose", donation_id, {
                "signatureSha256": signed.signature_sha256, "findingCode": finding_code,
                "reportSha256": signed.sha256}, rec)
        self.wait(rid)
        return signed

    def submit_for_review(self, donation_id: str) -> str:
        """SubmitForReview; returns the review session id the donor's login opens."""
        session_id = new_id("s")
        self._step(self.config.service_actor, "SubmitForReview", donation_id,
                   {"reviewSessionId": session_id})
        return session_id

    def _comment(self, donation_id: str, comment: str | None) -> dict[str, Any]:
        if not comment:
            return {}
        with self.db.session() as s:  # the comment stays off-chain, sealed
            obj = self._stage(s, self._record(s, donation_id), self.config.service_actor,
                              "comment", comment.encode())
        return {"commentSha256": obj.sha256}

    def request_changes(self, donation_id: str, comment: str | None = None) -> dict[str, Any]:
        """The donor asks for changes (the comment sealed in staging, its hash on chain)."""
        return self._step(self.config.service_actor, "RequestChanges", donation_id,
                          self._comment(donation_id, comment))

    def accept(self, donation_id: str) -> dict[str, Any]:
        return self._step(self.config.service_actor, "Accept", donation_id, {})

    def refuse(self, donation_id: str, comment: str | None = None) -> Receipt:
        """The donor refuses: Revoke, then Erase with its receipt."""
        return self.revoke(donation_id, comment=comment, reason_code="donor-request")

    def store(self, donation_id: str) -> list[str]:
        """Store: the current drafts (and signed findings) to the library, then purge."""
        current = self.ledger.donations(self.config.service_actor).get(donation_id)
        wanted = set(current.get("deidentifiedSha256", []))
        with self.db.session() as s:
            rec = self._record(s, donation_id)
            objs = [o for o in self.staged.of(s, donation_id, "deidentified", "finding")
                    if o.kind == "finding" or o.sha256 in wanted]
            hashes = in_parallel(self.objects.library.put, self.staged.read(rec, objs))
            published = dict(zip(hashes, objs, strict=True))
        missing = wanted - set(published)
        if missing:
            raise PipelineError(f"donation {donation_id}: {len(missing)} de-identified objects "
                                "on the ledger are not staged here")
        with self.db.session() as s:
            rec = self._record(s, donation_id)
            for sha, o in published.items():
                self._log(s, self.config.service_actor, "library-put", rec, donation_id,
                          original=o.name, modified=sha)  # library objects: their hash
            rid = self._enqueue(s, self.config.service_actor, "Store", donation_id,
                                {"librarySha256": sorted(wanted)}, rec)
        self.wait(rid)
        self.purge(donation_id)
        return sorted(wanted)

    def revoke(self, donation_id: str, *, comment: str | None = None,
               reason_code: str | None = "consent-withdrawn") -> Receipt:
        """Revoke at any step before STORED, then erase; returns the erasure receipt."""
        data = self._comment(donation_id, comment)
        if reason_code:
            data["reasonCode"] = reason_code
        revoked = self._step(self.config.service_actor, "Revoke", donation_id, data)
        return self.erase(donation_id, revoked=revoked)

    def erase(self, donation_id: str, *, revoked: dict[str, Any] | None = None) -> Receipt:
        """Erase: destroy the data key and staged objects, record ERASED, make the receipt.

        The key row (and the donor's account, when this was its last open donation) is
        deleted in the SQL transaction that queues the Erase step: after a crash the key is
        either still there (nothing happened) or gone with the step queued. Staged objects
        left behind are unreadable without the key; :meth:`recover` deletes them.
        """
        actor = self.config.service_actor
        with self.db.session() as s:
            rec = self._record(s, donation_id)
            objs = self.staged.of(s, donation_id)
            deleted = [{"object": o.name, "kind": o.kind, "sha256": o.sha256} for o in objs]
            rid = self._enqueue(s, actor, "Erase", donation_id, {
                "deletedSha256": sorted({o.sha256 for o in objs}), "keyDestroyed": True}, rec)
            self._log(s, actor, "destroy-data-key", rec, donation_id)
            self._close(s, rec)
        self.purge(donation_id)
        erased = self.wait(rid)
        return build_receipt(donation_id, erased, revoked, deleted,
                             staging_bucket=self.objects.staging.bucket)

    # -- off-chain purge ---------------------------------------------------------------

    @staticmethod
    def _close(s: Session, rec: DonationRecord) -> None:
        """Delete the donation's key row, and its donor's account if no other is open."""
        account_id = rec.account_id
        s.delete(rec)
        s.flush()
        if account_id is not None and s.scalar(select(DonationRecord.donation_id).where(
                DonationRecord.account_id == account_id).limit(1)) is None:
            account = s.get(DonorAccount, account_id)
            if account is not None:
                s.delete(account)

    def purge(self, donation_id: str) -> None:
        """Remove what links the donor to a finished donation, off-chain; idempotent.

        Staged objects deleted from MinIO, the data key destroyed, the donor reference
        cleared from the operation log and the outbox, review sessions and the donor account
        (when it has no other open donation) deleted. The event index keeps the steps: the
        QR still opens the trace.
        """
        with self.db.session() as s:
            self.staged.delete_all(s, donation_id)
            rec = s.get(DonationRecord, donation_id)
            if rec is not None:
                self._close(s, rec)
            forget_donor_links(s, donation_id)

    def recover(self) -> list[str]:
        """Finish the purge of donations a crash left half-closed; returns their ids.

        Those are donations with staged objects but no key row (crashed inside
        :meth:`erase`), and donations whose Store or Erase step is done but whose key row
        is still there (crashed before :meth:`purge`).
        """
        with self.db.session() as s:
            orphaned = set(s.scalars(select(StagedObject.donation_id).where(
                StagedObject.donation_id.not_in(select(DonationRecord.donation_id)))))
            closed = set(s.scalars(select(OutboxItem.donation_id).where(
                OutboxItem.step.in_(("Store", "Erase")), OutboxItem.status == "done",
                OutboxItem.donation_id.in_(select(DonationRecord.donation_id)))))
        for did in sorted(orphaned | closed):
            self.purge(did)
        return sorted(orphaned | closed)

    def rotate_keys(self) -> int:
        """Re-wrap every data key under a new current KEK; returns how many were re-wrapped.

        The objects are not touched: only the wrapped keys change.
        """
        self.keys.rotate()
        n = 0
        with self.db.session() as s:
            for rec in s.execute(select(DonationRecord)).scalars():
                rec.wrapped_key = self.keys.rewrap(rec.wrapped_key, rec.donation_id)
                rec.kek_id = self.keys.current.kek_id
                n += 1
            for acc in s.execute(select(DonorAccount)).scalars():
                acc.wrapped_key = self.keys.rewrap(acc.wrapped_key, acc.contact_ref)
                n += 1
        return n


__all__ = ["Pipeline", "PipelineConfig", "PipelineError", "Registration", "Secrets"]
