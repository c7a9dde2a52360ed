"""What goes when a donation closes (STORED or ERASED): every SQL row that links it to its donor.

After the final step nothing off-chain may lead from the donation back to the person
(DESIGN.md, "Off-chain state"): the open-donation record (data key, sealed salt, account
link), its staged-object rows, its review sessions and the PACS studies it expected go; the
sealed donor reference in the operational log and sealed transient data in the outbox are
blanked. The log rows themselves stay (operation number, executor, action, object ids,
time): the record of what was done.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from .models import (
    DonationRecord,
    ExpectedStudy,
    Operation,
    OutboxItem,
    ReviewSession,
    StagedObject,
)

__all__ = ["Forgotten", "forget_donor_links"]


@dataclass(frozen=True)
class Forgotten:
    """Rows deleted or blanked by :func:`forget_donor_links`."""

    records: int
    staged_objects: int
    review_sessions: int
    operations_blanked: int
    outbox_blanked: int
    expected_studies: int = 0


def forget_donor_links(session: Session, donation_id: str) -> Forgotten:
    """Delete or blank, in ``session``'s transaction, every row linking the donation to its donor.

    Call it in the transaction that records the STORED/ERASED outcome, after the staged
    objects were deleted from MinIO and the data key destroyed.
    """
    def rows(statement) -> int:
        return session.execute(statement.execution_options(synchronize_session=False)).rowcount

    staged = rows(delete(StagedObject).where(StagedObject.donation_id == donation_id))
    sessions = rows(delete(ReviewSession).where(ReviewSession.donation_id == donation_id))
    records = rows(delete(DonationRecord).where(DonationRecord.donation_id == donation_id))
    ops = rows(update(Operation).where(Operation.donation_id == donation_id,
                                       Operation.donor_ref.is_not(None)).values(donor_ref=None))
    out = rows(update(OutboxItem).where(OutboxItem.donation_id == donation_id,
                                        OutboxItem.sealed.is_not(None)).values(sealed=None))
    studies = rows(delete(ExpectedStudy).where(ExpectedStudy.donation_id == donation_id))
    return Forgotten(records, staged, sessions, ops, out, studies)
