"""Known-value redaction: remove from free text the identifying values the file itself carries.

Rules such as :mod:`anonymizer.text_es` need a cue to find a name (``Dr.``, ``Nombre:``, a
word from the lists); a descriptor like ``Marcas de HERNÁNDEZ LÓPEZ`` has none. But the
same file says who the patient is: :func:`collect` gathers the identifying values of a data
set (names, identifiers, phones, addresses, institutions, birth date), at any depth, and
:func:`redact` replaces every occurrence of them in a text with the placeholder of their
MEDDOCAN type, whatever the case or accents. :func:`clean` chains this with a rule-based
redactor and fits the result to the VR's length.

Matching: name components of at least three letters (two for ideographic scripts, matched
anywhere since they are written without spaces) as whole words, folded to lower case
without accents; a surname that is also a clinical word (``Campos``) only when capitalised.
Identifiers and phones as exact runs of their letters and digits, separators free
(``55 1234-5678`` matches ``5512345678``), never inside a longer digit run; digit runs of
five or more inside an identifier also on their own. The birth date in the usual numeric
and Spanish written forms.

References
----------
DICOM PS3.15 2024b E.3.5 (Clean Descriptors Option: "any information ... that identifies
the patient"); PS3.5 6.2 (value lengths of SH, LO, ST, LT, PN).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydicom.datadict import DicomDictionary, dictionary_has_tag, dictionary_VR, tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.valuerep import PersonName

from anonymizer import _es_lexicon as lex
from anonymizer.fold import fold
from anonymizer.profile import OVERLAYS, REPEATER_GROUPS
from anonymizer.text_es import Span

__all__ = ["ATTRIBUTES", "KnownValues", "MAX_LENGTH", "clean", "collect", "redact"]

NAME, ID, PHONE, PHRASE, DATE = "name", "id", "phone", "phrase", "date"

#: Identifying attributes: what kind of value each holds and the MEDDOCAN type it gets in text.
#: Any other PN, at any depth, is read as a name of health personnel.
ATTRIBUTES: dict[str, tuple[str, str]] = {
    "PatientName": (NAME, "NOMBRE_SUJETO_ASISTENCIA"),
    "OtherPatientNames": (NAME, "NOMBRE_SUJETO_ASISTENCIA"),
    "PatientBirthName": (NAME, "NOMBRE_SUJETO_ASISTENCIA"),
    "PatientMotherBirthName": (NAME, "FAMILIARES_SUJETO_ASISTENCIA"),
    "ResponsiblePerson": (NAME, "FAMILIARES_SUJETO_ASISTENCIA"),
    "PatientID": (ID, "ID_SUJETO_ASISTENCIA"),
    "OtherPatientIDs": (ID, "ID_SUJETO_ASISTENCIA"),
    "MedicalRecordLocator": (ID, "ID_SUJETO_ASISTENCIA"),
    "AccessionNumber": (ID, "ID_CONTACTO_ASISTENCIAL"),
    "AdmissionID": (ID, "ID_CONTACTO_ASISTENCIAL"),
    "ServiceEpisodeID": (ID, "ID_CONTACTO_ASISTENCIAL"),
    "StudyID": (ID, "ID_CONTACTO_ASISTENCIAL"),
    "RequestedProcedureID": (ID, "ID_CONTACTO_ASISTENCIAL"),
    "PlacerOrderNumberImagingServiceRequest": (ID, "ID_CONTACTO_ASISTENCIAL"),
    "FillerOrderNumberImagingServiceRequest": (ID, "ID_CONTACTO_ASISTENCIAL"),
    "DeviceSerialNumber": (ID, "IDENTIF_DISPOSITIVOS_NRSERIE"),
    "PatientTelephoneNumbers": (PHONE, "NUMERO_TELEFONO"),
    "PersonTelephoneNumbers": (PHONE, "NUMERO_TELEFONO"),
    "PatientAddress": (PHRASE, "CALLE"),
    "PersonAddress": (PHRASE, "CALLE"),
    "InstitutionAddress": (PHRASE, "CALLE"),
    "RegionOfResidence": (PHRASE, "TERRITORIO"),
    "InstitutionName": (PHRASE, "HOSPITAL"),
    "IssuerOfPatientID": (PHRASE, "INSTITUCION"),
    "ResponsibleOrganization": (PHRASE, "INSTITUCION"),
    "StationName": (PHRASE, "IDENTIF_DISPOSITIVOS_NRSERIE"),
    "PatientBirthDate": (DATE, "FECHAS"),
}
_BY_TAG: dict[int, tuple[str, str]] = {
    int(tag_for_keyword(keyword) or 0): kind for keyword, kind in ATTRIBUTES.items()
}
STAFF = "NOMBRE_PERSONAL_SANITARIO"

#: Maximum characters of one value, by VR (PS3.5 Table 6.2-1; PN: per component group).
MAX_LENGTH: dict[str, int] = {"SH": 16, "LO": 64, "ST": 1024, "LT": 10240, "PN": 64}

#: Words of a person name that are not the person: particles and titles.
_NOT_NAMES = lex.NAME_PARTICLES | frozenset(
    {"DR", "DRA", "SR", "SRA", "SRTA", "LIC", "ING", "MTRO", "MTRA", "ENF", "PROF", "DON",
     "DONA", "MD", "PHD"}
)
_MIN_NAME, _MIN_IDEOGRAPHIC, _MIN_ID, _MIN_DIGIT_RUN, _MIN_PHRASE = 3, 2, 4, 5, 4
_MONTHS = (
    ("enero", "ene"), ("febrero", "feb"), ("marzo", "mar"), ("abril", "abr"), ("mayo", "may"),
    ("junio", "jun"), ("julio", "jul"), ("agosto", "ago"), ("septiembre|setiembre", "sept?|set"),
    ("octubre", "oct"), ("noviembre", "nov"), ("diciembre", "dic"),
)
_SEP = r"[\s().,/#:_-]*"  # between the letter and digit groups of an identifier
_SAME_ENTITY_GAP = re.compile(r"[\s^,]{0,3}")  # "PÉREZ LÓPEZ, MARÍA": one name


def _ideographic(word: str) -> bool:
    return any(ord(c) >= 0x2E80 for c in word)


@dataclass(eq=False)
class KnownValues:
    """The identifying values of one file (or one donor), ready to be found in text.

    Folded values by kind, each with its MEDDOCAN type. Its ``repr`` shows only counts: the
    values are personal data and must never reach a log.
    """

    names: dict[str, str] = field(default_factory=dict)
    ids: dict[tuple[str, ...], str] = field(default_factory=dict)
    phrases: dict[tuple[str, ...], str] = field(default_factory=dict)
    dates: dict[str, str] = field(default_factory=dict)
    _key: tuple[Any, ...] | None = field(default=None, init=False, repr=False)

    def __repr__(self) -> str:
        return (f"KnownValues(names={len(self.names)}, ids={len(self.ids)}, "
                f"phrases={len(self.phrases)}, dates={len(self.dates)})")

    def __bool__(self) -> bool:
        return bool(self.names or self.ids or self.phrases or self.dates)

    def merge(self, other: KnownValues | None) -> KnownValues:
        """Return the values of both (``self``'s type wins where both know a value)."""
        if not other:
            return self
        return KnownValues({**other.names, **self.names}, {**other.ids, **self.ids},
                           {**other.phrases, **self.phrases}, {**other.dates, **self.dates})

    # -- adding values ------------------------------------------------------------------
    def add(self, kind: str, value: Any, category: str) -> None:
        """Add one attribute value (str, PersonName or multi-valued) of ``kind``."""
        values = list(value) if isinstance(value, MultiValue | list | tuple) else [value]
        for v in values:
            if v is None or v == "":
                continue
            {NAME: self._add_name, ID: self._add_id, PHONE: self._add_id,
             PHRASE: self._add_phrase, DATE: self._add_date}[kind](v, category)
        self._key = None

    def _add_name(self, value: Any, category: str) -> None:
        groups = value.components if isinstance(value, PersonName) else str(value).split("=")
        for group in groups:
            words = re.split(r"[\W_\d]+", fold(str(group)))
            for i, word in enumerate(words):
                short = _MIN_IDEOGRAPHIC if _ideographic(word) else _MIN_NAME
                if len(word) >= short and word.upper() not in _NOT_NAMES:
                    self.names.setdefault(word, category)
                    # A compound surname with its particles is one name: "de la cruz",
                    # "del valle", "de los monteros" (the particles alone are not).
                    j = i
                    while j > 0 and words[j - 1].upper() in lex.NAME_PARTICLES:
                        j -= 1
                    if j < i:
                        self.names.setdefault(" ".join(words[j:i + 1]), category)
            if "maria" in words or re.search(r"(?<![^\W\d_])ma\.", fold(str(group))):
                self.names.setdefault("ma.", category)  # "Ma. de Lourdes": María, written short

    def _add_id(self, value: Any, category: str) -> None:
        chunks = tuple(re.findall(r"[^\W_]+", fold(str(value))))
        if sum(map(len, chunks)) >= _MIN_ID:
            self.ids.setdefault(chunks, category)
        for chunk in chunks:
            for run in re.findall(r"\d+", chunk):
                if len(run) >= _MIN_DIGIT_RUN:
                    self.ids.setdefault((run,), category)

    def _add_phrase(self, value: Any, category: str) -> None:
        # An address or institution is matched as a whole and by its comma-separated parts
        # ("Calle Encino 12", "Col. Del Valle", "C.P. 03100"), never word by word: single
        # words of an address ("Centro", "Norte") are everyday words.
        text = str(value)
        for part in [text, *re.split(r"[,;\n\r^]+", text)]:
            chunks = tuple(re.findall(r"[^\W_]+", fold(part)))
            if sum(map(len, chunks)) >= _MIN_PHRASE:
                self.phrases.setdefault(chunks, category)
            for run in re.findall(r"\d+", part):
                if len(run) >= _MIN_DIGIT_RUN:
                    self.ids.setdefault((run,), category)

    def _add_date(self, value: Any, category: str) -> None:
        digits = re.sub(r"\D", "", str(value))
        if len(digits) >= 8:
            self.dates.setdefault(digits[:8], category)

    # -- finding them -------------------------------------------------------------------
    def key(self) -> tuple[Any, ...]:
        """Return the values as one hashable key: equal keys, equal redactions."""
        if self._key is None:
            self._key = (tuple(self.names.items()), tuple(self.ids.items()),
                         tuple(self.phrases.items()), tuple(self.dates.items()))
        return self._key

    def patterns(self) -> Patterns:
        """Return (pattern over folded text, category, needs capital) triples."""
        return _compile(self.key())


Patterns = tuple[tuple[re.Pattern[str], str, bool], ...]


# The files of one series carry the same values, so their patterns are compiled once.
@functools.lru_cache(maxsize=64)
def _compile(key: tuple[Any, ...]) -> Patterns:
    names, ids, phrases, dates = key
    out: list[tuple[re.Pattern[str], str, bool]] = []
    by_category: dict[tuple[str, bool, bool], list[str]] = {}
    for word, category in names:
        key = (category, _ideographic(word), word.upper() in lex.CLINICAL_WORDS)
        by_category.setdefault(key, []).append(word)
    for (category, ideographic, clinical), words in sorted(by_category.items()):
        alternation = "|".join(re.escape(w).replace(r"\ ", r"\s+")
                               for w in sorted(words, key=len, reverse=True))
        pattern = alternation if ideographic else rf"(?<![^\W\d_])(?:{alternation})(?![^\W\d_])"
        out.append((re.compile(pattern), category, clinical))
    for chunks, category in [*ids, *phrases]:
        out.append((re.compile(_chunks_pattern(chunks)), category, False))
    for ymd, category in dates:
        out.append((re.compile(_date_pattern(ymd)), category, False))
    return tuple(out)


def _chunks_pattern(chunks: Sequence[str]) -> str:
    body = _SEP.join(re.escape(c) for c in chunks)
    before = r"(?<!\d)" if chunks[0][0].isdigit() else r"(?<![^\W\d_])"
    after = r"(?!\d)" if chunks[-1][-1].isdigit() else r"(?![^\W\d_])"
    return before + body + after


def _date_pattern(ymd: str) -> str:
    y, m, d = ymd[:4], int(ymd[4:6]), int(ymd[6:8])
    if not 1 <= m <= 12:
        return re.escape(ymd) + r"(?!\d)"
    yy = f"(?:{y}|{y[2:]})"
    mm, dd = f"0?{m}" if m < 10 else str(m), f"0?{d}" if d < 10 else str(d)
    full, abbr = _MONTHS[m - 1]
    month = f"(?:{full}|{abbr})"
    sep = r"\s?[-/.]\s?"
    forms = (
        f"{dd}{sep}{mm}{sep}{yy}",  # 03/02/2001, 3-2-01 (Mexican order)
        f"{mm}{sep}{dd}{sep}{y}",  # 02/03/2001 (US order)
        f"{y}{sep}{mm}{sep}{dd}",  # 2001-02-03
        f"{y}{ymd[4:8]}",  # 20010203 (DICOM DA)
        rf"{dd}\s*(?:de\s+|[-/. ]\s*)?{month}\.?\s*(?:del?\s+|[-/., ]\s*)?{yy}",  # 3 de feb. 2001
        rf"{month}\.?\s+{dd},?\s+{y}",  # febrero 3, 2001
    )
    return r"(?<!\d)(?:" + "|".join(forms) + r")(?!\d)"


# --- collecting -------------------------------------------------------------------------


# Public tags whose dictionary VR is PN or SQ (a PN sent as UN is still a name).
_NAMES_OR_SEQUENCES = frozenset(tag for tag, entry in DicomDictionary.items()
                                if entry[0] in ("PN", "SQ"))


def _vr(ds: Dataset, tag: int) -> str | None:
    raw = ds.get_item(tag)
    vr = getattr(raw, "VR", None)
    if vr:
        return str(vr)
    return dictionary_VR(tag) if dictionary_has_tag(tag) else None


def collect(ds: Dataset, known: KnownValues | None = None) -> KnownValues:
    """Return the identifying values ``ds`` carries, at any depth, merged with ``known``.

    Parameters
    ----------
    ds
        The data set, before any cleaning. Only the attributes of :data:`ATTRIBUTES`, every
        PN and the sequences are decoded; private elements are not read (their VR and
        character set cannot be trusted).
    known
        Values known from elsewhere, e.g. the donor's other files.

    Returns
    -------
    KnownValues
    """
    found = KnownValues()
    _collect(ds, found, depth=0)
    return found.merge(known)


def _collect(ds: Dataset, found: KnownValues, depth: int) -> None:
    if depth > 64:  # a malformed file cannot make the walk recurse without end
        return
    for tag in list(ds.keys()):
        tag = int(tag)
        group = tag >> 16
        if group & 1 or group == 0x7FE0 or REPEATER_GROUPS.get(group) == OVERLAYS:
            continue  # private, pixel data, overlays: no identifying values to read
        known = _BY_TAG.get(tag)
        if known is None and tag not in _NAMES_OR_SEQUENCES and (
                dictionary_has_tag(tag) or _vr(ds, tag) not in ("PN", "SQ")):
            continue  # decided from the dictionary: reading each raw VR cost more
        try:
            elem = ds[tag]
        except Exception:  # noqa: BLE001 - an undecodable value identifies nothing we can read
            continue
        if elem.VR == "SQ":
            for item in elem.value or ():
                _collect(item, found, depth + 1)
        elif known is not None:
            found.add(known[0], elem.value, known[1])
        elif elem.VR == "PN":
            found.add(NAME, elem.value, STAFF)


# --- redacting --------------------------------------------------------------------------


def _find_raw(text: str, patterns: Patterns) -> list[Span]:
    if not text or not patterns:
        return []
    folded = fold(text)
    found: list[tuple[int, int, str]] = []
    for pattern, category, clinical in patterns:
        for m in pattern.finditer(folded):
            if clinical and not text[m.start()].isupper():
                continue  # "campos pulmonares" is not Mr Campos
            found.append((m.start(), m.end(), category))
    return _merge(found)


def _merge(spans: Iterable[tuple[int, int, str]]) -> list[Span]:
    """Union overlapping spans; the merged span takes the type of its longest part."""
    out: list[tuple[int, int, str, int]] = []
    for start, end, category in sorted(spans, key=lambda s: (s[0], -s[1])):
        if out and start < out[-1][1]:
            s0, e0, c0, longest = out[-1]
            if end - start > longest:
                c0, longest = category, end - start
            out[-1] = (s0, max(e0, end), c0, longest)
        else:
            out.append((start, end, category, end - start))
    return [Span(s, e, c) for s, e, c, _ in out]


def _join_entities(spans: list[Span], text: str) -> list[Span]:
    """Join spans of one type separated only by spaces, ``^`` or a comma: one placeholder."""
    out: list[Span] = []
    for span in spans:
        if out and out[-1].category == span.category and _SAME_ENTITY_GAP.fullmatch(
            text[out[-1].end:span.start]
        ):
            out[-1] = Span(out[-1].start, span.end, span.category)
        else:
            out.append(span)
    return out


def placeholder(category: str, *, short: bool = False) -> str:
    """Return the text put in place of a span: ``[CATEGORY]``, or its initials if ``short``."""
    if short:
        return "[" + "".join(word[0] for word in category.split("_")) + "]"
    return f"[{category}]"


def _replace(text: str, spans: Sequence[Span], *, short: bool = False) -> str:
    out: list[str] = []
    last = 0
    for span in spans:
        out.append(text[last:span.start])
        out.append(placeholder(span.category, short=short))
        last = span.end
    out.append(text[last:])
    return "".join(out)


def redact(text: str, known: KnownValues) -> tuple[str, list[Span]]:
    """Return ``text`` with each known value replaced by ``[CATEGORY]``, and the spans.

    Parameters
    ----------
    text
        A text value of the file being cleaned.
    known
        What :func:`collect` found in that file (or the donor's files).

    Returns
    -------
    tuple of (str, list of Span)
        The cleaned text and the spans replaced, as offsets into ``text``.
    """
    return _redact(text, known.patterns())


def _redact(text: str, patterns: Patterns) -> tuple[str, list[Span]]:
    # Words of one name next to each other make one span (``HERNÁNDEZ LÓPEZ``).
    spans = _join_entities(_find_raw(text, patterns), text)
    return (_replace(text, spans) if spans else text), spans


Redactor = Callable[[str], tuple[str, list[Any]]]


def clean(text: str, known: KnownValues, redactor: Redactor | None = None, *,
          max_length: int | None = None) -> tuple[str, list[Span]]:
    """Return ``text`` without what ``redactor`` finds nor its known values, and the spans.

    The redactor reads the original text; the known values are then replaced in its output.
    Spans are offsets into ``text``: the redactor's, plus the known values it missed. If the
    result is longer than ``max_length`` (the VR's limit, see :data:`MAX_LENGTH`), it is
    rebuilt from ``text`` with short placeholders (``[NSA]``) and, if still too long, cut: a
    shorter value never brings data back.
    """
    out, spans = _clean(text, known.key(), redactor, max_length)
    return out, list(spans)


# The files of a series repeat their descriptors and carry the same known values: each
# distinct text is cleaned once per process. Bounded, as the cache holds personal data
# (in this process's memory only, never written anywhere).
@functools.lru_cache(maxsize=4096)
def _clean(text: str, key: tuple[Any, ...], redactor: Redactor | None,
           max_length: int | None) -> tuple[str, tuple[Span, ...]]:
    patterns = _compile(key)
    if redactor is None:
        out, spans = _redact(text, patterns)
    else:
        out, found = redactor(text)
        spans = [Span(int(f.start), int(f.end), str(f.category)) for f in found]
        taken = bytearray(len(text) + 1)
        for span in spans:
            taken[span.start:span.end] = b"\x01" * (span.end - span.start)
        missed = [s for s in _find_raw(text, patterns) if 1 not in taken[s.start:s.end]]
        if missed:
            spans = sorted(spans + missed)
        out = _redact(out, patterns)[0]  # the redactor's placeholders are no known value
    if max_length is not None and len(out) > max_length:
        out = _replace(text, _merge((s.start, s.end, s.category) for s in spans),
                       short=True)[:max_length]
    return out, tuple(spans)
