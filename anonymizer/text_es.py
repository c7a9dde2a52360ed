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
:mod:`anonymizer._es_lexicon`. Overlaps are resolved by rule priority, then length.
Keyword rules run only in windows around their key words, found in one pass.

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


# --- text views ---------------------------------------------------------------------

_ACCENTED = "áéíóúüñàèìòùâêîôûäëïöÁÉÍÓÚÜÑÀÈÌÒÙÂÊÎÔÛÄËÏÖ"
_PLAIN = "aeiouunaeiouaeiouaeioAEIOUUNAEIOUAEIOUAEIO"
#: Lower case without accents, one character for one character so offsets agree.
_FOLD = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ" + _ACCENTED, "abcdefghijklmnopqrstuvwxyz" + _PLAIN.lower()
)
#: Upper case without accents: the key form of the word lists.
_KEY = str.maketrans(
    "abcdefghijklmnopqrstuvwxyz" + _ACCENTED, "ABCDEFGHIJKLMNOPQRSTUVWXYZ" + _PLAIN.upper()
)


def _key(word: str) -> str:
    return word.translate(_KEY)


def _byte_table(table: dict[int, int]) -> bytes:
    return bytes(table.get(i, i) for i in range(256))


_FOLD_BYTES = _byte_table(_FOLD)
_KEY_BYTES = _byte_table(_KEY)


#: 0 or 1 between letters, or ending a word of letters: an OCR misreading of O or l.
#: Codes keep their digits: in a CURP or RFC a 0/1 always has a digit beside it.
_OCR_DIGIT = re.compile(r"(?<=[^\W\d_])[01](?=[^\W\d_])|(?<=[^\W\d_]{2})[01](?![\w])")


def _view(text: str, table: bytes) -> str:
    """Return ``text`` mapped through a one-byte ``table``, same length.

    Through Latin-1 bytes because ``bytes.translate`` runs in C at memory speed where
    ``str.translate`` looks each character up in a dict; characters outside Latin-1
    become ``?``, which no rule looks for.
    """
    return text.encode("latin-1", "replace").translate(table).decode("latin-1")


# --- rule tables ----------------------------------------------------------------------

# Priorities: higher wins an overlap; equal priority, the longer span wins.
_P_CHECKED = 100  # format with a check rule (CURP, RFC, NSS, e-mail, URL)
_P_LABELLED = 90  # value after a field label ("Expediente: 123")
_P_PN = 85  # DICOM person names (APELLIDO^NOMBRE)
_P_ORG = 80  # hospitals, units, streets
_P_GAZ_MULTI = 79  # multi-word place or institution from the lists
_P_CUED = 75  # names after "Nombre:", "Dr." and the like
_P_DATE = 70
_P_NAME = 60
_P_PLACE = 55
_P_GENERIC = 40  # long numbers with no label

_MONTH = (
    r"(?:enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre"
    r"|noviembre|diciembre|ene|feb|mar|abr|may|jun|jul|ago|sept?|set|oct|nov|dic)"
)
_WEEKDAY = r"(?:lunes|martes|miercoles|jueves|viernes|sabado|domingo)"

#: Field labels (folded: lower case, no accents) and the type of the value after them.
#: Each value must hold at least three digits; see ``_LABEL_VALUE``.
_ID_LABELS: tuple[tuple[str, str], ...] = (
    ("ID_SUJETO_ASISTENCIA",
     r"expediente|exp\.|nhc|n\.h\.c\.|historia clinica|registro|mrn|id\s+(?:del\s+)?paciente"
     r"|patient\s+id|pid|id|curp|r\.?f\.?c\.?|clave de elector|credencial(?:\s+(?:de elector"
     r"|ine|ife))?|ine|ife|cic|ocr|pasaporte"),
    ("ID_CONTACTO_ASISTENCIAL",
     r"folio|episodio|cuenta|accession(?:\s+(?:no\.?|number))?|accesion|acceso|estudio"
     r"|estudio\s+no\.?|orden|solicitud|ingreso|admision|numero de atencion|cita"),
    ("ID_ASEGURAMIENTO",
     r"nss|n\.s\.s\.?|seguridad social|afiliacion|poliza(?:\s+de\s+gastos\s+medicos)?"),
    ("NUMERO_BENEF_PLAN_SALUD",
     r"beneficiario|folio (?:insabi|seguro popular|bienestar)|agregado medico"),
    ("ID_TITULACION_PERSONAL_SANITARIO",
     r"cedula(?:\s+prof(?:esional|\.)?)?(?:\s+de\s+especialidad)?|ced\.?\s*prof\.?|ced\."
     r"|c\.?\s*prof\.?|ced\.?\s*esp\.?"),
    ("ID_EMPLEO_PERSONAL_SANITARIO",
     r"matricula|mat\.|(?:no\.?|numero|clave)\s+de\s+(?:empleado|trabajador)"),
    ("IDENTIF_VEHICULOS_NRSERIE_PLACAS",
     r"placas?(?:\s+(?:vehicular(?:es)?|del vehiculo))?|niv|vin"),
    ("IDENTIF_DISPOSITIVOS_NRSERIE",
     r"serie(?:\s+(?:no\.?|del (?:equipo|dispositivo)))?|s/n:|sn:|serial(?:\s+number)?"),
    ("IDENTIF_BIOMETRICOS",
     r"huella(?:\s+dactilar)?(?:\s+registrada)?|biometrico|plantilla biometrica"),
    ("OTRO_NUMERO_IDENTIF",
     r"referencia|folio del ministerio publico|carpeta de investigacion|averiguacion previa"
     r"|acta|oficio"),
)
#: The value after a label: one code, or digit groups split by spaces or hyphens.
_LABEL_VALUE = r"(?P<v>(?=[\w/.-]*\d)[a-z0-9][\w/.-]*(?:[ -]\d[\d-]*)*)"
_LABEL_GLUE = r"\s*(?:[:#]|n[o°º]\.?|num\.?|numero)?\s*[:#]?\s*"
_LABELS = "|".join(f"(?P<c{i}>{labels})" for i, (_, labels) in enumerate(_ID_LABELS))
_LABELLED = re.compile(rf"(?<![a-z0-9])(?:{_LABELS})(?![a-z]){_LABEL_GLUE}{_LABEL_VALUE}")

_PHONE_LABEL = re.compile(
    r"(?<![a-z])(?:(?P<fax>fax)|tel(?:efono)?s?|tel\.|cel(?:ular)?|movil|whats?app|contacto"
    r"|lada)\b\.?(?:\s+(?:casa|trabajo|oficina|particular|de contacto|celular))?"
    r"\s*(?:no\.?)?\s*[:#]?\s*(?:al\s+)?"
    r"(?P<v>\+?\(?\d[\d ().-]{5,18}\d)(?:\s*(?:ext|ext\.|extension)\s*\d{1,5})?"
)
# Bare phone numbers; the character before is checked in code (faster than a lookbehind).
_PHONE = re.compile(
    r"(?:\+\s?52[\s.-]?(?:1[\s.-]?)?|0[14]4[\s.-]?|01[\s.-]?)?"
    r"(?:\(\d{2,3}\)|\d{2,3})[\s.-]?\d{3,4}[\s.-]?\d{4}(?![\w/]|[.-]\d)"
)

# Dates written with a month name; looked for only near a month word.
_DATE_TEXT = re.compile(
    rf"(?:{_WEEKDAY}\s*,?\s*)?(?<![\d])\d{{1,2}}\s*(?:de\s+|[/.-]\s*)?{_MONTH}(?![a-z])\.?"
    rf"(?:\s*(?:de(?:l)?\s+|[/.-]\s*|\s)(?:\d{{4}}|'?\d{{2}})(?!\d))?"
    rf"|(?<![a-z]){_MONTH}(?![a-z])\.?\s*(?:de(?:l)?\s+|[/.-]\s*)?(?:19|20)\d{{2}}(?!\d)"
)
# Dates in digits: 03/03/2021, 3-3-21, 2021-03-03, DICOM DA/DT 20210303[121500[.000]].
_DATE_NUM = re.compile(
    r"\d{1,2}\s?[/.-]\s?\d{1,2}\s?[/.-]\s?(?:\d{4}|\d{2})(?![\d/]|[.-]\d)"
    r"|(?:19|20)\d{2}(?:[/.-]\d{1,2}[/.-]\d{1,2}(?![\d/]|[.-]\d)"
    r"|(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?:\d{4,6}(?:\.\d+)?)?(?![\d.]\d|\d))"
)

_AGE = re.compile(r"(?:9\d|1[01]\d)\s*(?:anos|ano|a\.(?!\w)|a(?![\w.]))")
_AGE_LABEL = re.compile(
    r"edad\s*:?\s*(?P<m>(?:9\d|1[01]\d)(?:\s*(?:anos|ano|a\.(?!\w)|a(?![\w.])))?)(?![\d.,])"
)

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"']+")
_IPV4 = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\d]|\.\d)")
#: Upper-case codes with digits; told apart by shape below (CURP, RFC, clave de elector).
_CODE = re.compile(r"[A-ZÑ&]{3,6}\d{6,8}[A-Z0-9]{0,8}")
_CURP = re.compile(r"[A-Z][AEIOUX][A-Z]{2}\d{6}[HMX][A-Z]{5}[A-Z0-9]\d")
_RFC = re.compile(r"[A-ZÑ&]{3,4}\d{6}(?:[A-Z0-9]{3})?")
_ELECTOR = re.compile(r"[A-Z]{6}\d{8}[HM]\d{3}")
_NSS = re.compile(r"\d{2}[ -]?\d{2}[ -]?\d{2}[ -]?\d{4}[ -]?\d(?![\d]|[ -]\d)")
_UID = re.compile(r"\d+(?:\.\d+){4,}(?![\d])")
_LONG_NUMBER = re.compile(r"\d{7,}(?![\w,/]|[.-]\d)")
_NUMERIC_RUN = re.compile(r"\d[\d ()./:-]{4,}")
_CODE_PREFIX = re.compile(r"[A-Za-z]{1,4}-?$")

_SEX = re.compile(
    r"(?:sexo|genero)\s*:?\s*(?P<v>masculino|femenino|hombre|mujer|varon|[mfh])(?![a-z])"
)
#: Labelled quasi-identifiers of NOM-004 forms (OTROS_SUJETO_ASISTENCIA).
_OTHER_FIELD = re.compile(
    r"(?:religion|lengua indigena|lengua materna|grupo etnico|etnia|pueblo indigena)\s*:\s*"
    r"(?P<v>[^\W\d_]+(?: de [^\W\d_]+| [^\W\d_]+)?)"
)
_PROFESSION = re.compile(
    r"(?:ocupacion|profesion|oficio|se dedica a(?:l)?|trabaja como|labora como"
    r"|de profesion|empleo)\s*:?\s*(?:(?:el|la|los|las)\s+)?"
    r"(?P<v>[a-z]+(?: (?:de|del|la|en) [a-z]+| [a-z]+)?)"
)

# Streets: a head word, the street's name, and its number (or "S/N").
_STREET = re.compile(
    r"(?<![a-z])(?:calle|c\.|av\.|avda\.?|avenida|calz\.|calzada|blvd\.?|boulevard|bulevar"
    r"|privada|priv\.|cerrada|cda\.|callejon|andador|prolongacion|prol\.|circuito|cto\."
    r"|retorno|carretera|camino|paseo|periferico|eje(?:\s+vial)?|viaducto|diagonal|manzana"
    r"|mz\.?)\s+"
)
_STREET_NUMBER = re.compile(
    r"\s*,?\s*(?:(?:no\.?|num\.?|numero|n[°º]\.?|#)\s*)?(?:\d+[a-z]?(?:-[a-z0-9]+)?|s/n)"
    r"(?:\s*,?\s*(?:int\.?|interior|depto\.?|dpto\.?|edif\.?|piso|lt\.?|lote|mz\.?)\s*[\w-]+)*",
)
_ADDRESS_LABEL = re.compile(
    r"(?:domicilio|direccion|dir\.)\s*(?:particular)?\s*:\s*(?P<v>[^,\n;]*\d[^,\n;]*)"
)
_AREA_CUE = re.compile(
    r"(?<![a-z])(?:col\.|col(?= )|colonia|fracc\.|fraccionamiento|barrio|unidad habitacional"
    r"|u\.\s?h\.|ejido|localidad|delegacion|alcaldia|mpio\.|municipio(?:\s+de)?|poblacion"
    r"|residencia)\s*:?\s*"
)
_POSTCODE = re.compile(r"(?<![a-z])(?:c\.\s?p\.|cp|codigo postal)\s*:?\s*(?P<v>\d{5})(?!\d)")

# Hospitals and health centres: head word plus a name; acronyms need a number.
_HOSPITAL_HEAD = re.compile(
    r"(?<![a-z])(?P<h>hospital|clinica de medicina familiar|clinica|sanatorio|centro medico"
    r"|instituto nacional|unidad medica|umae|policlinica|nosocomio|centro de salud"
    r"|unidad de medicina familiar|consultorio|centro de especialidades"
    r"|jurisdiccion sanitaria)(?![a-z])"
)
_UNIT_ACRONYM = re.compile(
    r"(?<![a-z])(?P<h>hgz(?:\s?/\s?mf|mf)?|hgr|hgo|hgp|hg|he|umaa|umae|hr|hgs|hp|umf|cmf|cs|csu"
    r"|c\.s\.|uneme)\.?\s*(?:no\.?|num\.?|n[°º]\.?|#)?\s*(?P<n>\d{1,3})(?!\d)"
)
_HEALTH_CENTRE_HEADS = frozenset(
    {"centro de salud", "unidad de medicina familiar", "clinica de medicina familiar",
     "consultorio", "umf", "cmf", "cs", "csu", "c.s.", "uneme", "jurisdiccion sanitaria"}
)
_STATE_ABBREVIATION = re.compile(
    r",\s*(?P<v>(?:" + "|".join(
        sorted((re.escape(a.lower()).replace(r"\ ", r"\s?") + r"\.?"
                for a in lex.STATE_ABBREVIATIONS), key=len, reverse=True)
    ) + r"))(?![a-z])"
)

#: Key words that announce each keyword-driven rule (folded). Rules run only in a
#: window around these words, found in one pass, which keeps long texts fast.
_ANCHORS: dict[str, str] = {
    "id": "expediente exp nhc n.h.c historia registro mrn id pid patient curp rfc r.f.c clave "
          "credencial ine ife cic ocr pasaporte folio episodio cuenta accession accesion acceso "
          "estudio orden solicitud ingreso admision atencion cita nss n.s.s seguridad afiliacion "
          "poliza beneficiario agregado cedula ced c prof matricula mat empleado trabajador "
          "placa placas niv vin serie sn serial huella biometrico biometrica referencia "
          "ministerio carpeta averiguacion acta oficio",
    "phone": "fax tel telefono telefonos cel celular movil whatsapp whatapp contacto lada",
    "field": "sexo genero religion lengua grupo etnia pueblo ocupacion profesion oficio dedica "
             "trabaja labora empleo edad",
    "street": "calle c av avda avenida calz calzada blvd boulevard bulevar privada priv cerrada "
              "cda callejon andador prolongacion prol circuito cto retorno carretera camino "
              "paseo periferico eje viaducto diagonal manzana mz",
    "area": "domicilio direccion dir col colonia fracc fraccionamiento barrio unidad u.h ejido "
            "localidad delegacion alcaldia mpio municipio poblacion residencia cp c.p codigo",
    "org": "hospital clinica sanatorio centro instituto unidad umae policlinica nosocomio "
           "consultorio jurisdiccion hgz hgr hgo hgp hg he umaa hr hgs hp umf cmf cs csu c.s "
           "uneme",
    "month": "enero febrero marzo abril mayo junio julio agosto septiembre setiembre octubre "
             "noviembre diciembre ene feb mar abr may jun jul ago sep sept set oct nov dic",
}


def _trie_pattern(words: set[str]) -> str:
    """Return a regular expression matching any of ``words``, factored by prefix."""
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict) -> str:
        alts = [re.escape(ch) + build(node[ch]) for ch in sorted(k for k in node if k)]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(trie)


_ANCHOR_FAMILIES: dict[str, frozenset[str]] = {}
for _family, _words in _ANCHORS.items():
    for _w in _words.split():
        _ANCHOR_FAMILIES[_w] = _ANCHOR_FAMILIES.get(_w, frozenset()) | {_family}
_ANCHOR = re.compile(rf"(?=[a-z])\b{_trie_pattern(set(_ANCHOR_FAMILIES))}(?![a-z])")
_WINDOW_BEFORE, _WINDOW_AFTER = 30, 100

# Words just before a run of capitalised words that make it a name with no list hit
# (folded; the last one, two or three words before the run, trailing ":" dropped).
_NAME_CUES = frozenset(c.lower() for c in lex.NAME_CUES | lex.FAMILY_CUES)  # folded
_NAME_WORDS = lex.SURNAMES | lex.GIVEN_NAMES
_CUE_WINDOW = 40
_STAFF_TRAILER = re.compile(r"\s*,?\s*\(?(?:ced|cedula|mat\.|matricula|r[1-4]\b|mpss)")
_FAMILY_TRAILER = re.compile(r"\s*[,(]\s*(?:su\s+)?([a-z]+)")
_PATIENT_CUES = frozenset({"PACIENTE", "PAC", "NOMBRE", "SR", "SRA", "SRITA", "DON", "DONA"})

# Runs of capitalised words (names, places, institutions), joined by single spaces, the
# DICOM PN separator "^", ", " or lower-case particles ("María de la Luz").
_UPPER = "A-ZÁÉÍÓÚÜÑÀÈÌÒÙ"
_CAP_WORD = rf"[{_UPPER}][^\W\d_]*(?:['’-][^\W\d_]+)*"
_CAP_RUN = re.compile(
    rf"{_CAP_WORD}(?:(?: {{1,2}}|\^{{1,4}}|, )(?:(?:de|del|la|las|los|y) )*{_CAP_WORD})*"
)
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")

_ORG_TOKEN = re.compile(r"[Ss]/[Nn]|[^\W\d_][\w'’-]*|\d+[A-Za-z]?(?:-[A-Za-z]{1,2})?|n[°º]|#")
_DATE_AHEAD = re.compile(r"[/.:-]\d")
_ORG_GAP = re.compile(r"[ \t]{1,2}")
#: Abbreviations whose dot does not end a hospital or street name.
_ABBREVIATIONS = frozenset({"NO", "NUM", "DR", "DRA", "GRAL", "LIC", "STA", "STO", "AV", "PROF",
                            "ING", "SN", "MZ", "LT", "INT", "COL"})
_ORG_PARTICLES = frozenset({"DE", "DEL", "LA", "LAS", "LOS", "Y", "EL"})

#: Word-list entries (key form) and their category, for places and institutions.
_GAZETTEER: dict[str, str] = {}
for _table, _category in (
    (lex.HOSPITAL_NAMES, "HOSPITAL"),
    (lex.INSTITUTIONS, "INSTITUCION"),
    (lex.PLACES, "TERRITORIO"),
    (lex.COUNTRIES, "PAIS"),
):
    for _entry in _table:
        _GAZETTEER[_entry] = _category
_GAZETTEER_PREFIXES = frozenset(
    " ".join(e.split(" ")[:n]) for e in _GAZETTEER for n in range(1, e.count(" ") + 1)
)
_GAZETTEER_FIRST = frozenset(e.split(" ")[0] for e in _GAZETTEER)
_PLACE_CUE = re.compile(r"(?:\ben|mpio\.|municipio de|edo\.|estado de|ciudad de|,)\s*$")


# --- detectors ------------------------------------------------------------------------

Candidate = tuple[int, int, str, int]  # start, end, category, priority


def _windows(folded: str) -> dict[str, list[tuple[int, int]]]:
    """Return, per keyword family, the merged text windows around its key words."""
    found: dict[str, list[tuple[int, int]]] = {}
    size = len(folded)
    for m in _ANCHOR.finditer(folded):
        lo, hi = max(0, m.start() - _WINDOW_BEFORE), min(size, m.end() + _WINDOW_AFTER)
        for family in _ANCHOR_FAMILIES[m.group()]:
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
    for m in _in(_LABELLED, folded, win):
        start, end = m.span("v")
        value = folded[start:end].rstrip(".-/")
        if sum(c.isdigit() for c in value) < 3 or len(value) < 4:
            continue
        i = next(i for i in range(len(_ID_LABELS)) if m.group(f"c{i}") is not None)
        yield start, start + len(value), _ID_LABELS[i][0], _P_LABELLED


def _free_before(s: str, i: int, bad: str) -> bool:
    return i == 0 or s[i - 1] not in bad


def _codes(text: str, win: list[tuple[int, int]]) -> Iterator[Candidate]:
    """CURP and RFC (with their check rules), clave de elector, e-mail and URL."""
    for m in _in(_CODE, text, win):
        s, start, end = m.group(), m.start(), m.end()
        if (start and text[start - 1].isalnum()) or (end < len(text) and text[end].isalnum()):
            continue
        if (_CURP.fullmatch(s) and _curp.is_valid(s)) or (_RFC.fullmatch(s) and _rfc.is_valid(s)) \
                or _ELECTOR.fullmatch(s):
            yield start, end, "ID_SUJETO_ASISTENCIA", _P_CHECKED
    if "@" in text:
        for m in _EMAIL.finditer(text):
            yield m.start(), m.end(), "CORREO_ELECTRONICO", _P_CHECKED
    if "http" in text or "www." in text:
        for m in _URL.finditer(text):
            end = m.end()
            while end > m.start() and text[end - 1] in ".,;:)]":
                end -= 1
            yield m.start(), end, "URL_WEB", _P_CHECKED


def _numeric_windows(text: str) -> list[tuple[int, int]]:
    """Return merged windows around runs of at least five digits and separators."""
    windows: list[tuple[int, int]] = []
    size = len(text)
    for m in _NUMERIC_RUN.finditer(text):
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
    for m in _AGE.finditer(folded):
        if _free_before(folded, m.start(), "0123456789.,"):
            yield m.start(), m.end(), "EDAD_SUJETO_ASISTENCIA", _P_LABELLED
    for m in _in(_NSS, text, win):
        if _free_before(text, m.start(), "0123456789-") and \
                luhn.is_valid(m.group().replace(" ", "").replace("-", "")):
            yield m.start(), m.end(), "ID_ASEGURAMIENTO", _P_CHECKED - 5
    for m in _in(_IPV4, text, win):
        if _free_before(text, m.start(), "0123456789.") and \
                all(int(part) < 256 for part in m.group().split(".")):
            yield m.start(), m.end(), "DIREC_PROT_INTERNET", _P_CHECKED
    for m in _in(_UID, text, win):
        if _free_before(text, m.start(), "0123456789."):
            yield m.start(), m.end(), "OTRO_NUMERO_IDENTIF", _P_GENERIC
    for m in _in(_LONG_NUMBER, text, win):
        start = m.start()
        if not _free_before(text, start, "0123456789"):
            continue
        prefix = _CODE_PREFIX.search(text, max(0, start - 5), start)
        if prefix:
            start = prefix.start()
        if _free_before(text, start, ".,/-") and (start == 0 or not text[start - 1].isalnum()):
            yield start, m.end(), "OTRO_NUMERO_IDENTIF", _P_GENERIC
    for m in _in(_PHONE, folded, win):
        if not _free_before(folded, m.start(), "0123456789+/.-abcdefghijklmnopqrstuvwxyz_"):
            continue
        if sum(c.isdigit() for c in m.group()) < 10:
            continue
        before = folded[max(0, m.start() - 25):m.start()]
        category = "NUMERO_FAX" if "fax" in before else "NUMERO_TELEFONO"
        yield m.start(), m.end(), category, _P_DATE
    for m in _in(_DATE_NUM, folded, win):
        if not _free_before(folded, m.start(), "0123456789/.-"):
            continue
        if not _valid_numeric_date(m.group()):
            continue
        yield m.start(), m.end(), "FECHAS", _P_DATE


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
    for m in _in(_PHONE_LABEL, folded, win):
        digits = sum(c.isdigit() for c in m.group("v"))
        if 7 <= digits <= 13:
            category = "NUMERO_FAX" if m.group("fax") else "NUMERO_TELEFONO"
            yield m.start("v"), m.end(), category, _P_LABELLED


def _text_dates(folded: str, win: list[tuple[int, int]]) -> Iterator[Candidate]:
    for m in _in(_DATE_TEXT, folded, win):
        end = m.end()
        while folded[end - 1] in " ./-":
            end -= 1
        yield m.start(), end, "FECHAS", _P_DATE


def _fields(folded: str, win: list[tuple[int, int]]) -> Iterator[Candidate]:
    for m in _in(_SEX, folded, win):
        yield m.start("v"), m.end("v"), "SEXO_SUJETO_ASISTENCIA", _P_LABELLED
    for m in _in(_AGE_LABEL, folded, win):
        yield m.start("m"), m.end("m"), "EDAD_SUJETO_ASISTENCIA", _P_LABELLED
    for m in _in(_PROFESSION, folded, win):
        value = m.group("v")
        if _key(value) not in lex.PROFESSIONS:  # "ama de casa" is one occupation
            value = value.split(" ")[0]
            if _key(value) not in lex.PROFESSIONS:
                continue
        yield m.start("v"), m.start("v") + len(value), "PROFESION", _P_LABELLED
    for m in _in(_OTHER_FIELD, folded, win):
        value = m.group("v")
        if value.split(" ")[-1] in {"de", "y", "con"}:
            value = value.rsplit(" ", 1)[0]
        yield m.start("v"), m.start("v") + len(value), "OTROS_SUJETO_ASISTENCIA", _P_LABELLED


def _cap_words(text: str, pos: int, limit: int, stop: frozenset[str]) -> int:
    """Return the end of the run of capitalised words and numbers starting at ``pos``.

    Lower-case particles may join the run but never end it; a full stop ends it
    unless it closes an abbreviation such as ``No.`` or ``Dr.``.
    """
    end = i = pos
    for _ in range(limit):
        m = _ORG_TOKEN.match(text, i)
        if not m:
            break
        word = m.group()
        k = _key(word)
        if word[0].islower() and k not in _ORG_PARTICLES and k != "NO":
            break
        if k in stop or k in lex.INSTITUTIONS:
            break
        if word[0].isdigit() and (len(word.split("-")[0]) > 3
                                  or _DATE_AHEAD.match(text, m.end())):
            break  # unit numbers are short; "2021" or "25/05" start a date or an identifier
        i = m.end()
        if k not in _ORG_PARTICLES:
            end = i
        if i < len(text) and text[i] == ".":
            if k not in _ABBREVIATIONS:
                break
            i += 1
            end = i if k != "NO" else end
        gap = _ORG_GAP.match(text, i)
        if not gap:
            break
        i = gap.end()
    return end


def _organisations(folded: str, text: str, win: list[tuple[int, int]]) -> Iterator[Candidate]:
    units = [(m.start(), m.end(), m.group("h").replace(" ", ""))
             for m in _in(_UNIT_ACRONYM, folded, win) if text[m.start()].isupper()]
    heads = [(m.start(), m.end(), m.group("h"))
             for m in _in(_HOSPITAL_HEAD, folded, win) if text[m.start()].isupper()]
    starts = sorted(s for s, _, _ in units + heads)
    for start, head_end, head in heads:
        gap = _ORG_GAP.match(text, head_end)
        end = max(head_end, _cap_words(text, gap.end(), 9, lex.ORG_STOP)) if gap else head_end
        if end == head_end and head in {"hospital", "clinica", "consultorio", "sanatorio"}:
            continue  # a bare head word names no place
        if any(start < s < end for s in starts):
            continue  # a form label before the unit's own name: "CLINICA UMF No. 7"
        category = "CENTRO_SALUD" if head in _HEALTH_CENTRE_HEADS else "HOSPITAL"
        yield start, end, category, _P_ORG
    for start, end, head in units:
        category = "CENTRO_SALUD" if head in _HEALTH_CENTRE_HEADS else "HOSPITAL"
        yield start, end, category, _P_ORG


def _addresses(folded: str, text: str, street: list[tuple[int, int]],
               area: list[tuple[int, int]]) -> Iterator[Candidate]:
    for m in _in(_STREET, folded, street):
        if not text[m.start()].isupper():
            continue
        end = _cap_words(text, m.end(), 7, lex.ORG_STOP)
        if end == m.end():
            continue
        n = _STREET_NUMBER.match(folded, end)
        if n and n.end() > end:
            end = n.end()
        yield m.start(), end, "CALLE", _P_ORG
    for m in _in(_ADDRESS_LABEL, folded, area):
        start, end = m.span("v")
        value = folded[start:end].rstrip(" .")
        yield start, start + len(value), "CALLE", _P_ORG - 5
    for m in _in(_AREA_CUE, folded, area):
        if m.end() >= len(text):
            continue
        end = _cap_words(text, m.end(), 5, lex.ORG_STOP)
        if end > m.end():
            yield m.end(), end, "TERRITORIO", _P_ORG
    for m in _in(_POSTCODE, folded, area):
        yield m.start("v"), m.end("v"), "TERRITORIO", _P_LABELLED


Token = tuple[int, int, str, str]  # start, end, word, key (upper case, no accents)


def _runs(text: str, keyed: str) -> Iterator[list[Token]]:
    """Yield runs of capitalised words as tokens."""
    for m in _CAP_RUN.finditer(text):
        start, end = m.span()
        if start and text[start - 1].isalnum():
            continue
        run = m.group()
        if end < len(text) and text[end].isalnum():  # the last word is part of a code: "SSA3"
            cut = max(run.rfind(" "), run.rfind("^"))
            if cut <= 0:
                continue
            run = run[:cut].rstrip(" ,^")
            end = start + len(run)
        if " " not in run and "^" not in run:  # one word, the commonest run
            if keyed[start:end] not in lex.CLINICAL_WORDS:
                yield [(start, end, run, keyed[start:end])]
            continue
        yield [(start + t.start(), start + t.end(), t.group(),
                keyed[start + t.start():start + t.end()]) for t in _WORD.finditer(run)]


def _gazetteer(folded: str, tokens: list[Token]) -> Iterator[Candidate]:
    """Places, countries, institutions and hospital groups from the word lists."""
    keys = [t[3] for t in tokens]
    n = len(tokens)
    i = 0
    while i < n:
        if keys[i] not in _GAZETTEER_FIRST:
            i += 1
            continue
        hit = None
        key = ""
        for j in range(i, min(n, i + 7)):
            key = keys[j] if j == i else f"{key} {keys[j]}"
            if key in _GAZETTEER:
                hit = j
            if key not in _GAZETTEER_PREFIXES:
                break
        if hit is None:
            i += 1
            continue
        key = " ".join(keys[i:hit + 1])
        category = _GAZETTEER[key]
        start, end = tokens[i][0], tokens[hit][1]
        if category == "TERRITORIO" and key in lex.AMBIGUOUS_PLACES and \
                not _PLACE_CUE.search(folded, max(0, start - 14), start):
            i = hit + 1
            continue
        priority = _P_GAZ_MULTI if hit > i else (
            _P_PLACE if category in {"TERRITORIO", "PAIS"} else _P_ORG)
        yield start, end, category, priority
        i = hit + 1


def _name_role(folded: str, start: int, end: int) -> str:
    before = folded[max(0, start - _CUE_WINDOW):start]
    words = re.findall(r"[a-z0-9]+", before)[-4:]
    role = "NOMBRE_SUJETO_ASISTENCIA"
    previous = ""
    for w in words:  # the nearest cue decides
        k = _key(w)
        if k in lex.STAFF_CUES:
            role = "NOMBRE_PERSONAL_SANITARIO"
        elif k in lex.FAMILY_CUES:
            role = "FAMILIARES_SUJETO_ASISTENCIA"
        elif k in _PATIENT_CUES and previous not in {"DEL", "AL", "DE"}:
            role = "NOMBRE_SUJETO_ASISTENCIA"  # not "responsable del paciente"
        previous = k
    if _STAFF_TRAILER.match(folded, end):
        role = "NOMBRE_PERSONAL_SANITARIO"
    elif (m := _FAMILY_TRAILER.match(folded, end)) and _key(m.group(1)) in lex.FAMILY_CUES:
        role = "FAMILIARES_SUJETO_ASISTENCIA"
    return role


def _names(text: str, folded: str, tokens: list[Token]) -> Iterator[Candidate]:
    """Names in one run of capitalised words: split at clinical words, then scored."""
    start, end = tokens[0][0], tokens[-1][1]
    if not any(t[3] in _NAME_WORDS for t in tokens) and "^" not in text[start:end] \
            and not _cued(folded, start) and not any(t[3].lower() in _NAME_CUES for t in tokens):
        return  # no known name, no cue: most capitalised runs stop here
    part: list[Token] = []
    parts = []
    for tok in tokens:
        k = tok[3]
        if tok[2][0].isupper() and k in lex.CLINICAL_WORDS and k not in lex.NAME_PARTICLES:
            if part:
                parts.append(part)
            part = []
        else:
            part.append(tok)
    if part:
        parts.append(part)
    for run in parts:
        while run and run[-1][3] in lex.NAME_PARTICLES:
            run = run[:-1]
        while run and run[0][3] in lex.NAME_PARTICLES:
            run = run[1:]
        if run:
            for piece in _split_commas(text, run):
                yield from _score_run(text, folded, piece)


def _split_commas(text: str, run: list[Token]) -> list[list[Token]]:
    parts: list[list[Token]] = [[run[0]]]
    for prev, tok in zip(run, run[1:], strict=False):
        if text[prev[1]:tok[0]] == ", ":
            parts.append([tok])
        else:
            parts[-1].append(tok)
    if len(parts) == 2 and _lexicon_hits(parts[0])[0] >= 1 and (
        _lexicon_hits(parts[1])[0] >= 1
        or (len(parts[0]) == 2 and len(parts[1]) <= 3 and text[run[0][0]:run[-1][1]].isupper())
    ):
        return [run]  # "PÉREZ LÓPEZ, MARÍA": one name written surname first
    return parts


def _lexicon_hits(run: list[Token]) -> tuple[int, int, int]:
    strong = weak = unknown = 0
    for _, _, _, k in run:
        if k in lex.NAME_PARTICLES:
            continue
        if k in lex.SURNAMES or (k in lex.GIVEN_NAMES and k not in lex.AMBIGUOUS_GIVEN):
            strong += 1
        elif k in lex.GIVEN_NAMES:
            weak += 1
        else:
            unknown += 1
    return strong, weak, unknown


def _score_run(text: str, folded: str, run: list[Token]) -> Iterator[Candidate]:
    start, end = run[0][0], run[-1][1]
    joined = " ".join(t[3] for t in run)
    if joined in _GAZETTEER:
        return
    strong, weak, unknown = _lexicon_hits(run)
    cued = _cued(folded, start)
    dicom_pn = "^" in text[start:end]
    if dicom_pn:  # FAMILY^GIVEN^MIDDLE: words after the last component are not the name
        last = max(i for i, t in enumerate(run) if "^" in text[t[1]:t[1] + 1]
                   or (i > 0 and "^" in text[run[i - 1][1]:t[0]]))
        run = run[:last + 3]
        end = run[-1][1]
    words = strong + weak + unknown
    if dicom_pn:
        accept, priority = True, _P_PN
    elif cued and words <= 6:
        accept, priority = any(len(t[2]) > 1 for t in run), _P_CUED
    elif strong + weak >= 2 and strong >= 1:
        accept, priority = unknown <= strong + weak, _P_NAME
    elif strong >= 1 and words >= 2:
        # one known name beside unknown capitalised words: "Juan Xicoténcatl"
        accept, priority = unknown <= 2 and not _all_caps_line(text, start), _P_NAME
    elif strong == 1 and words == 1:
        accept = run[0][3] in lex.GIVEN_NAMES and not run[0][2].isupper()
        priority = _P_NAME - 5
    else:
        accept, priority = False, 0
    if accept:
        if cued and words > 4 and not dicom_pn:
            end = run[min(len(run), 4) - 1][1]
        yield start, end, _name_role(folded, start, end), priority


def _cued(folded: str, start: int) -> bool:
    words = folded[max(0, start - _CUE_WINDOW):start].rstrip(" :\t\n").split()[-3:]
    return bool(words) and (
        words[-1] in _NAME_CUES or " ".join(words[-2:]) in _NAME_CUES
        or " ".join(words) in _NAME_CUES
    )


def _all_caps_line(text: str, pos: int) -> bool:
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    line = text[line_start:line_end if line_end >= 0 else len(text)]
    letters = [c for c in line if c.isalpha()]
    return bool(letters) and sum(c.isupper() for c in letters) > 0.8 * len(letters)


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
    if _OCR_DIGIT.search(text):  # "L0PEZ", "Xa1apa": read OCR digits in words as letters
        text = _OCR_DIGIT.sub(lambda m: "O" if m.group() == "0" else "l", text)
    folded = _view(text, _FOLD_BYTES)
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
        candidates.extend((m.start("v"), m.end("v"), "TERRITORIO", _P_PLACE)
                          for m in _STATE_ABBREVIATION.finditer(folded)
                          if text[m.start("v")].isupper())
    for tokens in _runs(text, _view(text, _KEY_BYTES)):
        candidates.extend(_gazetteer(folded, tokens))
        candidates.extend(_names(text, folded, tokens))
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
