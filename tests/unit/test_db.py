"""client.db: migrations equal the models, each revision goes up and down, on both backends."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from client.db import (
    Base,
    Database,
    DatabaseUnavailable,
    DonationRecord,
    DonorAccount,
    Operation,
    OutboxItem,
    sqlite_url,
)

TABLES = {"operations", "outbox", "donations_index", "steps_index", "index_checkpoint",
          "donor_accounts", "donation_records", "staged_objects", "review_sessions",
          "audit_log", "deid_summaries"}


def _diff(db: Database) -> list:
    with db.engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), Base.metadata)


def test_head_equals_the_models(database_url):
    db = Database.open(database_url)
    try:
        assert db.revision() == db.head()
        assert _diff(db) == []
        assert set(inspect(db.engine).get_table_names()) >= TABLES
    finally:
        db.dispose()


def test_each_revision_goes_up_and_down(database_url):
    db = Database(database_url)
    try:
        revisions = list(reversed(list(ScriptDirectory.from_config(db.alembic_config())
                                       .walk_revisions())))
        assert revisions, "no migration found"
        for rev in revisions:
            db.upgrade(rev.revision)
            assert db.revision() == rev.revision
            db.downgrade(rev.down_revision or "base")
            assert db.revision() == rev.down_revision
            db.upgrade(rev.revision)
        db.downgrade("base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        # The models' own DDL and the migrations agree once back at head.
        db.upgrade()
        assert _diff(db) == []
    finally:
        db.dispose()


def test_open_twice_is_a_no_op(database_url):
    first = Database.open(database_url)
    second = Database.open(database_url)
    try:
        assert second.revision() == first.head()
    finally:
        first.dispose()
        second.dispose()


def test_times_come_back_aware_utc(db):
    at = dt.datetime(2026, 3, 1, 3, 4, 5, 123456, tzinfo=dt.timezone(dt.timedelta(hours=-6)))
    with db.session() as s:
        s.add(Operation(executor_sha256="e" * 64, action="Consent", at=at))
    with db.session() as s:
        got = s.scalar(select(Operation.at))
    assert got == at and got.utcoffset() == dt.timedelta(0)
    assert got.hour == 9


def test_naive_times_are_refused(db):
    with pytest.raises(Exception, match="naive datetime"), db.session() as s:
        s.add(Operation(executor_sha256="e" * 64, action="x", at=dt.datetime(2026, 1, 1)))


def test_sealed_bytes_round_trip_and_uniques_hold(db):
    sealed = bytes(range(256))
    with db.session() as s:
        s.add(DonorAccount(pseudonym="p-1", contact_ref="c-1", wrapped_key=b"k",
                           email_sealed=sealed, email_hmac="h" * 64))
    with db.session() as s:
        assert s.scalar(select(DonorAccount.email_sealed)) == sealed
    with pytest.raises(IntegrityError), db.session() as s:
        s.add(DonorAccount(pseudonym="p-2", contact_ref="c-2", wrapped_key=b"k",
                           email_sealed=b"x", email_hmac="h" * 64))


def test_foreign_keys_are_enforced(db):
    with pytest.raises(IntegrityError), db.session() as s:
        s.add(DonationRecord(donation_id="d-1", account_id=999, intake_org="HospitalMSP"))
    with pytest.raises(IntegrityError), db.session() as s:
        s.add(OutboxItem(request_id="r-1", donation_id="d-1", step="Consent", org="hospital",
                         user="service1", payload="{}", operation_id=12345))


def test_a_failed_session_commits_nothing(db):
    with pytest.raises(RuntimeError), db.session() as s:
        s.add(Operation(executor_sha256="e" * 64, action="Consent"))
        s.flush()
        raise RuntimeError("boom")
    with db.session() as s:
        assert s.scalars(select(Operation)).all() == []


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path):
    db = Database.open(sqlite_url(tmp_path / "x.sqlite"))
    try:
        with db.session() as s:
            assert s.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert s.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        db.dispose()


def test_plain_postgresql_url_gets_psycopg_and_hides_the_password():
    db = Database("postgresql://traza:s3cret@127.0.0.1:1/traza")
    assert db.url.drivername == "postgresql+psycopg"
    assert "s3cret" not in db.safe_url and "s3cret" not in repr(db)


def test_unreachable_postgresql_is_a_clear_error():
    db = Database("postgresql://traza:s3cret@127.0.0.1:1/traza?connect_timeout=2")
    with pytest.raises(DatabaseUnavailable) as err, db.session() as s:
        s.execute(text("SELECT 1"))
    message = str(err.value)
    assert "127.0.0.1:1" in message and "unavailable" in message
    assert "s3cret" not in message


def test_forget_donor_links_leaves_no_row_linking_the_donor(db):
    from client.db import ExpectedStudy, ReviewSession, StagedObject, forget_donor_links
    from client.outbox import enqueue

    now = dt.datetime.now(dt.UTC)
    with db.session() as s:
        account = DonorAccount(pseudonym="p-1", contact_ref="c-1", wrapped_key=b"k",
                               email_sealed=b"sealed", email_hmac="h" * 64)
        s.add(account)
        s.flush()
        for donation in ("d-1", "d-2"):
            s.add(DonationRecord(donation_id=donation, account_id=account.id,
                                 intake_org="HospitalMSP", wrapped_key=b"k", salt_sealed=b"s"))
            s.add(StagedObject(name=f"o-{donation}", donation_id=donation, kind="original",
                               sha256="a" * 64, size=1))
            s.add(ReviewSession(id=f"s-{donation}", donation_id=donation,
                                account_id=account.id, code_hash="c", expires_at=now))
            s.add(ExpectedStudy(study_hmac=donation * 16, donation_id=donation,
                                source_json='{"kind": "synthetic"}'))
            enqueue(s, donation_id=donation, step="LinkDonor", org="hospital", user="op",
                    payload={}, sealed=b"link",
                    operation={"executor_sha256": "e" * 64, "donor_ref": b"ref"})
    with db.session() as s:
        gone = forget_donor_links(s, "d-1")
    assert (gone.records, gone.staged_objects, gone.review_sessions, gone.operations_blanked,
            gone.outbox_blanked, gone.expected_studies) == (1, 1, 1, 1, 1, 1)
    with db.session() as s:
        assert s.get(DonationRecord, "d-1") is None and s.get(DonationRecord, "d-2")
        assert [o.name for o in s.scalars(select(StagedObject))] == ["o-d-2"]
        assert [r.id for r in s.scalars(select(ReviewSession))] == ["s-d-2"]
        assert [e.donation_id for e in s.scalars(select(ExpectedStudy))] == ["d-2"]
        refs = {o.donation_id: o.donor_ref for o in s.scalars(select(Operation))}
        assert refs == {"d-1": None, "d-2": b"ref"}
        sealed = {o.donation_id: o.sealed for o in s.scalars(select(OutboxItem))}
        assert sealed == {"d-1": None, "d-2": b"link"}


def test_a_read_session_runs_beside_a_writer_holding_the_lock(tmp_path):
    db = Database.open(sqlite_url(tmp_path / "wal.db"))
    try:
        with db.session() as w:  # BEGIN IMMEDIATE: the write lock is held in this block
            w.add(Operation(executor_sha256="0" * 64, action="probe"))
            w.flush()
            with db.read_session() as r:  # would wait the busy timeout if it took the lock
                assert r.scalars(select(Operation)).all() == []  # not committed yet
        with db.read_session() as r:
            assert len(r.scalars(select(Operation)).all()) == 1
    finally:
        db.dispose()


def test_a_write_in_a_read_session_is_an_error_not_a_silent_loss(tmp_path):
    from client.db.database import ReadOnlySessionError

    db = Database.open(sqlite_url(tmp_path / "ro.db"))
    try:
        with pytest.raises(ReadOnlySessionError), db.read_session() as r:
            r.add(Operation(executor_sha256="0" * 64, action="probe"))
        with db.read_session() as r:
            assert r.scalars(select(Operation)).all() == []
    finally:
        db.dispose()
