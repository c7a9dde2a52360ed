"""Token precision and recall of the library profile on labelled DICOM descriptors.

    python scripts/eval_descriptors.py [tests/data/descriptors/heldout.tsv] [--errors]

Each line of the set is an attribute, the PatientName of its header (the known values) and
a descriptor whose personal data is marked ``[[...]]``. The descriptor is put in a data
set with that name, de-identified by ``deidentify_bytes`` (library profile, the Spanish
text engine), and every whitespace token is scored: personal if marked, removed if a span
of the report overlaps it. Printed: token precision and recall, and the clinical tokens
lost (tokens removed that were not personal).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import dcmwrite
from pydicom.uid import ExplicitVRLittleEndian

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from anonymizer import text_es  # noqa: E402
from anonymizer.engines import Engines  # noqa: E402
from anonymizer.pipeline import deidentify_bytes  # noqa: E402

DEFAULT = Path(__file__).resolve().parents[1] / "tests" / "data" / "descriptors" / "heldout.tsv"
MARK = re.compile(r"\[\[(.+?)\]\]")
RAW_DATA = "1.2.840.10008.5.1.4.1.1.66"


def parse(line: str) -> tuple[str, str, str, list[tuple[int, int]]]:
    """Return (attribute, patient name, plain text, personal character ranges)."""
    attr, name, marked = line.rstrip("\n").split("\t")
    text, gold, last, pos = [], [], 0, 0
    for m in MARK.finditer(marked):
        text.append(marked[last:m.start()])
        pos += m.start() - last
        gold.append((pos, pos + len(m.group(1))))
        text.append(m.group(1))
        pos += len(m.group(1))
        last = m.end()
    text.append(marked[last:])
    return attr, name, "".join(text), gold


def _dataset(attr: str, name: str, text: str) -> bytes:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = RAW_DATA
    meta.MediaStorageSOPInstanceUID = "1.2.3.4"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID, ds.SOPInstanceUID = RAW_DATA, "1.2.3.4"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = "1.2.3.5", "1.2.3.6"
    ds.Modality = "OT"
    if name:
        ds.PatientName = name
    ds.PatientID = "EXP-0001"
    setattr(ds, attr, text)
    fp = DicomBytesIO()
    dcmwrite(fp, ds, enforce_file_format=True)
    return fp.getvalue()


def score(path: Path, show_errors: bool = False) -> dict[str, float]:
    """Return tp, fp, fn, precision, recall over the tokens of the set at ``path``."""
    engines = Engines(redact=text_es.redact)
    tp = fp = fn = lines = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        lines += 1
        attr, name, text, gold = parse(line)
        _, report = deidentify_bytes(_dataset(attr, name, text), secret=b"k" * 32,
                                     donor="d", engines=engines)
        spans = [(s.start, s.end) for s in report.text_spans if s.path == attr]
        for m in re.finditer(r"\S+", text):
            a, b = m.span()
            personal = any(a < e and s < b for s, e in gold)
            removed = any(a < e and s < b for s, e in spans)
            tp += personal and removed
            fp += removed and not personal
            fn += personal and not removed
            if show_errors and personal != removed:
                print(f"{'LOST' if removed else 'MISSED'} {m.group()!r} in {text!r}")
    return {"lines": lines, "tp": tp, "fp": fp, "fn": fn,
            "precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / (tp + fn) if tp + fn else 1.0}


def main(argv: list[str] | None = None) -> int:
    """Print the figures."""
    parser = argparse.ArgumentParser(prog="scripts/eval_descriptors.py", description=__doc__)
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--errors", action="store_true", help="print each wrong token")
    args = parser.parse_args(argv)
    r = score(args.path, args.errors)
    print(f"{r['lines']} descriptors: token precision {r['precision']:.3f}, recall "
          f"{r['recall']:.3f} (tp {r['tp']}, clinical tokens lost {r['fp']}, personal tokens "
          f"missed {r['fn']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
