"""Figure 2: donations per minute with N donors in parallel, and the ledger's tx/s meanwhile.

Each of N processes (spawned: no gRPC state shared through fork) opens its own Pipeline on
the same intake org, home and database, as N operators' stations would, and runs
``donations`` small donations one after the other (register, consent, ingest, deidentify,
submit_for_review, accept, store). They start together once all are connected; the clock
runs from the start signal to the last donation's end. Committed steps are counted by the
processes' ledger submits; the peers' block heights are read before and after.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
import traceback
from pathlib import Path
from typing import Any

from bench.pipeline.timing import Timings, instrumented


def _warm_up(series: Path) -> None:
    """One file de-identified in this process: imports and tables loaded, as in a station
    that has been running for a while (the first call in a fresh process costs seconds)."""
    from client.intake import deidentify_staged

    files = [f.read_bytes() for f in sorted(series.glob("*.dcm"))]
    deidentify_staged(files, secret=b"traza-bench-warm-up", donor="d-warm-up", jobs=None)


def _worker(index: int, settings: Any, series: str, donations: int, ready: Any, start: Any,
            results: Any) -> None:
    from client.donations import Source
    from client.settings import open_pipeline

    # A spawned child inherits "spawn" as its default start method; a station started as
    # a program on Linux forks its de-identification workers, so this one does too
    # (spawning them costs ~1 s per donation here).
    mp.set_start_method("fork", force=True)
    timings = Timings()
    out: dict[str, Any] = {"index": index, "ok": 0, "failed": 0, "errors": [], "latency_s": []}
    mine: set[str] = set()
    try:
        # Instrumented before the Pipeline exists: its outbox worker keeps the bound submit.
        with instrumented(timings), open_pipeline(settings, worker_id=f"bench-{index}") as p:
            for actor in {p.config.operator_actor, p.config.service_actor,
                          p.config.deid_actor}:
                p.ledger.donations(actor)  # connect before the clock starts
            _warm_up(Path(series))
            timings.reset()
            ready.put(index)
            start.wait()
            for n in range(donations):
                t0 = time.perf_counter()
                try:
                    did = p.register(f"donante.bench.{index}.{n}.{os.getpid()}"
                                     "@example.org").donation_id
                    mine.add(did)
                    p.consent(did)
                    p.ingest(did, Path(series), Source("synthetic"))
                    p.deidentify(did)
                    p.submit_for_review(did)
                    p.accept(did)
                    p.store(did)
                    out["ok"] += 1
                    out["latency_s"].append(time.perf_counter() - t0)
                except Exception as e:  # noqa: BLE001 - a failed donation is a figure
                    out["failed"] += 1
                    out["errors"].append(f"{type(e).__name__}: {str(e)[:600]}")
            out["end"] = time.time()
    except Exception:  # noqa: BLE001 - reported to the parent, which prints it
        out["crash"] = traceback.format_exc()[-2000:]
        ready.put(index)
    out["timings"] = timings.to_json()
    out["submits"] = len(timings.submitted)
    out["foreign_submits"] = sum(1 for d in timings.submitted if d not in mine)
    results.put(out)


def run_parallel(settings: Any, series: Path, *, parallel: int, donations: int,
                 heights: Any, timeout: float = 1800) -> dict[str, Any]:
    """Run the parallel donations; ``heights()`` reads the peers' block heights."""
    ctx = mp.get_context("spawn")
    ready, results, start = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=_worker, args=(i, settings, str(series), donations, ready,
                                               start, results)) for i in range(parallel)]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get(timeout=300)
    before = heights()
    t0 = time.time()
    start.set()
    outs = [results.get(timeout=timeout) for _ in procs]
    wall = max(o.get("end", time.time()) for o in outs) - t0
    after = heights()
    for proc in procs:
        proc.join(timeout=60)
    crashes = [o["crash"] for o in outs if o.get("crash")]
    for c in crashes:
        print(f"a donor process crashed:\n{c}")
    return {"parallel": parallel, "donations_each": donations, "wall_s": wall,
            "heights_before": before, "heights_after": after, "workers": outs,
            "crashes": len(crashes)}
