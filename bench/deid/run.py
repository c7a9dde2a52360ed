"""Run Traza and the peer de-identifiers side by side on the bench corpus and score them.

Usage::

    python -m bench.deid.run [--files N] [--jobs N] [--repeat N] [--seed S] [--out DIR]
                             [--tools a,b] [--no-ocr]

Generates the corpus into ``DIR/corpus`` (or reuses it if its manifest matches), runs every
tool on the same input with the same number of worker processes, scores each output folder
(:mod:`bench.deid.score`) and prints one table; ``DIR/results.json`` keeps the details.

Peers run with their default settings through their Python API:

- dicognito ``Anonymizer`` (one per worker, seeded so that workers agree on UIDs and dates);
- pydicom/deid ``replace_identifiers`` with its default recipe;
- KitwareMedical dicom-anonymizer ``anonymize_dicom_file`` (keeps a UID table in memory, so
  its workers take whole donors, as its own one-process CLI would see them).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import resource
import shutil
import sys
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.deid.corpus import DEFAULT_FILES, MANIFEST_NAME, Manifest, generate_corpus
from bench.deid.score import Scorer

DEFAULT_OUT = Path("bench/out/deid")
SECRET = b"traza-bench-deid"  # a bench key: the outputs are thrown away


# --------------------------------------------------------------------------- tool workers
# Module-level so that worker processes can pickle them; each returns an error or None.

_STATE: dict[str, Any] = {}


def _quiet() -> contextlib.ExitStack:
    stack = contextlib.ExitStack()
    stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
    stack.enter_context(contextlib.redirect_stderr(io.StringIO()))
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("ignore")
    logging.disable(logging.CRITICAL)
    stack.callback(logging.disable, logging.NOTSET)
    return stack


def _dicognito(src: str, dst: str) -> None:
    import pydicom
    from dicognito.anonymizer import Anonymizer

    anonymizer = _STATE.setdefault("dicognito", Anonymizer(seed="traza-bench"))
    ds = pydicom.dcmread(src)
    anonymizer.anonymize(ds)
    ds.save_as(dst)


def _deid(src: str, dst: str) -> None:
    from deid.dicom import replace_identifiers

    ds = replace_identifiers(dicom_files=[src], save=False)[0]
    ds.save_as(dst)


def _dicom_anonymizer(src: str, dst: str) -> None:
    from dicomanonymizer import anonymize_dicom_file

    anonymize_dicom_file(src, dst)


def _shard(task: tuple[Callable[[str, str], None], list[tuple[str, str]]]) -> list[str | None]:
    """Run one tool over a list of (src, dst) in this process; errors per file."""
    func, pairs = task
    errors: list[str | None] = []
    with _quiet():
        for src, dst in pairs:
            Path(dst).parent.mkdir(parents=True, exist_ok=True)
            try:
                func(src, dst)
                errors.append(None)
            except Exception as exc:  # noqa: BLE001 - a failing file is a score, not a crash
                Path(dst).unlink(missing_ok=True)
                errors.append(f"{Path(src).name}: {type(exc).__name__}")
    return errors


@dataclass(frozen=True)
class Tool:
    """A de-identifier under test: its name, distribution, worker and parallel scope."""

    name: str
    dist: str
    func: Callable[[str, str], None] | None
    scope: str  # "file": any worker may take any file; "donor": one worker per donor


PEERS = (
    Tool("dicognito", "dicognito", _dicognito, "file"),
    Tool("pydicom/deid", "deid", _deid, "file"),
    Tool("dicom-anonymizer", "dicom-anonymizer", _dicom_anonymizer, "donor"),
)
TRAZA = Tool("traza", "traza", None, "file")
# Traza without the first pass over the donor's headers (each file knows only its own
# identifying values): the cost and the worth of that pass, side by side.
TRAZA_OWN = Tool("traza-own-values", "traza", None, "file")


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _run_peer(tool: Tool, corpus: Path, out: Path, manifest: Manifest,
              jobs: int) -> list[str]:
    """Run a peer over the corpus with ``jobs`` processes; return the per-file errors."""
    by_donor: dict[str, list[tuple[str, str]]] = {}
    for f in manifest.files:
        by_donor.setdefault(f["donor"], []).append((str(corpus / f["path"]),
                                                    str(out / f["path"])))
    if tool.scope == "donor":
        tasks = [(tool.func, pairs) for pairs in by_donor.values()]
    else:
        pairs = [p for ps in by_donor.values() for p in ps]
        step = max(1, len(pairs) // (jobs * 4))
        tasks = [(tool.func, pairs[i:i + step]) for i in range(0, len(pairs), step)]
    if jobs == 1:
        results = [_shard(t) for t in tasks]
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            results = list(pool.map(_shard, tasks))
    return [e for r in results for e in r if e]


def _run_traza(corpus: Path, out: Path, manifest: Manifest, jobs: int,
               known_pass: bool = True) -> list[str]:
    """Run the Traza pipeline, one call per donor (its pseudonyms and dates are per donor).

    The donors share one pool of ``jobs`` worker processes, started in the timed round,
    as every peer's files do.
    """
    from anonymizer.pipeline import run

    errors: list[str] = []
    with _quiet(), contextlib.ExitStack() as stack:
        pool = stack.enter_context(ProcessPoolExecutor(max_workers=jobs)) if jobs > 1 else None
        for donor in sorted({f["donor"] for f in manifest.files}):
            # Input names kept: the scorer finds each output by its input's path.
            result = run(corpus / donor, out / donor, secret=SECRET, donor=donor, jobs=jobs,
                         executor=pool, keep_names=True, known_pass=known_pass)
            errors += [r.error or r.name for r in result.failed]
    return errors


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the worker pools)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _traza_available() -> str | None:
    try:
        from anonymizer.pipeline import run  # noqa: F401
    except ImportError as exc:
        return f"anonymizer.pipeline not importable ({exc.name})"
    return None


# --------------------------------------------------------------------------- corpus

def _corpus(out: Path, n_files: int, seed: int) -> tuple[Path, Manifest]:
    corpus = out / "corpus"
    path = corpus / MANIFEST_NAME
    if path.exists():
        manifest = Manifest.load(path)
        reuse = (manifest.seed == seed and abs(len(manifest.files) - n_files) <= 1
                 and all((corpus / f["path"]).exists() for f in manifest.files))
        if reuse:
            print(f"corpus: reusing {corpus} ({len(manifest.files)} files, seed {seed})")
            return corpus, manifest
        shutil.rmtree(corpus)
    t0 = time.perf_counter()
    manifest = generate_corpus(corpus, n_files=n_files, seed=seed)
    print(f"corpus: wrote {len(manifest.files)} files to {corpus} "
          f"in {time.perf_counter() - t0:.1f} s")
    return corpus, manifest


# --------------------------------------------------------------------------- table

KIND_SHORT = {"name": "name", "identifier": "id", "contact": "contact", "date": "date",
              "institution": "inst", "staff": "staff", "device": "device", "pixel": "pixel"}


def _frac(pair: list[int]) -> str:
    return f"{pair[0]}/{pair[1]}"


def _table(rows: list[dict[str, Any]], jobs: int) -> str:
    header = ["tool", "version", "ok/failed", "leaks", "files w/ leak", "orig UIDs",
              "refs ok", "study/series", "date intervals", "PIR/codes", "masked", "BIA=NO+text",
              "text-free px", "around text", "attrs kept", "files/s", "vs traza", "cpu ms/file"]
    base = next((r for r in rows if r["tool"] == "traza" and r.get("score")), None)
    lines = []
    for r in rows:
        s = r.get("score")
        if not s:
            lines.append([r["tool"], r["version"], r.get("skipped", "skipped")] +
                         [""] * (len(header) - 3))
            continue
        ratio = ""
        if base and r is not base and base["files_per_s"]:
            ratio = f"{r['files_per_s'] / base['files_per_s']:.2f}x"
        g = s["grouping"]
        lines.append([
            r["tool"], r["version"], f"{s['files_ok']}/{s['files_failed']}", str(s["leaks"]),
            f"{s['files_with_leaks']}/{s['files_ok']}",
            f"{s['files_with_original_uids']}/{s['files_ok']}",
            _frac([s["refs_ok"], s["refs_total"]]),
            f"{_frac(g['studies'])} {_frac(g['series'])}",
            _frac([s["dates"]["kept"], s["dates"]["total"]]),
            f"{s['identity_removed']}/{s['method_codes']}",
            _frac([s["boxes_masked"], s["boxes_total"]]), str(s["burned_in_no_with_text"]),
            _frac(s["text_free_identical"]), _frac(s["outside_text_kept"]),
            _frac(s["attributes_retained"]),
            f"{r['files_per_s']:.1f}", ratio, f"{r['cpu_ms_per_file']:.0f}",
        ])
    widths = [max(len(h), *(len(row[i]) for row in lines)) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*row) for row in lines]
    kinds = list(KIND_SHORT)
    out.append("")
    out.append("leaks by kind: " + "  ".join(f"{k}" for k in kinds))
    for r in rows:
        if r.get("score"):
            by = r["score"]["leaks_by_kind"]
            out.append(f"  {r['tool']:<17}" + "  ".join(f"{KIND_SHORT[k]}={by.get(k, 0)}"
                                                       for k in kinds))
    peers = [r for r in rows if r.get("score") and not r["tool"].startswith("traza")]
    if base and peers:
        fewest = min(peers, key=lambda r: r["score"]["leaks"])
        fastest = max(peers, key=lambda r: r["files_per_s"])
        out.append(f"traza: {base['score']['leaks']} leaks vs {fewest['score']['leaks']} for "
                   f"the best peer ({fewest['tool']}); {base['files_per_s']:.1f} files/s = "
                   f"{base['files_per_s'] / fastest['files_per_s']:.2f}x the fastest peer "
                   f"({fastest['tool']}, {fastest['files_per_s']:.1f} files/s)")
    ocr = next((r["score"]["ocr"] for r in rows if r.get("score")), None)
    out.append(f"(all tools: {jobs} worker process(es) on {os.cpu_count()} cores; files/s: "
               "wall clock, best round, process start-up included; cpu ms/file: user+sys of "
               "the tool's processes and their children (tesseract); masked boxes re-read "
               "by OCR: "
               f"{ocr or 'no (--no-ocr, or tesseract not found)'})")
    return "\n".join(out)


def _leak_places(score: dict[str, Any], manifest: Manifest) -> list[dict[str, Any]]:
    """Where each leak sits: file kind, label, attribute paths (no values)."""
    kinds = {f["id"]: (f["kind"], f["path"]) for f in manifest.files}
    places: dict[tuple[str, str, str], int] = {}
    for f in score["per_file"]:
        for leak in f["leaks"]:
            for path in leak["paths"]:
                key = (kinds[f["id"]][0], leak["label"].split(":")[0], path)
                places[key] = places.get(key, 0) + 1
    return [{"file_kind": k, "label": lab, "path": p, "files": n}
            for (k, lab, p), n in sorted(places.items())]


# --------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    """Run the bench; print the table; write ``results.json``. Returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m bench.deid.run", description=__doc__.split(
        "\n")[0])
    parser.add_argument("--files", type=int, default=DEFAULT_FILES, help="corpus size")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="worker processes per tool (default: all cores)")
    parser.add_argument("--seed", type=int, default=0, help="corpus seed")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--repeat", type=int, default=2,
                        help="runs per tool; the fastest is timed, the last is scored")
    parser.add_argument("--no-ocr", action="store_true",
                        help="do not re-read masked boxes with tesseract")
    parser.add_argument("--tools", default="traza,dicognito,pydicom/deid,dicom-anonymizer",
                        help="comma-separated tools to run (also traza-own-values: Traza "
                             "without the first pass over a donor's headers)")
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    corpus, manifest = _corpus(out, args.files, args.seed)
    scorer = Scorer(corpus, manifest, ocr=not args.no_ocr)
    wanted = [t.strip() for t in args.tools.split(",")]
    rows: list[dict[str, Any]] = []
    runnable: list[tuple[Tool, dict[str, Any], Path]] = []
    for tool in (TRAZA, TRAZA_OWN, *PEERS):
        if tool.name not in wanted:
            continue
        row: dict[str, Any] = {"tool": tool.name, "version": _version(tool.dist),
                               "jobs": args.jobs, "walls_s": [], "cpu_s": []}
        rows.append(row)
        reason = _traza_available() if tool in (TRAZA, TRAZA_OWN) else (
            "not installed" if row["version"] == "not installed" else None)
        if reason:
            row["skipped"] = reason
            print(f"{tool.name}: skipped, {reason}")
            continue
        runnable.append((tool, row, out / tool.name.replace("/", "-")))
    # Rounds over all tools, so that a burst of load elsewhere on the machine hits every
    # tool alike; each tool keeps its fastest round.
    for _ in range(max(1, args.repeat)):
        for tool, row, dest in runnable:
            shutil.rmtree(dest, ignore_errors=True)
            dest.mkdir(parents=True)
            cpu0 = _cpu_seconds()
            t0 = time.perf_counter()
            if tool in (TRAZA, TRAZA_OWN):
                row["errors"] = _run_traza(corpus, dest, manifest, args.jobs,
                                           known_pass=tool is TRAZA)
            else:
                row["errors"] = _run_peer(tool, corpus, dest, manifest, args.jobs)
            row["walls_s"].append(round(time.perf_counter() - t0, 3))
            row["cpu_s"].append(round(_cpu_seconds() - cpu0, 3))
    for tool, row, dest in runnable:
        wall = min(row["walls_s"])
        row["wall_s"] = wall
        row["files_per_s"] = len(manifest.files) / wall
        row["cpu_ms_per_file"] = 1000 * min(row["cpu_s"]) / len(manifest.files)
        print(f"{tool.name}: {len(manifest.files)} files in {wall:.2f} s "
              f"(runs {row['walls_s']}), {len(row['errors'])} failed")
        row["score"] = scorer.score(dest)
        row["leak_places"] = _leak_places(row["score"], manifest)
    print()
    print(_table(rows, args.jobs))
    results = {"corpus": str(corpus), "files": len(manifest.files), "seed": args.seed,
               "jobs": args.jobs, "cores": os.cpu_count(), "repeat": args.repeat,
               "skipped_syntaxes": manifest.skipped_syntaxes, "tools": rows}
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str), "utf-8")
    print(f"\ndetails: {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
