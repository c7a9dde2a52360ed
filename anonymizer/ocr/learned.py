"""The learned text detector and recognizer: PP-OCRv4 models run by onnxruntime on CPU.

The models ship inside the ``rapidocr-onnxruntime`` wheel (``models/ch_PP-OCRv4_det_infer
.onnx``, ``ch_PP-OCRv4_rec_infer.onnx``); nothing is downloaded at run time. The detector
(a DB network) gives a box per line of text of any font, size from about 6 px, either
polarity, on speckle, gradients or screens; the recognizer reads each box with a score
(0-1). Large frames are searched in tiles at full resolution (:data:`TILE`, overlap
:data:`OVERLAP`), so 8 px text on an 1760x2140 radiograph is seen as it is, not shrunk.

:data:`PROCESS` loads the models once per process (about 0.1 s), before a pool forks
(:func:`anonymizer.ocr.preload`); each session runs one thread: frames and files are
parallel already.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path

import numpy as np

from anonymizer.ocr.box import Box
from anonymizer.ocr.engines import OCRUnavailableError

#: Frames up to this size (pixels a side) are detected in one pass; larger ones in tiles
#: of this size overlapping by OVERLAP (more than the tallest text line, 40 px fonts).
TILE = 1024
OVERLAP = 96
#: Tiles whose 8-bit range is below this hold no text that could be read (flat film,
#: black border): skipped.
MIN_TILE_RANGE = 40
#: Text under about 12 px is found reliably only at twice the size: a second pass reads
#: tiles of FINE_TILE pixels at 2x, but only tiles with sharp strokes (FINE_MIN_EDGES
#: pixels that differ from their 3x3 mean by FINE_EDGE or more: noise and smooth anatomy
#: have few, glyphs many) outside the lines the first pass found, so flat film, soft
#: tissue and a page already read cost nothing more.
FINE_TILE = 512
FINE_OVERLAP = 48
FINE_EDGE = 30
FINE_MIN_EDGES = 24
#: Detector thresholds (DB post-processing): pixel probability, box mean score, and how
#: far a box is grown around the text core (1.6 is the model's own; a little more keeps
#: accents and descenders inside).
DET_THRESH = 0.2
DET_BOX_THRESH = 0.3
DET_UNCLIP = 1.8
#: A masked line is looked at again in a band around it (half a text height above and
#: below, BAND_REACH text heights each side) with its contrast equalized in pieces of
#: about two text heights (CLAHE, clip BAND_CLIP): faint text on a changing background
#: (a label on brighter film than its value) is where the detector ends a line early.
BAND_REACH = 12
BAND_CLIP = 2.0
#: Lines read per recognizer run: a batch is padded to its widest line, so one long
#: line made every short one cost as much; one at a time costs only each line's width.
REC_BATCH = 1
#: Background (edge pixels repeated) added around each tile before detection.
EDGE_PAD = 16
PACKAGE = "rapidocr_onnxruntime"


def _model_dir() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise OCRUnavailableError(f"text detector not installed: pip install {PACKAGE}>=1.4.4")
    models = Path(next(iter(spec.submodule_search_locations))) / "models"
    if not (models / "ch_PP-OCRv4_det_infer.onnx").is_file():
        raise OCRUnavailableError(f"text detector models missing from {models}")
    return models


class LearnedEngine:
    """PP-OCRv4 detection and recognition, loaded once (see :data:`PROCESS`)."""

    def __init__(self) -> None:
        models = _model_dir()
        # rapidocr's pre/post-processing around our own sessions' settings
        from rapidocr_onnxruntime.ch_ppocr_det import TextDetector
        from rapidocr_onnxruntime.ch_ppocr_rec import TextRecognizer

        common = {"intra_op_num_threads": 1, "inter_op_num_threads": 1,
                  "use_cuda": False, "use_dml": False}
        self._det = TextDetector(common | {
            "model_path": str(models / "ch_PP-OCRv4_det_infer.onnx"),
            "limit_side_len": TILE, "limit_type": "max", "mean": [0.5] * 3, "std": [0.5] * 3,
            "thresh": DET_THRESH, "box_thresh": DET_BOX_THRESH, "unclip_ratio": DET_UNCLIP,
            "use_dilation": True, "score_mode": "fast", "max_candidates": 1000})
        self._rec = TextRecognizer(common | {
            "model_path": str(models / "ch_PP-OCRv4_rec_infer.onnx"),
            "rec_img_shape": [3, 48, 320], "rec_batch_num": REC_BATCH})
        self._lock = threading.Lock()
        self.name = "PP-OCRv4 (onnxruntime)"

    def detect(self, g: np.ndarray, *, fine: bool = True) -> list[Box]:
        """Return a box per line of text in ``g`` (uint8, 2-D, any polarity).

        ``fine``: also the 2x pass over tiles with sharp strokes (small text).
        """
        boxes: list[Box] = []
        for y, x, tile in _tiles(g, TILE, OVERLAP):
            if int(tile.max()) - int(tile.min()) < MIN_TILE_RANGE:
                continue
            boxes += [Box(b.x0 + x, b.y0 + y, b.x1 + x, b.y1 + y)
                      for b in self._detect_tile(tile)]
        if fine:
            import cv2

            # sharp strokes not already inside a line found at 1x: small text elsewhere
            sharp = _sharp(g)
            for b in boxes:
                sharp[max(0, b.y0 - 2):b.y1 + 2, max(0, b.x0 - 2):b.x1 + 2] = False
            for y, x, tile in _tiles(g, FINE_TILE, FINE_OVERLAP):
                if np.count_nonzero(sharp[y:y + FINE_TILE, x:x + FINE_TILE]) < FINE_MIN_EDGES:
                    continue
                big = cv2.resize(tile, (tile.shape[1] * 2, tile.shape[0] * 2),
                                 interpolation=cv2.INTER_LINEAR)
                boxes += [Box(b.x0 // 2 + x, b.y0 // 2 + y, -(-b.x1 // 2) + x,
                              -(-b.y1 // 2) + y) for b in self._detect_tile(big)]
        return _merge(boxes)

    def detect_band(self, g: np.ndarray, line: Box) -> list[Box]:
        """Return the boxes found in a band around ``line`` of ``g``, its contrast
        equalized along the line (see :data:`BAND_CLIP`), in frame coordinates."""
        import cv2

        h = line.height
        y0, y1 = max(0, line.y0 - h // 2), min(g.shape[0], line.y1 + h // 2)
        x0, x1 = max(0, line.x0 - BAND_REACH * h), min(g.shape[1], line.x1 + BAND_REACH * h)
        band = np.ascontiguousarray(g[y0:y1, x0:x1])
        if band.shape[0] < 4 or band.shape[1] < 4:
            return []
        sides = [band[:, :max(0, line.x0 - x0)], band[:, line.x1 - x0:]]
        if all(s.size == 0 or int(s.max()) - int(s.min()) < MIN_TILE_RANGE for s in sides):
            return []  # nothing beside the line but flat background (a page, a border)
        clahe = cv2.createCLAHE(clipLimit=BAND_CLIP,
                                tileGridSize=(max(1, band.shape[1] // (2 * h)), 1))
        return [Box(b.x0 + x0, b.y0 + y0, b.x1 + x0, b.y1 + y0)
                for b in self._detect_tile(clahe.apply(band))]

    def _detect_tile(self, tile: np.ndarray) -> list[Box]:
        # text touching the frame's edge is found only with some background around it
        p = EDGE_PAD
        padded = np.pad(tile, p, mode="edge")
        self._det.limit_side_len = max(32, -(-max(padded.shape) // 32) * 32)  # never shrink
        with self._lock:
            quads, _ = self._det(np.ascontiguousarray(np.repeat(padded[..., None], 3, axis=2)))
        if quads is None or len(quads) == 0:
            return []
        out = []
        for q in quads:
            x0, y0 = np.floor(q.min(axis=0)).astype(int) - p
            x1, y1 = np.ceil(q.max(axis=0)).astype(int) + 1 - p
            b = Box(int(max(0, x0)), int(max(0, y0)), int(min(x1, tile.shape[1])),
                    int(min(y1, tile.shape[0])))
            if b.x1 > b.x0 and b.y1 > b.y0:
                out.append(b)
        return out

    def read(self, g: np.ndarray, boxes: list[Box]) -> list[tuple[str, float]]:
        """Return (text, score 0-1) for each box of ``g``: a line the detector found."""
        if not boxes:
            return []
        crops = [np.ascontiguousarray(np.repeat(g[b.y0:b.y1, b.x0:b.x1, None], 3, axis=2))
                 for b in boxes]
        with self._lock:
            res, _ = self._rec(crops)
        return [(str(t), float(s)) for t, s in res]


def _tiles(g: np.ndarray, size: int, overlap: int):  # noqa: ANN202 - a generator
    """Yield (y, x, tile) over ``g`` in tiles of ``size`` overlapping by ``overlap``."""
    rows, cols = g.shape
    step = size - overlap
    ys = [0] if rows <= size else list(range(0, rows - overlap, step))
    xs = [0] if cols <= size else list(range(0, cols - overlap, step))
    for y in ys:
        for x in xs:
            yield y, x, g[y:y + size, x:x + size]


def _sharp(g: np.ndarray) -> np.ndarray:
    """Pixels of ``g`` that differ from their 3x3 mean by FINE_EDGE or more."""
    import cv2

    return cv2.absdiff(g, cv2.blur(g, (3, 3))) >= FINE_EDGE


def _merge(boxes: list[Box]) -> list[Box]:
    """Join boxes found twice (tile overlaps) or cut by a tile edge on the same line."""
    boxes = sorted(boxes, key=lambda b: (b.y0, b.x0))
    out: list[Box] = []
    for b in boxes:
        for i, o in enumerate(out):
            inter_h = min(b.y1, o.y1) - max(b.y0, o.y0)
            touch = b.x0 <= o.x1 + 2 and o.x0 <= b.x1 + 2
            if touch and inter_h > 0.5 * min(b.height, o.height):
                out[i] = Box(min(b.x0, o.x0), min(b.y0, o.y0), max(b.x1, o.x1),
                             max(b.y1, o.y1))
                break
        else:
            out.append(b)
    return out


class _Process:
    """This process's learned engine, loaded on first use and kept across forks."""

    def __init__(self) -> None:
        self._engine: LearnedEngine | None = None
        self._lock = threading.Lock()

    def get(self) -> LearnedEngine:
        """Return the engine; raises :class:`OCRUnavailableError` when it is not installed."""
        with self._lock:
            if self._engine is None:
                os.environ.setdefault("OMP_NUM_THREADS", "1")
                try:
                    self._engine = LearnedEngine()
                except ImportError as exc:
                    raise OCRUnavailableError(
                        f"text detector cannot load ({exc}): pip install {PACKAGE}>=1.4.4"
                    ) from None
            return self._engine

    def after_fork_in_child(self) -> None:
        """Renew the locks a fork copied (one held by a parent's thread stays held)."""
        self._lock = threading.Lock()
        if self._engine is not None:
            self._engine._lock = threading.Lock()

    def preload(self) -> None:
        """Load the models and run them once (for workers forked later)."""
        try:
            e = self.get()
        except OCRUnavailableError:
            return
        g = np.zeros((64, 160), np.uint8)
        g[20:40, 10:150:6] = 255
        e.read(g, e.detect(g) or [Box(0, 0, 160, 64)])


#: This process's learned engine.
PROCESS = _Process()
os.register_at_fork(after_in_child=PROCESS.after_fork_in_child)
