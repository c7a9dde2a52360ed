"""The pipeline: one file, folders, zips, bad input, atomic writes, reports, processes."""

from __future__ import annotations

import json
import zipfile

import pytest
from pydicom.uid import ExplicitVRLittleEndian

from anonymizer import pipeline
from anonymizer.errors import DeidError, InputError, UnsupportedTransferSyntax
from anonymizer.pipeline import deidentify_bytes, deidentify_file, run
from tests.data.dicom import fakes, synth

SECRET = b"s" * 32


def _unknown_syntax() -> bytes:
    ds = synth.make_dataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    data = synth.to_bytes(ds)
    # Same length as 1.2.840.10008.1.2.1 so the group length stays right.
    return data.replace(b"1.2.840.10008.1.2.1\0", b"1.2.840.99999.9.9.9\0", 1)


GOOD = synth.to_bytes(synth.make_dataset())
BAD_INPUTS = [
    (b"", InputError, "empty file"),
    (b"no soy DICOM\n" * 20, InputError, "not a DICOM Part 10 file"),
    (GOOD[: len(GOOD) - 300], InputError, "truncated"),
    (GOOD[:700], InputError, "truncated"),
    (GOOD[:300], InputError, "no data set"),
    (_unknown_syntax(), UnsupportedTransferSyntax, "unknown transfer syntax 1.2.840.99999"),
]


@pytest.mark.parametrize(("data", "error", "message"), BAD_INPUTS)
def test_bad_input_gets_a_clear_error_and_writes_nothing(tmp_path, data, error, message):
    src, dst = tmp_path / "in.dcm", tmp_path / "out" / "in.dcm"
    src.write_bytes(data)
    with pytest.raises(error, match=message) as info:
        deidentify_file(src, dst, secret=SECRET, donor="d", engines=fakes.ENGINES)
    assert "in.dcm" in str(info.value)
    assert not dst.exists()
    assert not list(tmp_path.glob("out/*"))  # no temporary file left behind either
    assert not [v for v in synth.PHI if v in str(info.value)]


def test_over_the_size_limit(tmp_path):
    src = tmp_path / "big.dcm"
    src.write_bytes(GOOD)
    with pytest.raises(InputError, match="over the limit of 1000"):
        deidentify_file(src, tmp_path / "o.dcm", secret=SECRET, donor="d", max_bytes=1000,
                        engines=fakes.ENGINES)


def test_refuses_to_overwrite_the_input_and_needs_a_secret(tmp_path):
    src = tmp_path / "a.dcm"
    src.write_bytes(GOOD)
    with pytest.raises(DeidError, match="overwrite the input"):
        deidentify_file(src, src, secret=SECRET, donor="d", engines=fakes.ENGINES)
    with pytest.raises(DeidError, match="secret"):
        deidentify_bytes(GOOD, secret=b"", donor="d", engines=fakes.ENGINES)


def test_deidentify_file_report_hashes_match_the_files(tmp_path):
    import hashlib

    src, dst = tmp_path / "a.dcm", tmp_path / "o" / "a.dcm"
    src.write_bytes(GOOD)
    report = deidentify_file(src, dst, secret=SECRET, donor="d", engines=fakes.ENGINES)
    assert report.input_sha256 == hashlib.sha256(GOOD).hexdigest()
    assert report.output_sha256 == hashlib.sha256(dst.read_bytes()).hexdigest()


def test_failed_encode_leaves_no_partial_file(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise OSError("disk full")

    src, dst = tmp_path / "a.dcm", tmp_path / "o" / "a.dcm"
    src.write_bytes(GOOD)
    monkeypatch.setattr(pipeline.os, "fsync", boom)
    with pytest.raises(OSError):
        deidentify_file(src, dst, secret=SECRET, donor="d", engines=fakes.ENGINES)
    assert not dst.exists() and not list(dst.parent.iterdir())


def _tree(root):
    (root / "estudio" / "serie1").mkdir(parents=True)
    (root / "estudio" / "serie1" / "1.dcm").write_bytes(synth.to_bytes(synth.make_dataset(1)))
    (root / "estudio" / "serie1" / "2.dcm").write_bytes(synth.to_bytes(synth.make_dataset(2)))
    (root / "estudio" / "us.dcm").write_bytes(
        synth.to_bytes(synth.make_dataset(3, modality="US", frames=2, text_box=True)))
    (root / "estudio" / "LEEME.txt").write_text("no es DICOM")
    (root / "vacio.dcm").write_bytes(b"")


@pytest.mark.parametrize("jobs", [1, 2])
def test_run_over_a_folder_keeps_names_and_goes_past_bad_files(tmp_path, jobs):
    src, out, reports = tmp_path / "in", tmp_path / "out", tmp_path / "reports"
    _tree(src)
    seen = []
    result = run(src, out, report_dir=reports, jobs=jobs, secret=SECRET, donor="d",
                 engines=fakes.ENGINES, progress=seen.append, keep_names=True)
    ok = sorted(r.name for r in result.results if r.ok)
    assert ok == ["estudio/serie1/1.dcm", "estudio/serie1/2.dcm", "estudio/us.dcm"]
    assert sorted(r.name for r in result.failed) == ["estudio/LEEME.txt", "vacio.dcm"]
    assert not result.ok and len(seen) == 5
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == ok
    for name in ok:
        data = (out / name).read_bytes()
        assert not [v for v in synth.PHI for e in synth.encodings(v) if e in data]
        rep = json.loads((reports / f"{name}.json").read_text(encoding="utf-8"))
        assert rep["profile_id"] == "library"
    one = next(r for r in result.results if r.name == "estudio/us.dcm")
    assert one.report["counts"]["pixel_boxes"] == 2 and len(one.report_sha256) == 64
    assert "regiones con texto" in one.summary_es
    a, b = (synth.read((out / f"estudio/serie1/{n}.dcm").read_bytes()) for n in (1, 2))
    assert a.StudyInstanceUID == b.StudyInstanceUID  # same donor, across processes


def test_donations_in_a_row_share_the_callers_pool(tmp_path):
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=2) as pool:
        outputs = {}
        for donor in ("donante-a", "donante-b"):
            src = tmp_path / donor
            src.mkdir()
            for i in (1, 2, 3):
                (src / f"{i}.dcm").write_bytes(synth.to_bytes(synth.make_dataset(i)))
            result = run(src, tmp_path / "out" / donor, executor=pool, secret=SECRET,
                         donor=donor, engines=fakes.ENGINES, keep_names=True)
            assert result.ok and [r.name for r in result.results] == ["1.dcm", "2.dcm", "3.dcm"]
            outputs[donor] = synth.read((tmp_path / "out" / donor / "1.dcm").read_bytes())
        assert pool.submit(abs, -3).result() == 3  # still open: the caller owns it
    assert outputs["donante-a"].PatientID != outputs["donante-b"].PatientID


def test_multi_frame_images_go_to_the_frames_finder_whole():
    calls = []

    def in_frames(frames, **_options):
        calls.append(len(frames))
        return [fakes.find_text_boxes(f) for f in frames]

    engines = pipeline.Engines(fakes.redact, fakes.find_text_boxes, fakes.mask, in_frames)
    data = synth.to_bytes(synth.make_dataset(3, modality="US", frames=3, text_box=True))
    out, report = deidentify_bytes(data, secret=SECRET, donor="d", engines=engines)
    assert calls == [3]
    assert [m.frame for m in report.pixel_masks] == [0, 1, 2]
    assert synth.read(out).BurnedInAnnotation == "NO"


def test_run_over_a_zip(tmp_path):
    archive = tmp_path / "donacion.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("GARCIA LOPEZ/0001.dcm", synth.to_bytes(synth.make_dataset(1)))
    result = run(archive, tmp_path / "out", jobs=1, secret=SECRET, donor="d",
                 engines=fakes.ENGINES)
    assert [r.name for r in result.results if r.ok] == ["GARCIA LOPEZ/0001.dcm"]
    (written,) = (tmp_path / "out").iterdir()
    assert written.is_file() and written.name == result.results[0].output
    assert written.name.startswith("2.25.")  # no folder name of the input leaks
    kept = run(archive, tmp_path / "kept", jobs=1, secret=SECRET, donor="d",
               engines=fakes.ENGINES, keep_names=True)
    assert kept.ok and (tmp_path / "kept" / "GARCIA LOPEZ" / "0001.dcm").is_file()


def test_zip_member_over_the_limit_is_not_extracted(tmp_path):
    archive = tmp_path / "bomba.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ok.dcm", GOOD)
        zf.writestr("ceros.dcm", b"\0" * 200_000)
    with pytest.raises(InputError, match="zip member 2: 200000 bytes is over the limit"):
        run(archive, tmp_path / "out", jobs=1, secret=SECRET, donor="d",
            engines=fakes.ENGINES, max_bytes=100_000)
    assert not (tmp_path / "out").exists()


def test_same_sop_instance_uid_twice_is_written_once(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.dcm").write_bytes(GOOD)
    (src / "b.dcm").write_bytes(GOOD)
    result = run(src, tmp_path / "out", jobs=1, secret=SECRET, donor="d",
                 engines=fakes.ENGINES)
    assert [r.ok for r in result.results] == [True, False]
    assert result.failed[0].error == ("file 2 of 2: same output name as file 1 of 2 "
                                      "(same SOP Instance UID); not written")
    assert len(list((tmp_path / "out").iterdir())) == 1


def test_run_on_a_single_file(tmp_path):
    src = tmp_path / "a.dcm"
    src.write_bytes(GOOD)
    result = run(src, tmp_path / "b.dcm", jobs=1, secret=SECRET, donor="d",
                 engines=fakes.ENGINES)
    assert result.ok and (tmp_path / "b.dcm").is_file()
    (tmp_path / "dir").mkdir()
    assert run(src, tmp_path / "dir", jobs=1, secret=SECRET, donor="d",
               engines=fakes.ENGINES).ok
    (written,) = (tmp_path / "dir").iterdir()
    assert written.name == synth.read(written.read_bytes()).SOPInstanceUID + ".dcm"


def test_run_missing_input(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        run(tmp_path / "nada", tmp_path / "out", secret=SECRET, donor="d")


@pytest.mark.parametrize("syntax", ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1",
                                    "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99"])
def test_encode_writes_the_bytes_dcmwrite_would(syntax):
    """encode() replaces dcmwrite(enforce_file_format=True) for speed: same bytes."""
    import io

    import pydicom
    from pydicom.uid import UID

    ds = synth.read(synth.to_bytes(synth.make_dataset()))
    ds.file_meta.TransferSyntaxUID = UID(syntax)
    ds.preamble = b"\0" * 128
    expected = io.BytesIO()
    pydicom.dcmwrite(expected, ds, enforce_file_format=True,
                     implicit_vr=ds.file_meta.TransferSyntaxUID.is_implicit_VR,
                     little_endian=ds.file_meta.TransferSyntaxUID.is_little_endian)
    assert pipeline.encode(ds) == expected.getvalue()
    assert synth.read(pipeline.encode(ds)).PatientName == ds.PatientName


@pytest.mark.parametrize("syntax", ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1",
                                    "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99"])
def test_markers_are_encoded_in_the_files_transfer_syntax(syntax):
    """The markers are encoded once per profile and syntax: each file reads them back."""
    from pydicom.uid import UID

    ds = synth.make_dataset()
    ds.file_meta.TransferSyntaxUID = UID(syntax)
    out, _ = deidentify_bytes(synth.to_bytes(ds), secret=SECRET, donor="d",
                              engines=fakes.ENGINES)
    back = synth.read(out)
    assert back.file_meta.TransferSyntaxUID == syntax
    assert back.PatientIdentityRemoved == "YES"
    assert back.LongitudinalTemporalInformationModified == "MODIFIED"
    assert [i.CodeValue for i in back.DeidentificationMethodCodeSequence][:2] == \
        ["113100", "113101"]
    assert back.DeidentificationMethodCodeSequence[0].CodeMeaning == \
        "Basic Application Confidentiality Profile"


@pytest.mark.parametrize("fails", [False, True])
def test_collector_is_off_during_a_file_and_back_on_after(monkeypatch, fails):
    import gc

    seen = []

    def fake(*args, **kwargs):
        seen.append(gc.isenabled())
        if fails:
            raise ValueError("bad file")
        return pipeline.Report("library", "2", "2024b")

    monkeypatch.setattr(pipeline, "deidentify_file", fake)
    result = pipeline._job(_work("a"))
    assert seen == [False] and gc.isenabled()
    assert result.ok is not fails


def _work(src, rel="a"):
    return pipeline._Work(src, rel, rel, "b", None, rel, "library", SECRET, "d", 10, None, None)


def test_biggest_files_are_submitted_first(tmp_path):
    """Longest first: a big file left for the end would keep one worker busy alone."""
    from concurrent.futures import Future

    class Recorder:
        def __init__(self):
            self.order = []

        def submit(self, fn, w):
            self.order.append(w.rel)
            fut = Future()
            fut.set_result(pipeline.FileResult(w.rel))
            return fut

    work = []
    for name, size in [("small", 10), ("big", 1000), ("missing", None), ("mid", 100)]:
        if size is not None:
            (tmp_path / name).write_bytes(b"x" * size)
        work.append(_work(str(tmp_path / name), name))
    pool = Recorder()
    assert sorted(r.name for r in pipeline._gather(pool, work)) == sorted(w.rel for w in work)
    assert pool.order == ["big", "mid", "small", "missing"]


def test_without_a_donor_the_scope_is_the_patient_and_its_issuer():
    from anonymizer import patient_scope

    def file(pid, issuer):
        ds = synth.make_dataset()
        ds.PatientID, ds.IssuerOfPatientID = pid, issuer
        return synth.to_bytes(ds)

    def pseudonym(data):
        out, _ = deidentify_bytes(data, secret=SECRET, donor=None, engines=fakes.ENGINES)
        return synth.read(out).PatientID

    assert pseudonym(file("P1", "A")) == pseudonym(file("P1", "A"))
    assert pseudonym(file("P1", "A")) != pseudonym(file("P1", "B"))
    assert patient_scope(synth.read(file("P1", "A"))) == "patient\0A\0P1"
