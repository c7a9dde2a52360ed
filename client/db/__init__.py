"""Durable off-chain state in SQL (SQLAlchemy 2 + Alembic): SQLite by default, PostgreSQL by URL.

Tables in :mod:`client.db.models`; :class:`Database` opens and migrates them.
"""

from .database import (
    Database,
    DatabaseError,
    DatabaseUnavailable,
    sqlite_url,
    temporary_schema,
)
from .models import (
    AuditEntry,
    Base,
    DeidSummary,
    DonationIndex,
    DonationRecord,
    DonorAccount,
    ExpectedStudy,
    IndexCheckpoint,
    Operation,
    OutboxItem,
    ReviewSession,
    StaffAccount,
    StagedObject,
    StepIndex,
    utcnow,
)
from .retention import Forgotten, forget_donor_links

__all__ = [
    "AuditEntry", "Base", "Database", "DatabaseError", "DatabaseUnavailable", "DeidSummary",
    "DonationIndex", "DonationRecord", "DonorAccount", "ExpectedStudy", "Forgotten",
    "IndexCheckpoint", "Operation", "OutboxItem", "ReviewSession", "StaffAccount", "StagedObject",
    "StepIndex", "forget_donor_links", "sqlite_url", "temporary_schema", "utcnow",
]
