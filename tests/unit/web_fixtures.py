"""A web app over SQLite with fakes for the ledger and MinIO: donors, staff, a review.

:class:`World` holds real SQL rows (accounts, records, staged-object rows, the index) and a
fake pipeline (:class:`FakePipeline`) that records the steps the web asks for and moves the
fake ledger's state; :func:`make_app` builds the app on it. Sign-in helpers go through the
real pages (CSRF token, e-mailed code, TOTP).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import secrets
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pydicom
import pyotp
from pydicom.data import get_testdata_file

from client import findings
from client.crypto import KeyRing, new_data_key
from client.db import Database
from client.db.database import sqlite_url
from client.db.models import DonationIndex, DonationRecord, DonorAccount
from client.donor import keyed_hash, new_id
from client.donor_login import DonorLogin
from client.evidence import Bundle
from client.index import EventIndex, events_of_block
from client.intake import Deidentified, read_inputs
from client.ledger import Actor
from client.receipt import build_receipt
from client.staging import StagedObjects
from client.synthetic import person
from client.workflow import PipelineConfig
from web import WebConfig, accounts, create_app
from web.identity import actor_of, config_for
from web.security import TokenBucket

BASE = "https://localhost"  # Secure cookies travel over https only
ACCOUNTS_KEY = b"a" * 32
PASSWORD = "correct horse battery staple"
CT = Path(get_testdata_file("CT_small.dcm")).read_bytes()


class MemStaging:
    """``client.objects.Staging`` in memory (no sealing: the fake keeps plaintext)."""

    bucket = "staging"

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put(self, key: bytes, data: bytes, *, donation_id: str) -> str:
        name = "s-" + secrets.token_hex(16)
        self.objects[name] = data
        return name

    def get(self, name: str, key: bytes, *, donation_id: str) -> bytes:
        return self.objects[name]

    def delete_many(self, names: list[str]) -> None:
        for n in names:
            self.objects.pop(n, None)


class FakeDonations:
    def __init__(self, world: World) -> None:
        self.world = world

    def get(self, did: str) -> dict:
        return dict(self.world.chain[did])

    def consents(self, did: str) -> dict:
        return {"current": 1, "versions": [{"formId": "traza-donacion", "formVersion": "2.0",
                                             "version": 1, "txId": "c" * 64}]}


@dataclass
class FakePipeline:
    """The Pipeline methods the web calls; each step is recorded with its actor."""

    world: World
    config: PipelineConfig

    @property
    def db(self) -> Database:
        return self.world.db

    @property
    def staged(self) -> StagedObjects:
        return self.world.staged

    @property
    def ledger(self) -> SimpleNamespace:
        return SimpleNamespace(donations=lambda actor: FakeDonations(self.world))

    def _step(self, step: str, did: str, actor: Actor, to: str | None = None, **data) -> dict:
        self.world.steps.append((step, did, actor, data))
        if to:
            self.world.chain.setdefault(did, {})["state"] = to
        return {"txId": secrets.token_hex(32), "blockNumber": len(self.world.steps)}

    def accept(self, did: str) -> dict:
        return self._step("Accept", did, self.config.service_actor, "ACCEPTED")

    def request_changes(self, did: str, comment: str | None = None) -> dict:
        return self._step("RequestChanges", did, self.config.service_actor,
                          "CHANGES_REQUESTED", comment=comment)

    def refuse(self, did: str, comment: str | None = None):
        erased = self._step("Erase", did, self.config.service_actor, "ERASED")
        return build_receipt(did, {**erased, "step": "Erase"}, None, [],
                             staging_bucket="staging")

    def ingest(self, did: str, path: Path, source) -> list[str]:
        items = list(read_inputs(Path(path)))
        self._step("Acquire", did, self.config.operator_actor, "ACQUIRED", files=len(items),
                   source=source.to_json())
        return [secrets.token_hex(32) for _ in items]

    def deidentify(self, did: str) -> list[Deidentified]:
        self._step("Deidentify", did, self.config.deid_actor, "DEIDENTIFIED")
        return [Deidentified(b"", {}, "0" * 64, "se quitaron 3 datos")]

    def diagnose(self, did: str, code: str, text: str = "", *, clinician: Actor):
        findings.finding_document(did, code, text, study_sha256=[])  # its checks
        self._step("Diagnose", did, clinician, "DIAGNOSED", code=code)
        return SimpleNamespace(sha256="f" * 64)


@dataclass
class Donor:
    email: str
    donation_id: str
    original_sha256: str
    deidentified_sha256: str
    planted: list[str]


@dataclass
class World:
    """SQLite, a key ring, in-memory staging, a fake ledger; what the web did, recorded."""

    tmp: Path
    db: Database = field(init=False)
    keys: KeyRing = field(init=False)
    staged: StagedObjects = field(init=False)
    chain: dict[str, dict] = field(default_factory=dict)
    steps: list[tuple] = field(default_factory=list)
    sent: list = field(default_factory=list)
    base: PipelineConfig = field(default_factory=PipelineConfig)

    def __post_init__(self) -> None:
        self.db = Database.open(sqlite_url(self.tmp / "web.db"))
        self.keys = KeyRing.open(self.tmp / "keys")
        self.staged = StagedObjects(MemStaging(), self.keys)

    @contextmanager
    def pipeline_for(self, who):
        yield FakePipeline(self, config_for(who, self.base))

    def actor(self, who) -> Actor:
        return actor_of(who, self.base)

    def add_donor(self, seed: int, state: str = "UNDER_REVIEW") -> Donor:
        """A donor with one CT under review: original (planted PHI) and de-identified."""
        p = person(seed)
        did = new_id("d")
        ds = pydicom.dcmread(io.BytesIO(CT))
        ds.PatientName, ds.PatientID = p.name.pn, p.mrn
        ds.InstitutionName = p.institution.name
        buf = io.BytesIO()
        ds.save_as(buf)
        original = buf.getvalue()
        del ds.PatientName
        ds.PatientID = "ANON-" + did[-6:]
        buf = io.BytesIO()
        ds.save_as(buf)
        deidentified = buf.getvalue()
        with self.db.session() as s:
            akey, ref = new_data_key(), new_id("c")
            account = DonorAccount(pseudonym="p-" + did[-24:], contact_ref=ref,
                                   email_hmac=keyed_hash(ACCOUNTS_KEY, "email", p.email),
                                   wrapped_key=self.keys.wrap(akey, ref), email_sealed=b"x")
            s.add(account)
            s.flush()
            rec = DonationRecord(donation_id=did, account_id=account.id, intake_org="hospital",
                                 wrapped_key=self.keys.wrap(new_data_key(), did),
                                 kek_id=self.keys.current.kek_id)
            s.add(rec)
            s.add(DonationIndex(donation_id=did, state=state, intake_msp="HospitalMSP",
                                updated_at=dt.datetime.now(dt.UTC), last_block=9))
            s.flush()
            orig = self.staged.put(s, rec, "original", [original])[0]
            draft = self.staged.put(s, rec, "deidentified", [deidentified])[0]
            report = {"input_sha256": orig.sha256, "output_sha256": draft.sha256,
                      "attributes": [
                          {"path": "PatientName", "keyword": "PatientName",
                           "operation": "removed", "action": "X"},
                          {"path": "PatientID", "keyword": "PatientID",
                           "operation": "pseudonym", "action": "U"}],
                      "pixel_masks": [{"frame": 0, "boxes": [[2, 2, 20, 12]]}]}
            self.staged.put(s, rec, "report", [json.dumps(
                [{"reportSha256": "r" * 64, "report": report}]).encode()])
        self.chain[did] = {"state": state, "deidentifiedSha256": [draft.sha256],
                           "consentVersion": 1}
        return Donor(p.email, did, orig.sha256, draft.sha256, [p.name.pn, p.mrn, p.email])

    def add_staff(self, username: str, role: str, org: str = "hospital") -> str:
        """A staff account; returns its TOTP secret."""
        with self.db.session() as s:
            return accounts.create(s, ACCOUNTS_KEY, username, PASSWORD, role=role,
                                   org=org).totp_secret


def make_app(world: World, **config):
    cfg = WebConfig(database_url=str(world.db.url), secret_key=b"k" * 32, **config)
    login = DonorLogin(ACCOUNTS_KEY, world.sent.append, sender="no-responder@traza.local")
    app = create_app(cfg, database=world.db, limiter=TokenBucket(6000, 1000),
                     pipeline_for=world.pipeline_for, donor_login=login,
                     accounts_key=ACCOUNTS_KEY)
    app.extensions["traza_auth_bucket"] = TokenBucket(6000, 1000)
    return app


def csrf(client, path: str) -> str:
    """The CSRF token of the form on ``path``."""
    html = client.get(path, base_url=BASE).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def post(client, path: str, data: dict | None = None, *, form: str | None = None, **kw):
    """POST ``data`` with the CSRF token of the page ``form`` (default ``path``)."""
    token = csrf(client, form or path)
    return client.post(path, data={"csrf_token": token, **(data or {})}, base_url=BASE, **kw)


def code_of(message) -> str:
    body = message.get_body(("plain",)).get_content()
    return re.search(r"\b(\d{6})\b", body).group(1)


def sign_in_donor(client, world: World, donor: Donor):
    post(client, "/entrar", {"email": donor.email})
    return post(client, "/entrar/codigo", {"code": code_of(world.sent[-1])})


def sign_in_staff(client, username: str, secret: str, *, at: float | None = None):
    code = pyotp.TOTP(secret).at(at) if at else pyotp.TOTP(secret).now()
    return post(client, "/personal/entrar",
                {"username": username, "password": PASSWORD, "code": code})


def staff_session(client, db: Database, who: dict) -> None:
    """Start ``who``'s session on ``client`` as ``web.principal.sign_in`` does.

    A staff principal gets its account row too: a staff session ends when its account is
    gone, disabled or changed (``web.sessions``).
    """
    import time

    from sqlalchemy import select

    from client.db.models import StaffAccount

    if who.get("kind") == "staff":
        with db.session() as s:
            if s.scalar(select(StaffAccount).where(
                    StaffAccount.username == who["subject"])) is None:
                s.add(StaffAccount(username=who["subject"], role=who["role"], org=who["org"],
                                   fabric_user=accounts.fabric_user(who["subject"]),
                                   password_hash="-", totp_sealed=b"-", totp_last_step=0,
                                   failed_attempts=0))
    with client.session_transaction() as s:
        s["principal"] = dict(who)
        s["since"] = int(time.time())


CAPTURED_BUNDLE = Path(__file__).resolve().parents[1] / "data" / "evidence" / "bundle-9-steps.json"


def indexed_database(path: Path, bundle: Bundle) -> Database:
    """A SQLite event index at ``path`` built from a captured bundle's blocks."""
    database = Database.open(sqlite_url(path))
    index = EventIndex(database)
    for n in sorted(bundle.blocks):
        for event in events_of_block(bundle.blocks[n], bundle.chaincode):
            index.apply_event(event)
    return database
