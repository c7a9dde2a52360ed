"""Long runs of the contract's Go fuzz targets (``go test -fuzz``), one after another.

    python -m bench.fuzz.contract                 # 10 min per target, one worker
    python -m bench.fuzz.contract --minutes 2 --workers 2 --targets FuzzTransaction

Prints per target: executions, executions per second, corpus entries (committed seeds plus
what the run found) and the result (PASS, or the failing input's file under
``chaincode/contract/testdata/fuzz/``, which ``go test`` then replays). The corpus found
stays in Go's cache (``go env GOCACHE``/fuzz), not in the repository.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import time
from pathlib import Path

CHAINCODE = Path(__file__).resolve().parents[2] / "chaincode"
TARGETS = ("FuzzCheckID", "FuzzCodes", "FuzzDecodeStrict", "FuzzTransaction")
# go's progress line: "fuzz: elapsed: 3m0s, execs: 1234 (567/sec), new interesting: 8 (total: 90)"
_PROGRESS = re.compile(r"execs: (\d+) \((\d+)/sec\), new interesting: (\d+) \(total: (\d+)\)")


def run_target(target: str, minutes: float, workers: int) -> dict:
    """Fuzz one target for ``minutes``; return its figures."""
    argv = ["go", "test", "./contract/", "-run", "^$", "-fuzz", f"^{target}$",
            "-fuzztime", f"{int(minutes * 60)}s", "-parallel", str(workers)]
    start = time.monotonic()
    res = subprocess.run(argv, cwd=CHAINCODE, capture_output=True, text=True)
    out = res.stdout + res.stderr
    last = _PROGRESS.findall(out)
    execs, _, new, total = (int(x) for x in last[-1]) if last else (0, 0, 0, 0)
    seconds = time.monotonic() - start
    failing = re.search(r"testdata/fuzz/\S+", out)
    return {"target": target, "seconds": seconds, "execs": execs, "per_second": execs / seconds,
            "new": new, "corpus": total,
            "result": "PASS" if res.returncode == 0 else
            f"FAIL {failing.group(0) if failing else out[-400:]}"}


def main(argv: list[str] | None = None) -> None:
    """Run the targets and print one line each."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10, help="per target (default 10)")
    ap.add_argument("--workers", type=int, default=1, help="go test -parallel (default 1)")
    ap.add_argument("--targets", default=",".join(TARGETS), help="comma-separated")
    args = ap.parse_args(argv)
    print(f"{'target':<18} {'time':>7} {'execs':>11} {'execs/s':>8} {'new':>5} "
          f"{'corpus':>6}  result")
    for target in args.targets.split(","):
        r = run_target(target, args.minutes, args.workers)
        print(f"{r['target']:<18} {r['seconds']:>6.0f}s {r['execs']:>11,} {r['per_second']:>8,.0f} "
              f"{r['new']:>5} {r['corpus']:>6}  {r['result']}", flush=True)


if __name__ == "__main__":
    main()
