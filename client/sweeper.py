"""The sweeper: erase donations that stalled beyond what their donor consented to.

A donation that stops moving keeps its donor link in the intake org's private collection,
its sealed originals in staging and its data key in SQL. The consent says how long data may
be kept (``retentionMonths``); a donation whose last step is older than that, or that never
got a consent within ``unconsented_days``, is revoked (reason ``retention-expired``) and
erased, as if the donor had refused: the contract purges the link (PurgePrivateData) and
:meth:`client.workflow.Pipeline.erase` destroys the key, the staged objects and every SQL row
that links the donor (``client.db.retention.forget_donor_links``). A donation already
REVOKED but never erased (a crash between the two steps) is erased at once: nothing may
keep a revoked donor's data.

Run it periodically (``traza donation sweep``); it is idempotent, and a crash half way is
finished by the next run (Revoke and Erase are outbox steps with request ids).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from .db.models import DonationRecord
from .workflow import Pipeline

__all__ = ["Stalled", "find_stalled", "sweep", "UNCONSENTED_DAYS"]

#: Days a registered donation may wait for its first consent before it is erased.
UNCONSENTED_DAYS = 30
FINAL = ("STORED", "ERASED")


@dataclass(frozen=True)
class Stalled:
    """An open donation past its limit: what the sweeper does with it and why."""

    donation_id: str
    state: str
    last_step: datetime
    limit: datetime
    retention_months: int | None  # None: never consented

    @property
    def action(self) -> str:
        """``"erase"`` for a REVOKED donation, else ``"revoke+erase"``."""
        return "erase" if self.state == "REVOKED" else "revoke+erase"


def add_months(t: datetime, months: int) -> datetime:
    """``t`` plus calendar months (the 31st becomes the month's last day)."""
    month = t.month - 1 + months
    year, month = t.year + month // 12, month % 12 + 1
    day = min(t.day, calendar.monthrange(year, month)[1])
    return t.replace(year=year, month=month, day=day)


def _parse(ts: str) -> datetime:
    # The contract writes RFC 3339 with nanoseconds; Python keeps microseconds.
    head, _, frac = ts.rstrip("Z").partition(".")
    return datetime.fromisoformat(head).replace(
        tzinfo=UTC, microsecond=int((frac + "000000")[:6]) if frac else 0)


def find_stalled(pipeline: Pipeline, now: datetime | None = None, *,
                 unconsented_days: int = UNCONSENTED_DAYS) -> list[Stalled]:
    """The pipeline's open donations whose last step is older than their limit.

    The limit is the last step's time plus the current consent's ``retentionMonths``, or
    plus ``unconsented_days`` when there is no consent yet; REVOKED donations have no
    limit (they are always due). Times are the ledger's (the steps' evidence time).
    """
    now = now or datetime.now(UTC)
    with pipeline.db.session() as s:
        ids = list(s.scalars(select(DonationRecord.donation_id).where(
            DonationRecord.intake_org == pipeline.config.intake_org)
            .order_by(DonationRecord.donation_id)))
    donations = pipeline.ledger.donations(pipeline.config.service_actor)
    out = []
    for donation_id in ids:
        d = donations.get(donation_id)
        state, last = d["state"], _parse(d["updatedAt"])
        if state in FINAL:
            continue  # Pipeline.recover finishes those
        months = None
        if state == "REVOKED":
            limit = last
        elif d.get("consentVersion", 0) > 0:
            versions = donations.consents(donation_id)["versions"]
            months = int(versions[-1]["retentionMonths"])
            limit = add_months(last, months)
        else:
            limit = last + timedelta(days=unconsented_days)
        if now >= limit:
            out.append(Stalled(donation_id, state, last, limit, months))
    return out


def sweep(pipeline: Pipeline, now: datetime | None = None, *,
          unconsented_days: int = UNCONSENTED_DAYS, dry_run: bool = False) -> list[Stalled]:
    """Revoke (reason ``retention-expired``) and erase every stalled donation; return them.

    ``dry_run`` only lists them. Each erasure waits for its commit, so when this returns the
    donor links are purged on the ledger and their off-chain rows gone.
    """
    due = find_stalled(pipeline, now, unconsented_days=unconsented_days)
    if dry_run:
        return due
    for item in due:
        if item.state == "REVOKED":
            pipeline.erase(item.donation_id)
        else:
            pipeline.revoke(item.donation_id, reason_code="retention-expired")
    return due
