"""regulator console: consent facets in the index, de-identification summaries, the audit
log made append-only by triggers

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 05:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import client.db.models

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The audit log refuses UPDATE and DELETE in the database itself, not only in the code.
# (TRUNCATE, which only the table's owner may run, is left to the database's grants: the
# test suite empties tables with it between tests.)
SQLITE_TRIGGERS = [
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
]
POSTGRES_TRIGGERS = [
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
    "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
]


def upgrade() -> None:
    with op.batch_alter_table("donations_index", schema=None) as batch_op:
        batch_op.add_column(sa.Column("legal_regime", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("purposes", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_donations_index_legal_regime"), ["legal_regime"],
                              unique=False)
    op.create_table(
        "deid_summaries",
        sa.Column("report_sha256", sa.String(length=64), nullable=False),
        sa.Column("donation_id", sa.String(length=64), nullable=False),
        sa.Column("files", sa.Integer(), nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.Column("created_at", client.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("report_sha256", name=op.f("pk_deid_summaries")),
    )
    with op.batch_alter_table("deid_summaries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deid_summaries_donation_id"), ["donation_id"],
                              unique=False)
    for statement in (SQLITE_TRIGGERS if op.get_context().dialect.name == "sqlite"
                      else POSTGRES_TRIGGERS):
        op.execute(statement)


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    with op.batch_alter_table("deid_summaries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deid_summaries_donation_id"))
    op.drop_table("deid_summaries")
    with op.batch_alter_table("donations_index", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_donations_index_legal_regime"))
        batch_op.drop_column("purposes")
        batch_op.drop_column("legal_regime")
