"""client.sweeper: which open donations are past their consent's retention."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from client import sweeper
from client.db import Database
from client.db.models import DonationRecord
from client.workflow import PipelineConfig

T0 = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("start", "months", "want"), [
    (T0, 1, datetime(2026, 2, 28, 12, 0, tzinfo=UTC)),
    (T0, 13, datetime(2027, 2, 28, 12, 0, tzinfo=UTC)),
    (datetime(2024, 1, 31, tzinfo=UTC), 1, datetime(2024, 2, 29, tzinfo=UTC)),
    (datetime(2026, 11, 15, tzinfo=UTC), 2, datetime(2027, 1, 15, tzinfo=UTC)),
])
def test_add_months(start, months, want):
    assert sweeper.add_months(start, months) == want


class FakeDonations:
    def __init__(self, records, consents):
        self.records, self.consents_ = records, consents

    def get(self, donation_id):
        return self.records[donation_id]

    def consents(self, donation_id):
        return {"versions": [{"retentionMonths": m} for m in self.consents_[donation_id]]}


@dataclass
class FakeLedger:
    donations_: FakeDonations

    def donations(self, actor):
        return self.donations_


@dataclass
class FakePipeline:
    db: Database
    ledger: FakeLedger
    config: PipelineConfig


def _record(state, updated, consent=0):
    return {"state": state, "updatedAt": updated, "consentVersion": consent}


def test_find_stalled_uses_the_current_consent_and_skips_final_and_other_orgs(tmp_path):
    db = Database.open(f"sqlite:///{tmp_path / 't.db'}")
    ids = {k: f"d-{i:024x}" for i, k in enumerate(
        ["old", "young", "unconsented", "revoked", "stored", "university", "superseded"])}
    with db.session() as s:
        for k, did in ids.items():
            s.add(DonationRecord(donation_id=did,
                                 intake_org="university" if k == "university" else "hospital"))
    ts = "2026-01-31T12:00:00.123456789Z"
    records = {
        ids["old"]: _record("ACQUIRED", ts, 1), ids["young"]: _record("CONSENTED", ts, 1),
        ids["unconsented"]: _record("REGISTERED", ts), ids["revoked"]: _record("REVOKED", ts, 1),
        ids["stored"]: _record("STORED", ts, 1), ids["university"]: _record("ACQUIRED", ts, 1),
        ids["superseded"]: _record("CONSENTED", ts, 2),
    }
    consents = {ids["old"]: [1], ids["young"]: [12], ids["revoked"]: [120],
                ids["stored"]: [1], ids["university"]: [1], ids["superseded"]: [1, 120]}
    p = FakePipeline(db, FakeLedger(FakeDonations(records, consents)),
                     PipelineConfig(intake_org="hospital"))
    now = datetime(2026, 3, 15, tzinfo=UTC)  # 1.5 months on
    due = {d.donation_id: d for d in sweeper.find_stalled(p, now)}
    assert set(due) == {ids["old"], ids["unconsented"], ids["revoked"]}
    assert due[ids["old"]].limit == datetime(2026, 2, 28, 12, 0, 0, 123456, tzinfo=UTC)
    assert (due[ids["old"]].retention_months, due[ids["old"]].action) == (1, "revoke+erase")
    assert due[ids["unconsented"]].retention_months is None
    assert due[ids["revoked"]].action == "erase"
    # 30 days without consent is the default; a longer grace keeps the unconsented one.
    assert ids["unconsented"] not in {
        d.donation_id for d in sweeper.find_stalled(p, now, unconsented_days=60)}
    assert sweeper.sweep(p, now, dry_run=True) == list(due.values())
    db.dispose()
