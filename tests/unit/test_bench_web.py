"""bench/web: wrk's output read right, and a tiny run end to end (when wrk is installed)."""

from __future__ import annotations

import shutil

import pytest

from bench.web.run import main, parse_wrk

WRK = """Running 3s test @ http://127.0.0.1:8316/t/x
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    13.61ms   40.07ms 662.48ms   97.14%
    Req/Sec   224.29     47.71   282.00     82.76%
  Latency Distribution
     50%    3.15ms
     75%    4.28ms
     90%    6.02ms
     99%  636.35ms
  674 requests in 3.10s, 3.21MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 4
Requests/sec:    217.14
Transfer/sec:      1.04MB
"""


def test_wrk_output_is_parsed():
    load = parse_wrk("viewer", WRK)
    assert load.requests_per_s == 217.14 and load.requests == 674
    assert load.p50_ms == pytest.approx(3.15) and load.p99_ms == pytest.approx(636.35)
    assert load.errors == 7  # 4 non-2xx + 3 socket errors
    assert parse_wrk("s", WRK.replace("636.35ms", "1.25s")).p99_ms == pytest.approx(1250)
    assert parse_wrk("s", WRK.replace("3.15ms", "950.00us")).p50_ms == pytest.approx(0.95)


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk not installed")
def test_a_tiny_run_prints_both_loads_without_errors(tmp_path, capsys):
    result = main(["--donations", "300", "--duration", "1", "--warmup", "1",
                   "--connections", "2", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "static /static/traza.css" in out and "viewer /t/<token>" in out
    assert "viewer / static =" in out
    assert result["static"]["errors"] == 0 and result["viewer"]["errors"] == 0
    assert result["viewer"]["requests"] > 0 and result["static"]["requests"] > 0
    assert (tmp_path / "results.json").exists()
