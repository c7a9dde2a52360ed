"""Score a de-identified copy of the corpus against its manifest.

For each output file (same relative path as its input) the scorer checks:

- leaks: every planted PHI spelling, encoded as UTF-8, Latin-1 and UTF-16 (LE/BE), searched
  case-insensitively in the file's bytes (a deflated body is inflated first); a burned-in
  text box whose ink is still there, or that tesseract can still read, is a ``pixel`` leak;
- original instance UIDs still present (reported apart from PHI leaks);
- references: every referenced UID in SR/RT resolves to the output value of its target;
  study and series grouping preserved; SOP class kept;
- date intervals between a donor's studies, to birth, and study to acquisition inside a file;
- markers: PatientIdentityRemoved YES and a DeidentificationMethodCodeSequence (PS3.15 E.1.1);
- retention: pixel data of text-free images identical, pixels outside text boxes kept,
  clinically useful attributes kept.
"""

from __future__ import annotations

import datetime as dt
import difflib
import shutil
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.datadict import keyword_for_tag
from pydicom.dataset import Dataset
from pydicom.pixels import unpack_bits
from pydicom.uid import DeflatedExplicitVRLittleEndian

from bench.deid.manifest import Manifest, jsonable

ENCODINGS = ("utf-8", "latin-1", "utf-16-le", "utf-16-be")
INK = 0.25  # a pixel is ink when it differs from the box's median by this share of the range
RESIDUAL = 0.10  # a box is masked when less than this share of its ink is left
OUTSIDE_TOLERANCE = 0.02  # share of the range a lossy re-encode may move a pixel
OCR_MATCH = 0.5  # similarity of OCR output to the planted text that counts as readable


def ocr_engine() -> str | None:
    """Return the tesseract version used to re-read masked boxes, or None if absent."""
    if not shutil.which("tesseract"):
        return None
    try:
        import pytesseract

        return f"tesseract {pytesseract.get_tesseract_version()}"
    except Exception:  # noqa: BLE001 - no OCR means the ink check alone
        return None


def _alnum(text: str) -> str:
    return "".join(c for c in text.upper() if c.isalnum())


def _ocr_lines(frames: np.ndarray, boxes: list[dict[str, Any]]) -> list[str]:
    """Read the given boxes with one tesseract call: crops stacked on a white page."""
    import pytesseract
    from PIL import Image

    crops = []
    for b in boxes:
        x0, y0, x1, y1 = b["box"]
        crop = _luma(frames[b["frame"]])[max(0, y0 - 3):y1 + 3, max(0, x0 - 3):x1 + 3]
        low, high = np.percentile(crop, (1, 99))
        # Stretch contrast: faint text left by a weak mask must still be legible to OCR.
        grey = np.zeros_like(crop) if high <= low else (crop - low) / (high - low) * 255
        grey = np.clip(grey, 0, 255).astype("u1")
        if np.median(grey) < 128:  # tesseract prefers dark text on a light ground
            grey = 255 - grey
        crops.append(np.kron(grey, np.ones((3, 3), dtype="u1")))  # 3x: small fonts
    gap = 24
    page = np.full((sum(c.shape[0] + gap for c in crops) + gap,
                    max(c.shape[1] for c in crops) + 2 * gap), 255, dtype="u1")
    y = gap
    for c in crops:
        page[y:y + c.shape[0], gap:gap + c.shape[1]] = c
        y += c.shape[0] + gap
    text = pytesseract.image_to_string(Image.fromarray(page), config="--psm 6")
    return [line for line in text.splitlines() if line.strip()]


def _readable(text: str, lines: list[str]) -> bool:
    """True when one OCR line matches most of ``text``."""
    want = _alnum(text)
    return any(difflib.SequenceMatcher(None, _alnum(line), want).ratio() >= OCR_MATCH
               for line in lines)


@dataclass
class FileScore:
    """What one output file got right and wrong."""

    id: str
    kind: str
    ok: bool = True
    error: str = ""
    leaks: list[dict[str, Any]] = field(default_factory=list)
    uids_kept: list[str] = field(default_factory=list)
    refs_ok: int = 0
    refs_total: int = 0
    broken_refs: list[str] = field(default_factory=list)
    class_kept: bool = False
    markers: bool = False
    identity_removed: bool = False
    method_codes: bool = False
    boxes_masked: int = 0
    boxes_ocr_readable: int = 0
    boxes_total: int = 0
    false_clean: bool = False  # BurnedInAnnotation NO while text is left
    pixels_identical: bool | None = None
    outside_kept: bool | None = None
    retained: int = 0
    retain_total: int = 0


def _body_bytes(raw: bytes, ds: Dataset | None) -> bytes:
    """Return the bytes to search: the file, plus its inflated body when deflated."""
    ts = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    if ts != DeflatedExplicitVRLittleEndian or raw[128:132] != b"DICM":
        return raw
    # (0002,0000) UL holds the length of the rest of the file meta group (PS3.10 7.1).
    meta_len = int.from_bytes(raw[140:144], "little")
    start = 144 + meta_len
    try:
        return raw + zlib.decompressobj(-zlib.MAX_WBITS).decompress(raw[start:])
    except zlib.error:
        return raw


def _patterns(variants: list[str]) -> list[tuple[str, bytes]]:
    out = []
    for v in variants:
        for enc in ENCODINGS:
            try:
                out.append((v, v.encode(enc).lower()))
            except UnicodeEncodeError:
                continue
    return out


def _walk(ds: Dataset, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield (path, value) of every element, nested sequences included."""
    for elem in ds:
        name = (elem.keyword or keyword_for_tag(elem.tag)
                or f"({elem.tag.group:04X},{elem.tag.element:04X})")
        path = f"{prefix}{name}"
        if elem.VR == "SQ":
            for i, item in enumerate(elem.value):
                yield from _walk(item, f"{path}[{i}].")
        elif elem.tag != 0x7FE00010:
            yield path, elem.value


def _locate(ds: Dataset, variants: list[str]) -> list[str]:
    """Return the attribute paths whose value contains one of ``variants``."""
    wanted = [v.lower() for v in variants]
    found = []
    sources = [("file_meta.", ds.file_meta)] if hasattr(ds, "file_meta") else []
    for prefix, part in [*sources, ("", ds)]:
        for path, value in _walk(part, prefix):
            if isinstance(value, bytes):
                text = "\n".join(value.decode(enc, "ignore") for enc in ENCODINGS)
            elif isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
                text = "\\".join(map(str, value))
            else:
                text = str(value)
            text = text.lower()
            if any(w in text for w in wanted):
                found.append(path)
    return found


def _get_path(ds: Dataset, path: list[str | int]) -> Any:
    node: Any = ds
    for step in path:
        if isinstance(step, int):
            if step >= len(node):
                return None
            node = node[step]
        else:
            if step not in node:
                return None
            node = node[step].value
    return node


def _frames(ds: Dataset) -> np.ndarray | None:
    """Decoded pixels as (frames, rows, cols) luminance-or-grey plus channels kept."""
    if "PixelData" not in ds:
        return None
    arr = ds.pixel_array
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if frames == 1:
        arr = arr[None]
    return arr.astype(np.float64)


def _luma(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 3:
        return frame @ np.array([0.299, 0.587, 0.114])
    return frame


def _masked(before: np.ndarray, after: np.ndarray, box: list[int], span: float) -> bool:
    """True when most of the ink inside ``box`` is gone from ``after``."""
    x0, y0, x1, y1 = box
    b = _luma(before)[y0:y1, x0:x1]
    a = _luma(after)[y0:y1, x0:x1]
    ink_before = np.count_nonzero(np.abs(b - np.median(b)) > INK * span)
    ink_after = np.count_nonzero(np.abs(a - np.median(a)) > INK * span)
    return ink_before > 0 and ink_after <= RESIDUAL * ink_before


def _outside_kept(before: np.ndarray, after: np.ndarray, boxes: list[list[int]],
                  span: float) -> bool:
    """True when pixels away from the text (a text height around each box) are kept."""
    mask = np.ones(before.shape[:2], dtype=bool)
    for x0, y0, x1, y1 in boxes:
        m = max(4, y1 - y0)  # masks are padded; a line height of padding is fair
        mask[max(0, y0 - m):y1 + m, max(0, x0 - m):x1 + m] = False
    diff = np.abs(_luma(before) - _luma(after))[mask]
    return bool(np.mean(diff <= OUTSIDE_TOLERANCE * span) >= 0.99)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    try:
        return abs(float(a) - float(b)) < 1e-6
    except (TypeError, ValueError):
        return str(a).strip() == str(b).strip()


class Scorer:
    """Scores output folders of several tools against one corpus and manifest.

    With ``ocr`` (default) and tesseract installed, every box that looks masked is also read
    back with OCR; text still readable there is a pixel leak.
    """

    def __init__(self, corpus_dir: Path | str, manifest: Manifest | None = None, *,
                 ocr: bool = True) -> None:
        self.corpus = Path(corpus_dir)
        self.manifest = manifest or Manifest.load(self.corpus / "manifest.json")
        self._input_pixels: dict[str, np.ndarray | None] = {}
        self._patterns: dict[tuple[str, str], list[tuple[str, bytes]]] = {}
        self.ocr = ocr_engine() if ocr else None

    def _labels(self, entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return self.manifest.labels_for(entry)

    def _input_frames(self, entry: dict[str, Any]) -> np.ndarray | None:
        if entry["id"] not in self._input_pixels:
            ds = pydicom.dcmread(self.corpus / entry["path"])
            self._input_pixels[entry["id"]] = _frames(ds)
        return self._input_pixels[entry["id"]]

    def score(self, out_dir: Path | str) -> dict[str, Any]:
        """Score every file of ``out_dir``; return the summary and per-file details."""
        out = Path(out_dir)
        files = self.manifest.files
        outputs: dict[str, Dataset] = {}
        scores: list[FileScore] = []
        for entry in files:
            fs = FileScore(entry["id"], entry["kind"])
            path = out / entry["path"]
            try:
                raw = path.read_bytes()
                ds = pydicom.dcmread(path)
            except Exception as exc:  # noqa: BLE001 - any failure means the file failed
                fs.ok, fs.error = False, f"{type(exc).__name__}"
                scores.append(fs)
                continue
            outputs[entry["id"]] = ds
            self._leaks(fs, entry, raw, ds)
            fs.class_kept = str(ds.get("SOPClassUID", "")) == entry["sop_class_uid"]
            fs.identity_removed = ds.get("PatientIdentityRemoved") == "YES"
            fs.method_codes = bool(ds.get("DeidentificationMethodCodeSequence"))
            fs.markers = fs.identity_removed and fs.method_codes
            self._pixels(fs, entry, ds)
            for key, value in entry["retain"].items():
                fs.retain_total += 1
                fs.retained += key in ds and _same(jsonable(ds[key].value), value)
            scores.append(fs)
        by_id = {s.id: s for s in scores}
        for entry in files:
            ds = outputs.get(entry["id"])
            for ref in entry["refs"]:
                fs = by_id[entry["id"]]
                fs.refs_total += 1
                target = outputs.get(ref["target"])
                got = _get_path(ds, ref["path"]) if ds is not None else None
                want = target.get(ref["target_attribute"]) if target is not None else None
                if got and want and str(got) == str(want):
                    fs.refs_ok += 1
                else:
                    fs.broken_refs.append(".".join(map(str, ref["path"])))
        return self._summary(scores, outputs)

    def _leaks(self, fs: FileScore, entry: dict[str, Any], raw: bytes, ds: Dataset) -> None:
        hay = _body_bytes(raw, ds).lower()
        for label, info in self._labels(entry).items():
            key = (entry["donor"], label) if label not in entry["phi_extra"] else (
                entry["id"], label)
            pats = self._patterns.setdefault(key, _patterns(info["variants"]))
            hits = sorted({v for v, p in pats if p in hay})
            if hits:
                fs.leaks.append({"label": label, "kind": info["kind"],
                                 "paths": _locate(ds, hits) or ["<bytes>"]})
        for uid_key in ("sop_instance_uid", "study_instance_uid", "series_instance_uid",
                        "frame_of_reference_uid"):
            uid = entry.get(uid_key)
            if uid and uid.encode() in hay:
                fs.uids_kept.append(uid_key)

    def _overlay(self, fs: FileScore, entry: dict[str, Any], ds: Dataset) -> None:
        """An overlay bitmap that still holds most of the drawn name is a pixel leak."""
        overlay = entry.get("overlay")
        if not overlay:
            return
        elem = ds.get((overlay["group"], 0x3000))
        if elem is None or not elem.value:
            return
        left = int(unpack_bits(elem.value).sum())
        if left > RESIDUAL * overlay["set_bits"]:
            fs.leaks.append({"label": f"overlay:{overlay['text']}", "kind": "pixel",
                             "paths": [f"OverlayData ({overlay['group']:04X},3000)"]})

    def _pixels(self, fs: FileScore, entry: dict[str, Any], ds: Dataset) -> None:
        self._overlay(fs, entry, ds)
        if entry["text_free"] is None:
            return
        before = self._input_frames(entry)
        try:
            after = _frames(ds)
        except Exception:  # noqa: BLE001 - undecodable output pixels
            after = None
        bits = int(ds.get("BitsStored", 8) or 8)
        span = float(2 ** bits - 1)
        usable = after is not None and before is not None and after.shape == before.shape
        if entry["text_free"]:
            fs.pixels_identical = bool(usable and np.array_equal(before, after))
            return
        boxes = entry["burned_in"]
        fs.boxes_total = len(boxes)
        masked = []
        for b in boxes:
            if usable and _masked(before[b["frame"]], after[b["frame"]], b["box"], span):
                masked.append(b)
            elif after is None and "PixelData" not in ds:
                fs.boxes_masked += 1  # pixels dropped: text gone (retention says the rest)
            else:
                fs.leaks.append({"label": f"burned:{b['text']}", "kind": "pixel",
                                 "paths": [f"PixelData[frame {b['frame']}] box {b['box']}"]})
        lines = _ocr_lines(after, masked) if self.ocr and masked else []
        for b in masked:
            if _readable(b["text"], lines):
                fs.boxes_ocr_readable += 1
                fs.leaks.append({"label": f"burned:{b['text']}", "kind": "pixel",
                                 "paths": [f"PixelData[frame {b['frame']}] box {b['box']} "
                                           "(read by OCR)"]})
            else:
                fs.boxes_masked += 1
        fs.false_clean = ds.get("BurnedInAnnotation") == "NO" and (
            fs.boxes_masked < fs.boxes_total)
        if usable:
            per_frame: dict[int, list[list[int]]] = defaultdict(list)
            for b in [*boxes, *entry.get("other_text", [])]:
                per_frame[b["frame"]].append(b["box"])
            fs.outside_kept = all(_outside_kept(before[f], after[f], per_frame.get(f, []), span)
                                  for f in range(before.shape[0]))
        else:
            fs.outside_kept = False

    def _dates(self, outputs: dict[str, Dataset]) -> dict[str, Any]:
        """Intervals kept: between a donor's studies, study to birth, study to acquisition."""
        kept = Counter()
        total = Counter()
        study_dates: dict[str, set[str]] = defaultdict(set)
        births: dict[str, set[str]] = defaultdict(set)
        for entry in self.manifest.files:
            ds = outputs.get(entry["id"])
            if ds is None:
                continue
            study_dates[entry["study"]].add(str(ds.get("StudyDate", "")))
            births[entry["donor"]].add(str(ds.get("PatientBirthDate", "")))
            total["study_to_acquisition"] += 1
            kept["study_to_acquisition"] += _acq_interval_kept(entry, ds)
        studies: dict[str, dict[str, str]] = defaultdict(dict)
        for entry in self.manifest.files:
            studies[entry["donor"]][entry["study"]] = entry["study_date"]
        for donor, orig in studies.items():
            birth_out = births.get(donor, set())
            birth_ok = len(birth_out) == 1 and _date(next(iter(birth_out))) is not None
            for s1, s2 in combinations(sorted(orig), 2):
                total["between_studies"] += 1
                d1, d2 = _single(study_dates.get(s1)), _single(study_dates.get(s2))
                if d1 and d2 and (d2 - d1) == (_date(orig[s2]) - _date(orig[s1])):
                    kept["between_studies"] += 1
            for s in orig:
                total["study_to_birth"] += 1
                d = _single(study_dates.get(s))
                b_orig = _date(self.manifest.donors[donor]["birth_date"])
                if birth_ok and d:
                    b = _date(next(iter(birth_out)))
                    kept["study_to_birth"] += (d - b) == (_date(orig[s]) - b_orig)
        return {"kept": sum(kept.values()), "total": sum(total.values()),
                "by_check": {k: [kept[k], total[k]] for k in total}}

    def _summary(self, scores: list[FileScore], outputs: dict[str, Dataset]) -> dict[str, Any]:
        ok = [s for s in scores if s.ok]
        leaks = Counter(leak["kind"] for s in ok for leak in s.leaks)
        grouping = self._grouping(outputs)
        refs_total = sum(s.refs_total for s in scores)
        refs_ok = sum(s.refs_ok for s in scores)
        identical = [s.pixels_identical for s in ok if s.pixels_identical is not None]
        outside = [s.outside_kept for s in ok if s.outside_kept is not None]
        return {
            "files": len(scores),
            "files_ok": len(ok),
            "files_failed": len(scores) - len(ok),
            "leaks": sum(leaks.values()),
            "leaks_by_kind": dict(sorted(leaks.items())),
            "files_with_leaks": sum(1 for s in ok if s.leaks),
            "files_with_original_uids": sum(1 for s in ok if s.uids_kept),
            "refs_ok": refs_ok,
            "refs_total": refs_total,
            "broken_refs": refs_total - refs_ok,
            "grouping": grouping,
            "class_uids_kept": sum(s.class_kept for s in ok),
            "dates": self._dates(outputs),
            "markers": sum(s.markers for s in ok),
            "identity_removed": sum(s.identity_removed for s in ok),
            "method_codes": sum(s.method_codes for s in ok),
            "ocr": self.ocr,
            "boxes_ocr_readable": sum(s.boxes_ocr_readable for s in ok),
            "burned_in_no_with_text": sum(s.false_clean for s in ok),
            "boxes_masked": sum(s.boxes_masked for s in ok),
            "boxes_total": sum(len(e["burned_in"]) for e in self.manifest.files),
            "text_free_identical": [sum(identical), len(identical)],
            "outside_text_kept": [sum(outside), len(outside)],
            "attributes_retained": [sum(s.retained for s in ok),
                                    sum(s.retain_total for s in ok)],
            "per_file": [s.__dict__ for s in scores],
        }

    def _grouping(self, outputs: dict[str, Dataset]) -> dict[str, list[int]]:
        """Input studies/series that map to exactly one output UID, distinct from others."""
        result = {}
        for level, key, attr in (("studies", "study_instance_uid", "StudyInstanceUID"),
                                 ("series", "series_instance_uid", "SeriesInstanceUID")):
            mapped: dict[str, set[str]] = defaultdict(set)
            for entry in self.manifest.files:
                ds = outputs.get(entry["id"])
                if ds is not None:  # failed files are counted as failed, not here
                    mapped[entry[key]].add(str(ds.get(attr, "")))
            owners = Counter(u for us in mapped.values() for u in us)
            good = sum(1 for us in mapped.values()
                       if len(us) == 1 and "" not in us and owners[next(iter(us))] == 1)
            result[level] = [good, len(mapped)]
        return result


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.datetime.strptime(str(text)[:8], "%Y%m%d").date()
    except (TypeError, ValueError):
        return None


def _single(values: set[str] | None) -> dt.date | None:
    """The one date all files of a study agree on, or None."""
    if not values or len(values) != 1:
        return None
    return _date(next(iter(values)))


def _datetime(date: str, time: str) -> dt.datetime | None:
    d = _date(date)
    if d is None:
        return None
    digits = "".join(ch for ch in str(time).split(".")[0] if ch.isdigit()).ljust(6, "0")[:6]
    try:
        return dt.datetime.combine(d, dt.datetime.strptime(digits, "%H%M%S").time())
    except ValueError:
        return dt.datetime.combine(d, dt.time())


def _acq_interval_kept(entry: dict[str, Any], ds: Dataset) -> bool:
    acq = str(ds.get("AcquisitionDateTime", ""))
    study = _datetime(str(ds.get("StudyDate", "")), str(ds.get("StudyTime", "")))
    got = _datetime(acq[:8], acq[8:14]) if acq else None
    if study is None or got is None:
        return False
    orig_acq = entry["acquisition_datetime"]
    want = _datetime(orig_acq[:8], orig_acq[8:14]) - _datetime(entry["study_date"],
                                                               _orig_time(entry))
    return got - study == want


def _orig_time(entry: dict[str, Any]) -> str:
    return entry.get("study_time", "")


def score_folder(out_dir: Path | str, corpus_dir: Path | str) -> dict[str, Any]:
    """Score one tool's output folder against the corpus in ``corpus_dir``."""
    return Scorer(corpus_dir).score(out_dir)
