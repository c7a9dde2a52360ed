"""Web benchmark: the trace viewer under load next to a static file of the same server.

``python -m bench.web.run [--donations 100000] [--duration 10] [--connections 16]``

Builds a synthetic index of N donations (:mod:`bench.web.index`), serves the app with
waitress in a child process (:mod:`bench.web.serve`, the rate limit lifted), and drives it
with ``wrk`` (Debian's, a second process on loopback): first ``/static/traza.css`` (the
peer: the same server's static file path, no database), then ``/t/<token>`` with a random
one of the N tokens per request (a Lua script), each for ``--duration`` seconds after a
warm-up. Every viewer request reads the index and appends an audit row, as in production.
Prints requests/s, p50/p99 latency, the viewer/static ratio and the goals (>= 0.5x static,
p99 < 50 ms); writes ``bench/out/web/results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from .index import build_index, token

OUT = Path(__file__).resolve().parents[1] / "out" / "web"
ROOT = Path(__file__).resolve().parents[2]
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


@dataclass(frozen=True)
class Load:
    """One wrk run's figures."""

    name: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx/3xx answers plus socket errors


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if m is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(m.group(1)) * UNITS[m.group(2)]


def parse_wrk(name: str, out: str) -> Load:
    """Read ``wrk --latency`` output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    errors = 0
    if m := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out):
        errors += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                      out):
        errors += sum(int(x) for x in m.groups())
    return Load(name, rps, p50, p99, total, errors)


LUA = """-- a random one of the benchmark's tokens per request (bench/web/index.py token())
math.randomseed(%(seed)d)
request = function()
  local i = math.random(0, %(last)d)
  return wrk.format("GET", string.format("/t/bench%%010dxxxxxxxxxxxxxxxxx", i))
end
"""


def wrk(base: str, path: str, *, duration: float, connections: int, threads: int,
        script: Path | None = None) -> str:
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s",
            "--latency", "--timeout", "5s"]
    if script is not None:
        argv += ["-s", str(script)]
    res = subprocess.run([*argv, base + path], capture_output=True, text=True,
                         timeout=duration + 60)
    if res.returncode != 0:
        raise RuntimeError(f"wrk failed: {res.stderr or res.stdout}")
    return res.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(base: str, proc: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the benchmark server exited")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the benchmark server did not answer")


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--donations", type=int, default=100_000)
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per load")
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--wrk-threads", type=int, default=1)
    ap.add_argument("--server-threads", type=int, default=4)
    ap.add_argument("--port", type=int, default=0, help="default: a free port")
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args(argv)
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install wrk (scripts/install-system.sh)")
    a.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    db = build_index(a.out / "index.db", a.donations)
    db.dispose()
    built = time.perf_counter() - t0
    print(f"index: {a.donations} donations bulk-inserted in {built:.1f} s")
    script = a.out / "tokens.lua"
    script.write_text(LUA % {"seed": 7, "last": a.donations - 1})
    port = a.port or _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "bench.web.serve", "--db",
                             str(a.out / "index.db"), "--port", str(port), "--threads",
                             str(a.server_threads)], cwd=ROOT, env=dict(os.environ))
    try:
        _wait(base, proc)
        with urllib.request.urlopen(f"{base}/t/{token(a.donations - 1)}", timeout=5) as r:
            assert r.status == 200 and b"timeline" in r.read()  # the page is the real one
        opts = {"connections": a.connections, "threads": a.wrk_threads}
        wrk(base, "/static/traza.css", duration=a.warmup, **opts)
        static = parse_wrk("static /static/traza.css",
                           wrk(base, "/static/traza.css", duration=a.duration, **opts))
        wrk(base, "/t/x", duration=a.warmup, script=script, **opts)
        viewer = parse_wrk("viewer /t/<token>",
                           wrk(base, "/t/x", duration=a.duration, script=script, **opts))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    ratio = viewer.requests_per_s / static.requests_per_s if static.requests_per_s else 0.0
    load_avg = os.getloadavg()[0]
    print(f"\nwaitress {a.server_threads} threads; wrk {a.wrk_threads} thread, "
          f"{a.connections} connections, {a.duration:.0f} s per load; "
          f"{a.donations} donations indexed; {os.cpu_count()} cores, "
          f"load average {load_avg:.1f} at the end")
    print(f"{'load':28} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'requests':>9} {'errors':>7}")
    for load in (static, viewer):
        print(f"{load.name:28} {load.requests_per_s:9.1f} {load.p50_ms:8.2f} "
              f"{load.p99_ms:8.2f} {load.requests:9d} {load.errors:7d}")
    print(f"\nviewer / static = {ratio:.2f}x (goal >= 0.5x: {'met' if ratio >= 0.5 else 'NOT met'})"
          f"; viewer p99 {viewer.p99_ms:.1f} ms (goal < 50 ms: "
          f"{'met' if viewer.p99_ms < 50 else 'NOT met'})")
    result = {"donations": a.donations, "index_build_s": built, "static": asdict(static),
              "viewer": asdict(viewer), "ratio": ratio, "connections": a.connections,
              "server_threads": a.server_threads, "duration_s": a.duration,
              "load_average": load_avg}
    (a.out / "results.json").write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
