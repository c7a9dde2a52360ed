"""``traza deid`` through click's CliRunner (real text engine if present, else the fake)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from anonymizer import cli as deid_cli
from anonymizer import pipeline
from tests.data.dicom import fakes, synth

SECRET = "una-clave-de-prueba-larga"


@pytest.fixture(autouse=True)
def fake_engines(monkeypatch):
    monkeypatch.setattr(pipeline, "default_engines", lambda: fakes.ENGINES)


@pytest.fixture
def inputs(tmp_path):
    src = tmp_path / "in"
    (src / "serie").mkdir(parents=True)
    (src / "serie" / "1.dcm").write_bytes(synth.to_bytes(synth.make_dataset(1)))
    (src / "serie" / "2.dcm").write_bytes(synth.to_bytes(synth.make_dataset(2)))
    return src


def invoke(*args, env=None):
    return CliRunner().invoke(deid_cli.deid, [str(a) for a in args], env=env or {})


def test_folder_with_secret_from_env(tmp_path, inputs):
    out, reports = tmp_path / "out", tmp_path / "rep"
    res = invoke(inputs, out, "--report", reports, "--jobs", 1, "--donor", "D-1", "--quiet",
                 env={"TRAZA_DEID_SECRET": SECRET})
    assert res.exit_code == 0, res.output
    assert "2 de-identified, 0 failed" in res.output
    assert (out / "serie" / "1.dcm").is_file() and (reports / "serie" / "2.dcm.json").is_file()


def test_secret_file_and_failure_exit_code(tmp_path, inputs):
    (inputs / "roto.dcm").write_bytes(b"DICM")
    key = tmp_path / "clave"
    key.write_text(SECRET + "\n")
    res = invoke(inputs, tmp_path / "out", "--secret-file", key, "--donor", "D-1", "--jobs", 1)
    assert res.exit_code == 1
    assert "2 de-identified, 1 failed" in res.output
    assert "error: roto.dcm: not a DICOM Part 10 file" in res.output
    assert (tmp_path / "out" / "serie" / "2.dcm").is_file()


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ([], {}, "give --secret-file or set TRAZA_DEID_SECRET"),
        ([], {"TRAZA_DEID_SECRET": "corta"}, "at least 16 bytes"),
        (["--profile", "otro"], {"TRAZA_DEID_SECRET": SECRET}, "'otro' is not one of"),
        (["--jobs", "0"], {"TRAZA_DEID_SECRET": SECRET}, "0 is not in the range"),
    ],
)
def test_usage_errors(tmp_path, inputs, args, env, message):
    res = invoke(inputs, tmp_path / "out", "--donor", "D-1", *args, env=env)
    assert res.exit_code == 2
    assert message in res.output
    assert not (tmp_path / "out").exists()


def test_max_size(tmp_path, inputs):
    (inputs / "grande.dcm").write_bytes(b"\0" * (2 << 20))
    res = invoke(inputs, tmp_path / "out", "--donor", "D-1", "--jobs", 1, "--max-size", 1,
                 env={"TRAZA_DEID_SECRET": SECRET})
    assert res.exit_code == 1
    assert "error: grande.dcm: 2097152 bytes is over the limit of 1048576" in res.output


def test_donor_is_required(tmp_path, inputs):
    res = invoke(inputs, tmp_path / "out", env={"TRAZA_DEID_SECRET": SECRET})
    assert res.exit_code == 2 and "--donor" in res.output
