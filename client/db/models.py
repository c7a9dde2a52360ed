"""The off-chain tables: operational log, outbox, event index, donor accounts and sessions.

Every table holds ids, hashes, codes and caller-sealed bytes (``LargeBinary``) only: personal
data (e-mail, the donor reference, transient links) arrives already encrypted by the caller
(``client.crypto``), so a database dump shows no plain personal data. Times are UTC.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "AuditEntry", "Base", "DeidSummary", "DonationRecord", "DonationIndex", "DonorAccount",
    "ExpectedStudy", "IndexCheckpoint", "Operation", "OutboxItem", "ReviewSession",
    "StaffAccount", "StagedObject", "StepIndex", "utcnow",
]

# Constraint names stable across backends, so Alembic (batch mode on SQLite) can find them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = 64  # ledger ids: [a-z0-9][a-z0-9-]{0,63}
SHA = 64  # SHA-256, hex
CODE = 32  # short codes, MSP ids, step and state names


def utcnow() -> dt.datetime:
    """The current time, UTC, timezone-aware."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every backend.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so values are stored as naive
    UTC and read back aware. Naive input is refused: it is ambiguous.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass a timezone-aware (UTC) value")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime(), bytes: LargeBinary()}


class Operation(Base):
    """The operational log (the seed's table 1): every action, written before it is submitted."""

    __tablename__ = "operations"

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    executor_sha256: Mapped[str] = mapped_column(String(SHA))
    donation_id: Mapped[str | None] = mapped_column(String(ID), index=True)
    donor_ref: Mapped[bytes | None]  # ciphertext, sealed by the caller
    action: Mapped[str] = mapped_column(String(CODE))
    original_object: Mapped[str | None] = mapped_column(String(SHA))
    modified_object: Mapped[str | None] = mapped_column(String(SHA))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OutboxItem(Base):
    """A ledger step recorded locally first, then submitted by a worker (a procrastinate job).

    ``status``: ``todo`` -> ``doing`` (claimed, heartbeating) -> ``done`` | ``failed``; a
    retry puts it back to ``todo`` with ``attempts + 1`` and a later ``next_attempt_at``.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_claim", "status", "next_attempt_at"),
        Index("ix_outbox_donation_id_id", "donation_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(ID), unique=True)
    donation_id: Mapped[str] = mapped_column(String(ID))
    step: Mapped[str] = mapped_column(String(CODE))  # contract transaction name
    org: Mapped[str] = mapped_column(String(CODE))
    user: Mapped[str] = mapped_column(String(CODE))  # identity to submit as
    payload: Mapped[str] = mapped_column(Text)  # JSON: the step's arguments, no personal data
    sealed: Mapped[bytes | None]  # caller-encrypted transient data (e.g. the donor link)
    status: Mapped[str] = mapped_column(String(8), default="todo")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(CODE * 2))
    heartbeat_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)  # "CODE: message", never data
    transaction_id: Mapped[str | None] = mapped_column(String(SHA))
    block_number: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[str | None] = mapped_column(Text)  # JSON
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    done_at: Mapped[dt.datetime | None]
    operation_id: Mapped[int | None] = mapped_column(ForeignKey("operations.number"))

    @property
    def arguments(self) -> dict[str, Any]:
        """The step's arguments (``payload`` parsed)."""
        return json.loads(self.payload)

    @property
    def result_json(self) -> dict[str, Any] | None:
        """The contract's answer (``result`` parsed), once done."""
        return None if self.result is None else json.loads(self.result)

    @property
    def error_code(self) -> str | None:
        """The code part of ``last_error`` (``WRONG_STATE``, ``UNAVAILABLE``...)."""
        return None if not self.last_error else self.last_error.split(":", 1)[0]

    def __repr__(self) -> str:
        return (f"OutboxItem(id={self.id}, request_id={self.request_id!r}, step={self.step!r}, "
                f"donation_id={self.donation_id!r}, status={self.status!r}, "
                f"attempts={self.attempts})")


class DonationIndex(Base):
    """The event index, per donation: its state as the last chaincode event says."""

    __tablename__ = "donations_index"

    donation_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    state: Mapped[str] = mapped_column(String(CODE), index=True)
    intake_msp: Mapped[str] = mapped_column(String(CODE))
    qr_token_sha256: Mapped[str | None] = mapped_column(String(SHA), index=True)
    registered_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime]
    last_block: Mapped[int] = mapped_column(Integer)
    # From the current consent version's evidence (rebuildable from the ledger like the rest):
    # the legal regime code and the purposes allowed, sorted and comma-joined.
    legal_regime: Mapped[str | None] = mapped_column(String(CODE), index=True)
    purposes: Mapped[str | None] = mapped_column(String(CODE * 2))


class StepIndex(Base):
    """The event index, per step: one row per chaincode event (transaction) of a donation."""

    __tablename__ = "steps_index"
    __table_args__ = (Index("ix_steps_index_donation_id_block", "donation_id", "block_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    donation_id: Mapped[str] = mapped_column(String(ID))
    step: Mapped[str] = mapped_column(String(CODE))
    from_state: Mapped[str] = mapped_column(String(CODE))
    to_state: Mapped[str] = mapped_column(String(CODE))
    transaction_id: Mapped[str] = mapped_column(String(SHA), unique=True)
    block_number: Mapped[int] = mapped_column(Integer)
    timestamp: Mapped[dt.datetime]
    msp: Mapped[str] = mapped_column(String(CODE))
    executor: Mapped[str] = mapped_column(String(SHA))
    chaincode_version: Mapped[str] = mapped_column(String(CODE))
    package_id: Mapped[str] = mapped_column(String(200))
    evidence: Mapped[str] = mapped_column(Text)  # the event payload, canonical JSON


class DeidSummary(Base):
    """What a Deidentify step did, as counts (never values), kept after the reports are purged.

    Written by the pipeline with the step; ``report_sha256`` is the step's ``reportSha256`` on
    the ledger, so the viewer shows each round's counts under its own step. Not part of the
    index (the ledger holds only the report's hash, so a rebuild could not derive it).
    """

    __tablename__ = "deid_summaries"

    report_sha256: Mapped[str] = mapped_column(String(SHA), primary_key=True)
    donation_id: Mapped[str] = mapped_column(String(ID), index=True)
    files: Mapped[int] = mapped_column(Integer)
    counts: Mapped[str] = mapped_column(Text)  # JSON {operation: n}, anonymizer Report.counts
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    @property
    def counts_json(self) -> dict[str, int]:
        return json.loads(self.counts)


class IndexCheckpoint(Base):
    """Where the index listener resumes (committed with the rows it derived)."""

    __tablename__ = "index_checkpoint"

    name: Mapped[str] = mapped_column(String(CODE * 2), primary_key=True)
    block_number: Mapped[int] = mapped_column(Integer)
    transaction_id: Mapped[str | None] = mapped_column(String(SHA))


class DonorAccount(Base):
    """A donor's off-chain account: keyed pseudonym, e-mail sealed, found by a keyed hash."""

    __tablename__ = "donor_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pseudonym: Mapped[str] = mapped_column(String(ID), unique=True)
    contact_ref: Mapped[str] = mapped_column(String(ID), unique=True)  # the donor link's id
    wrapped_key: Mapped[bytes]  # the account's data key, wrapped by the intake org's KEK
    email_sealed: Mapped[bytes]
    email_hmac: Mapped[str] = mapped_column(String(SHA), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DonationRecord(Base):
    """The off-chain state of an open donation; deleted at STORED or ERASED."""

    __tablename__ = "donation_records"

    donation_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("donor_accounts.id", ondelete="SET NULL"), index=True)
    intake_org: Mapped[str] = mapped_column(String(CODE))
    wrapped_key: Mapped[bytes | None]
    kek_id: Mapped[str | None] = mapped_column(String(ID))
    salt_sealed: Mapped[bytes | None]
    consent_form: Mapped[str | None] = mapped_column(String(ID * 2))  # "id/version"
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class StagedObject(Base):
    """An object in the staging bucket (random name), until the donation is closed."""

    __tablename__ = "staged_objects"

    name: Mapped[str] = mapped_column(String(ID * 2), primary_key=True)
    donation_id: Mapped[str] = mapped_column(String(ID), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # original/deidentified/report/draft/finding
    sha256: Mapped[str] = mapped_column(String(SHA))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ReviewSession(Base):
    """A donor's review login: a one-time code (hash only) with a short validity."""

    __tablename__ = "review_sessions"

    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    donation_id: Mapped[str] = mapped_column(String(ID), index=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("donor_accounts.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[dt.datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """The audit log (append-only): who read or did what, when, from where."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(SHA))  # account id or certificate hash
    role: Mapped[str] = mapped_column(String(CODE))
    action: Mapped[str] = mapped_column(String(CODE))
    entity: Mapped[str | None] = mapped_column(String(ID * 2))
    outcome: Mapped[str] = mapped_column(String(16))
    source: Mapped[str | None] = mapped_column(String(64))  # e.g. a client address


class StaffAccount(Base):
    """A staff person of the web (operator, clinician, regulator, admin) and their sign-in.

    The password is an argon2id hash; the TOTP secret is sealed (AES-256-GCM) under the web's
    accounts key. ``fabric_user`` names the person's own Fabric identity in ``org`` (a wallet
    profile), which signs every ledger step they take; ``certificate_sha256`` is that
    certificate's hash, the ledger's ``executor`` of their steps.
    """

    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(CODE), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    org: Mapped[str] = mapped_column(String(CODE))
    fabric_user: Mapped[str] = mapped_column(String(CODE))
    certificate_sha256: Mapped[str | None] = mapped_column(String(SHA))
    password_hash: Mapped[str] = mapped_column(String(128))
    totp_sealed: Mapped[bytes]
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0)  # a code is used once
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None]
    disabled_at: Mapped[dt.datetime | None]
    last_login_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ExpectedStudy(Base):
    """A study a hospital PACS will push for an open donation (:mod:`client.pacs`).

    The Study Instance UID is kept only as a keyed hash (HMAC under the intake org's
    account key): it is the hospital's identifier of the patient's study. Deleted when the
    donation closes.
    """

    __tablename__ = "expected_studies"

    study_hmac: Mapped[str] = mapped_column(String(SHA), primary_key=True)
    donation_id: Mapped[str] = mapped_column(String(ID), index=True)
    source_json: Mapped[str] = mapped_column(String(128))  # the Acquire step's source
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    received_at: Mapped[dt.datetime | None]
