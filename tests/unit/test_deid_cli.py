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


def _written(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_folder_with_secret_from_env_names_outputs_by_new_uid(tmp_path, inputs):
    out, reports = tmp_path / "out", tmp_path / "rep"
    res = invoke(inputs, out, "--report", reports, "--jobs", 1, "--donor", "D-1", "--quiet",
                 env={"TRAZA_DEID_SECRET": SECRET})
    assert res.exit_code == 0, res.output
    assert "2 de-identified, 0 failed" in res.output
    names = _written(out)
    # Flat, named by the new SOP Instance UID: no input file or folder name is left.
    assert len(names) == 2 and all(n.startswith("2.25.") and "/" not in n for n in names)
    assert {synth.read((out / n).read_bytes()).SOPInstanceUID + ".dcm" for n in names} == \
        set(names)
    assert _written(reports) == [f"{n}.json" for n in names]


def test_keep_names(tmp_path, inputs):
    out, reports = tmp_path / "out", tmp_path / "rep"
    res = invoke(inputs, out, "--report", reports, "--jobs", 1, "--donor", "D-1", "--quiet",
                 "--keep-names", env={"TRAZA_DEID_SECRET": SECRET})
    assert res.exit_code == 0, res.output
    assert _written(out) == ["serie/1.dcm", "serie/2.dcm"]
    assert _written(reports) == ["serie/1.dcm.json", "serie/2.dcm.json"]


def test_secret_file_and_failure_exit_code(tmp_path, inputs):
    (inputs / "GARCIA_LOPEZ_MARIA.dcm").write_bytes(b"DICM")
    key = tmp_path / "clave"
    key.write_text(SECRET + "\n")
    res = invoke(inputs, tmp_path / "out", "--secret-file", key, "--donor", "D-1", "--jobs", 1)
    assert res.exit_code == 1
    assert "2 de-identified, 1 failed" in res.output
    # Named by position: the input name may be personal data.
    assert "error: file 1 of 3: not a DICOM Part 10 file" in res.output
    assert "GARCIA" not in res.output
    assert len(_written(tmp_path / "out")) == 2
    verbose = invoke(inputs, tmp_path / "out2", "--secret-file", key, "--donor", "D-1",
                     "--jobs", 1, "--verbose")
    assert "error: GARCIA_LOPEZ_MARIA.dcm: not a DICOM Part 10 file" in verbose.output


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ([], {"TRAZA_DEID_SECRET": "corta"}, "at least 16 bytes"),
        (["--profile", "otro"], {"TRAZA_DEID_SECRET": SECRET}, "'otro' is not one of"),
        (["--jobs", "0"], {"TRAZA_DEID_SECRET": SECRET}, "0 is not in the range"),
    ],
)
def test_usage_errors(tmp_path, inputs, args, env, message):
    res = invoke(inputs, tmp_path / "out", "--donor", "D-1", *args, env=env)
    assert res.exit_code == 2
    assert message in res.output
    assert res.output.endswith("\n")
    assert not (tmp_path / "out").exists()


def test_max_size(tmp_path, inputs):
    (inputs / "grande.dcm").write_bytes(b"\0" * (2 << 20))
    res = invoke(inputs, tmp_path / "out", "--donor", "D-1", "--jobs", 1, "--max-size", 1,
                 "--verbose", env={"TRAZA_DEID_SECRET": SECRET})
    assert res.exit_code == 1
    assert "error: grande.dcm: 2097152 bytes is over the limit of 1048576\n" in res.output


def test_no_secret_generates_one_0600_and_reuses_it(tmp_path, inputs):
    env = {"XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    first = invoke(inputs, tmp_path / "a", "--donor", "D-1", "--jobs", 1, "--quiet", env=env)
    assert first.exit_code == 0, first.output
    path = tmp_path / "cfg" / "traza" / "deid-secret"
    assert f"saved it (mode 0600) in {path}" in first.output
    assert path.stat().st_mode & 0o777 == 0o600
    assert (path.parent.stat().st_mode & 0o777) == 0o700
    second = invoke(inputs, tmp_path / "b", "--donor", "D-1", "--jobs", 1, "--quiet", env=env)
    assert f"using the secret in {path}" in second.output
    assert _written(tmp_path / "a") == _written(tmp_path / "b")  # same secret, same UIDs
    path.chmod(0o644)
    loose = invoke(inputs, tmp_path / "c", "--donor", "D-1", "--quiet", env=env)
    assert loose.exit_code == 1 and "chmod 600" in loose.output
    assert loose.output.endswith("\n")


def _patient(n, patient_id, issuer):
    ds = synth.make_dataset(n)
    ds.PatientID, ds.IssuerOfPatientID = patient_id, issuer
    return synth.to_bytes(ds)


def test_without_donor_scopes_per_patient(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    files = {"a1": _patient(1, "P1", "HOSP-A"), "a2": _patient(2, "P1", "HOSP-A"),
             "b": _patient(3, "P1", "HOSP-B"), "c": _patient(4, "P2", "HOSP-A")}
    for name, data in files.items():
        (src / f"{name}.dcm").write_bytes(data)
    res = invoke(src, tmp_path / "out", "--jobs", 1, "--quiet", "--keep-names",
                 env={"TRAZA_DEID_SECRET": SECRET})
    assert res.exit_code == 0, res.output
    out = {n: synth.read((tmp_path / "out" / f"{n}.dcm").read_bytes()) for n in files}
    ids = {n: d.PatientID for n, d in out.items()}
    studies = {n: d.StudyInstanceUID for n, d in out.items()}
    dates = {n: d.StudyDate for n, d in out.items()}
    # Same patient (ID and issuer): one pseudonym, one study UID, one date offset.
    assert ids["a1"] == ids["a2"] and studies["a1"] == studies["a2"]
    assert dates["a1"] == dates["a2"]
    # Same number at another issuer, or another number: another patient.
    assert len({ids["a1"], ids["b"], ids["c"]}) == 3
    assert len({studies["a1"], studies["b"], studies["c"]}) == 3
    with_donor = invoke(src, tmp_path / "out2", "--jobs", 1, "--quiet", "--keep-names",
                        "--donor", "D-1", env={"TRAZA_DEID_SECRET": SECRET})
    assert with_donor.exit_code == 0
    donor_ids = {synth.read((tmp_path / "out2" / f"{n}.dcm").read_bytes()).PatientID
                 for n in files}
    assert len(donor_ids) == 1  # with --donor, one scope for all, as before


def test_refused_zip_is_a_clear_error_ending_with_a_newline(tmp_path):
    import zipfile

    archive = tmp_path / "d.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../fuera.dcm", synth.to_bytes(synth.make_dataset(1)))
    res = invoke(archive, tmp_path / "out", "--donor", "D-1", "--quiet",
                 env={"TRAZA_DEID_SECRET": SECRET})
    assert res.exit_code == 1
    assert res.output.endswith("zip member 1: unsafe name (., .., absolute or drive path); "
                               "archive refused\n")
    assert not (tmp_path / "out").exists()
