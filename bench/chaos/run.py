"""Faults under load: ``python -m bench.chaos.run [--minutes 10] [--every 30]``.

Runs on a network that is up (default: the test network, ``network/run-test``; start it with
``traza network --topology network/run-test/topology.yaml --run network/run-test up``).
Three donor threads walk donations through the outbox while, every ``--every`` seconds, the
next target is SIGKILLed and restarted ``--down`` seconds later: Raft leader, Raft follower,
IMSS's peer, University's contract server, MinIO, PostgreSQL (a private cluster) and the
outbox worker, round-robin. Then two orderers of three are killed and one brought back.
Prints committed, failed and duplicated steps, the longest stall and the checks
(bench/chaos/check.py); exits 1 if a check fails.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from network import topology

from . import scenario

REPO = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.chaos.run",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, default=REPO / "network" / "run-test",
                    help="the network's run folder (with topology.yaml)")
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--every", type=float, default=30, help="seconds between kills")
    ap.add_argument("--down", type=float, default=5, help="seconds a killed process stays down")
    ap.add_argument("--threads", type=int, default=3)
    a = ap.parse_args(argv)
    topo = topology.load(a.run / "topology.yaml", a.run)
    with tempfile.TemporaryDirectory(prefix="traza-chaos-") as work:
        report = scenario.run(topo, Path(work), duration=a.minutes * 60, every=a.every,
                              down=a.down, threads=a.threads)
    print(scenario.summary(report))
    return 0 if report.findings.ok and not report.tally.failed else 1


if __name__ == "__main__":
    sys.exit(main())
