"""Start, stop and watch the network's native processes (one process group each)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from anonymizer.files import write_secret

# Whatever a node or tool creates (keys, the CA's database, the chaincode builder's
# connection.json with the peer's TLS key, logs) is 0600 in 0700 folders from its first
# byte: nobody but the network's user reads it.
NODE_UMASK = 0o077


class NetworkError(RuntimeError):
    """A network operation failed; the message says which node and what to do."""


@dataclass(frozen=True)
class Node:
    """A process of the network: its name, command, environment and run folder."""

    name: str
    argv: list[str]
    env: dict[str, str]
    home: Path
    port: int

    @property
    def pidfile(self) -> Path:
        return self.home / "pid"

    @property
    def logfile(self) -> Path:
        return self.home / "log"


def _child_env(extra: dict[str, str]) -> dict[str, str]:
    """Our environment without Fabric settings of the caller's shell, plus ``extra``."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("CORE_", "ORDERER_", "FABRIC_"))
    }
    env.update(extra)
    return env


def port_open(host: str, port: int, timeout: float = 0.3) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _stat(pid: int) -> tuple[str, str] | None:
    """(state, start time) of a process from /proc, or None if there is none."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], fields[19]


def pid_of(node: Node) -> int | None:
    """The pid of a node we started and that still runs, else None.

    The pid file keeps the process start time too, so a recycled pid is not taken
    for ours (and ``down`` never signals a stranger).
    """
    try:
        pid_text, started = node.pidfile.read_text().split()
        pid = int(pid_text)
    except (OSError, ValueError):
        return None
    stat = _stat(pid)
    if stat is None or stat[0] in ("Z", "X") or stat[1] != started:
        return None
    return pid


def start(node: Node, host: str = "127.0.0.1") -> int:
    """Start ``node`` in its own process group unless it already runs; return its pid."""
    pid = pid_of(node)
    if pid:
        return pid
    if port_open(host, node.port):
        raise NetworkError(
            f"{node.name}: port {node.port} is already taken by another process; "
            f"stop it or change the port in network/topology.yaml"
        )
    node.home.mkdir(parents=True, exist_ok=True)
    # The rendered environment is kept beside the log, to see how a node was started. It
    # holds no secret (they are in 0600 files the node reads), but paths to keys: 0600.
    write_secret(node.home / "env", "".join(f"{k}={v}\n" for k, v in node.env.items()))
    # Logs hold no secret (tests/integration/test_secrets.py), but are the nodes' own: 0600.
    fd = os.open(node.logfile, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "ab") as log:
        proc = subprocess.Popen(
            node.argv,
            env=_child_env(node.env),
            cwd=node.home,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            umask=NODE_UMASK,
        )
    stat = _stat(proc.pid)
    node.pidfile.write_text(f"{proc.pid} {stat[1] if stat else 0}\n")
    return proc.pid


def stop(node: Node, timeout: float = 10.0) -> bool:
    """Stop a node we started (SIGTERM, then SIGKILL); True if it was running."""
    pid = pid_of(node)
    if not pid:
        node.pidfile.unlink(missing_ok=True)
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_of(node):
        time.sleep(0.1)
    if pid_of(node):
        os.killpg(pid, signal.SIGKILL)
    node.pidfile.unlink(missing_ok=True)
    return True


def wait_for(
    what: str,
    check: Callable[[], bool],
    timeout: float,
    node: Node | None = None,
    interval: float = 0.25,
) -> None:
    """Poll ``check`` until it is true; on timeout raise with the node's last log lines."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if node is not None and not pid_of(node):
            raise NetworkError(f"{node.name} exited while waiting for {what}:\n{tail(node)}")
        time.sleep(interval)
    hint = f"\n{tail(node)}" if node is not None else ""
    raise NetworkError(f"timed out after {timeout:.0f} s waiting for {what}{hint}")


def wait_port(node: Node, host: str, port: int, timeout: float = 30) -> None:
    """Wait until ``node`` accepts connections on host:port (fail early if it exits)."""
    wait_for(f"{node.name} on port {port}", lambda: port_open(host, port), timeout, node)


def tail(node: Node, lines: int = 20) -> str:
    """The last lines of a node's log."""
    try:
        text = node.logfile.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {node.logfile})"
    return "\n".join(f"  {node.name}| {line}" for line in text[-lines:])


def run(
    argv: list[str], env: dict[str, str] | None = None, what: str = "", cwd: Path | None = None
) -> str:
    """Run a short-lived tool; raise NetworkError with its output if it fails."""
    res = subprocess.run(argv, env=_child_env(env or {}), cwd=cwd, capture_output=True, text=True,
                         umask=NODE_UMASK)
    if res.returncode != 0:
        raise NetworkError(
            f"{what or Path(argv[0]).name} failed (exit {res.returncode}):\n"
            f"{res.stdout}{res.stderr}".rstrip()
        )
    return res.stdout + res.stderr
