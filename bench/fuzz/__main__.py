"""Fuzz the anonymizer's DICOM reading with N mutated test files (default 10^5).

    nice python -m bench.fuzz [--inputs N] [--seed S] [--out FILE.json]

Each mutant of :mod:`tests.data.dicom.mutate` goes through ``deidentify_file`` into an
empty folder: it must end in a written file or a typed error (``DeidError``), and a failed
file must leave the folder empty. Printed: inputs/s, outcomes by error type, unexpected
exceptions (with the seed and mutation to replay them) and partial outputs. Next to it, in
the same run, the peer: pydicom's own ``dcmread`` on the same inputs, and the exception
types it lets out (what a tool built on it without such checks would crash on).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
import traceback
import warnings
from collections import Counter
from pathlib import Path

import pydicom

from anonymizer.errors import DeidError
from anonymizer.pipeline import deidentify_file
from tests.data.dicom import fakes, mutate


def main(argv: list[str] | None = None) -> int:
    """Run the fuzzer; exit 1 if any input broke the rules."""
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__)
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", type=Path, help="Also write the figures as JSON here.")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    rng = random.Random(args.seed)
    outcomes: Counter[str] = Counter()
    peer: Counter[str] = Counter()
    unexpected: list[dict[str, str]] = []
    partial = 0
    seeds = mutate.seeds()
    spent = peer_spent = 0.0
    with tempfile.TemporaryDirectory(prefix="traza-fuzz-") as tmp:
        src, out = Path(tmp) / "in.dcm", Path(tmp) / "out"
        out.mkdir()
        for i in range(args.inputs):
            which = rng.randrange(len(seeds))
            edits = mutate.random_edits(rng, len(seeds[which]))
            data = mutate.apply(seeds[which], edits)
            src.write_bytes(data)
            t0 = time.perf_counter()
            try:
                deidentify_file(src, out / "o.dcm", secret=b"k" * 32, donor="d",
                                engines=fakes.ENGINES)
                outcomes["written"] += 1
            except DeidError as exc:
                outcomes[type(exc).__name__] += 1
                if any(out.iterdir()):
                    partial += 1
            except Exception as exc:  # noqa: BLE001 - this is what the fuzzer looks for
                outcomes["UNEXPECTED"] += 1
                if len(unexpected) < 20:
                    unexpected.append({"input": str(i), "seed": str(which),
                                       "edits": repr(edits), "error": repr(exc)[:200],
                                       "where": traceback.format_exc().splitlines()[-3]})
            spent += time.perf_counter() - t0
            for p in out.iterdir():
                p.unlink()
            t0 = time.perf_counter()
            try:
                pydicom.dcmread(src).walk(lambda ds, el: el.value)
                peer["read"] += 1
            except pydicom.errors.InvalidDicomError:
                peer["InvalidDicomError"] += 1
            except Exception as exc:  # noqa: BLE001 - the peer's untyped failures
                peer[type(exc).__name__] += 1
            peer_spent += time.perf_counter() - t0
            if (i + 1) % 5000 == 0:  # a long run killed early still leaves its figures
                print(f"{i + 1} inputs: {dict(outcomes.most_common())}, partial {partial}, "
                      f"{(i + 1) / spent:.0f} inputs/s", flush=True)
    figures = {"inputs": args.inputs, "seed": args.seed, "seconds": round(spent, 1),
               "inputs_per_s": round(args.inputs / spent, 1) if spent else 0.0,
               "outcomes": dict(outcomes.most_common()), "partial_outputs": partial,
               "unexpected": unexpected,
               "peer_pydicom_dcmread": dict(peer.most_common()),
               "peer_seconds": round(peer_spent, 1)}
    print(f"{args.inputs} mutated inputs from {len(seeds)} test files (seed {args.seed}), "
          f"{figures['inputs_per_s']} inputs/s")
    for name, n in outcomes.most_common():
        print(f"  {name:28} {n:7}")
    print(f"  partial outputs on failure  {partial:7}")
    untyped = sum(n for k, n in peer.items() if k not in ("read", "InvalidDicomError"))
    print(f"peer, pydicom.dcmread + walk on the same inputs: {untyped} exceptions other "
          "than its InvalidDicomError "
          f"({', '.join(f'{k} {n}' for k, n in peer.most_common() if k != 'read')})")
    for u in unexpected:
        print("UNEXPECTED", json.dumps(u))
    if args.out:
        args.out.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    return 1 if outcomes["UNEXPECTED"] or partial else 0


if __name__ == "__main__":
    raise SystemExit(main())
