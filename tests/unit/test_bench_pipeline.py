"""The pipeline bench's parts that need no servers: series, timings, tables, options."""

from __future__ import annotations

import io

import pytest
from pydicom import dcmread

from bench.pipeline import report, run, series, timing


def test_series_is_deterministic_one_study_distinct_instances() -> None:
    a = series.series_bytes(5, size=64, seed=3)
    assert a == series.series_bytes(5, size=64, seed=3)
    assert a != series.series_bytes(5, size=64, seed=4)
    ds = [dcmread(io.BytesIO(b)) for b in a]
    assert len({d.StudyInstanceUID for d in ds}) == 1
    assert len({d.SeriesInstanceUID for d in ds}) == 1
    assert len({d.SOPInstanceUID for d in ds}) == 5
    assert all(d.file_meta.MediaStorageSOPInstanceUID == d.SOPInstanceUID for d in ds)
    assert [d.InstanceNumber for d in ds] == [1, 2, 3, 4, 5]
    assert ds[0].pixel_array.shape == (64, 64) and ds[0].pixel_array.dtype.itemsize == 2
    assert ds[0].PixelData != ds[1].PixelData  # slices differ


def test_series_carries_the_synthetic_persons_phi() -> None:
    person = series.series_person(0)
    ds = dcmread(io.BytesIO(series.series_bytes(1, size=32)[0]))
    assert str(ds.PatientName) == person.name.pn
    assert person.curp in ds.PatientComments
    assert ds.PatientID == person.mrn


def test_write_series_names_files_by_position(tmp_path) -> None:
    paths = series.write_series(tmp_path / "s", 3, size=32)
    assert [p.name for p in paths] == ["000000.dcm", "000001.dcm", "000002.dcm"]


def test_series_refuses_nonsense_sizes() -> None:
    with pytest.raises(ValueError):
        series.series_bytes(0)


def test_instrumented_times_calls_and_restores_the_originals() -> None:
    import client.objects
    from client.workflow import Pipeline

    before_seal, before_register = client.objects.seal, Pipeline.__dict__["register"]
    t = timing.Timings()
    with timing.instrumented(t):
        assert client.objects.seal is not before_seal
        client.objects.seal(b"k" * 32, b"data", b"aad")
        client.objects.seal(b"k" * 32, b"data", b"aad")
    assert client.objects.seal is before_seal
    assert Pipeline.__dict__["register"] is before_register
    assert t.totals["seal (AES-GCM)"].calls == 2
    t.reset()
    assert t.totals == {} and t.idle_polls == 0


def _single() -> dict:
    totals = {"step register": {"seconds": 1.0, "calls": 1},
              "step deidentify": {"seconds": 12.0, "calls": 1},
              "step store": {"seconds": 2.0, "calls": 1},
              "de-identify": {"seconds": 11.0, "calls": 1},
              "anonymizer run": {"seconds": 10.5, "calls": 1},
              "staging put": {"seconds": 1.5, "calls": 900},
              "seal (AES-GCM)": {"seconds": 0.5, "calls": 900},
              "ledger submit+commit": {"seconds": 2.0, "calls": 8}}
    return {"files": 300, "bytes": 160e6, "alone_s": [10.0, 10.0], "wall_s": 15.0,
            "timings": {"totals": totals, "idle_polls": 2}}


def test_overhead_causes_add_up_to_the_gap() -> None:
    causes = report.overhead(_single())
    assert causes["anonymizer inside the pipeline - alone"] == pytest.approx(0.5)
    assert causes["scratch copy in/out (de-identify - anonymizer)"] == pytest.approx(0.5)
    assert causes["idle outbox polls"] == pytest.approx(0.4)
    assert sum(causes.values()) == pytest.approx(15.0 - 10.0)


def test_single_table_says_whether_the_goal_is_met() -> None:
    text = report.single_table(_single(), jobs=2, size=512, database="SQLite")
    assert "1.50x (goal <= 1.5x: met)" in text
    slow = {**_single(), "wall_s": 16.0}
    assert "1.60x (goal <= 1.5x: not met)" in report.single_table(
        slow, jobs=2, size=512, database="SQLite")
    assert "of which seal (AES-GCM)" in text


def test_parallel_table_rates() -> None:
    worker = {"ok": 4, "failed": 0, "errors": [], "latency_s": [5.0, 6.0, 7.0, 8.0],
              "submits": 32, "foreign_submits": 8,
              "timings": {"totals": {"step register": {"seconds": 2.0, "calls": 4}},
                          "idle_polls": 1}}
    par = {"parallel": 2, "donations_each": 4, "wall_s": 30.0, "workers": [worker, worker],
           "heights_before": {"hospital x": 10}, "heights_after": {"hospital x": 40}}
    text = report.parallel_table(par, files=4, size=128, database="SQLite")
    assert "8/0 in 30.0 s: 16.0 donations/min" in text
    assert "64 steps committed in 30.0 s = 2.13 tx/s; 16 of them another" in text
    assert "10 -> 40 (+30, 1.00 blocks/s)" in text
    merged = report.merge_timings([worker["timings"], worker["timings"]])
    assert merged["totals"]["step register"] == {"seconds": 4.0, "calls": 8}
    assert merged["idle_polls"] == 2


def test_quick_clamps_sizes() -> None:
    args = run._args(["--quick", "--files", "5"])
    assert args.files == 5 and args.parallel == run.QUICK["parallel"]
    assert args.size == run.QUICK["size"]
    assert run._args([]).files == 300 and run._args([]).parallel == 8


def test_single_table_ratio_is_of_the_means_over_rounds() -> None:
    rounds = {**_single(), "alone_s": [10.0, 12.0, 8.0], "donations_s": [15.0, 18.0]}
    text = report.single_table(rounds, jobs=2, size=512, database="SQLite")
    assert "1.65x (goal <= 1.5x: not met); best / best 1.88x" in text
    assert "donation end to end, round 2" in text


def test_shifted_topology_moves_every_port_and_nothing_else() -> None:
    import yaml

    from bench.pipeline.testnet import shifted_topology
    from network import topology

    raw = yaml.safe_load(topology.DEFAULT_TOPOLOGY.read_text())
    before = yaml.safe_dump(raw)
    moved = shifted_topology(raw, 15)
    assert yaml.safe_dump(raw) == before  # the parsed layout is left as it was
    peer, peer2 = raw["orgs"][0]["peers"][0], moved["orgs"][0]["peers"][0]
    assert all(peer2[k] == peer[k] + 15 for k in peer if k.endswith("port"))
    assert peer2.get("host") == peer.get("host")
    assert moved["minio"]["port"] == raw["minio"]["port"] + 15
    assert moved["orderer_org"]["orderers"][0]["port"] == raw["orderer_org"]["orderers"][0][
        "port"] + 15
