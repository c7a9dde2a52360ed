"""Issue 13 on the real servers: a PACS push and a paper record through the pipeline.

A hospital PACS (pynetdicom's SCU) pushes a multi-series study of a synthetic person to the
intake org's Storage SCP on loopback: every instance is staged encrypted in MinIO, one
Acquire step lists them by hash with the data source, an unknown study is refused. A scanned
paper record (a PDF page and a PNG page) is acquired, OCR proposes boxes, the operator's
boxes are burned in: the Deidentify step is manual, by the operator's certificate hash, and
the staged Secondary Capture carries none of the planted values.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time

import numpy as np
import pydicom
import pytest

from anonymizer.fold import fold
from anonymizer.ocr import read_words
from client.donations import Source
from client.errors import InvalidInput
from client.pacs import NOT_AUTHORIZED, SUCCESS, PacsSettings, StoreSCP
from client.paper_steps import PAPER
from client.settings import Settings, open_pipeline
from client.synthetic import person
from client.workflow import PipelineConfig, PipelineError
from tests.data.pacs import echo, multipart, part10, push, stow, study
from tests.data.paper import fonts_available, scanned_form

from .helpers import leaks

pytestmark = pytest.mark.timeout(900)
PORT = 11112 + int(os.environ.get("TRAZA_TEST_PORT_SHIFT", "5"))


@pytest.fixture(scope="module")
def pipeline(fabric, tmp_path_factory):
    home = tmp_path_factory.mktemp("intake")
    settings = Settings(home=home, profiles_dir=fabric.run / "profiles",
                        objects_file=fabric.run / "minio" / "hospital.json",
                        pipeline=PipelineConfig(intake_org="hospital"))
    with open_pipeline(settings) as p:
        yield p


def _consented(p) -> str:
    did = p.register("donante.intake@correo.example").donation_id
    p.consent(did)
    return did


def _event(p, did: str, step: str) -> dict:
    history = p.ledger.donations(p.config.service_actor).history(did)
    return next(h["event"] for h in history if h["event"]["step"] == step)


def test_a_pacs_push_is_staged_encrypted_and_acquired_once_by_hash(pipeline):
    p = pipeline
    did = _consented(p)
    who = person(21)
    instances = study(who, series=3, per_series=2)
    source = Source("human", "40-64", "C34.1")
    p.expect_study(did, instances[0].StudyInstanceUID, source)
    acquired: list[tuple[str, list[str]]] = []
    with StoreSCP(p, PacsSettings(port=PORT), on_acquired=lambda d, h: acquired.append((d, h))):
        assert echo(PORT) == SUCCESS
        assert push(instances[:2], PORT, abort=True) == [SUCCESS] * 2  # staged, not recorded
        time.sleep(0.5)
        assert acquired == []
        assert push(instances, PORT) == [SUCCESS] * 6
        deadline = time.monotonic() + 60
        while not acquired and time.monotonic() < deadline:
            time.sleep(0.2)
        assert push(study(who, series=1, per_series=1), PORT) == [NOT_AUTHORIZED]
        assert push(instances[:1], PORT) == [NOT_AUTHORIZED]  # received already
    assert [d for d, _ in acquired] == [did]

    with p.db.session() as s:
        rec = p._record(s, did)
        objs = p.staged.of(s, did, "original")
        plain = p.staged.read(rec, objs)
    assert len(objs) == 6  # the two resent after the abort are not staged twice
    got = {pydicom.dcmread(io.BytesIO(b)).SOPInstanceUID for b in plain}
    assert got == {ds.SOPInstanceUID for ds in instances}  # every instance arrived
    planted = {v for v in who.leak_values() if len(v) >= 6}
    for o in objs:  # what MinIO holds is sealed: no DICOM preamble, no planted value
        raw = p.objects.staging._b.get(o.name)
        assert raw[:4] == b"TZO\x01" and b"DICM" not in raw and leaks(planted, raw) == []

    acquire = _event(p, did, "Acquire")
    assert sorted(acquire["data"]["acquisition"]["originalSha256"]) == sorted(
        o.sha256 for o in objs) == sorted(acquired[0][1])
    assert acquire["data"]["acquisition"]["source"] == source.to_json()
    ledger = json.dumps(p.ledger.donations(p.config.service_actor).history(did)).encode()
    assert leaks(planted | {instances[0].StudyInstanceUID}, ledger) == []
    assert p.ledger.donations(p.config.service_actor).get(did)["state"] == "ACQUIRED"

    results = p.deidentify(did)  # the automatic path takes the pushed study from here
    assert len(results) == 6


@pytest.mark.skipif(not fonts_available(), reason="fonts-dejavu-core, fonts-liberation")
def test_a_paper_record_is_deidentified_by_hand_with_the_operators_boxes(pipeline):
    p = pipeline
    did = _consented(p)
    who = person(22)
    (page1, planted1, clinical), (page2, planted2, _) = (
        scanned_form(who, seed=22, page=1), scanned_form(who, seed=22, page=2))
    pdf, png = io.BytesIO(), io.BytesIO()
    page1.save(pdf, "PDF", resolution=200)
    page2.save(png, "PNG")
    source = Source("synthetic")
    hashes = p.ingest_paper(did, [pdf.getvalue(), png.getvalue()], source)
    assert len(hashes) == 2
    with pytest.raises(InvalidInput, match="staged already"):
        p.ingest_paper(did, [png.getvalue()], source)

    with pytest.raises(PipelineError, match="de-identified by hand"):
        p.deidentify(did)  # the automatic path has no DICOM here, and says so
    proposal = p.propose_paper(did)
    boxes = [b.to_json() for b in proposal]
    for page, values in zip(boxes, (planted1, planted2), strict=True):  # the operator adds
        page["boxes"] += [{"x0": max(0, v.box[0] - 6), "y0": max(0, v.box[1] - 6),
                           "x1": v.box[2] + 6, "y1": v.box[3] + 6} for v in values]
    done = p.deidentify_paper(did, {"format": "traza-paper-boxes/1", "pages": boxes})

    event = _event(p, did, "Deidentify")
    deid = event["data"]["deidentification"]
    assert deid["method"] == "manual" and deid["profile"] == {"id": "manual", "version": "1"}
    operator = p.ledger.executor(p.config.operator_actor)
    assert event["executor"] == operator == done.report["operator_sha256"]
    assert [m["frame"] for m in done.report["pixel_masks"]] == [0, 1]
    assert _event(p, did, "Acquire")["data"]["acquisition"]["source"] == {"kind": "synthetic"}

    with p.db.session() as s:
        rec = p._record(s, did)
        draft, report = (p.staged.read(rec, p.staged.of(s, did, k))[0]
                         for k in ("deidentified", "report"))
        assert len(p.staged.of(s, did, PAPER)) == 2
    assert deid["deidentifiedSha256"] == [hashlib.sha256(draft).hexdigest()]
    assert json.loads(report)[0]["report"]["operator_sha256"] == operator
    ds = pydicom.dcmread(io.BytesIO(draft))
    text = fold(" ".join(t for _, t in read_words(np.asarray(ds.pixel_array[0]),
                                                  full_frame=True)))
    parts = [w for v in planted1 for w in v.value.replace("/", " ").split() if len(w) >= 4]
    assert [w for w in parts if fold(w) in text] == []
    for line in clinical:  # the clinical text is still read
        assert any(fold(w) in text for w in line.split() if len(w) >= 6), line
    ledger = json.dumps(p.ledger.donations(p.config.service_actor).history(did)).encode()
    assert leaks({v for v in who.leak_values() if len(v) >= 6}, ledger) == []


@pytest.mark.skipif(not fonts_available(), reason="fonts-dejavu-core, fonts-liberation")
def test_the_redaction_page_records_the_step_with_the_operators_identity(pipeline):
    import re

    from web import WebConfig, accounts, create_app

    p = pipeline
    did = _consented(p)
    img, planted, _ = scanned_form(person(23), seed=23)
    app = create_app(WebConfig(database_url=str(p.db.url)), database=p.db)
    app.secret_key = "test-" + "k" * 32
    seen = []
    app.extensions["traza_pipeline_for"] = lambda who: seen.append(who) or p
    with p.db.session() as s:  # a staff session lasts as long as its account
        accounts.create(s, b"k" * 32, "operator1", "x" * 12, role="operator", org="hospital")
    c = app.test_client()
    with c.session_transaction() as s:
        s["principal"] = {"kind": "staff", "subject": "operator1", "role": "operator",
                          "org": "hospital"}
        s["since"] = int(time.time())  # as web.principal.sign_in sets it
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      c.get("/staff/redaction").get_data(as_text=True)).group(1)
    png = io.BytesIO()
    img.save(png, "PNG")
    r = c.post("/staff/redaction", content_type="multipart/form-data", data={
        "csrf_token": token, "donation_id": did, "synthetic": "1",
        "pages": (io.BytesIO(png.getvalue()), "hoja.png")})
    assert r.status_code == 303, r.get_data(as_text=True)
    html = c.get(f"/staff/redaction/{did}").get_data(as_text=True)
    proposed = re.search(r'name="boxes-1"[^>]*>([^<]*)</textarea>', html).group(1).strip()
    extra = "\n".join(f"{max(0, v.box[0] - 6)} {max(0, v.box[1] - 6)} {v.box[2] + 6} "
                      f"{v.box[3] + 6}" for v in planted)
    r = c.post(f"/staff/redaction/{did}", data={"csrf_token": token, "action": "submit",
                                               "boxes-1": proposed + "\n" + extra})
    assert r.status_code == 200, r.get_data(as_text=True)
    event = _event(p, did, "Deidentify")
    assert event["data"]["deidentification"]["method"] == "manual"
    assert event["executor"] == p.ledger.executor(p.config.operator_actor)
    assert {w.subject for w in seen} == {"operator1"}


def _stow(port: int, datasets) -> tuple[int, dict]:
    return stow(port, multipart([part10(d) for d in datasets]))


def test_a_stow_rs_request_is_staged_and_acquired_before_the_response(pipeline):
    from client.stow import StowRS

    p = pipeline
    did = _consented(p)
    instances = study(person(25), series=2, per_series=2)
    p.expect_study(did, instances[0].StudyInstanceUID, Source("synthetic"))
    with StoreSCP(p, PacsSettings(port=PORT + 2)) as scp, StowRS(scp, PORT + 3):
        status, body = _stow(PORT + 3, instances)
    assert status == 200 and len(body["00081199"]["Value"]) == 4
    acquire = _event(p, did, "Acquire")  # committed before the response
    assert len(acquire["data"]["acquisition"]["originalSha256"]) == 4
    assert acquire["data"]["acquisition"]["source"] == {"kind": "synthetic"}


def test_traza_intake_pacs_answers_in_the_foreground_and_stops_on_ctrl_c(fabric):
    import signal
    import subprocess
    import sys

    from tests.integration.conftest import REPO, TEST_RUN, TEST_TOPOLOGY

    port = PORT + 1
    env = {**os.environ, "TRAZA_TOPOLOGY": str(TEST_TOPOLOGY), "TRAZA_NETWORK_RUN": str(TEST_RUN)}
    proc = subprocess.Popen([sys.executable, "-m", "client.cli", "intake", "--org", "hospital",
                             "pacs", "--port", str(port), "--ae-title", "TRAZA",
                             "--stow-port", str(port + 1)], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        status = None
        while status is None and time.monotonic() < deadline and proc.poll() is None:
            status = echo(port)
            time.sleep(0.3)
        assert status == SUCCESS
        assert push(study(person(24), series=1, per_series=1), port) == [NOT_AUTHORIZED]
        status, body = _stow(port + 1, study(person(24), series=1, per_series=1))
        assert status == 409 and body["00081198"]["Value"][0]["00081197"]["Value"] == [
            NOT_AUTHORIZED]
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "SCP stopped" in out and "Traceback" not in out
