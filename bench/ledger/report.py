"""The results table: Python and Go clients side by side per concurrency level, and the ratio."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .stats import STEPS, LevelStats

__all__ = ["REFERENCE", "REFERENCE_SETUP", "LevelResult", "format_table", "ratio"]

# Figures measured on this kind of machine (2 cores) with Fabric 3.1.5, BatchTimeout 250 ms and
# a trivial chaincode, printed under the table for context: submitters -> what was seen.
REFERENCE: dict[int, str] = {
    1: "0.28 s per lone submit",
    32: "~71 tx/s",
    64: "~94 tx/s",
}
REFERENCE_SETUP = (
    "Fabric 3.1.5, BatchTimeout 250 ms, trivial chaincode, same kind of 2-core machine; "
    "CPU-bound (three peers ~1 core together)"
)

# Node groups whose CPU is shown, in this order.
CPU_GROUPS = ("peers", "orderers", "chaincode", "client")


@dataclass(frozen=True)
class LevelResult:
    """One client's run at one concurrency level.

    Attributes
    ----------
    client : str
        ``"python"`` or ``"go"``.
    concurrency : int
        Number of submitters.
    stats : LevelStats
        Throughput, latency and failures over the measured window.
    cpu : mapping of str to float
        Average cores busy during the run by group (``peers``, ``orderers``, ``chaincode``,
        ``client``); groups that could not be read are absent.
    """

    client: str
    concurrency: int
    stats: LevelStats
    cpu: Mapping[str, float] = field(default_factory=dict)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """Return ``numerator / denominator``, or None when either is missing or the divisor is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f}"


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _cores(cpu: Mapping[str, float], group: str) -> str:
    return f"{cpu[group]:.2f}" if group in cpu else "-"


def format_table(results: Sequence[LevelResult], *, title: str = "") -> str:
    """Return the results as a fixed-width text table, one row per concurrency level.

    Columns: per client committed tx/s, p50 and p99 latency (ms) and failures; then the
    Python/Go ratios of tx/s and p50 (tx/s ratio below 1 means Python commits less). Then
    blocks with the average cores busy per node group during each run, the median time of
    each submit step, the failures by kind, and the footer with the reference figures
    (:data:`REFERENCE`). A level run by one client only shows ``-`` for the
    other.
    """
    by_key = {(r.client, r.concurrency): r for r in results}
    levels = sorted({r.concurrency for r in results})
    lines: list[str] = []
    if title:
        lines.append(title)
    head = f"{'submitters':>10}  {'Python client':^29}  {'Go client (fabric-gateway)':^29}  "
    head += f"{'Python/Go':^11}"
    lines.append(head)
    sub = f"{'':>10}  " + f"{'tx/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'fail':>5}  " * 2
    sub += f"{'tx/s':>5} {'p50':>5}"
    lines.append(sub)
    for level in levels:
        row = f"{level:>10}  "
        stats: dict[str, LevelStats | None] = {}
        for client in ("python", "go"):
            result = by_key.get((client, level))
            s = result.stats if result else None
            stats[client] = s
            if s is None:
                row += f"{'-':>7} {'-':>7} {'-':>7} {'-':>5}  "
            else:
                row += f"{s.tps:>7.1f} {_ms(s.p50):>7} {_ms(s.p99):>7} {s.failed:>5}  "
        py, go = stats["python"], stats["go"]
        row += f"{_x(ratio(py and py.tps, go and go.tps)):>5} "
        row += f"{_x(ratio(py and py.p50, go and go.p50)):>5}"
        lines.append(row)

    lines.append("")
    lines.append(f"CPU, average cores busy during each run ({os.cpu_count()} cores here):")
    cpu_head = f"{'submitters':>10}  {'run':<7}" + "".join(f"{g:>10}" for g in CPU_GROUPS)
    lines.append(cpu_head)
    for level in levels:
        for client in ("python", "go"):
            result = by_key.get((client, level))
            if result is None:
                continue
            cells = "".join(f"{_cores(result.cpu, g):>10}" for g in CPU_GROUPS)
            lines.append(f"{level:>10}  {client:<7}{cells}")

    lines.append("")
    lines.append("Median ms by step of the valid transactions (where the latency goes):")
    lines.append(f"{'submitters':>10}  {'run':<7}" + "".join(f"{step:>15}" for step in STEPS))
    for level in levels:
        for client in ("python", "go"):
            result = by_key.get((client, level))
            if result is None:
                continue
            p50 = result.stats.step_p50
            cells = "".join(f"{_ms(p50.get(step)):>15}" for step in STEPS)
            lines.append(f"{level:>10}  {client:<7}{cells}")

    failures = sorted(
        (r.concurrency, r.client, kind, n) for r in results for kind, n in r.stats.failures.items()
    )
    if failures:
        lines.append("")
        lines.append("Failures by kind:")
        lines.extend(f"{level:>10}  {client:<7}{kind}: {n}" for level, client, kind, n in failures)

    lines.append("")
    lines.append(f"Reference ({REFERENCE_SETUP}):")
    lines.extend(f"{level:>10}  {figure}" for level, figure in sorted(REFERENCE.items()))
    return "\n".join(lines)
