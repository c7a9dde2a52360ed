"""The Go side of the benchmark: build and run ``bench/ledger/loadgen`` (fabric-gateway v1.10.0)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from client.profile import Profile

from .python_load import ClientRun
from .stats import Record, step_times

__all__ = ["LOADGEN_DIR", "build", "run_go"]

LOADGEN_DIR = Path(__file__).resolve().parent / "loadgen"

# go build on 2 cores with a cold module cache takes about a minute.
BUILD_TIMEOUT = 600
# Time the Go process may take beyond the duration: closing in-flight commits (their own
# deadline is 60 s) and connecting.
RUN_GRACE = 120


def build(out_dir: Path) -> Path:
    """Build the load generator into ``out_dir/loadgen``; return its path.

    Raises
    ------
    RuntimeError
        If ``go`` is missing or the build fails.
    """
    out_dir = out_dir.resolve()  # go build runs in LOADGEN_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    binary = out_dir / "loadgen"
    try:
        done = subprocess.run(
            ["go", "build", "-o", str(binary), "."],
            cwd=LOADGEN_DIR,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT,
            # readonly: build exactly what go.sum pins; no VCS stamp, the clone may be dirty.
            env={
                **os.environ,
                "GOFLAGS": f"{os.environ.get('GOFLAGS', '')} -mod=readonly -buildvcs=false",
            },
        )
    except FileNotFoundError as error:
        raise RuntimeError("go is not installed: the Go load generator cannot be built") from error
    if done.returncode != 0:
        raise RuntimeError(f"go build of {LOADGEN_DIR} failed:\n{done.stderr.strip()}")
    return binary


def run_go(
    binary: Path,
    profile: Profile,
    *,
    concurrency: int,
    duration: float,
    max_tx: int,
    connections: str = "shared",
    function: str = "Heartbeat",
) -> tuple[ClientRun, bool]:
    """Run the Go load generator with the same identity, peer and limits; return its records.

    Returns the run and whether ``max_tx`` stopped it before the duration.

    Raises
    ------
    RuntimeError
        If the load generator fails or prints no result.
    """
    command = [
        str(binary),
        f"-peer={profile.peer}",
        f"-server-name={profile.server_name}",
        f"-tls-ca={profile.tls_ca}",
        *([f"-tls-cert={profile.tls_cert}", f"-tls-key={profile.tls_key}"]
          if profile.tls_cert and profile.tls_key else []),
        f"-msp-id={profile.msp_id}",
        f"-msp-dir={profile.msp_dir}",
        f"-channel={profile.channel}",
        f"-chaincode={profile.chaincode}",
        f"-function={function}",
        f"-concurrency={concurrency}",
        f"-duration={duration}s",
        f"-max-tx={max_tx}",
        f"-connections={connections}",
    ]
    # stderr passes through: the first error of each kind is worth seeing live.
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, timeout=duration + RUN_GRACE)
    if done.returncode != 0:
        raise RuntimeError(f"the Go load generator failed (exit {done.returncode})")
    try:
        out = json.loads(done.stdout)
    except json.JSONDecodeError as error:
        raise RuntimeError(f"the Go load generator printed no JSON result: {error}") from error
    records = [
        Record(float(start), float(latency), str(kind), step_times([float(t) for t in steps]))
        for start, latency, kind, steps in out["records"]
    ]
    exhausted = len(records) >= max_tx
    return ClientRun(records, float(out["wall_seconds"]), float(out["cpu_seconds"])), exhausted
