"""The benchmark's tables, from the figures :mod:`bench.pipeline.run` collects (plain dicts)."""

from __future__ import annotations

import statistics
from typing import Any

from bench.pipeline.timing import IDLE_POLL_S, PARENT, PRIMITIVES, STEPS

GOAL = 1.5


def merge_timings(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Sum the ``Timings.to_json()`` of several processes."""
    totals: dict[str, dict[str, float]] = {}
    idle = 0
    for part in parts:
        idle += part.get("idle_polls", 0)
        for key, t in part.get("totals", {}).items():
            acc = totals.setdefault(key, {"seconds": 0.0, "calls": 0})
            acc["seconds"] += t["seconds"]
            acc["calls"] += t["calls"]
    return {"totals": totals, "idle_polls": idle}


def _rows(timings: dict[str, Any], wall: float, per: int = 1) -> list[str]:
    """Steps, then primitives (children indented), then the idle polls and the rest."""
    totals = timings["totals"]
    lines = [f"  {'step':<34}{'calls':>7}{'seconds':>10}{'%':>7}"
             + (f"{'s/donation':>12}" if per > 1 else "")]

    def row(label: str, calls: int, seconds: float) -> str:
        line = f"  {label:<34}{calls:>7}{seconds:>10.2f}{100 * seconds / wall:>7.1f}"
        return line + (f"{seconds / per:>12.3f}" if per > 1 else "")

    for step in STEPS:
        t = totals.get(f"step {step}")
        if t:
            lines.append(row(step, t["calls"], t["seconds"]))
    lines.append(f"  {'inside the steps':<34}")
    top = 0.0
    for key in dict.fromkeys(key for _, _, _, key in PRIMITIVES):
        t = totals.get(key)
        if not t:
            continue
        child = key in PARENT
        if not child:
            top += t["seconds"]
        lines.append(row(("  of which " if child else "") + key, t["calls"], t["seconds"]))
    idle = timings.get("idle_polls", 0) * IDLE_POLL_S
    lines.append(row(f"idle outbox polls (x {IDLE_POLL_S} s)", timings.get("idle_polls", 0),
                     idle))
    steps = sum(totals.get(f"step {s}", {"seconds": 0.0})["seconds"] for s in STEPS)
    lines.append(row("rest (reading inputs, Python)", 0, steps - top - idle))
    return lines


def overhead(single: dict[str, Any]) -> dict[str, float]:
    """The donation's seconds beyond de-identification alone, by cause."""
    totals = single["timings"]["totals"]

    def s(key: str) -> float:
        return totals.get(key, {"seconds": 0.0})["seconds"]

    alone = statistics.mean(single["alone_s"])
    wall = single["wall_s"]
    causes = {
        "anonymizer inside the pipeline - alone": s("anonymizer run") - alone,
        "scratch copy in/out (de-identify - anonymizer)": s("de-identify") - s("anonymizer run"),
        "staging put (seal + upload)": s("staging put"),
        "staging get (download + unseal)": s("staging get"),
        "library put": s("library put"),
        "staging delete (purge)": s("staging delete"),
        "ledger submit+commit and query": s("ledger submit+commit") + s("ledger query"),
        "SQL (sessions: queries, flushes, commits)": s("SQL"),
        "data key unwrap": s("data key unwrap"),
        "sha256 of staged data": s("sha256 of staged data"),
        "idle outbox polls": single["timings"].get("idle_polls", 0) * IDLE_POLL_S,
    }
    causes["rest (reading inputs, Python)"] = wall - alone - sum(causes.values())
    return causes


def single_table(single: dict[str, Any], *, jobs: int, size: int, database: str) -> str:
    n, wall = single["files"], single["wall_s"]
    alone = statistics.mean(single["alone_s"])
    walls = single.get("donations_s", [wall])
    ratio = statistics.mean(walls) / alone
    verdict = "met" if ratio <= GOAL else "not met"
    out = [f"Figure 1: {n}-file CT series ({size}x{size}, 16-bit, "
           f"{single['bytes'] / 1e6:.1f} MB), {jobs} de-identification process(es), "
           f"database {database}",
           f"  {'':<34}{'wall s':>9}{'files/s':>9}",
           ]
    for i, a in enumerate(single["alone_s"]):
        out.append(f"  {f'de-identification alone, round {i}':<34}{a:>9.2f}{n / a:>9.1f}")
        if i < len(walls):
            w = walls[i]
            out.append(f"  {f'donation end to end, round {i + 1}':<34}{w:>9.2f}{n / w:>9.1f}")
    out += [f"  ratio donation / alone (means): {ratio:.2f}x (goal <= {GOAL}x: {verdict}); "
            f"best / best {min(walls) / min(single['alone_s']):.2f}x", "",
            f"Where the fastest donation's {wall:.2f} s go:"]
    out += _rows(single["timings"], wall)
    out += ["", f"Overhead of the fastest donation: {wall - alone:.2f} s over "
            "de-identification alone (mean), by cause:"]
    for cause, seconds in sorted(overhead(single).items(), key=lambda kv: -kv[1]):
        out.append(f"  {cause:<48}{seconds:>8.2f} s{100 * seconds / alone:>7.1f} % of alone")
    return "\n".join(out)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def parallel_table(par: dict[str, Any], *, files: int, size: int, database: str) -> str:
    workers = par["workers"]
    ok = sum(w["ok"] for w in workers)
    failed = sum(w["failed"] for w in workers)
    wall = par["wall_s"]
    submits = sum(w.get("submits", 0) for w in workers)
    foreign = sum(w.get("foreign_submits", 0) for w in workers)
    latency = [x for w in workers for x in w["latency_s"]]
    out = [f"Figure 2: {par['parallel']} donors in parallel (processes), "
           f"{par['donations_each']} donation(s) each of {files} files ({size}x{size}), "
           f"database {database}",
           f"  donations ok/failed {ok}/{failed} in {wall:.1f} s: "
           f"{60 * ok / wall:.1f} donations/min"]
    if latency:
        out.append(f"  seconds per donation: median {statistics.median(latency):.2f}, "
                   f"p90 {_pct(latency, 0.9):.2f}, max {max(latency):.2f}")
    out.append(f"  ledger: {submits} steps committed in {wall:.1f} s = {submits / wall:.2f} tx/s;"
               f" {foreign} of them another process's step (shared outbox)")
    for peer, before in par["heights_before"].items():
        after = par["heights_after"].get(peer, before)
        out.append(f"  block height {peer}: {before} -> {after} (+{after - before}, "
                   f"{(after - before) / wall:.2f} blocks/s)")
    errors = sorted({e for w in workers for e in w["errors"]})
    for e in errors[:5]:
        out.append(f"  error: {e}")
    out += ["", "Where the time goes (process-seconds summed over the donors; % of "
            f"{par['parallel']} x wall):"]
    out += _rows(merge_timings([w["timings"] for w in workers]), wall * par["parallel"],
                 per=max(1, ok))
    return "\n".join(out)
