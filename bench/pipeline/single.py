"""Figure 1: one series donated end to end, against de-identification alone on the same files.

De-identification alone is ``anonymizer.pipeline.run`` on the series folder, writing outputs
and reports into an in-memory scratch folder (as the pipeline's own de-identification does),
with the same profile, the same number of worker processes and a donor id of the same kind.
Rounds alternate: alone, then (donation, alone) per round, so that a change in the machine's
load hits both; the ratio is of the means, and the breakdown is the fastest donation's.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench.pipeline.timing import Timings, instrumented

SECRET = b"traza-bench-pipeline"  # a bench key: the outputs are thrown away


def deidentify_alone(series: Path, *, jobs: int | None, profile: str = "library") -> float:
    """Wall seconds of ``anonymizer.pipeline.run`` over ``series`` (outputs discarded)."""
    from anonymizer.pipeline import run
    from client.intake import scratch

    with scratch() as tmp:
        t0 = time.perf_counter()
        result = run(series, tmp / "out", report_dir=tmp / "reports", secret=SECRET,
                     donor="d-bench-alone", profile=profile, jobs=jobs)
        wall = time.perf_counter() - t0
    if not result.ok:
        raise RuntimeError(f"{len(result.failed)} files failed de-identification alone")
    return wall


def donate(settings: Any, series: Path, email: str) -> dict[str, Any]:
    """Donate ``series`` once through a fresh Pipeline; wall time and where it went."""
    from client.donations import Source
    from client.settings import open_pipeline

    timings = Timings()
    # Instrumented before the Pipeline exists: its outbox worker keeps the bound submit.
    with instrumented(timings), open_pipeline(settings, worker_id="bench-single") as p:
        for actor in {p.config.operator_actor, p.config.service_actor, p.config.deid_actor}:
            p.ledger.donations(actor)  # gateway connections, outside the clock
        t0 = time.perf_counter()
        did = p.register(email).donation_id
        p.consent(did)
        p.ingest(did, series, Source("synthetic"))
        p.deidentify(did)
        p.submit_for_review(did)
        p.accept(did)
        stored = p.store(did)
        wall = time.perf_counter() - t0
    return {"wall_s": wall, "library_objects": len(stored), "timings": timings.to_json()}


def run_single(settings: Any, series: Path, *, jobs: int | None,
               rounds: int = 2) -> dict[str, Any]:
    """Alone, then (donation, alone) x ``rounds``; see :func:`report.single_table`."""
    files = sorted(series.glob("*.dcm"))
    size = sum(f.stat().st_size for f in files)
    alone = [deidentify_alone(series, jobs=jobs)]
    print(f"de-identification alone: {alone[-1]:.2f} s")
    donations = []
    for r in range(max(1, rounds)):
        donations.append(donate(settings, series, f"donante.bench.serie.{r}@example.org"))
        print(f"donation end to end: {donations[-1]['wall_s']:.2f} s")
        alone.append(deidentify_alone(series, jobs=jobs))
        print(f"de-identification alone: {alone[-1]:.2f} s")
    best = min(donations, key=lambda d: d["wall_s"])
    return {"files": len(files), "bytes": size, "alone_s": alone,
            "donations_s": [d["wall_s"] for d in donations], **best}
