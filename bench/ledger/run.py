"""Run the ledger benchmark: Python gateway client vs fabric-gateway Go client, same workload.

Usage::

    python -m bench.ledger.run [--concurrency 1,8,32,64] [--duration 20] [--org university]

For each concurrency level N, N submitters (threads for Python, goroutines for Go) submit the
trivial ``Heartbeat`` transaction (one unique request id; one key written, one event) in a
closed loop through the first peer of ``--org`` as its ``--user``. ``--duration`` measured
seconds per level and client are split into ``--rounds`` rounds that alternate which client
goes first; each round runs ``--warmup`` seconds (not counted) plus its share of the duration,
or stops at ``--max-tx`` transactions. Each transaction's end-to-end latency (endorse -> commit
status), step times and outcome are recorded; committed tx/s and p50/p99 come from
:mod:`bench.ledger.stats` for both clients. The network must be up
(``traza network up``); the benchmark never starts, stops or resets it.

Writes ``bench/out/ledger/results.json`` (figures) and ``records.json`` (every transaction).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import grpc

from client.gateway import GatewayError
from client.profile import Profile

from . import cpu, go_load, python_load
from .report import REFERENCE, REFERENCE_SETUP, LevelResult, format_table
from .stats import Record, summarize_rounds

ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = ROOT / "bench" / "out"
RUN_DIR = ROOT / "network" / "run"  # the network's run folder (``--run``)

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
        help="measured seconds per level and client, split over the rounds (default 20)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="rounds per level, alternating which client goes first (default 2)",
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
        "--run",
        type=Path,
        default=Path(os.environ.get("TRAZA_NETWORK_RUN", RUN_DIR)),
        help="the network's run folder (default network/run, or TRAZA_NETWORK_RUN)",
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
    if not 1 <= args.rounds <= 20:
        parser.error("--rounds must be 1..20")
    if not 0 <= args.pause <= 60:
        parser.error("--pause must be 0..60 seconds")
    return args


def _version(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return done.stdout.strip() or "unknown"


def fabric_setup() -> dict[str, str]:
    """Return the peer's Fabric version, the channel's BatchTimeout and the Go client version.

    Read from ``peer version``, the topology and ``loadgen/go.mod``; "unknown" when unread.
    """
    from network import binaries, topology

    fabric = "unknown"
    for line in _version([binaries.path("peer"), "version"]).splitlines():
        if line.strip().startswith("Version:"):
            fabric = line.split(":", 1)[1].strip()
    gateway = "unknown"
    for line in (go_load.LOADGEN_DIR / "go.mod").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "github.com/hyperledger/fabric-gateway":
            gateway = parts[1]
    return {
        "fabric": fabric,
        "batch_timeout": str(topology.load().batch_timeout),
        "fabric_gateway_go": gateway,
    }


def _deployment(run: Path) -> Path:
    return run / "chaincode" / "deployment.json"


def setup_of(
    args: argparse.Namespace, profile: Profile, fabric: dict[str, str]
) -> dict[str, object]:
    """Return what the figures depend on, for results.json."""
    path = _deployment(args.run)
    deployment = json.loads(path.read_text()) if path.exists() else {}
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
        "rounds": args.rounds,
        "warmup": args.warmup,
        "max_tx": args.max_tx,
        "connections": args.connections,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "go": _version(["go", "env", "GOVERSION"]),
        **fabric,
    }


def _per_round(args: argparse.Namespace) -> float:
    """Measured seconds of one round."""
    return args.duration / args.rounds


@dataclass
class _Tally:
    """What one client gathered at one level over its rounds."""

    rounds: list[list[Record]] = field(default_factory=list)
    node_busy: dict[str, float] = field(default_factory=dict)
    node_wall: float = 0.0
    client_cpu: float = 0.0
    client_wall: float = 0.0

    def result(self, client: str, concurrency: int, args: argparse.Namespace) -> LevelResult:
        stats = summarize_rounds(self.rounds, warmup=args.warmup, duration=_per_round(args))
        cores = {g: busy / self.node_wall for g, busy in self.node_busy.items() if self.node_wall}
        if self.client_wall > 0 and self.client_cpu >= 0:
            cores["client"] = self.client_cpu / self.client_wall
        return LevelResult(client, concurrency, stats, cores)


def run_round(
    client: str,
    concurrency: int,
    args: argparse.Namespace,
    profile: Profile,
    binary: Path | None,
    tally: _Tally,
) -> None:
    """Run one client at one level for one round (warm-up + measured part); add to ``tally``."""
    pids = cpu.node_pids(args.run / "nodes")
    options = dict(
        concurrency=concurrency,
        duration=args.warmup + _per_round(args),
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
    # Only groups read at both ends count; a group lost mid-run drops out of the average.
    for group, cores in cpu.sample(pids).cores_since(before, wall).items():
        tally.node_busy[group] = tally.node_busy.get(group, 0.0) + cores * wall
    tally.node_wall += wall
    if run.cpu >= 0:
        tally.client_cpu += run.cpu
        tally.client_wall += run.wall
    tally.rounds.append(run.records)
    if capped:
        print(
            f"warning: {client} at {concurrency} hit --max-tx {args.max_tx} before the "
            "duration: its tx/s is underestimated",
            file=sys.stderr,
        )


def main(argv: list[str] | None = None) -> int:
    """Run every level for every client, print the table, write the JSON files."""
    args = parse_args(argv)
    if not _deployment(args.run).exists():
        print(
            f"no {_deployment(args.run)}: bring the network up first (traza network up)",
            file=sys.stderr,
        )
        return 2
    profile = Profile.from_dir(args.run / "profiles", args.org, args.user)
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
        tallies = {client: _Tally() for client in args.clients}
        for round_ in range(args.rounds):
            # Alternate which client goes first, so a drift in the machine's load (other
            # work, the ledger growing) does not always favour the same one.
            flip = (index + round_) % 2 == 1
            order = list(reversed(args.clients)) if flip else args.clients
            for client in order:
                print(
                    f"{client}: {concurrency} submitters, round {round_ + 1}/{args.rounds}: "
                    f"{args.warmup:g} s warm-up + {_per_round(args):g} s",
                    file=sys.stderr,
                    flush=True,
                )
                run_round(client, concurrency, args, profile, binary, tallies[client])
                all_records.extend(
                    {"client": client, "concurrency": concurrency, "round": round_, **asdict(r)}
                    for r in tallies[client].rounds[-1]
                )
                time.sleep(args.pause)
        for client in args.clients:
            result = tallies[client].result(client, concurrency, args)
            s = result.stats
            p50 = f"{s.p50 * 1000:.0f}" if s.p50 is not None else "-"
            print(
                f"  {client} at {concurrency}: {s.tps:.1f} tx/s, p50 {p50} ms, {s.failed} failed",
                file=sys.stderr,
                flush=True,
            )
            results.append(result)

    fabric = fabric_setup()
    connection = "one shared connection" if args.connections == "shared" else "one connection each"
    title = (
        f"Ledger benchmark: {args.function} through {profile.server_name} ({profile.peer}) "
        f"as {args.user}@{profile.msp_id}\n"
        f"Fabric {fabric['fabric']}, BatchTimeout {fabric['batch_timeout']}; per client and "
        f"level {args.rounds} round(s) of {args.warmup:g} s warm-up + {_per_round(args):g} s "
        f"measured; submitters use {connection}\n"
    )
    print(format_table(results, title=title))

    args.out.mkdir(parents=True, exist_ok=True)
    document = {
        "setup": setup_of(args, profile, fabric),
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
