"""staff accounts (web sign-in: argon2 password, sealed TOTP, own Fabric identity)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 05:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import client.db.models

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_accounts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("org", sa.String(length=32), nullable=False),
        sa.Column("fabric_user", sa.String(length=32), nullable=False),
        sa.Column("certificate_sha256", sa.String(length=64), nullable=True),
        sa.Column("password_hash", sa.String(length=128), nullable=False),
        sa.Column("totp_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("totp_last_step", sa.Integer(), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", client.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", client.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", client.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", client.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_accounts")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_accounts_username")),
    )


def downgrade() -> None:
    op.drop_table("staff_accounts")
