"""Issue 9: the donation pipeline on the real servers (Fabric, MinIO, SQL, SMTP).

A donation of corpus files with planted synthetic PHI goes end to end with one change loop;
then every block (Deliver), the raw MinIO data folder, the SQL database and every node log
are scanned for the planted values and the donor's e-mail: none is there. A second donation
is revoked and leaves nothing in MinIO or SQL; its receipt checks against the ledger. Key
rotation re-wraps without touching objects. MinIO down and a peer down lose nothing.
Everything runs once on SQLite and once on PostgreSQL.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
from dataclasses import replace
from pathlib import Path

import pydicom
import pytest
from sqlalchemy import select, text

from bench.deid.corpus import generate_corpus
from client.db import Base, DonationRecord, DonorAccount, Operation, OutboxItem, StagedObject
from client.donations import Source
from client.errors import WrongState
from client.index import EventIndex
from client.ledger import Actor
from client.mail import MailSettings
from client.objects import ObjectStoreUnavailable
from client.receipt import verify_receipt
from client.settings import Settings, open_pipeline
from client.workflow import PipelineConfig, PipelineError
from network import channel, minio
from network.process import stop
from tests.conftest import _schema

from .helpers import leaks, start_node, stop_node

pytestmark = pytest.mark.timeout(1500)

EMAIL = "lupita.hernandez.lopez@correo.example"
COMMENT = "Soy Guadalupe Hernández López; por favor oculten también la fecha."
KINDS = ("CT", "US", "SR", "RTSTRUCT")




@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A folder of four corpus files (CT, US with burned-in text, SR, RTSTRUCT) and their PHI."""
    src = tmp_path_factory.mktemp("corpus")
    manifest = generate_corpus(src, n_files=22, seed=11, quiet=True)
    folder = tmp_path_factory.mktemp("donation")
    planted: set[str] = set()
    for i, kind in enumerate(KINDS):
        entry = next((f for f in manifest.files
                      if f["modality"] == kind or f["kind"].upper() == kind), None)
        if entry is None:
            continue
        (folder / f"{i}.dcm").write_bytes((src / entry["path"]).read_bytes())
        for info in manifest.labels_for(entry).values():
            planted |= {v for v in info["variants"] if len(v) >= 6}
    return folder, planted


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def settings(request, fabric, tmp_path_factory):
    """The pipeline of Hospital, on SQLite or on a PostgreSQL schema of its own."""
    home = tmp_path_factory.mktemp(f"pipeline-{request.param}")
    with contextlib.ExitStack() as stack:
        url = (f"sqlite:///{home / 'traza.db'}" if request.param == "sqlite" else
               stack.enter_context(_schema(request.getfixturevalue("postgres_base_url"))))
        yield Settings(home=home, profiles_dir=fabric.run / "profiles",
                       objects_file=fabric.run / "minio" / "hospital.json", database_url=url,
                       mail=MailSettings(fabric.mail.host, fabric.mail.port,
                                         "no-responder@traza.local"),
                       pipeline=PipelineConfig(intake_org="hospital", deid_org="university"))


@pytest.fixture(scope="module")
def donated(settings, corpus):
    """One donation end to end with a change loop; returns what the tests look at."""
    folder, _ = corpus
    seen: list[dict] = []
    with open_pipeline(settings, on_step=lambda ev, _a: seen.append(ev)) as p:
        staging_before = set(p.objects.staging.list_names())
        reg = p.register(EMAIL)
        did = reg.donation_id
        p.consent(did)
        originals = p.ingest(did, folder, Source("human", "40-64", "C50.9"))
        p.deidentify(did)
        p.diagnose(did, "R91.8", "Nódulo de 8 mm en lóbulo superior derecho.",
                   clinician=Actor("imss", "clinician1"))
        p.submit_for_review(did)
        p.request_changes(did, COMMENT)
        p.deidentify(did)
        p.submit_for_review(did)
        p.accept(did)
        library = p.store(did)
        ledger = p.ledger.donations(p.config.service_actor)
        yield {"pipeline": p, "id": did, "registration": reg, "originals": originals,
               "library": library, "steps": seen, "staging_before": staging_before,
               "donation": ledger.get(did), "history": ledger.history(did)}


def test_the_donation_is_stored_with_each_step_once(donated):
    d = donated
    assert d["donation"]["state"] == "STORED"
    names = [ev["step"] for ev in d["steps"]]
    assert names == ["RegisterDonation", "LinkDonor", "Consent", "Acquire", "Deidentify",
                     "Diagnose", "SubmitForReview", "RequestChanges", "Deidentify",
                     "SubmitForReview", "Accept", "Store"]
    history = [h["event"]["txId"] for h in d["history"]]
    assert len(history) == len(set(history)) == len(names) - 1  # LinkDonor writes no record
    assert sorted(d["library"]) == sorted(d["donation"]["deidentifiedSha256"])
    assert sorted(set(d["originals"])) == sorted(d["donation"]["originalSha256"])


def test_library_objects_are_content_addressed_and_de_identified(donated, corpus):
    _, planted = corpus
    library = donated["pipeline"].objects.library
    for sha in donated["library"]:
        data = library.get(sha)  # the hash is verified on every read
        ds = pydicom.dcmread(pydicom.filebase.DicomBytesIO(data))
        assert ds.PatientIdentityRemoved == "YES"
        assert leaks(planted, data) == []


def test_nothing_off_chain_links_the_donor_after_store(donated):
    p, did = donated["pipeline"], donated["id"]
    with p.db.session() as s:
        assert s.get(DonationRecord, did) is None
        assert s.scalars(select(StagedObject).where(StagedObject.donation_id == did)).all() == []
        ops = s.scalars(select(Operation).where(Operation.donation_id == did)).all()
        assert len(ops) >= 12 and all(op.donor_ref is None for op in ops)
        items = s.scalars(select(OutboxItem).where(OutboxItem.donation_id == did)).all()
        assert {i.status for i in items} == {"done"} and all(i.sealed is None for i in items)
        assert s.scalars(select(DonorAccount)).all() == []
    left = set(p.objects.staging.list_names()) - donated["staging_before"]
    assert left == set()


def test_the_index_rebuilt_from_the_ledger_has_every_step(donated, profiles):
    p, did = donated["pipeline"], donated["id"]
    regulator = profiles("imss", "regulator1")
    with regulator.gateway() as gw:
        EventIndex(p.db).rebuild(gw.get_network(regulator.channel))
    with p.db.session() as s:
        rows = s.execute(text("SELECT step, transaction_id FROM steps_index "
                              "WHERE donation_id = :d"), {"d": did}).all()
        state = s.execute(text("SELECT state, qr_token_sha256 FROM donations_index "
                               "WHERE donation_id = :d"), {"d": did}).one()
    assert sorted(r[1] for r in rows) == sorted(ev["txId"] for ev in donated["steps"])
    assert state[0] == "STORED" and state[1] == donated["donation"]["qrTokenSha256"]


def test_the_qr_e_mail_was_kept_by_the_smtp_server(donated, fabric):
    url = donated["registration"].viewer_url
    kept = sorted((fabric.run / "mail").glob("*.eml"))
    messages = [email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
                for f in kept]
    mine = [m for m in messages if url in m.get_body(("plain",)).get_content()]
    assert len(mine) == 1 and mine[0]["To"] == EMAIL
    assert "Hernández" not in mine[0].as_string()


def _database_bytes(p) -> bytes:
    if p.db.dialect == "sqlite":
        path = Path(p.db.engine.url.database)
        return b"".join(f.read_bytes() for f in path.parent.glob(path.name + "*"))
    out = []
    with p.db.session() as s:
        for table in Base.metadata.sorted_tables:
            for row in s.execute(table.select()):
                out += [v if isinstance(v, bytes) else str(v).encode() for v in row]
    return b"\0".join(out)


def test_no_planted_value_anywhere_it_could_reach(donated, corpus, fabric, profiles):
    _, planted = corpus
    values = planted | {EMAIL, COMMENT, "Guadalupe Hernández"}
    height = channel.height(fabric, fabric.org("imss").peers[0])
    regulator = profiles("imss", "regulator1")
    with regulator.gateway() as gw:
        blocks = b"".join(b.SerializeToString() for b in
                          gw.get_network(regulator.channel).blocks(0, height - 1))
    minio_data = b"".join(f.read_bytes() for f in (fabric.run / "minio" / "data").rglob("*")
                          if f.is_file())
    logs = b"".join(f.read_bytes() for f in fabric.run.rglob("log"))
    places = {"blocks": blocks, "minio": minio_data, "sql": _database_bytes(donated["pipeline"]),
              "logs": logs}
    # Positive control: what is meant to be there is found by the same scan.
    assert donated["id"].encode() in blocks and donated["id"].encode() in places["sql"]
    assert donated["library"][0].encode() in blocks
    for where, data in places.items():
        assert leaks(values, data) == [], where


def test_a_revoked_donation_leaves_nothing_and_its_receipt_checks(settings, corpus, donated):
    folder, _ = corpus
    p = donated["pipeline"]
    before = set(p.objects.staging.list_names())
    reg = p.register(EMAIL)
    p.consent(reg.donation_id)
    p.ingest(reg.donation_id, folder, Source("synthetic"))
    assert len(set(p.objects.staging.list_names()) - before) == len(list(folder.iterdir()))
    receipt = p.revoke(reg.donation_id)
    assert set(p.objects.staging.list_names()) == before
    with p.db.session() as s:
        assert s.get(DonationRecord, reg.donation_id) is None
        assert s.scalars(select(StagedObject).where(
            StagedObject.donation_id == reg.donation_id)).all() == []
        assert s.scalars(select(DonorAccount)).all() == []
    checks = verify_receipt(receipt, p.ledger.donations(p.config.service_actor),
                            p.objects.staging.exists)
    assert [c.what for c in checks if not c.ok] == []
    assert {d["kind"] for d in receipt.deleted} == {"original"}
    assert "Hernández" not in receipt.to_json() and EMAIL not in receipt.text_es()


def test_key_rotation_rewraps_without_touching_objects(corpus, donated):
    folder, _ = corpus
    p = donated["pipeline"]
    reg = p.register(EMAIL)
    p.consent(reg.donation_id)
    p.ingest(reg.donation_id, folder, Source("synthetic"))
    with p.db.session() as s:
        old = s.get(DonationRecord, reg.donation_id).kek_id
    names = set(p.objects.staging.list_names())
    assert p.rotate_keys() >= 2  # this donation's key and its account's
    with p.db.session() as s:
        assert s.get(DonationRecord, reg.donation_id).kek_id != old
    assert p.deidentify(reg.donation_id)  # the originals open under the re-wrapped key
    assert names <= set(p.objects.staging.list_names())
    p.revoke(reg.donation_id)


def test_minio_down_is_a_clear_error_and_records_nothing(fabric, corpus, donated):
    folder, _ = corpus
    p = donated["pipeline"]
    reg = p.register(EMAIL)
    p.consent(reg.donation_id)
    assert stop(minio.minio_node(fabric))
    try:
        with pytest.raises(ObjectStoreUnavailable, match="staging"):
            p.ingest(reg.donation_id, folder, Source("synthetic"))
        with p.db.session() as s:
            assert s.scalars(select(OutboxItem).where(
                OutboxItem.donation_id == reg.donation_id,
                OutboxItem.step == "Acquire")).all() == []
            assert s.scalars(select(StagedObject).where(
                StagedObject.donation_id == reg.donation_id)).all() == []
    finally:
        minio.start_minio(fabric)
    p.ingest(reg.donation_id, folder, Source("synthetic"))
    p.revoke(reg.donation_id)


def test_a_step_queued_while_the_peer_is_down_commits_once_later(fabric, settings, donated):
    p = donated["pipeline"]
    reg = p.register(EMAIL)
    peer = fabric.org("hospital").peers[0]
    impatient = replace(settings, pipeline=replace(settings.pipeline, step_timeout=5.0))
    stop_node(fabric, peer)
    try:
        with open_pipeline(impatient) as q, pytest.raises(PipelineError,
                                                          match="the outbox keeps it"):
            q.consent(reg.donation_id)
    finally:
        start_node(fabric, peer)
    with p.db.session() as s:
        item = s.scalars(select(OutboxItem).where(OutboxItem.donation_id == reg.donation_id,
                                                  OutboxItem.step == "Consent")).one()
    assert p.wait(item.request_id)["to"] == "CONSENTED"
    history = p.ledger.donations(p.config.service_actor).history(reg.donation_id)
    assert [h["event"]["step"] for h in history].count("Consent") == 1
    with pytest.raises(WrongState):  # the state moved once: CONSENTED, not under review
        p.accept(reg.donation_id)
    p.revoke(reg.donation_id)


def test_a_crash_inside_erase_is_finished_by_recover(corpus, donated, monkeypatch):
    folder, _ = corpus
    p = donated["pipeline"]
    reg = p.register(EMAIL)
    p.consent(reg.donation_id)
    before = set(p.objects.staging.list_names())
    p.ingest(reg.donation_id, folder, Source("synthetic"))
    mine = set(p.objects.staging.list_names()) - before
    assert mine

    def crash(names):
        raise ObjectStoreUnavailable("MinIO went away", bucket="staging", name=names[0])

    with monkeypatch.context() as m:
        m.setattr(p.objects.staging, "delete_many", crash)
        with pytest.raises(ObjectStoreUnavailable):
            p.revoke(reg.donation_id)
    with p.db.session() as s:  # the key is gone with the Erase step queued
        assert s.get(DonationRecord, reg.donation_id) is None
        erase = s.scalars(select(OutboxItem).where(OutboxItem.donation_id == reg.donation_id,
                                                   OutboxItem.step == "Erase")).one()
    assert p.recover() == [reg.donation_id]
    assert p.wait(erase.request_id)["to"] == "ERASED"
    assert not (mine & set(p.objects.staging.list_names()))
    assert p.recover() == []
