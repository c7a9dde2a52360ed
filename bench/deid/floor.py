"""How fast Traza could be next to dicognito: the pixel work's floor, measured.

Usage::

    python -m bench.deid.floor [--out DIR] [--repeat N]

On the corpus of :mod:`bench.deid.run` (``DIR/corpus``, generated there first), in one
process and one run, CPU time of:

- dicognito on the files whose pixels Traza searches in full (:func:`anonymizer.dicom.at_risk`
  and not :func:`anonymizer.dicom.pixels.gated`) and on the others ("plain": series images
  whose BurnedInAnnotation is absent, decoded and pre-filtered, and files without pixels to
  read, each also shown apart);
- for those files, only the two steps no de-identifier that reads burned-in text can skip:
  decoding the pixel data (pydicom and its plugins, as Traza does) and the detectors'
  reads (Traza's own calls, timed at the engines: the learned detector's detection and
  recognition runs and Tesseract's reads, each process starting with no verdict cached);
- Traza on both sets.

It prints how fast Traza's plain files would have to be for the whole corpus to go as fast
as dicognito: what dicognito spends on the at-risk files is less than the decode and the
reads alone.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pydicom

from bench.deid.run import DEFAULT_OUT, SECRET, _corpus


def _in_child(fn: Callable[[], dict[str, float]]) -> dict[str, float]:
    """Run ``fn`` in a forked process (fresh caches, as a worker's); return its result."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            result = {"ok": fn()}
        except BaseException as exc:  # noqa: BLE001 - reported by the parent
            result = {"error": f"{type(exc).__name__}: {exc}"}
        with os.fdopen(write, "wb") as f:
            f.write(json.dumps(result).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        data = f.read()
    os.waitpid(pid, 0)
    result = json.loads(data or b'{"error": "the measuring process died"}')
    if "error" in result:
        raise RuntimeError(f"measurement failed: {result['error']}")
    return result["ok"]


def main(argv: list[str] | None = None) -> int:
    """Measure and print the floor; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m bench.deid.floor",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="bench output folder")
    parser.add_argument("--files", type=int, default=80, help="corpus size")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the fastest is kept")
    args = parser.parse_args(argv)
    try:
        from dicognito.anonymizer import Anonymizer
    except ImportError:
        print("dicognito is not installed: pip install -e '.[bench]'", file=sys.stderr)
        return 2

    from anonymizer import ocr
    from anonymizer.dicom import at_risk
    from anonymizer.dicom.pixels import gated
    from anonymizer.engines import default_engines
    from anonymizer.pipeline import deidentify_bytes

    corpus, manifest = _corpus(args.out, args.files, 0)
    files = [(corpus / f["path"], f["donor"]) for f in manifest.files]
    data = {path: path.read_bytes() for path, _ in files}
    heads = {p: pydicom.dcmread(io.BytesIO(data[p])) for p, _ in files}
    # at risk: searched in full (ultrasound, XA, CR/DX, screens, YES); the series whose
    # flag is absent are only pre-filtered (gated) and count with the plain files
    risky = [(p, d) for p, d in files if at_risk(heads[p]) and not gated(heads[p])]
    series = [(p, d) for p, d in files if at_risk(heads[p]) and gated(heads[p])]
    plain = [f for f in files if f not in risky]  # series included: no text in them
    bare = [f for f in plain if f not in series]
    engines = default_engines()
    engines.preload()  # the models load before the workers fork, as in run()

    def dicognito(subset: list[tuple[Path, str]]) -> float:
        anonymizer = Anonymizer(seed="traza-bench")
        t0 = time.process_time()
        for path, _ in subset:
            ds = pydicom.dcmread(io.BytesIO(data[path]))
            anonymizer.anonymize(ds)
            ds.save_as(io.BytesIO())
        return time.process_time() - t0

    def traza(subset: list[tuple[Path, str]]) -> dict[str, float]:
        spent = [0.0]

        def timing(fn):  # type: ignore[no-untyped-def]
            def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
                t0 = time.process_time()
                try:
                    return fn(*args, **kwargs)
                finally:
                    spent[0] += time.process_time() - t0
            return timed

        engine = ocr._engine(ocr.CONFIRM_LANG)
        engine.words = timing(engine.words)  # type: ignore[method-assign]
        learned = ocr._learned.PROCESS.get()
        learned.detect = timing(learned.detect)  # type: ignore[method-assign]
        learned.read = timing(learned.read)  # type: ignore[method-assign]
        t0 = time.process_time()
        for path, donor in subset:
            deidentify_bytes(data[path], secret=SECRET, donor=donor, engines=engines)
        return {"total": time.process_time() - t0, "ocr": spent[0]}

    def decode(subset: list[tuple[Path, str]]) -> float:
        t0 = time.process_time()
        for path, _ in subset:
            pydicom.dcmread(io.BytesIO(data[path])).pixel_array  # noqa: B018
        return time.process_time() - t0

    rounds: dict[str, list[float]] = {}
    for _ in range(max(1, args.repeat)):
        got = {
            "dicognito at-risk": _in_child(lambda: {"t": dicognito(risky)})["t"],
            "dicognito plain": _in_child(lambda: {"t": dicognito(plain)})["t"],
            "decode at-risk": _in_child(lambda: {"t": decode(risky)})["t"],
        }
        t = _in_child(lambda: traza(risky))
        got["traza at-risk"], got["detector reads at-risk"] = t["total"], t["ocr"]
        got["traza plain"] = _in_child(lambda: traza(plain))["total"]
        if series:
            got["dicognito series"] = _in_child(lambda: {"t": dicognito(series)})["t"]
            got["decode series"] = _in_child(lambda: {"t": decode(series)})["t"]
            t = _in_child(lambda: traza(series))
            got["traza series"], got["detector reads series"] = t["total"], t["ocr"]
        if bare:
            got["dicognito no pixels"] = _in_child(lambda: {"t": dicognito(bare)})["t"]
            got["traza no pixels"] = _in_child(lambda: traza(bare))["total"]
        for key, value in got.items():
            rounds.setdefault(key, []).append(value)
    best = {k: min(v) for k, v in rounds.items()}
    print(f"{len(files)} files: {len(risky)} at risk (searched in full), {len(plain)} plain "
          f"({len(series)} series images whose flag is absent: decoded and pre-filtered; "
          f"{len(bare)} without pixels to read); "
          f"CPU ms, one process, best of {args.repeat} (median in brackets)")
    for key, values in rounds.items():
        print(f"  {key:20} {best[key] * 1000:8.1f}  ({statistics.median(values) * 1000:.1f})")
    floor = best["decode at-risk"] + best["detector reads at-risk"]
    both = best["dicognito plain"] + best["dicognito at-risk"]
    print(f"decode + detector reads on the at-risk files: {floor * 1000:.1f} ms = "
          f"{floor / best['dicognito at-risk']:.1f}x all of dicognito's work on them")
    print(f"(b) traza on the at-risk files: {best['traza at-risk'] / floor:.2f}x that floor "
          f"(goal <= 1.5x)")
    print(f"(a) traza on the plain files: {best['dicognito plain'] / best['traza plain']:.2f}x "
          f"dicognito's speed (goal >= 1.0x)")
    if bare:
        print(f"    of which the {len(bare)} without pixels to read: "
              f"{best['dicognito no pixels'] / best['traza no pixels']:.2f}x")
    if series:
        sfloor = best["decode series"] + best["detector reads series"]
        print(f"    of which the {len(series)} series images: "
              f"{best['dicognito series'] / best['traza series']:.2f}x; their decode + "
              f"detector reads {sfloor * 1000:.1f} ms = "
              f"{sfloor / best['dicognito series']:.2f}x dicognito's work on them")
    now = best["traza plain"] / best["dicognito plain"]
    for extra, how in ((0.0, "down to decode + reads alone"),
                       (best["dicognito at-risk"], "at decode + reads + dicognito's own work")):
        budget = both - floor - extra
        print(f"for Traza to match dicognito with its at-risk files {how}, its plain files "
              f"would have to take at most {budget * 1000:.1f} ms = "
              f"{budget / best['dicognito plain']:.2f}x dicognito's (now {now:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
