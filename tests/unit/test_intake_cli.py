"""traza intake paper | pacs: options, the proposal file, and the steps on a fake pipeline."""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
from click.testing import CliRunner
from PIL import Image

from client import donation_cli, paper
from client.intake import Deidentified
from client.intake_cli import intake
from client.synthetic import person
from tests.data.paper import fonts_available, scanned_form

DID = "d-" + "e" * 24


class FakePipeline:
    def __init__(self):
        self.calls = []

    def ingest_paper(self, donation_id, files, source):
        self.calls.append(("ingest", donation_id, len(files), source.to_json()))

    def deidentify_paper(self, donation_id, boxes):
        self.calls.append(("deidentify", donation_id, boxes))
        return Deidentified(b"", {"pages": boxes["pages"]}, "0" * 64, "Anonimización manual.")

    def expect_study(self, donation_id, study_uid, source):
        self.calls.append(("expect", donation_id, study_uid, source.to_json()))


@pytest.fixture
def fake(monkeypatch):
    pipeline = FakePipeline()

    @contextmanager
    def fake_open(settings):
        assert settings.pipeline.operator == "operator2"
        yield pipeline

    monkeypatch.setattr(donation_cli, "open_pipeline", fake_open)
    return pipeline


def _run(tmp_path, *args):
    return CliRunner().invoke(intake, ["--operator", "operator2", *args],
                              obj={"run_dir": str(tmp_path)})


@pytest.mark.skipif(not fonts_available(), reason="fonts for the scanned form")
def test_propose_writes_the_boxes_and_boxes_records_both_steps(tmp_path, fake):
    img, planted, _ = scanned_form(person(9), seed=9)
    scan = tmp_path / "hoja.png"
    img.save(scan)
    out = tmp_path / "boxes.json"
    r = _run(tmp_path, "paper", DID, str(scan), "--propose", str(out))
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text())
    assert data["format"] == paper.BOXES_FORMAT and len(data["pages"][0]["boxes"]) >= 6
    assert fake.calls == []  # proposing stages and records nothing
    for v in planted:
        assert v.value not in out.read_text() and v.value not in r.output

    r = _run(tmp_path, "paper", DID, str(scan), "--boxes", str(out), "--age-band", "18-39",
             "--condition", "J18.9")
    assert r.exit_code == 0, r.output
    assert [c[0] for c in fake.calls] == ["ingest", "deidentify"]
    assert fake.calls[0][3] == {"kind": "human", "ageBand": "18-39", "conditionCode": "J18.9"}
    assert "Deidentify committed" in r.output and "Anonimización manual." in r.output


def test_boxes_that_do_not_fit_the_scans_stage_nothing(tmp_path, fake):
    scan = tmp_path / "p.png"
    Image.new("L", (200, 100), 255).save(scan)
    bad = tmp_path / "b.json"
    bad.write_text(json.dumps({"format": paper.BOXES_FORMAT, "pages": [
        {"page": 1, "width": 300, "height": 100, "boxes": []}]}))
    r = _run(tmp_path, "paper", DID, str(scan), "--boxes", str(bad), "--synthetic")
    assert r.exit_code == 1 and "drawn on a 300x100 page" in r.output
    (tmp_path / "c.json").write_text("{not json")
    r = _run(tmp_path, "paper", DID, str(scan), "--boxes", str(tmp_path / "c.json"),
             "--synthetic")
    assert r.exit_code == 1 and "JSONDecodeError" in r.output
    assert fake.calls == []


@pytest.mark.parametrize(("args", "message"), [
    (["paper", DID], "either --propose FILE or --boxes FILE"),
    (["pacs", "--tls-cert", "{f}"], "TLS needs --tls-cert, --tls-key and --tls-ca"),
    (["pacs", "--ae-title", "X" * 17], "1 to 16 characters"),
    (["pacs", "expect", DID, "--study-uid", "1.2.3"], "either --synthetic or --age-band"),
])
def test_usage_errors(tmp_path, fake, args, message):
    f = tmp_path / "f.pem"
    f.write_text("x")
    r = _run(tmp_path, *[a.replace("{f}", str(f)) for a in args])
    assert r.exit_code == 2 and message in r.output, r.output


def test_expect_registers_the_study_with_its_source(tmp_path, fake):
    r = _run(tmp_path, "pacs", "expect", DID, "--study-uid", "1.2.840.99.1", "--synthetic")
    assert r.exit_code == 0, r.output
    assert fake.calls == [("expect", DID, "1.2.840.99.1", {"kind": "synthetic"})]
    assert "1.2.840.99.1" not in r.output


def test_a_scan_that_is_not_an_image_is_refused_by_position(tmp_path, fake):
    (tmp_path / "a.txt").write_bytes(b"hola")
    out = tmp_path / "o.json"
    r = _run(tmp_path, "paper", DID, str(tmp_path / "a.txt"), "--propose", str(out))
    assert r.exit_code == 1 and "file 1 of 1: not a PDF, JPEG, PNG or TIFF" in r.output
    assert not out.exists()
