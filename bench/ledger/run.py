"""Run the ledger benchmark: Python gateway client vs fabric-gateway Go client, same workload.

Usage::

    python -m bench.ledger.run [--concurrency 1,8,32,64] [--duration 20] [--org university]

For each concurrency level N, N submitters (threads for Python, goroutines for Go) submit the
trivial ``Heartbeat`` transaction (one unique request id; one key written, one event) in a
closed loop through the first peer of ``--org`` as its ``--user``, for ``--warmup`` +
``--duration`` seconds or ``--max-tx`` transactions, whichever comes first. Each transaction's
end-to-end latency (endorse -> commit status) and outcome is recorded; committed tx/s and
p50/p99 come from :mod:`bench.ledger.stats` for both clients. The network must be up
(``traza network up``); the benchmark never starts, stops or resets it.

Writes ``bench/out/ledger/results.json`` (figures) and ``records.json`` (every transaction).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from client.gateway import GatewayError
from client.profile import Profile

from . import cpu, go_load, python_load
from .report import REFERENCE, REFERENCE_SETUP, LevelResult, format_table
from .stats import summarize

ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = ROOT / "bench" / "out"
NODES_DIR = ROOT / "network" / "run" / "nodes"
DEPLOYMENT = ROOT / "network" / "run" / "chaincode" / "deployment.json"

CLIENTS = ("python", "go")
# Caps that keep a mistaken command line bounded.
MAX_CONCURRENCY = 256
MAX_DURATION = 300.0


def _levels(text: str) -> list[int]:
    try:
        levels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"want comma-separated integers, got {text!r}") from None
    if not levels or any(not 1 <= n <= MAX_CONCURRENCY for n in levels):
        raise argparse.ArgumentTypeError(f"each level must be 1..{MAX_CONCURRENCY}, got {text!r}")
    return levels


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 < value <= MAX_DURATION:
        raise argparse.ArgumentTypeError(f"must be in (0, {MAX_DURATION:.0f}] seconds, got {text}")
    return value


def _clients(text: str) -> list[str]:
    clients = [c.strip() for c in text.split(",") if c.strip()]
    if not clients or any(c not in CLIENTS for c in clients):
        raise argparse.ArgumentTypeError(f"clients are {', '.join(CLIENTS)}; got {text!r}")
    return clients


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.ledger.run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--concurrency",
        type=_levels,
        default=[1, 8, 32, 64],
        help="comma-separated submitter counts (default 1,8,32,64)",
    )
    parser.add_argument(
        "--duration",
        type=_seconds,
        default=20.0,
        help="measured seconds per level and client (default 20)",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=2.0,
        help="seconds run before the measured window, not counted (default 2)",
    )
    parser.add_argument(
        "--max-tx",
        type=int,
        default=10_000,
        help="at most this many transactions per level and client (default 10000)",
    )
    parser.add_argument("--org", default="university", help="org whose first peer is the gateway")
    parser.add_argument("--user", default="service1", help="submitting user of --org")
    parser.add_argument("--function", default="Heartbeat", help="transaction (one id argument)")
    parser.add_argument(
        "--connections",
        choices=python_load.CONNECTION_MODES,
        default="shared",
        help="one gRPC connection for all submitters (default) or one each",
    )
    parser.add_argument(
        "--clients",
        type=_clients,
        default=list(CLIENTS),
        help="which clients to run (default python,go)",
    )
    parser.add_argument(
        "--pause",
        type=float,
        default=2.0,
        help="seconds between runs, for the pipeline to drain (default 2)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=OUT_DIR / "ledger",
        help="folder for results.json and records.json",
    )
    args = parser.parse_args(argv)
    if not 0 <= args.warmup <= 60:
        parser.error("--warmup must be 0..60 seconds")
    if not 1 <= args.max_tx <= 1_000_000:
        parser.error("--max-tx must be 1..1000000")
    if not 0 <= args.pause <= 60:
        parser.error("--pause must be 0..60 seconds")
    return args


def _version(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return done.stdout.strip() or "unknown"


def setup_of(args: argparse.Namespace, profile: Profile) -> dict[str, object]:
    """Return what the figures depend on, for results.json."""
    import grpc

    deployment = json.loads(DEPLOYMENT.read_text()) if DEPLOYMENT.exists() else {}
    return {
        "peer": profile.peer,
        "peer_name": profile.server_name,
        "msp_id": profile.msp_id,
        "user": args.user,
        "channel": profile.channel,
        "chaincode": profile.chaincode,
        "chaincode_package": deployment.get("package_id"),
        "function": args.function,
        "duration": args.duration,
        "warmup": args.warmup,
        "max_tx": args.max_tx,
        "connections": args.connections,
        "cpus": _cpu_count(),
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "go": _version(["go", "env", "GOVERSION"]),
        "fabric_gateway_go": "v1.10.0",
    }


def _cpu_count() -> int | None:
    import os

    return os.cpu_count()


def run_level(
    client: str,
    concurrency: int,
    args: argparse.Namespace,
    profile: Profile,
    binary: Path | None,
) -> tuple[LevelResult, list[dict[str, object]]]:
    """Run one client at one level; return its figures and raw records."""
    pids = cpu.node_pids(NODES_DIR)
    total = args.warmup + args.duration
    options = dict(
        concurrency=concurrency,
        duration=total,
        max_tx=args.max_tx,
        connections=args.connections,
        function=args.function,
    )
    before, t0 = cpu.sample(pids), time.perf_counter()
    if client == "python":
        run, capped = python_load.run_python(profile, **options)
    else:
        assert binary is not None
        run, capped = go_load.run_go(binary, profile, **options)
    wall = time.perf_counter() - t0
    cores = cpu.sample(pids).cores_since(before, wall)
    if run.cpu >= 0 and run.wall > 0:
        cores["client"] = run.cpu / run.wall
    if capped:
        print(
            f"warning: {client} at {concurrency} hit --max-tx {args.max_tx} before the "
            "duration: its tx/s is underestimated",
            file=sys.stderr,
        )
    stats = summarize(run.records, warmup=args.warmup, duration=args.duration)
    records = [{"client": client, "concurrency": concurrency, **asdict(r)} for r in run.records]
    return LevelResult(client, concurrency, stats, cores), records


def main(argv: list[str] | None = None) -> int:
    """Run every level for every client, print the table, write the JSON files."""
    args = parse_args(argv)
    if not DEPLOYMENT.exists():
        print(
            f"no {DEPLOYMENT.relative_to(ROOT)}: bring the network up first (traza network up)",
            file=sys.stderr,
        )
        return 2
    profile = Profile.local(args.org, args.user)
    binary = go_load.build(OUT_DIR) if "go" in args.clients else None
    try:
        latency = python_load.probe(profile, args.function)
    except GatewayError as error:
        print(
            f"{args.function} does not commit through {profile.peer}; is the network up and "
            f"the contract deployed?\n{error}",
            file=sys.stderr,
        )
        return 2
    print(f"probe: one {args.function} committed in {latency:.2f} s", file=sys.stderr)

    results: list[LevelResult] = []
    all_records: list[dict[str, object]] = []
    for index, concurrency in enumerate(args.concurrency):
        # Alternate which client goes first, so a drift in the machine's load (other work,
        # the ledger growing) does not always favour the same one.
        order = args.clients if index % 2 == 0 else list(reversed(args.clients))
        for client in order:
            print(
                f"{client}: {concurrency} submitters, {args.warmup:g} s warm-up + "
                f"{args.duration:g} s ...",
                file=sys.stderr,
                flush=True,
            )
            result, records = run_level(client, concurrency, args, profile, binary)
            s = result.stats
            p50 = f"{s.p50 * 1000:.0f}" if s.p50 is not None else "-"
            print(
                f"  {s.tps:.1f} tx/s, p50 {p50} ms, {s.failed} failed", file=sys.stderr, flush=True
            )
            results.append(result)
            all_records.extend(records)
            time.sleep(args.pause)

    title = (
        f"Ledger benchmark: {args.function} through {profile.server_name} "
        f"({profile.peer}) as {args.user}@{profile.msp_id}; {args.duration:g} s window "
        f"after {args.warmup:g} s warm-up, {args.connections} connection(s)"
    )
    print(format_table(results, title=title))

    args.out.mkdir(parents=True, exist_ok=True)
    document = {
        "setup": setup_of(args, profile),
        "results": [
            {
                "client": r.client,
                "concurrency": r.concurrency,
                **asdict(r.stats),
                "failed": r.stats.failed,
                "cpu_cores": dict(r.cpu),
            }
            for r in results
        ],
        "reference": {
            "setup": REFERENCE_SETUP,
            "figures": {str(k): v for k, v in REFERENCE.items()},
        },
    }
    (args.out / "results.json").write_text(json.dumps(document, indent=2) + "\n")
    (args.out / "records.json").write_text(json.dumps(all_records) + "\n")
    print(f"\nwrote {args.out / 'results.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
