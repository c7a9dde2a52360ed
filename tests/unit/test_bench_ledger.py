"""Unit tests of the ledger benchmark's statistics, outcome names and results table."""

from __future__ import annotations

import grpc
import pytest

from bench.ledger.cpu import CpuSample, group_of
from bench.ledger.kinds import failure_kind
from bench.ledger.report import REFERENCE, LevelResult, format_table, ratio
from bench.ledger.stats import (
    LevelStats,
    Record,
    percentile,
    step_times,
    summarize,
    summarize_rounds,
)
from client.gateway import CommitError, CommitStatusError, EndorseError, SubmitError


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([5.0], 50, 5.0),
        ([5.0], 99, 5.0),
        ([1.0, 2.0], 50, 1.0),
        ([1.0, 2.0], 51, 2.0),
        ([4.0, 1.0, 3.0, 2.0], 50, 2.0),  # unsorted input
        ([4.0, 1.0, 3.0, 2.0], 75, 3.0),
        ([4.0, 1.0, 3.0, 2.0], 100, 4.0),
        (list(range(1, 101)), 99, 99),
        (list(range(1, 101)), 50, 50),
        (list(range(1, 1001)), 99, 990),
        # 99 fast and one slow: p99 by nearest rank is the 99th value, not the outlier.
        ([0.3] * 99 + [9.0], 99, 0.3),
        ([0.3] * 98 + [9.0] * 2, 99, 9.0),
    ],
)
def test_percentile_nearest_rank(values, p, expected):
    assert percentile(values, p) == expected


@pytest.mark.parametrize(
    ("values", "p", "message"),
    [
        ([], 50, "no values"),
        ([1.0], 0, "percentile must be in"),
        ([1.0], 100.5, "percentile must be in"),
        ([1.0], -1, "percentile must be in"),
    ],
)
def test_percentile_refuses(values, p, message):
    with pytest.raises(ValueError, match=message):
        percentile(values, p)


def test_summarize_counts_commits_inside_window_only():
    records = [
        Record(0.5, 0.4),  # warm-up: ends at 0.9, before the window
        Record(1.8, 0.4),  # starts in warm-up, commits at 2.2 inside: counts for tx/s only
        Record(2.0, 0.3),
        Record(5.0, 0.5),
        Record(11.9, 0.2),  # commits at 12.1, after the window: latency counts, tx/s not
    ]
    stats = summarize(records, warmup=2.0, duration=10.0)
    assert stats.committed == 3
    assert stats.tps == pytest.approx(0.3)
    assert stats.window == 10.0
    # latencies of transactions started in [2, 12): 0.3, 0.5, 0.2
    assert stats.p50 == pytest.approx(0.3)
    assert stats.p99 == pytest.approx(0.5)
    assert stats.failures == {}


def test_summarize_failures_by_kind_not_in_throughput_or_latency():
    records = [
        Record(1.0, 0.3),
        Record(1.1, 30.0, "endorse:DEADLINE_EXCEEDED"),
        Record(1.2, 0.4, "commit:MVCC_READ_CONFLICT"),
        Record(1.3, 0.5, "endorse:DEADLINE_EXCEEDED"),
        Record(0.1, 0.5, "submit:UNAVAILABLE"),  # in warm-up: not counted
    ]
    stats = summarize(records, warmup=0.5, duration=4.0)
    assert stats.committed == 1
    assert stats.tps == pytest.approx(0.25)
    assert stats.p50 == stats.p99 == pytest.approx(0.3)
    assert stats.failures == {"commit:MVCC_READ_CONFLICT": 1, "endorse:DEADLINE_EXCEEDED": 2}
    assert stats.failed == 3


def test_summarize_without_successes_has_no_latency():
    stats = summarize([Record(1.0, 2.0, "submit:UNAVAILABLE")], warmup=0, duration=5)
    assert (stats.committed, stats.tps, stats.p50, stats.p99) == (0, 0.0, None, None)
    assert stats.failures == {"submit:UNAVAILABLE": 1}


def test_summarize_step_medians_of_valid_transactions():
    records = [
        Record(1.0, 0.6, steps=(0.1, 0.0, 0.5)),
        Record(1.0, 0.4, steps=(0.3, 0.0, 0.1)),
        Record(1.0, 0.2, steps=(0.2, 0.0, 0.0)),
        Record(1.0, 9.0, "endorse:ABORTED", steps=(9.0, 0.0, 0.0)),  # failed: left out
        Record(0.1, 0.2, steps=(8.0, 8.0, 8.0)),  # warm-up: left out
    ]
    stats = summarize(records, warmup=0.5, duration=5)
    assert stats.step_p50 == {"endorse": 0.2, "submit": 0.0, "commit_status": 0.1}
    assert summarize([], warmup=0, duration=1).step_p50 == {}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], (0.0, 0.0, 0.0)),
        ([0.5], (0.5, 0.0, 0.0)),
        ([0.5, 0.1, 0.2], (0.5, 0.1, 0.2)),
    ],
)
def test_step_times_pads_steps_not_reached(values, expected):
    assert step_times(values) == expected


def test_step_times_refuses_extra_steps():
    with pytest.raises(ValueError, match="at most 3 step times"):
        step_times([0.1, 0.2, 0.3, 0.4])


def test_summarize_closed_loop_throughput():
    # 4 submitters each committing every 0.25 s for 12 s: 16 tx/s in any window.
    records = [Record(k * 0.25, 0.25) for k in range(48) for _ in range(4)]
    stats = summarize(records, warmup=2.0, duration=8.0)
    assert stats.tps == pytest.approx(16.0)
    assert stats.p50 == stats.p99 == 0.25


@pytest.mark.parametrize(
    ("warmup", "duration", "message"),
    [(0, 0, "duration must be positive"), (-1, 5, "warmup must not be negative")],
)
def test_summarize_refuses_bad_window(warmup, duration, message):
    with pytest.raises(ValueError, match=message):
        summarize([], warmup=warmup, duration=duration)
    with pytest.raises(ValueError, match=message):
        summarize_rounds([[]], warmup=warmup, duration=duration)


def test_summarize_rounds_pools_rounds_on_their_own_clocks():
    first = [Record(1.0 + k, 0.5) for k in range(4)]  # commits at 1.5, 2.5, 3.5, 4.5
    second = [Record(1.0, 0.9), Record(1.0, 2.0, "submit:UNAVAILABLE"), Record(0.2, 0.2)]
    stats = summarize_rounds([first, second], warmup=1.0, duration=4.0)
    assert stats.window == 8.0
    assert stats.committed == 5
    assert stats.tps == pytest.approx(5 / 8)
    assert stats.p50 == 0.5 and stats.p99 == 0.9
    assert stats.failures == {"submit:UNAVAILABLE": 1}
    # one round gives what summarize gives
    assert summarize_rounds([first], warmup=1.0, duration=4.0) == summarize(
        first, warmup=1.0, duration=4.0
    )


def test_summarize_rounds_needs_a_round():
    with pytest.raises(ValueError, match="no rounds"):
        summarize_rounds([], warmup=0, duration=1)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (EndorseError("x", grpc_code=grpc.StatusCode.ABORTED), "endorse:ABORTED"),
        (SubmitError("x", grpc_code=grpc.StatusCode.UNAVAILABLE), "submit:UNAVAILABLE"),
        (
            CommitStatusError("x", grpc_code=grpc.StatusCode.DEADLINE_EXCEEDED),
            "commit_status:DEADLINE_EXCEEDED",
        ),
        (EndorseError("x"), "endorse:UNKNOWN"),
        (CommitError("tx1", "MVCC_READ_CONFLICT", 7), "commit:MVCC_READ_CONFLICT"),
        (TimeoutError("x"), "other:TimeoutError"),
    ],
)
def test_failure_kind(error, expected):
    assert failure_kind(error) == expected


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [(50.0, 100.0, 0.5), (3.0, 0.0, None), (None, 1.0, None), (1.0, None, None)],
)
def test_ratio(numerator, denominator, expected):
    assert ratio(numerator, denominator) == expected


def _result(client, level, tps, p50, p99, failures=None, cpu=None):
    steps = {"endorse": 0.1, "submit": 0.02, "commit_status": p50 - 0.12} if p50 else {}
    stats = LevelStats(
        committed=int(tps * 20),
        tps=tps,
        p50=p50,
        p99=p99,
        failures=failures or {},
        window=20,
        step_p50=steps,
    )
    return LevelResult(client, level, stats, cpu or {})


def _row(table: str, level: int) -> list[str]:
    """The cells of the first table row for ``level``."""
    for line in table.splitlines():
        cells = line.split()
        if cells and cells[0] == str(level):
            return cells
    raise AssertionError(f"no row for {level} in\n{table}")


def test_table_rows_and_ratios():
    results = [
        _result("python", 1, 3.5, 0.281, 0.310, cpu={"peers": 0.4, "client": 0.05}),
        _result("go", 1, 3.6, 0.275, 0.300),
        _result("python", 32, 60.0, 0.52, 0.91, failures={"endorse:DEADLINE_EXCEEDED": 2}),
        _result("go", 32, 75.0, 0.42, 0.70),
    ]
    table = format_table(results, title="T")
    lines = table.splitlines()
    assert lines[0] == "T"
    # submitters, py tx/s p50 p99 fail, go tx/s p50 p99 fail, ratio tx/s, ratio p50
    assert _row(table, 1) == ["1", "3.5", "281", "310", "0", "3.6", "275", "300", "0", "0.97",
                              "1.02"]  # fmt: skip
    assert _row(table, 32) == ["32", "60.0", "520", "910", "2", "75.0", "420", "700", "0",
                               "0.80", "1.24"]  # fmt: skip
    assert "32  python endorse:DEADLINE_EXCEEDED: 2" in table
    # CPU block: given groups shown, missing ones as "-"
    # then step block: medians in ms, "-" without valid transactions.
    python_rows = [line.split() for line in lines if line.split()[:2] == ["1", "python"]]
    assert python_rows == [
        ["1", "python", "0.40", "-", "-", "0.05"],
        ["1", "python", "100", "20", "161"],
    ]


def test_table_levels_sorted_and_missing_client_dashed():
    results = [_result("python", 64, 80.0, 0.7, 1.2), _result("python", 8, 20.0, 0.4, 0.5)]
    table = format_table(results)
    rows = [line.split()[0] for line in table.splitlines() if line.split()[:1] in (["8"], ["64"])]
    assert rows[:2] == ["8", "64"]
    assert _row(table, 64)[5:] == ["-", "-", "-", "-", "-", "-"]
    assert "Failures by kind" not in table


def test_table_footer_shows_reference_figures():
    table = format_table([_result("go", 1, 3.0, 0.3, 0.4)])
    footer = table[table.index("Reference") :]
    assert "BatchTimeout 250 ms" in footer
    for level, figure in REFERENCE.items():
        assert f"{level:>10}  {figure}" in footer
    assert "0.28 s per lone submit" in footer and "~94 tx/s" in footer


def test_table_empty_latency_dashed():
    table = format_table([_result("python", 1, 0.0, None, None, failures={"submit:X": 3})])
    assert _row(table, 1)[:5] == ["1", "0.0", "-", "-", "3"]


@pytest.mark.parametrize(
    ("node", "group"),
    [
        ("university-peer0", "peers"),
        ("orderer2", "orderers"),
        ("imss-chaincode", "chaincode"),
        ("ca-university", None),
        ("minio", None),
    ],
)
def test_node_groups(node, group):
    assert group_of(node) == group


def test_cpu_cores_since():
    earlier = CpuSample({"peers": 10.0, "orderers": 2.0})
    later = CpuSample({"peers": 20.0, "orderers": 3.0, "chaincode": 1.0})
    assert later.cores_since(earlier, 10.0) == {"peers": 1.0, "orderers": 0.1}
    assert later.cores_since(earlier, 0.0) == {}
