"""OCR engines (Tesseract through tesserocr or the program) and their per-process state.

The engine is Tesseract 5 with the Debian models (``tesseract-ocr-spa``, ``-eng``); nothing
is downloaded at run time. With ``tesserocr`` installed the engine stays loaded in the
process (a sample line costs milliseconds); without it each read runs the ``tesseract``
program through pytesseract (about 0.3 s a call); ``TRAZA_OCR_ENGINE=program`` forces
that. :data:`PROCESS` holds this process's engines: loaded once, in the parent before it
forks its workers (:func:`preload`), and made safe to use again after a fork.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import threading
from typing import Protocol

import numpy as np

from anonymizer.ocr.box import Box, Word

#: Debian packages that provide the engine and the models (named in errors).
DEBIAN_PACKAGES = ("tesseract-ocr", "tesseract-ocr-spa")
#: Environment variable choosing the engine: ``tesserocr``, ``program`` (the tesseract
#: command through pytesseract) or unset (tesserocr when installed, else the program).
ENGINE_ENV = "TRAZA_OCR_ENGINE"
#: Language that confirms a region is text: one model reads names, dates and ids as well as
#: two do, in half the time. :func:`anonymizer.ocr.read_words` reads with both.
CONFIRM_LANG = "spa"
READ_LANG = "spa+eng"
#: Tesseract page segmentation modes used (``--psm``).
PSM_BLOCK = 6
PSM_SPARSE = 11


class OCRUnavailableError(RuntimeError):
    """Tesseract or its Spanish model is not installed."""


class Engine(Protocol):
    """One loaded OCR engine for one language (or ``+``-joined languages)."""

    name: str

    def words(self, img: np.ndarray, psm: int) -> list[Word]:
        """Return (box, text, confidence) of the words in ``img`` (uint8, dark on light)."""


class _TesserocrEngine:
    """Tesseract through tesserocr: the models stay loaded in this process."""

    def __init__(self, tessdata: str, lang: str) -> None:
        import tesserocr

        self._t = tesserocr
        try:
            self._api = tesserocr.PyTessBaseAPI(path=tessdata, lang=lang)
        except RuntimeError as exc:
            raise OCRUnavailableError(f"tesseract cannot load {lang} from {tessdata}: "
                                      f"install {' and '.join(DEBIAN_PACKAGES)}") from exc
        # Frames are turned dark-on-light before reading: no second, inverted pass.
        self._api.SetVariable("tessedit_do_invert", "0")
        self._lock = threading.Lock()  # one API object is not safe across threads
        self.name = f"tesserocr {tesserocr.tesseract_version().split()[1]} ({lang})"

    def words(self, img: np.ndarray, psm: int) -> list[Word]:
        t = self._t
        img = np.ascontiguousarray(img, dtype=np.uint8)
        out = []
        with self._lock:
            self._api.SetPageSegMode(psm)
            self._api.SetImageBytes(img.tobytes(), img.shape[1], img.shape[0], 1, img.shape[1])
            self._api.SetSourceResolution(300)
            self._api.Recognize()
            it = self._api.GetIterator()
            level = t.RIL.WORD
            for w in t.iterate_level(it, level) if it is not None else ():
                try:
                    text = w.GetUTF8Text(level)
                except RuntimeError:  # tesserocr's way of saying "no text here"
                    continue
                box = w.BoundingBox(level)
                if text and text.strip() and box:
                    out.append((Box(*box), text, float(w.Confidence(level))))
            self._api.Clear()
        return out


class _CliEngine:
    """Tesseract run as a program through pytesseract (one process per read)."""

    def __init__(self, lang: str) -> None:
        import pytesseract

        self._p = pytesseract
        self._lang = lang
        self.name = f"tesseract program {pytesseract.get_tesseract_version()} ({lang})"

    def words(self, img: np.ndarray, psm: int) -> list[Word]:
        from PIL import Image

        data = self._p.image_to_data(Image.fromarray(img), lang=self._lang,
                                     config=f"--psm {psm}", output_type=self._p.Output.DICT)
        return [(Box(x, y, x + w, y + h), text, float(conf))
                for text, conf, x, y, w, h in zip(data["text"], data["conf"], data["left"],
                                                  data["top"], data["width"], data["height"],
                                                  strict=True)
                if text.strip()]


def _hint() -> str:
    return "install the Debian packages " + " and ".join(DEBIAN_PACKAGES)


def _tessdata_dir(langs: list[str]) -> str | None:
    """Return the folder holding ``<lang>.traineddata`` for every language, if any."""
    places = []
    prefix = os.environ.get("TESSDATA_PREFIX")
    if prefix:
        places += [prefix, os.path.join(prefix, "tessdata")]
    # Debian: /usr/share/tesseract-ocr/<version>/tessdata; newest version first
    places += sorted(glob.glob("/usr/share/tesseract-ocr/*/tessdata"), reverse=True)
    places += ["/usr/share/tessdata", "/usr/local/share/tessdata"]
    for place in places:
        if all(os.path.isfile(os.path.join(place, f"{lang}.traineddata")) for lang in langs):
            return place
    if shutil.which("tesseract"):  # elsewhere: the installed program knows where
        try:
            listing = subprocess.run(["tesseract", "--list-langs"], capture_output=True,
                                     text=True, timeout=30, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        for place in re.findall(r'"([^"]+)"', listing.stdout + listing.stderr):
            if all(os.path.isfile(os.path.join(place, f"{lang}.traineddata"))
                   for lang in langs):
                return place
    return None


def _load_tesserocr(lang: str) -> Engine | None:
    """Return a tesserocr engine, or None when tesserocr is not installed."""
    try:
        import tesserocr  # noqa: F401
    except ImportError:
        return None
    tessdata = _tessdata_dir(lang.split("+"))
    if tessdata is None:
        raise OCRUnavailableError(f"tesseract models {lang} not found: {_hint()}")
    return _TesserocrEngine(tessdata, lang)


def _load_cli(lang: str) -> Engine:
    if shutil.which("tesseract") is None:
        raise OCRUnavailableError(f"tesseract is not installed: {_hint()}")
    import pytesseract

    try:
        languages = set(pytesseract.get_languages(config=""))
    except Exception as exc:  # pytesseract raises several types for a broken engine
        raise OCRUnavailableError(f"tesseract does not run ({exc}): {_hint()}") from exc
    missing = set(lang.split("+")) - languages
    if missing:
        raise OCRUnavailableError(f"tesseract models missing {sorted(missing)}: {_hint()}")
    return _CliEngine(lang)


class Engines:
    """The OCR engines of one process, one per language, each loaded on first use.

    Workers forked after an engine was loaded use their copy of it (see :meth:`preload`);
    :meth:`after_fork_in_child` renews the locks a fork copies.
    """

    def __init__(self) -> None:
        self._loaded: dict[str, Engine] = {}
        self._lock = threading.Lock()

    def get(self, lang: str) -> Engine:
        """Return this process's engine for ``lang``, loading it on first use.

        Raises :class:`OCRUnavailableError` when there is none.
        """
        key = lang
        with self._lock:
            engine = self._loaded.get(key)
            if engine is None:
                # One OpenMP thread per Tesseract run: frames and files are parallel already,
                # and oversubscribed threads made each run 2-3x slower on a busy machine.
                os.environ.setdefault("OMP_THREAD_LIMIT", "1")
                forced = os.environ.get(ENGINE_ENV, "").strip().lower()
                if forced not in ("", "tesserocr", "program"):
                    raise OCRUnavailableError(
                        f"{ENGINE_ENV}={forced!r}: use tesserocr or program")
                engine = None if forced == "program" else _load_tesserocr(lang)
                if engine is None and forced == "tesserocr":
                    raise OCRUnavailableError(f"{ENGINE_ENV}=tesserocr but tesserocr is not "
                                              "installed (pip install tesserocr)")
                engine = engine or _load_cli(lang)
                self._loaded[key] = engine
            return engine

    def after_fork_in_child(self) -> None:
        """Renew the locks: one copied while another thread of the parent held it would
        stay held forever."""
        self._lock = threading.Lock()
        for engine in self._loaded.values():
            if isinstance(engine, _TesserocrEngine):
                engine._lock = threading.Lock()

    def preload(self, lang: str = CONFIRM_LANG) -> None:
        """Load the engine for ``lang`` and run it once (see :func:`preload`)."""
        from PIL import Image, ImageDraw

        try:
            engine = self.get(lang)
        except OCRUnavailableError:
            return
        if getattr(engine, "warm", False):
            return
        page = Image.new("L", (200, 40), 255)
        ImageDraw.Draw(page).text((10, 12), "Traza 2026", fill=0)
        engine.words(np.asarray(page), PSM_BLOCK)
        engine.warm = True  # type: ignore[attr-defined]


#: This process's engines.
PROCESS = Engines()
os.register_at_fork(after_in_child=PROCESS.after_fork_in_child)


def engine(lang: str = CONFIRM_LANG) -> Engine:
    """Return this process's engine for ``lang`` (loaded on first use)."""
    return PROCESS.get(lang)


def preload(lang: str = CONFIRM_LANG) -> None:
    """Load the OCR engine in this process and run it once, for workers forked later.

    Loading Tesseract's models and its first recognition cost about 0.17 s of CPU. Worker
    processes forked after this call use their copy of the loaded engine (tesserocr's
    Tesseract runs no threads of its own, so a forked copy is safe), so a pool of N
    workers pays that once instead of N times. Does nothing when OCR is unavailable: the
    files that need it then fail with the reason.
    """
    PROCESS.preload(lang)


def engine_name(lang: str = CONFIRM_LANG) -> str:
    """Return which OCR engine this process uses, e.g. ``"tesserocr 5.5.4 (spa)"``.

    Raises :class:`OCRUnavailableError` when there is none.
    """
    return PROCESS.get(lang).name
