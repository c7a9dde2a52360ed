"""expected studies: the PACS studies registered beforehand for a donation

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 05:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import client.db.models

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "expected_studies",
        sa.Column("study_hmac", sa.String(length=64), nullable=False),
        sa.Column("donation_id", sa.String(length=64), nullable=False),
        sa.Column("source_json", sa.String(length=128), nullable=False),
        sa.Column("created_at", client.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", client.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("study_hmac", name=op.f("pk_expected_studies")),
    )
    with op.batch_alter_table("expected_studies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_expected_studies_donation_id"), ["donation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("expected_studies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expected_studies_donation_id"))
    op.drop_table("expected_studies")
