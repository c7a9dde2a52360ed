"""Find and replace personal data in Mexican-Spanish clinical free text.

Used for DICOM descriptors and comments, clinical history, SR text values, RT names and
OCR text of scanned documents. Spans carry one of the 29 MEDDOCAN types (Marimon et al.,
*Automatic De-identification of Medical Texts in Spanish: the MEDDOCAN Track*, IberLEF
2019) and follow its rule, also the Chilean guideline's: the **shortest span that covers
the entity**, so titles (``Dr.``), field labels (``Expediente:``) and clinical words stay.

Detection is rules and word lists, no model: precompiled regular expressions over two
views of the text (the original, and a lower-case accent-free copy of the same length
for keywords), identifiers checked with python-stdnum (CURP, RFC) or Luhn (IMSS NSS),
and names found as runs of capitalised words scored against the lists in
:mod:`anonymizer._es_lexicon` (:mod:`anonymizer._es_names`). Overlaps are resolved by rule
priority, then length. Keyword rules run only in windows around their key words, found in
one pass. The rule tables (patterns, priorities, key words) are data in
:mod:`anonymizer._es_rules`; the views come from :mod:`anonymizer.fold`.

Mexican identifiers and their MEDDOCAN type:

=================================================  =================================
CURP, RFC, clave de elector / CIC / OCR (INE),     ID_SUJETO_ASISTENCIA
expediente, NHC, registro, ID, pasaporte
folio, episodio, cuenta, accession, orden,         ID_CONTACTO_ASISTENCIAL
solicitud, ingreso, cita
NSS (IMSS, Luhn), afiliación, póliza               ID_ASEGURAMIENTO
beneficiario, agregado médico, folio INSABI        NUMERO_BENEF_PLAN_SALUD
cédula profesional / de especialidad               ID_TITULACION_PERSONAL_SANITARIO
matrícula, número de empleado                      ID_EMPLEO_PERSONAL_SANITARIO
placas, NIV/VIN                                    IDENTIF_VEHICULOS_NRSERIE_PLACAS
número de serie (equipos, implantes)               IDENTIF_DISPOSITIVOS_NRSERIE
huella dactilar, ID biométrico                     IDENTIF_BIOMETRICOS
referencia, carpeta de investigación, UIDs,        OTRO_NUMERO_IDENTIF
long unlabelled numbers
colonia, municipio, alcaldía, C.P., city, state    TERRITORIO
religión, lengua indígena, grupo étnico            OTROS_SUJETO_ASISTENCIA
=================================================  =================================

Ages are reported only from 90 years (HIPAA Safe Harbor); sex only as a form field
(``Sexo: F``); bare years are kept. Names are found when capitalised (any case of
upper-case text), after a cue (``Dr.``, ``Nombre:``, ``su hija``) or with a word from
the lists; a lower-case name with no cue is missed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from stdnum import luhn
from stdnum.mx import curp as _curp
from stdnum.mx import rfc as _rfc

from anonymizer import _es_lexicon as lex
from anonymizer import _es_rules as rules
from anonymizer._es_names import gazetteer, names, runs
from anonymizer._es_rules import Candidate
from anonymizer.fold import fold, key

__all__ = ["CATEGORIES", "Span", "find_phi", "redact"]

#: MEDDOCAN's 29 PHI types, in the order of its annotation guidelines.
CATEGORIES: tuple[str, ...] = (
    "NOMBRE_SUJETO_ASISTENCIA",
    "EDAD_SUJETO_ASISTENCIA",
    "SEXO_SUJETO_ASISTENCIA",
    "FAMILIARES_SUJETO_ASISTENCIA",
    "NOMBRE_PERSONAL_SANITARIO",
    "FECHAS",
    "PROFESION",
    "HOSPITAL",
    "CENTRO_SALUD",
    "INSTITUCION",
    "CALLE",
    "TERRITORIO",
    "PAIS",
    "NUMERO_TELEFONO",
    "NUMERO_FAX",
    "CORREO_ELECTRONICO",
    "ID_SUJETO_ASISTENCIA",
    "ID_CONTACTO_ASISTENCIAL",
    "ID_ASEGURAMIENTO",
    "ID_TITULACION_PERSONAL_SANITARIO",
    "ID_EMPLEO_PERSONAL_SANITARIO",
    "IDENTIF_VEHICULOS_NRSERIE_PLACAS",
    "IDENTIF_DISPOSITIVOS_NRSERIE",
    "NUMERO_BENEF_PLAN_SALUD",
    "URL_WEB",
    "DIREC_PROT_INTERNET",
    "IDENTIF_BIOMETRICOS",
    "OTRO_NUMERO_IDENTIF",
    "OTROS_SUJETO_ASISTENCIA",
)


@dataclass(frozen=True, order=True)
class Span:
    """A piece of personal data: ``text[start:end]`` is of MEDDOCAN type ``category``."""

    start: int
    end: int
    category: str


# --- detectors ------------------------------------------------------------------------

def _windows(folded: str) -> dict[str, list[tuple[int, int]]]:
    """Return, per keyword family, the merged text windows around its key words."""
    found: dict[str, list[tuple[int, int]]] = {}
    size = len(folded)
    for m in rules.ANCHOR.finditer(folded):
        lo = max(0, m.start() - rules.WINDOW_BEFORE)
        hi = min(size, m.end() + rules.WINDOW_AFTER)
        for family in rules.ANCHOR_FAMILIES[m.group()]:
            spans = found.setdefault(family, [])
            if spans and lo <= spans[-1][1]:
                spans[-1] = (spans[-1][0], hi)
            else:
                spans.append((lo, hi))
    return found


def _in(rx: re.Pattern[str], s: str, windows: list[tuple[int, int]]) -> Iterator[re.Match[str]]:
    for lo, hi in windows:
        yield from rx.finditer(s, lo, hi)


def _labelled(folded: str, win: list[tuple[int, int]]) -> Iterator[Candidate]:
    for m in _in(rules.LABELLED, folded, win):
        start, end = m.span("v")
        value = folded[start:end].rstrip(".-/")
        if sum(c.isdigit() for c in value) < 3 or len(value) < 4:
            continue
        i = next(i for i in range(len(rules.ID_LABELS)) if m.group(f"c{i}") is not None)
        yield start, start + len(value), rules.ID_LABELS[i][0], rules.P_LABELLED


def _free_before(s: str, i: int, bad: str) -> bool:
    return i == 0 or s[i - 1] not in bad


def _codes(text: str, win: list[tuple[int, int]]) -> Iterator[Candidate]:
    """CURP and RFC (with their check rules), clave de elector, e-mail and URL."""
    for m in _in(rules.CODE, text, win):
        s, start, end = m.group(), m.start(), m.end()
        if (start and text[start - 1].isalnum()) or (end < len(text) and text[end].isalnum()):
            continue
        if (rules.CURP.fullmatch(s) and _curp.is_valid(s)) \
                or (rules.RFC.fullmatch(s) and _rfc.is_valid(s)) or rules.ELECTOR.fullmatch(s):
            yield start, end, "ID_SUJETO_ASISTENCIA", rules.P_CHECKED
    if "@" in text:
        for m in rules.EMAIL.finditer(text):
            yield m.start(), m.end(), "CORREO_ELECTRONICO", rules.P_CHECKED
    if "http" in text or "www." in text:
        for m in rules.URL.finditer(text):
            end = m.end()
            while end > m.start() and text[end - 1] in ".,;:)]":
                end -= 1
            yield m.start(), end, "URL_WEB", rules.P_CHECKED


def _numeric_windows(text: str) -> list[tuple[int, int]]:
    """Return merged windows around runs of at least five digits and separators."""
    windows: list[tuple[int, int]] = []
    size = len(text)
    for m in rules.NUMERIC_RUN.finditer(text):
        # back to the start of the word: codes such as CURP put up to six letters first
        lo, hi = max(0, m.start() - 7), min(size, m.end() + 3)
        floor = max(0, lo - 12)
        while lo > floor and text[lo - 1].isalnum():
            lo -= 1
        if windows and lo <= windows[-1][1]:
            windows[-1] = (windows[-1][0], hi)
        else:
            windows.append((lo, hi))
    return windows


def _numbers(text: str, folded: str, win: list[tuple[int, int]]) -> Iterator[Candidate]:
    """Identifiers, phones, dates and ages written in digits, found without key words.

    Every pattern here but the age needs five digits or separators in a row, so they
    run only inside the windows where such runs are (most numbers in clinical text are
    short: "15 mm", "120/80").
    """
    for m in rules.AGE.finditer(folded):
        if _free_before(folded, m.start(), "0123456789.,"):
            yield m.start(), m.end(), "EDAD_SUJETO_ASISTENCIA", rules.P_LABELLED
    for m in _in(rules.NSS, text, win):
        if _free_before(text, m.start(), "0123456789-") and \
                luhn.is_valid(m.group().replace(" ", "").replace("-", "")):
            yield m.start(), m.end(), "ID_ASEGURAMIENTO", rules.P_CHECKED - 5
    for m in _in(rules.IPV4, text, win):
        if _free_before(text, m.start(), "0123456789.") and \
                all(int(part) < 256 for part in m.group().split(".")):
            yield m.start(), m.end(), "DIREC_PROT_INTERNET", rules.P_CHECKED
    for m in _in(rules.UID, text, win):
        if _free_before(text, m.start(), "0123456789."):
            yield m.start(), m.end(), "OTRO_NUMERO_IDENTIF", rules.P_GENERIC
    for m in _in(rules.LONG_NUMBER, text, win):
        start = m.start()
        if not _free_before(text, start, "0123456789"):
            continue
        prefix = rules.CODE_PREFIX.search(text, max(0, start - 5), start)
        if prefix:
            start = prefix.start()
        if _free_before(text, start, ".,/-") and (start == 0 or not text[start - 1].isalnum()):
            yield start, m.end(), "OTRO_NUMERO_IDENTIF", rules.P_GENERIC
    for m in _in(rules.PHONE, folded, win):
        if not _free_before(folded, m.start(), "0123456789+/.-abcdefghijklmnopqrstuvwxyz_"):
            continue
        if sum(c.isdigit() for c in m.group()) < 10:
            continue
        before = folded[max(0, m.start() - 25):m.start()]
        category = "NUMERO_FAX" if "fax" in before else "NUMERO_TELEFONO"
        yield m.start(), m.end(), category, rules.P_DATE
    for m in _in(rules.DATE_NUM, folded, win):
        if not _free_before(folded, m.start(), "0123456789/.-"):
            continue
        if not _valid_numeric_date(m.group()):
            continue
        yield m.start(), m.end(), "FECHAS", rules.P_DATE


def _valid_numeric_date(s: str) -> bool:
    parts = [int(p) for p in re.findall(r"\d+", s)]
    if len(parts) != 3:
        return True  # DICOM DA/DT: the pattern already checks month and day
    if parts[0] > 31:  # year first
        parts = [parts[2], parts[1], parts[0]]
    day, month = parts[0], parts[1]
    if month > 12:  # month/day order
        day, month = month, day
    return 1 <= day <= 31 and 1 <= month <= 12


def _phones(folded: str, win: list[tuple[int, int]]) -> Iterator[Candidate]:
    for m in _in(rules.PHONE_LABEL, folded, win):
        digits = sum(c.isdigit() for c in m.group("v"))
        if 7 <= digits <= 13:
            category = "NUMERO_FAX" if m.group("fax") else "NUMERO_TELEFONO"
            yield m.start("v"), m.end(), category, rules.P_LABELLED


def _text_dates(folded: str, win: list[tuple[int, int]]) -> Iterator[Candidate]:
    for m in _in(rules.DATE_TEXT, folded, win):
        end = m.end()
        while folded[end - 1] in " ./-":
            end -= 1
        yield m.start(), end, "FECHAS", rules.P_DATE


def _fields(folded: str, win: list[tuple[int, int]]) -> Iterator[Candidate]:
    for m in _in(rules.SEX, folded, win):
        yield m.start("v"), m.end("v"), "SEXO_SUJETO_ASISTENCIA", rules.P_LABELLED
    for m in _in(rules.AGE_LABEL, folded, win):
        yield m.start("m"), m.end("m"), "EDAD_SUJETO_ASISTENCIA", rules.P_LABELLED
    for m in _in(rules.PROFESSION, folded, win):
        value = m.group("v")
        if key(value) not in lex.PROFESSIONS:  # "ama de casa" is one occupation
            value = value.split(" ")[0]
            if key(value) not in lex.PROFESSIONS:
                continue
        yield m.start("v"), m.start("v") + len(value), "PROFESION", rules.P_LABELLED
    for m in _in(rules.OTHER_FIELD, folded, win):
        value = m.group("v")
        if value.split(" ")[-1] in {"de", "y", "con"}:
            value = value.rsplit(" ", 1)[0]
        yield m.start("v"), m.start("v") + len(value), "OTROS_SUJETO_ASISTENCIA", rules.P_LABELLED


def _cap_words(text: str, pos: int, limit: int, stop: frozenset[str]) -> int:
    """Return the end of the run of capitalised words and numbers starting at ``pos``.

    Lower-case particles may join the run but never end it; a full stop ends it
    unless it closes an abbreviation such as ``No.`` or ``Dr.``.
    """
    end = i = pos
    for _ in range(limit):
        m = rules.ORG_TOKEN.match(text, i)
        if not m:
            break
        word = m.group()
        k = key(word)
        if word[0].islower() and k not in rules.ORG_PARTICLES and k != "NO":
            break
        if k in stop or k in lex.INSTITUTIONS:
            break
        if word[0].isdigit() and (len(word.split("-")[0]) > 3
                                  or rules.DATE_AHEAD.match(text, m.end())):
            break  # unit numbers are short; "2021" or "25/05" start a date or an identifier
        i = m.end()
        if k not in rules.ORG_PARTICLES:
            end = i
        if i < len(text) and text[i] == ".":
            if k not in rules.ABBREVIATIONS:
                break
            i += 1
            end = i if k != "NO" else end
        gap = rules.ORG_GAP.match(text, i)
        if not gap:
            break
        i = gap.end()
    return end


def _organisations(folded: str, text: str, win: list[tuple[int, int]]) -> Iterator[Candidate]:
    units = [(m.start(), m.end(), m.group("h").replace(" ", ""))
             for m in _in(rules.UNIT_ACRONYM, folded, win) if text[m.start()].isupper()]
    heads = [(m.start(), m.end(), m.group("h"))
             for m in _in(rules.HOSPITAL_HEAD, folded, win) if text[m.start()].isupper()]
    starts = sorted(s for s, _, _ in units + heads)
    for start, head_end, head in heads:
        gap = rules.ORG_GAP.match(text, head_end)
        end = max(head_end, _cap_words(text, gap.end(), 9, lex.ORG_STOP)) if gap else head_end
        if end == head_end and head in {"hospital", "clinica", "consultorio", "sanatorio"}:
            continue  # a bare head word names no place
        if any(start < s < end for s in starts):
            continue  # a form label before the unit's own name: "CLINICA UMF No. 7"
        category = "CENTRO_SALUD" if head in rules.HEALTH_CENTRE_HEADS else "HOSPITAL"
        yield start, end, category, rules.P_ORG
    for start, end, head in units:
        category = "CENTRO_SALUD" if head in rules.HEALTH_CENTRE_HEADS else "HOSPITAL"
        yield start, end, category, rules.P_ORG


def _addresses(folded: str, text: str, street: list[tuple[int, int]],
               area: list[tuple[int, int]]) -> Iterator[Candidate]:
    for m in _in(rules.STREET, folded, street):
        if not text[m.start()].isupper():
            continue
        end = _cap_words(text, m.end(), 7, lex.ORG_STOP)
        if end == m.end():
            continue
        n = rules.STREET_NUMBER.match(folded, end)
        if n and n.end() > end:
            end = n.end()
        yield m.start(), end, "CALLE", rules.P_ORG
    for m in _in(rules.ADDRESS_LABEL, folded, area):
        start, end = m.span("v")
        value = folded[start:end].rstrip(" .")
        yield start, start + len(value), "CALLE", rules.P_ORG - 5
    for m in _in(rules.AREA_CUE, folded, area):
        if m.end() >= len(text):
            continue
        end = _cap_words(text, m.end(), 5, lex.ORG_STOP)
        if end > m.end():
            yield m.end(), end, "TERRITORIO", rules.P_ORG
    for m in _in(rules.POSTCODE, folded, area):
        yield m.start("v"), m.end("v"), "TERRITORIO", rules.P_LABELLED


# --- public API -----------------------------------------------------------------------


def find_phi(text: str) -> list[Span]:
    """Return the spans of personal data in ``text``, sorted and non-overlapping.

    Parameters
    ----------
    text : str
        Clinical free text in Spanish (any case; OCR output and DICOM ``PN`` values
        such as ``PÉREZ LÓPEZ^MARÍA`` included).

    Returns
    -------
    list of Span
        One span per entity, the shortest that covers it, typed with a MEDDOCAN
        category from :data:`CATEGORIES`.
    """
    if not isinstance(text, str):
        raise TypeError(f"find_phi expects str, got {type(text).__name__}")
    if not text:
        return []
    original = text
    if rules.OCR_DIGIT.search(text):  # "L0PEZ", "Xa1apa": read OCR digits in words as letters
        text = rules.OCR_DIGIT.sub(lambda m: "O" if m.group() == "0" else "l", text)
    folded = fold(text)
    win = _windows(folded)
    none: list[tuple[int, int]] = []
    candidates: list[Candidate] = []
    numeric = _numeric_windows(text)
    candidates.extend(_codes(text, numeric))
    candidates.extend(_numbers(text, folded, numeric))
    candidates.extend(_labelled(folded, win.get("id", none)))
    candidates.extend(_phones(folded, win.get("phone", none)))
    candidates.extend(_text_dates(folded, win.get("month", none)))
    candidates.extend(_fields(folded, win.get("field", none)))
    candidates.extend(_organisations(folded, text, win.get("org", none)))
    candidates.extend(_addresses(folded, text, win.get("street", none), win.get("area", none)))
    if "," in text:
        candidates.extend((m.start("v"), m.end("v"), "TERRITORIO", rules.P_PLACE)
                          for m in rules.STATE_ABBREVIATION.finditer(folded)
                          if text[m.start("v")].isupper())
    for tokens in runs(text, key(text)):
        candidates.extend(gazetteer(folded, tokens))
        candidates.extend(names(text, folded, tokens))
    return _resolve(candidates, len(original))


def _resolve(candidates: list[Candidate], size: int) -> list[Span]:
    """Keep the best candidates that do not overlap: priority first, then length."""
    candidates.sort(key=lambda c: (-c[3], c[0] - c[1], c[0]))
    taken = bytearray(size)  # 1 where a kept span already lies
    kept: list[tuple[int, int, str]] = []
    for start, end, category, _ in candidates:
        if end <= start or 1 in taken[start:end]:
            continue
        taken[start:end] = b"\x01" * (end - start)
        kept.append((start, end, category))
    kept.sort()
    return [Span(*k) for k in kept]


def redact(
    text: str, *, replacement: Callable[[Span], str] | None = None
) -> tuple[str, list[Span]]:
    """Return ``text`` with each span of personal data replaced, and the spans.

    Parameters
    ----------
    text : str
        Text to clean.
    replacement : callable, optional
        Maps a :class:`Span` (offsets in the *input*) to the text put in its place.
        Default ``"[CATEGORY]"``, e.g. ``"[FECHAS]"``.

    Returns
    -------
    tuple of (str, list of Span)
        The cleaned text and the spans found in the input.
    """
    spans = find_phi(text)
    make = replacement or (lambda span: f"[{span.category}]")
    out: list[str] = []
    last = 0
    for span in spans:
        out.append(text[last:span.start])
        out.append(make(span))
        last = span.end
    out.append(text[last:])
    return "".join(out), spans
