"""The processes a chaos run kills: network nodes, a private PostgreSQL, the outbox worker.

Every kill is SIGKILL to the process group we started (no clean shutdown, as in a power
cut or an OOM kill); every restart waits until the process serves again.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from network import chaincode, minio, nodes
from network.process import Node, pid_of, start, wait_port
from network.topology import Topology

REPO = Path(__file__).resolve().parents[2]


class Unavailable(RuntimeError):
    """A target this run cannot kill (e.g. no PostgreSQL binaries); the message says why."""


def sigkill(node: Node, timeout: float = 10) -> None:
    """SIGKILL ``node``'s process group and wait until it is gone."""
    pid = pid_of(node)
    if pid is None:
        raise AssertionError(f"{node.name} is not running")
    os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while pid_of(node) is not None:
        if time.monotonic() > deadline:
            raise AssertionError(f"{node.name} survived SIGKILL")
        time.sleep(0.05)


@dataclass
class Target:
    """Something to kill and restart, under a short name for the report."""

    name: str
    kill: Callable[[], None]
    restart: Callable[[], None]


def node_target(name: str, node: Node, host: str, port: int) -> Target:
    def restart() -> None:
        start(node, host)
        wait_port(node, host, port, timeout=60)

    return Target(name, lambda: sigkill(node), restart)


def orderer_target(topo: Topology, orderer, label: str) -> Target:
    return node_target(f"{label} {orderer.name}", nodes.orderer_node(topo, orderer),
                       orderer.host, orderer.port)


def peer_target(topo: Topology, org_name: str) -> Target:
    peer = topo.org(org_name).peers[0]
    return node_target(f"peer {peer.node_id}", nodes.peer_node(topo, peer), peer.host, peer.port)


def contract_target(topo: Topology, org_name: str) -> Target:
    org = topo.org(org_name)
    node = chaincode.server_node(topo, org, chaincode.deployed(topo))
    return node_target(f"contract server {org.name}", node, org.chaincode_server.host,
                       org.chaincode_server.port)


def minio_target(topo: Topology) -> Target:
    node = minio.minio_node(topo)
    return Target("MinIO", lambda: sigkill(node), lambda: minio.start_minio(topo))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivatePostgres:
    """A throw-away PostgreSQL cluster (Debian's binaries) a test may kill and restart.

    Killing the shared test server would break other sessions, so faults get a cluster of
    their own. Raises :class:`Unavailable` when the binaries or ``runuser`` are missing.
    """

    def __init__(self) -> None:
        versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
                          key=lambda p: int(p.parts[-3]))
        if not versions or not shutil.which("runuser"):
            raise Unavailable("PostgreSQL binaries not installed (run scripts/start-postgres.sh)")
        self.bin = versions[-1].parent
        self.data = Path(tempfile.mkdtemp(prefix="traza-pg-", dir="/tmp"))
        shutil.chown(self.data, "postgres", "postgres")
        self.port = free_port()
        self._pg("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres?connect_timeout=3"

    def _pg(self, tool: str, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(self.bin / tool), *args],
                       check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.data / "log"), "-w", "-o",
                 f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1", "start")

    def stop(self) -> None:
        """Immediate shutdown (SIGQUIT through pg_ctl)."""
        self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def sigkill(self) -> None:
        """SIGKILL the postmaster and its backends (they would outlive it a moment and
        hold the shared memory the restart needs)."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                  text=True).stdout.split()
        for p in [pid, *map(int, children)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
        while any(Path(f"/proc/{p}").exists() for p in [pid, *map(int, children)]):
            time.sleep(0.05)

    def target(self) -> Target:
        return Target("PostgreSQL", self.sigkill, self.start)

    def remove(self) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(self.bin / "pg_ctl"), "-D",
                        str(self.data), "-m", "immediate", "stop"], capture_output=True,
                       check=False)
        shutil.rmtree(self.data, ignore_errors=True)


class WorkerProcess:
    """``python -m bench.chaos.worker`` (an outbox worker) in a subprocess of its own."""

    def __init__(self, url: str, profiles_dir: Path, log: Path) -> None:
        self.url, self.profiles_dir, self.log = url, profiles_dir, log
        self.proc: subprocess.Popen | None = None
        self.generation = 0

    def start(self) -> None:
        self.generation += 1
        # The URL travels in the environment, never on the command line (it may hold a
        # password).
        env = dict(os.environ, TRAZA_DATABASE_URL=self.url, PYTHONPATH=str(REPO))
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bench.chaos.worker", f"w-chaos-{self.generation}",
                 "--profiles", str(self.profiles_dir)],
                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)

    def sigkill(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, "the worker is not running"
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.sigkill()

    def target(self) -> Target:
        return Target("outbox worker", self.sigkill, self.start)
