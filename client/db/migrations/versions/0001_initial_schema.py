"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-12-01 21:38:42.396247
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import client.db.models

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", client.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("entity", sa.String(length=128), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)

    op.create_table(
        "donations_index",
        sa.Column("donation_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("intake_msp", sa.String(length=32), nullable=False),
        sa.Column("qr_token_sha256", sa.String(length=64), nullable=True),
        sa.Column("registered_at", client.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", client.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_block", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("donation_id", name=op.f("pk_donations_index")),
    )
    with op.batch_alter_table("donations_index", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_donations_index_qr_token_sha256"), ["qr_token_sha256"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_donations_index_state"), ["state"], unique=False)

    op.create_table(
        "donor_accounts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("pseudonym", sa.String(length=64), nullable=False),
        sa.Column("contact_ref", sa.String(length=64), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("email_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("email_hmac", sa.String(length=64), nullable=False),
        sa.Column("created_at", client.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_donor_accounts")),
        sa.UniqueConstraint("contact_ref", name=op.f("uq_donor_accounts_contact_ref")),
        sa.UniqueConstraint("email_hmac", name=op.f("uq_donor_accounts_email_hmac")),
        sa.UniqueConstraint("pseudonym", name=op.f("uq_donor_accounts_pseudonym")),
    )
    op.create_table(
        "index_checkpoint",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("block_number", sa.Integer(), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_index_checkpoint")),
    )
    op.create_table(
        "operations",
        sa.Column("number", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("executor_sha256", sa.String(length=64), nullable=False),
        sa.Column("donation_id", sa.String(length=64), nullable=True),
        sa.Column("donor_ref", sa.LargeBinary(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("original_object", sa.String(length=64), nullable=True),
        sa.Column("modified_object", sa.String(length=64), nullable=True),
        sa.Column("at", client.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_operations")),
    )
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_operations_donation_id"), ["donation_id"], unique=False
        )

    op.create_table(
        "staged_objects",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("donation_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", client.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_staged_objects")),
    )
    with op.batch_alter_table("staged_objects", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_staged_objects_donation_id"), ["donation_id"], unique=False
        )

    op.create_table(
        "steps_index",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("donation_id", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=32), nullable=False),
        sa.Column("to_state", sa.String(length=32), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("block_number", sa.Integer(), nullable=False),
        sa.Column("timestamp", client.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("msp", sa.String(length=32), nullable=False),
        sa.Column("executor", sa.String(length=64), nullable=False),
        sa.Column("chaincode_version", sa.String(length=32), nullable=False),
        sa.Column("package_id", sa.String(length=200), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_steps_index")),
        sa.UniqueConstraint("transaction_id", name=op.f("uq_steps_index_transaction_id")),
    )
    with op.batch_alter_table("steps_index", schema=None) as batch_op:
        batch_op.create_index(
            "ix_steps_index_donation_id_block", ["donation_id", "block_number"], unique=False
        )

    op.create_table(
        "donation_records",
        sa.Column("donation_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("intake_org", sa.String(length=32), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("kek_id", sa.String(length=64), nullable=True),
        sa.Column("salt_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("consent_form", sa.String(length=128), nullable=True),
        sa.Column("created_at", client.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["donor_accounts.id"],
            name=op.f("fk_donation_records_account_id_donor_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("donation_id", name=op.f("pk_donation_records")),
    )
    with op.batch_alter_table("donation_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_donation_records_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("donation_id", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("org", sa.String(length=32), nullable=False),
        sa.Column("user", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", client.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("heartbeat_at", client.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("transaction_id", sa.String(length=64), nullable=True),
        sa.Column("block_number", sa.Integer(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("created_at", client.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", client.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("operation_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["operation_id"], ["operations.number"], name=op.f("fk_outbox_operation_id_operations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("request_id", name=op.f("uq_outbox_request_id")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_claim", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_outbox_donation_id_id", ["donation_id", "id"], unique=False)

    op.create_table(
        "review_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("donation_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("code_hash", sa.String(length=128), nullable=False),
        sa.Column("expires_at", client.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", client.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", client.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["donor_accounts.id"],
            name=op.f("fk_review_sessions_account_id_donor_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_sessions")),
    )
    with op.batch_alter_table("review_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_sessions_donation_id"), ["donation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("review_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_sessions_donation_id"))

    op.drop_table("review_sessions")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_donation_id_id")
        batch_op.drop_index("ix_outbox_claim")

    op.drop_table("outbox")
    with op.batch_alter_table("donation_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_donation_records_account_id"))

    op.drop_table("donation_records")
    with op.batch_alter_table("steps_index", schema=None) as batch_op:
        batch_op.drop_index("ix_steps_index_donation_id_block")

    op.drop_table("steps_index")
    with op.batch_alter_table("staged_objects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staged_objects_donation_id"))

    op.drop_table("staged_objects")
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operations_donation_id"))

    op.drop_table("operations")
    op.drop_table("index_checkpoint")
    op.drop_table("donor_accounts")
    with op.batch_alter_table("donations_index", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_donations_index_state"))
        batch_op.drop_index(batch_op.f("ix_donations_index_qr_token_sha256"))

    op.drop_table("donations_index")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))

    op.drop_table("audit_log")
