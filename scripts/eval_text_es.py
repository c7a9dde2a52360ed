#!/usr/bin/env python3
"""Score ``anonymizer.text_es.find_phi`` on the labelled Spanish set; print P/R/F1.

Usage: ``python scripts/eval_text_es.py [--split test|dev] [--errors]``

Three ways of matching a predicted span to a gold span:

* **exact**: same start, end and category (MEDDOCAN's strict metric);
* **overlap**: same category and the spans overlap;
* **redaction**: category ignored; recall is the share of gold characters that end up
  inside some predicted span (what leaks), precision the share of predicted characters
  inside some gold span (what is removed needlessly).

It also prints the throughput of ``find_phi`` on the split's text, in MB/s.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "text_es"
sys.path.insert(0, str(ROOT))

from anonymizer.text_es import CATEGORIES, find_phi  # noqa: E402

Gold = tuple[int, int, str]


def load(split: str) -> list[dict]:
    """Return the rows of ``tests/data/text_es/<split>.jsonl``."""
    with open(DATA / f"{split}.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _prf(tp_p: int, n_pred: int, tp_g: int, n_gold: int) -> tuple[float, float, float]:
    p = tp_p / n_pred if n_pred else 1.0
    r = tp_g / n_gold if n_gold else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def score(rows: list[dict]) -> dict:
    """Return counts and P/R/F1 per category and overall for exact, overlap and redaction."""
    counts = {m: defaultdict(lambda: [0, 0, 0, 0]) for m in ("exact", "overlap")}
    red = [0, 0, 0, 0]  # predicted chars in gold, predicted chars, gold chars covered, gold chars
    errors = []
    for row in rows:
        text = row["text"]
        gold = [tuple(s) for s in row["spans"]]
        pred = [(s.start, s.end, s.category) for s in find_phi(text)]
        for mode in ("exact", "overlap"):
            def match(a: Gold, b: Gold, mode: str = mode) -> bool:
                if a[2] != b[2]:
                    return False
                return a[:2] == b[:2] if mode == "exact" else a[0] < b[1] and b[0] < a[1]
            for p in pred:
                c = counts[mode][p[2]]
                c[1] += 1
                c[0] += any(match(p, g) for g in gold)
            for g in gold:
                c = counts[mode][g[2]]
                c[3] += 1
                hit = any(match(p, g) for p in pred)
                c[2] += hit
                if mode == "overlap" and not hit:
                    errors.append((row["id"], "FN", g[2], text[g[0]:g[1]]))
            if mode == "overlap":
                for p in pred:
                    if not any(match(p, g) for g in gold):
                        errors.append((row["id"], "FP", p[2], text[p[0]:p[1]]))
        in_gold = bytearray(len(text))
        in_pred = bytearray(len(text))
        for s, e, _ in gold:
            in_gold[s:e] = b"\x01" * (e - s)
        for s, e, _ in pred:
            in_pred[s:e] = b"\x01" * (e - s)
        both = sum(a & b for a, b in zip(in_gold, in_pred, strict=True))
        red[0] += both
        red[1] += sum(in_pred)
        red[2] += both
        red[3] += sum(in_gold)
    result: dict = {"errors": errors}
    for mode in ("exact", "overlap"):
        per = {}
        total = [0, 0, 0, 0]
        for cat, c in counts[mode].items():
            per[cat] = (*_prf(*c), c[3])
            total = [a + b for a, b in zip(total, c, strict=True)]
        result[mode] = {"per_category": per, "overall": (*_prf(*total), total[3])}
    result["redaction"] = _prf(*red)
    return result


def throughput(rows: list[dict], min_seconds: float = 1.0) -> float:
    """Return MB/s (UTF-8 bytes per CPU second) of ``find_phi`` over the rows' text joined."""
    blob = "\n\n".join(r["text"] for r in rows)
    size = len(blob.encode("utf-8"))
    runs = 0
    start = time.process_time()  # CPU time: the machine may be shared
    while time.process_time() - start < min_seconds:
        find_phi(blob)
        runs += 1
    return size * runs / (time.process_time() - start) / 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="test", choices=("dev", "test"))
    ap.add_argument("--errors", action="store_true", help="list missed and spurious spans")
    args = ap.parse_args(argv)
    rows = load(args.split)
    res = score(rows)
    print(f"split={args.split} snippets={len(rows)} gold spans="
          f"{res['exact']['overall'][3]}")
    print(f"{'category':34} {'n':>4}  {'P exact':>7} {'R exact':>7} {'F1 exact':>8}"
          f"  {'P ovl':>6} {'R ovl':>6} {'F1 ovl':>6}")
    cats = [c for c in CATEGORIES if c in res["overlap"]["per_category"]]
    for cat in cats:
        ex = res["exact"]["per_category"].get(cat, (0, 0, 0, 0))
        ov = res["overlap"]["per_category"][cat]
        print(f"{cat:34} {ov[3]:>4}  {ex[0]:7.3f} {ex[1]:7.3f} {ex[2]:8.3f}"
              f"  {ov[0]:6.3f} {ov[1]:6.3f} {ov[2]:6.3f}")
    ex, ov = res["exact"]["overall"], res["overlap"]["overall"]
    print(f"{'OVERALL':34} {ov[3]:>4}  {ex[0]:7.3f} {ex[1]:7.3f} {ex[2]:8.3f}"
          f"  {ov[0]:6.3f} {ov[1]:6.3f} {ov[2]:6.3f}")
    rp, rr, rf = res["redaction"]
    print(f"redaction (any category, characters): P={rp:.3f} R={rr:.3f} F1={rf:.3f}")
    print(f"speed: {throughput(rows):.2f} MB/s")
    if args.errors:
        for err in res["errors"]:
            print(*err, sep="\t")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
