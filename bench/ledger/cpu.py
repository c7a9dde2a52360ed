"""CPU time of the network's processes, read from ``/proc/<pid>/stat`` (Linux, proc(5)).

The pids come from ``network/run/nodes/<node>/pid`` as written by ``traza network up``: the
first field is the pid, the second the process start time in clock ticks, checked here so a
reused pid is never counted.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["NODE_GROUPS", "CpuSample", "node_pids", "sample"]

# Node folder name pattern -> group shown in the table.
NODE_GROUPS: dict[str, str] = {
    "*-peer*": "peers",
    "orderer*": "orderers",
    "*-chaincode": "chaincode",
}

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuSample:
    """Cumulative CPU seconds per group at one moment."""

    seconds: Mapping[str, float]

    def cores_since(self, earlier: CpuSample, wall: float) -> dict[str, float]:
        """Return the average cores each group kept busy between ``earlier`` and this sample."""
        if wall <= 0:
            return {}
        return {
            group: (busy - earlier.seconds[group]) / wall
            for group, busy in self.seconds.items()
            if group in earlier.seconds
        }


def group_of(node: str) -> str | None:
    """Return the group of a node folder name, or None for nodes not measured (CAs, MinIO)."""
    return next((g for pattern, g in NODE_GROUPS.items() if fnmatch.fnmatch(node, pattern)), None)


def node_pids(nodes_dir: Path) -> dict[str, list[tuple[int, int | None]]]:
    """Return (pid, start time) of each node under ``nodes_dir``, by group."""
    groups: dict[str, list[tuple[int, int | None]]] = {}
    for pid_file in sorted(nodes_dir.glob("*/pid")):
        group = group_of(pid_file.parent.name)
        fields = pid_file.read_text().split()
        if group is None or not fields or not fields[0].isdigit():
            continue
        started = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None
        groups.setdefault(group, []).append((int(fields[0]), started))
    return groups


def process_cpu_seconds(pid: int, started: int | None = None) -> float | None:
    """Return user + system CPU seconds of ``pid``, or None if it is gone or was reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces: split after its closing parenthesis.
    rest = stat.rpartition(")")[2].split()
    # rest[0] is field 3 (state): utime, stime, starttime are fields 14, 15 and 22.
    utime, stime, starttime = int(rest[11]), int(rest[12]), int(rest[19])
    if started is not None and starttime != started:
        return None
    return (utime + stime) / CLOCK_TICKS


def sample(pids: Mapping[str, list[tuple[int, int | None]]]) -> CpuSample:
    """Return the CPU seconds used so far by each group; a group with a process gone is left out."""
    seconds: dict[str, float] = {}
    for group, processes in pids.items():
        values = [process_cpu_seconds(pid, started) for pid, started in processes]
        if values and all(v is not None for v in values):
            seconds[group] = sum(v for v in values if v is not None)
    return CpuSample(seconds)
