"""Donation pipeline benchmark: a CT series end to end against de-identification alone.

Usage::

    python -m bench.pipeline.run [--run DIR] [--files N] [--size PX] [--parallel N]
                                 [--donations N] [--small-files N] [--jobs N]
                                 [--database auto|sqlite|postgresql] [--quick] [--out DIR]

Needs a running network (``traza network up``; ``--run`` names its run folder, default
``$TRAZA_NETWORK_RUN`` or ``network/run``); the bench never starts or stops it. Prints:

1. a generated ``--files``-image CT series (synthetic PHI, one study, one SOPInstanceUID per
   file) donated end to end through the Pipeline, next to ``anonymizer.pipeline.run`` alone on
   the same files (before and after), the ratio, and where the donation's time goes;
2. ``--parallel`` donors (processes) each running ``--donations`` small donations of
   ``--small-files`` files through their own Pipeline on one database: donations per minute,
   the ledger's committed tx/s and block heights, and where the time goes.

``DIR/results.json`` (default ``bench/out/pipeline``) keeps every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.pipeline.env import bench_settings, chain_heights, postgres_base_url, postgres_schema
from bench.pipeline.report import overhead, parallel_table, single_table
from bench.pipeline.series import write_series

DEFAULT_OUT = Path("bench/out/pipeline")
QUICK = {"rounds": 1, "files": 12, "size": 128, "parallel": 2, "donations": 1, "small_files": 2}


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline.run",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path,
                        default=Path(os.environ.get("TRAZA_NETWORK_RUN", "network/run")),
                        help="run folder of the network (profiles/, minio/)")
    parser.add_argument("--files", type=int, default=300, help="images in the series")
    parser.add_argument("--size", type=int, default=512, help="rows = columns of each image")
    parser.add_argument("--parallel", type=int, default=8, help="donors in parallel")
    parser.add_argument("--donations", type=int, default=4, help="donations per donor")
    parser.add_argument("--small-files", type=int, default=4, help="files per small donation")
    parser.add_argument("--small-size", type=int, default=128, help="pixels of small files")
    parser.add_argument("--rounds", type=int, default=2,
                        help="series donations, each followed by de-identification alone")
    parser.add_argument("--jobs", type=int, default=None,
                        help="de-identification processes (default: the pipeline's, all cores)")
    parser.add_argument("--database", choices=("auto", "sqlite", "postgresql"), default="auto",
                        help="parallel donations' database (auto: PostgreSQL if the test "
                             "server answers, else SQLite); the series always uses SQLite")
    parser.add_argument("--intake", default="hospital", help="intake org")
    parser.add_argument("--only", choices=("single", "parallel"), help="run one figure only")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes for CI/smoke: " + ", ".join(
                            f"{k.replace('_', '-')} {v}" for k, v in QUICK.items()))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, min(getattr(args, key), value))
    return args


def _machine() -> dict[str, Any]:
    return {"cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "load_avg": os.getloadavg()}


def main(argv: list[str] | None = None) -> int:
    """Run the bench; print both figures; write ``results.json``. Returns the exit code."""
    args = _args(argv)
    run_dir: Path = args.run.resolve()
    if not (run_dir / "profiles").is_dir():
        print(f"no network run folder at {run_dir} (start one with `traza network up`)",
              file=sys.stderr)
        return 2
    out: Path = args.out
    shutil.rmtree(out / "home", ignore_errors=True)  # fresh keys and database every run
    out.mkdir(parents=True, exist_ok=True)
    jobs = args.jobs or os.cpu_count() or 1
    results: dict[str, Any] = {"machine": _machine(), "run_dir": str(run_dir),
                               "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                               "options": {k: str(v) for k, v in vars(args).items()}}
    texts = []
    with ExitStack() as stack:
        if args.only != "parallel":
            from bench.pipeline.single import run_single

            series = out / "series"
            shutil.rmtree(series, ignore_errors=True)
            t0 = time.perf_counter()
            write_series(series, args.files, size=args.size)
            print(f"series: {args.files} files {args.size}x{args.size} in {series} "
                  f"({time.perf_counter() - t0:.1f} s)")
            settings = bench_settings(run_dir, out / "home" / "single", intake_org=args.intake,
                                      jobs=args.jobs)
            single = run_single(settings, series, jobs=args.jobs, rounds=args.rounds)
            single["overhead"] = overhead(single)
            results["single"] = single
            texts.append(single_table(single, jobs=jobs, size=args.size, database="SQLite"))
            print("\n" + texts[-1] + "\n")
        if args.only != "single":
            from bench.pipeline.parallel import run_parallel

            base = postgres_base_url() if args.database != "sqlite" else None
            if args.database == "postgresql" and base is None:
                print("PostgreSQL: no test server answers (~/.cache/traza/postgres-test.url)",
                      file=sys.stderr)
                return 2
            if base:
                url, schema = stack.enter_context(postgres_schema(base))
                label = f"PostgreSQL (schema {schema}, dropped afterwards)"
            else:
                url, label = None, "SQLite (one file, shared)"
            small = out / "small"
            shutil.rmtree(small, ignore_errors=True)
            write_series(small, args.small_files, size=args.small_size, seed=1)
            settings = bench_settings(run_dir, out / "home" / "parallel",
                                      intake_org=args.intake, database_url=url, jobs=args.jobs)
            from client.settings import open_pipeline
            with open_pipeline(settings):  # keys, secrets and schema made once, not raced
                pass
            par = run_parallel(settings, small, parallel=args.parallel,
                               donations=args.donations,
                               heights=lambda: chain_heights(run_dir))
            par["database"] = label
            results["parallel"] = par
            texts.append(parallel_table(par, files=args.small_files, size=args.small_size,
                                        database=label))
            print("\n" + texts[-1] + "\n")
    results["text"] = "\n\n".join(texts)
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str), "utf-8")
    print(f"(machine: {os.cpu_count()} cores, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}); details: {out / 'results.json'}")
    failed = sum(w["failed"] for w in results.get("parallel", {}).get("workers", []))
    return 1 if failed or results.get("parallel", {}).get("crashes") else 0


if __name__ == "__main__":
    sys.exit(main())
