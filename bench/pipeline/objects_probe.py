"""How much of the object store's cost is waiting one request at a time: a side measurement.

Usage::

    python -m bench.pipeline.objects_probe [--run DIR] [--objects N] [--kb KB] [--threads N]

With the intake org's own credentials, against the running network's MinIO: ``N`` staging
puts, gets and deletes of ``KB``-kilobyte objects one after the other (as the Pipeline does
them), then the same with ``--threads`` threads, then the deletes as S3 multi-object
deletes (one request per 1000 names); and library puts of fresh random objects one by one
and threaded (the library is write-once: those objects stay in that network's bucket).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from minio.deleteobjects import DeleteObject

from client.crypto import new_data_key
from client.objects import ObjectStoreConfig, open_store

DID = "d-bench-probe"


def _timed(fn: Callable[[Any], Any], items: Iterable[Any], threads: int) -> tuple[float, list]:
    items = list(items)
    t0 = time.perf_counter()
    if threads <= 1:
        out = [fn(x) for x in items]
    else:
        with ThreadPoolExecutor(threads) as pool:
            out = list(pool.map(fn, items))
    return time.perf_counter() - t0, out


def probe(store: Any, *, objects: int, kb: int, threads: int) -> list[tuple[str, float, int]]:
    """``(operation, seconds, requests)`` rows."""
    key = new_data_key()
    payload = secrets.token_bytes(kb * 1024)
    staging = store.staging
    rows = []
    for label, n_threads in (("one at a time", 1), (f"{threads} threads", threads)):
        s, names = _timed(lambda i: staging.put(key, payload + i.to_bytes(4, "big"),
                                                donation_id=DID), range(objects), n_threads)
        rows.append((f"staging put, {label}", s, objects))
        s, _ = _timed(lambda n: staging.get(n, key, donation_id=DID), names, n_threads)
        rows.append((f"staging get, {label}", s, objects))
        s, _ = _timed(staging.delete, names, n_threads)
        rows.append((f"staging delete, {label}", s, objects))
    _, names = _timed(lambda i: staging.put(key, payload + i.to_bytes(4, "big"),
                                            donation_id=DID), range(objects), threads)
    bucket = staging._b  # the bench reaches the minio client for the bulk call
    t0 = time.perf_counter()
    errors = list(bucket.client.remove_objects(bucket.bucket,
                                               [DeleteObject(n) for n in names]))
    rows.append(("staging delete, multi-object request", time.perf_counter() - t0,
                 -(-objects // 1000)))
    if errors:
        raise RuntimeError(f"{len(errors)} bulk deletes failed")
    for label, n_threads in (("one at a time", 1), (f"{threads} threads", threads)):
        blobs = [secrets.token_bytes(kb * 1024) for _ in range(objects)]
        s, _ = _timed(store.library.put, blobs, n_threads)
        rows.append((f"library put, {label}", s, objects))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline.objects_probe",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path,
                        default=Path(os.environ.get("TRAZA_NETWORK_RUN", "network/run")))
    parser.add_argument("--intake", default="hospital")
    parser.add_argument("--objects", type=int, default=300)
    parser.add_argument("--kb", type=int, default=520, help="object size (a 512x512 CT: 520)")
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
    store = open_store(ObjectStoreConfig.from_file(args.run / "minio" / f"{args.intake}.json"))
    rows = probe(store, objects=args.objects, kb=args.kb, threads=args.threads)
    print(f"{args.objects} objects of {args.kb} KB, {os.cpu_count()} cores "
          f"(MinIO on the same machine)")
    print(f"  {'operation':<40}{'seconds':>9}{'ms/object':>11}{'requests':>10}")
    for op, s, requests in rows:
        print(f"  {op:<40}{s:>9.2f}{1000 * s / args.objects:>11.2f}{requests:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
