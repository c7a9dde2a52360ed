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


# --- rule tables ----------------------------------------------------------------------

# Priorities: higher wins an overlap; equal priority, the longer span wins.
_P_CHECKED = 100  # format with a check rule (CURP, RFC, NSS, e-mail, URL)
_P_LABELLED = 90  # value after a field label ("Expediente: 123")
_P_PN = 85  # DICOM person names (APELLIDO^NOMBRE)
_P_CUED = 75  # names after "Nombre:", "Dr." and the like
_P_ORG = 80  # hospitals, units, streets
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
#: Each value must hold digits; see ``_LABEL_VALUE``.
_ID_LABELS: tuple[tuple[str, str], ...] = (
    ("ID_SUJETO_ASISTENCIA",
     r"(?:no\.?|num\.?|numero)?\s*(?:de\s+)?expediente|exp\.|nhc|n\.h\.c\.|historia clinica"
     r"|(?:no\.?\s*(?:de\s+)?)?registro|mrn|id\s+(?:del\s+)?paciente|patient\s+id|pid|id"
     r"|curp|r\.?f\.?c\.?|clave de elector|credencial(?:\s+(?:de elector|ine|ife))?"
     r"|ine|ife|cic|ocr|pasaporte"),
    ("ID_CONTACTO_ASISTENCIAL",
     r"folio|episodio|(?:no\.?\s*(?:de\s+)?)?cuenta|accession(?:\s+(?:no\.?|number))?"
     r"|(?:no\.?\s*(?:de\s+)?)?acceso|(?:no\.?\s*(?:de\s+)?)?estudio|estudio\s+no\.?"
     r"|(?:no\.?\s*(?:de\s+)?)?orden|(?:no\.?\s*(?:de\s+)?)?solicitud|(?:no\.?\s*(?:de\s+)?)?"
     r"ingreso|admision|numero de atencion|cita"),
    ("ID_ASEGURAMIENTO",
     r"nss|n\.s\.s\.?|(?:no\.?|num\.?|numero)?\s*(?:de\s+)?seguridad social"
     r"|(?:no\.?\s*(?:de\s+)?)?afiliacion|(?:no\.?\s*(?:de\s+)?)?poliza"),
    ("NUMERO_BENEF_PLAN_SALUD",
     r"(?:no\.?\s*(?:de\s+)?)?beneficiario|folio (?:insabi|seguro popular|bienestar)"
     r"|agregado medico"),
    ("ID_TITULACION_PERSONAL_SANITARIO",
     r"cedula(?:\s+prof(?:esional|\.)?)?(?:\s+de\s+especialidad)?|ced\.?\s*prof\.?|ced\."
     r"|c\.?\s*prof\.?|ced\.?\s*esp\.?"),
    ("ID_EMPLEO_PERSONAL_SANITARIO",
     r"matricula|mat\.|(?:no\.?|numero|clave)\s+de\s+(?:empleado|trabajador)"),
    ("IDENTIF_VEHICULOS_NRSERIE_PLACAS",
     r"placas?(?:\s+(?:vehicular(?:es)?|del vehiculo))?|niv|vin"),
    ("IDENTIF_DISPOSITIVOS_NRSERIE",
     r"(?:no\.?|num\.?|numero)\s*(?:de\s+)?serie|serie\s+(?:no\.?|del (?:equipo|dispositivo))"
     r"|s/n:|sn:|serial(?:\s+number)?|device serial|(?:con\s+)?serie"),
    ("IDENTIF_BIOMETRICOS",
     r"huella(?:\s+dactilar)?(?:\s+registrada)?|(?:id\s+)?biometrico|plantilla biometrica"),
    ("OTRO_NUMERO_IDENTIF",
     r"(?:no\.?\s*(?:de\s+)?|numero de\s+)?referencia|folio del ministerio publico"
     r"|carpeta de investigacion|averiguacion previa|acta|oficio"),
)

#: The value after a label: one code, or digit groups split by spaces or hyphens.
_LABEL_VALUE = (
    r"(?P<v>(?=[\w/.-]*\d)[a-z0-9][\w/.-]*(?:[ -]\d[\d-]*)*)"
)
_LABEL_GLUE = r"\s*(?:[:#]|n[o°º]\.?|num\.?|numero)?\s*[:#]?\s*"

_PHONE_LABEL = re.compile(
    r"(?<![a-z])(?:(?P<fax>fax)|tel(?:efono)?s?|tel\.|cel(?:ular)?|movil|whats?app|contacto"
    r"|lada)\b\.?(?:\s+(?:casa|trabajo|oficina|particular|de contacto|celular))?"
    r"\s*(?:no\.?)?\s*[:#]?\s*"
    r"(?P<v>\+?\(?\d[\d ().-]{5,18}\d)(?:\s*(?:ext|ext\.|extension)\s*\d{1,5})?"
)
_PHONE = re.compile(
    r"(?<![\w+/.-])(?P<v>(?:\+\s?52[\s.-]?(?:1[\s.-]?)?|0[14]4[\s.-]?|01[\s.-]?)?"
    r"(?:\(\d{2,3}\)|\d{2,3})[\s.-]?\d{3,4}[\s.-]?\d{4})(?![\w/]|[.-]\d)"
)

_DATE_PATTERNS: tuple[str, ...] = (
    # 3 de marzo de 2021 / lunes 3 de marzo / 03-mar-2021 / 3 mar. 21
    rf"(?:{_WEEKDAY}\s*,?\s*)?\b\d{{1,2}}\s*(?:de\s+|[/.-]\s*)?{_MONTH}\b\.?"
    rf"(?:\s*(?:de(?:l)?\s+|[/.-]\s*|\s)(?:\d{{4}}|'?\d{{2}})(?!\d))?",
    # marzo de 2021 / marzo 2021 / mar-2021
    rf"\b{_MONTH}\b\.?\s*(?:de(?:l)?\s+|[/.-]\s*)?(?:19|20)\d{{2}}(?!\d)",
    # 03/03/2021, 3-3-21, 03.03.2021
    r"(?<![\d/.-])\d{1,2}\s?[/.-]\s?\d{1,2}\s?[/.-]\s?(?:\d{4}|\d{2})(?![\d/]|[.-]\d)",
    # 2021-03-03, 2021/03/03
    r"(?<![\d/.-])(?:19|20)\d{2}[/.-]\d{1,2}[/.-]\d{1,2}(?![\d/]|[.-]\d)",
    # DICOM DA / DT: 20210303, 20210303121500(.000)
    r"(?<![\d.])(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?:\d{4,6}(?:\.\d+)?)?"
    r"(?![\d.]\d)",
)
_DATES = re.compile("|".join(f"(?:{p})" for p in _DATE_PATTERNS))

_AGE = re.compile(
    r"(?:(?<![\d.,])(?P<n>9\d|1[01]\d)\s*(?:anos|ano|a\.(?!\w)|a(?![\w.])))"
    r"|(?:edad\s*:?\s*(?P<m>(?:9\d|1[01]\d)(?:\s*(?:anos|ano|a\.(?!\w)|a(?![\w.])))?)"
    r"(?![\d.,]))"
)

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+")
_IPV4 = re.compile(r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)"
                   r"(?![\d]|\.\d)")
_CURP = re.compile(r"\b[A-Z][AEIOUX][A-Z]{2}\d{6}[HMX][A-Z]{5}[A-Z0-9]\d\b")
_RFC = re.compile(r"\b[A-ZÑ&]{3,4}\d{6}(?:[A-Z0-9]{3})?\b")
_ELECTOR = re.compile(r"\b[A-Z]{6}\d{8}[HM]\d{3}\b")
_NSS = re.compile(r"(?<![\d-])\d{2}[ -]?\d{2}[ -]?\d{2}[ -]?\d{4}[ -]?\d(?![\d]|[ -]\d)")
_UID = re.compile(r"(?<![\d.])\d+(?:\.\d+){4,}(?![\d])")
_LONG_NUMBER = re.compile(r"(?<![\w.,/-])(?:[A-Za-z]{1,4}[-]?)?\d{7,}(?![\w,/]|[.-]\d)")

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
_STREET_HEAD = (
    r"calle|c\.|av\.|avda\.?|avenida|calz\.|calzada|blvd\.?|boulevard|bulevar|privada|priv\."
    r"|cerrada|cda\.|callejon|andador|prolongacion|prol\.|circuito|cto\.|retorno|carretera"
    r"|camino|paseo|periferico|eje(?:\s+vial)?|viaducto|diagonal|manzana|mz\.?"
)
_STREET = re.compile(rf"(?<![a-z])(?:{_STREET_HEAD})\s+")
_STREET_NUMBER = re.compile(
    r"\s*,?\s*(?:(?:no\.?|num\.?|numero|n[°º]\.?|#)\s*)?(?:\d+[a-z]?(?:-[a-z0-9]+)?|s/n)"
    r"(?:\s*,?\s*(?:int\.?|interior|depto\.?|dpto\.?|edif\.?|piso|lt\.?|lote|mz\.?)\s*[\w-]+)*",
)
_ADDRESS_LABEL = re.compile(
    r"(?:domicilio|direccion|dir\.)\s*(?:particular)?\s*:\s*(?P<v>[^,\n;]*\d[^,\n;]*)"
)
_AREA_CUE = re.compile(
    r"(?<![a-z])(?:col\.|col(?= [A-Z])|colonia|fracc\.|fraccionamiento|barrio|unidad habitacional|u\.\s?h\."
    r"|ejido|localidad|delegacion|alcaldia|mpio\.|municipio(?:\s+de)?|poblacion|residencia)"
    r"\s*:?\s*"
)
_POSTCODE = re.compile(r"(?<![a-z])(?:c\.\s?p\.|cp|codigo postal)\s*:?\s*(?P<v>\d{5})(?!\d)")

# Hospitals and health centres: head word plus a name; acronyms need a number.
_HOSPITAL_HEAD = re.compile(
    r"(?<![a-z])(?P<h>hospital|clinica|sanatorio|centro medico|instituto nacional|unidad medica"
    r"|umae|policlinica|nosocomio|hospital general|centro de salud|unidad de medicina familiar"
    r"|clinica de medicina familiar|consultorio|centro de especialidades|jurisdiccion sanitaria)"
    r"(?![a-z])"
)
_UNIT_ACRONYM = re.compile(
    r"(?<![a-z])(?P<h>hgz(?:\s?/\s?mf|mf)?|hgr|hgo|hgp|hg|he|umaa|umae|hr|hgs|hp|umf|cmf|cs|csu"
    r"|c\.s\.|uneme)\.?\s*(?:no\.?|num\.?|n[°º]\.?|#)?\s*(?P<n>\d{1,3})(?!\d)"
)
_HEALTH_CENTRE_HEADS = frozenset(
    {"centro de salud", "unidad de medicina familiar", "clinica de medicina familiar",
     "consultorio", "umf", "cmf", "cs", "csu", "c.s.", "uneme", "jurisdiccion sanitaria"}
)

# Cues before a run of capitalised words that make it a name even with no list hit.
_NAME_CUE = re.compile(
    r"(?:\b(?:dra?|sra?|srita|lic|enf|ing|mtr[ao]|psic|nutr|qfb|tr|mc)\.\s*"
    r"|\b(?:doctora?|senora?|senorita|don|dona|paciente|pac\.|nombre(?:\s+del\s+paciente)?"
    r"|nombre\(s\)|apellidos?|familiar|responsable|acompanante|tutora?|esposo|esposa"
    r"|madre|padre|hij[oa]|herman[oa]|medico(?:\s+(?:tratante|radiologo|solicitante))?"
    r"|radiolog[oa]|enfermer[oa]|interpreto|elaboro|reviso|valido|autorizo|atendio"
    r"|a nombre de|firma|referido por|solicitado por|tecnico|residente)\s*:?\s*)$"
)
_CUE_WINDOW = 40
_STAFF_TRAILER = re.compile(r"^\s*,?\s*\(?(?:ced|cedula|mat\.|matricula|r[1-4]\b|mpss)")

# A capitalised word (also all caps) or a lower-case name particle.
_WORD = re.compile(r"[^\W\d_][^\W\d_'’]*(?:['’-][^\W\d_]+)*")
_PARTICLES_LOWER = frozenset({"de", "del", "la", "las", "los", "y"})
_RUN_GAPS = frozenset({" ", "^", "^^", "  ", ", "})

#: Words that end a hospital or street name even when capitalised.
_ORG_STOP = frozenset(
    _key(w) for w in (
        "Paciente Nombre Fecha Servicio Estudio Médico Dr Dra Edad Sexo Expediente Folio "
        "Tel Teléfono Col Colonia CP Diagnóstico Hallazgos Impresión Se El La En Con Por "
        "Para Ingresa Acude Refiere Cama Piso Sala Turno Nota"
    ).split()
)


# --- detectors ------------------------------------------------------------------------

Candidate = tuple[int, int, str, int]  # start, end, category, priority


def _labelled(folded: str) -> Iterator[Candidate]:
    for category, labels in _ID_LABELS:
        for m in _LABELLED_RES[category].finditer(folded):
            start, end = m.span("v")
            value = folded[start:end].rstrip(".-/")
            end = start + len(value)
            if sum(c.isdigit() for c in value) >= 3 and len(value) >= 4:
                yield start, end, category, _P_LABELLED


_LABELLED_RES = {
    category: re.compile(rf"(?<![a-z0-9])(?:{labels})(?![a-z]){_LABEL_GLUE}{_LABEL_VALUE}")
    for category, labels in _ID_LABELS
}


def _checked_ids(text: str) -> Iterator[Candidate]:
    for m in _CURP.finditer(text):
        if _curp.is_valid(m.group()):
            yield m.start(), m.end(), "ID_SUJETO_ASISTENCIA", _P_CHECKED
    for m in _RFC.finditer(text):
        if _rfc.is_valid(m.group()):
            yield m.start(), m.end(), "ID_SUJETO_ASISTENCIA", _P_CHECKED
    for m in _ELECTOR.finditer(text):
        yield m.start(), m.end(), "ID_SUJETO_ASISTENCIA", _P_CHECKED
    for m in _NSS.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if luhn.is_valid(digits):
            yield m.start(), m.end(), "ID_ASEGURAMIENTO", _P_CHECKED - 5
    for m in _EMAIL.finditer(text):
        yield m.start(), m.end(), "CORREO_ELECTRONICO", _P_CHECKED
    for m in _URL.finditer(text):
        end = m.end()
        while end > m.start() and text[end - 1] in ".,;:)]":
            end -= 1
        yield m.start(), end, "URL_WEB", _P_CHECKED
    for m in _IPV4.finditer(text):
        yield m.start(), m.end(), "DIREC_PROT_INTERNET", _P_CHECKED
    for m in _UID.finditer(text):
        yield m.start(), m.end(), "OTRO_NUMERO_IDENTIF", _P_GENERIC
    for m in _LONG_NUMBER.finditer(text):
        yield m.start(), m.end(), "OTRO_NUMERO_IDENTIF", _P_GENERIC


def _phones(folded: str) -> Iterator[Candidate]:
    for m in _PHONE_LABEL.finditer(folded):
        digits = sum(c.isdigit() for c in m.group("v"))
        if 7 <= digits <= 13:
            category = "NUMERO_FAX" if m.group("fax") else "NUMERO_TELEFONO"
            yield m.start("v"), m.end(), category, _P_LABELLED
    for m in _PHONE.finditer(folded):
        digits = sum(c.isdigit() for c in m.group("v"))
        if digits < 10:
            continue
        before = folded[max(0, m.start() - 25):m.start()]
        category = "NUMERO_FAX" if "fax" in before else "NUMERO_TELEFONO"
        yield m.start(), m.end(), category, _P_DATE


def _valid_numeric_date(s: str) -> bool:
    parts = [int(p) for p in re.findall(r"\d+", s)]
    if len(parts) != 3:
        return True
    if parts[0] > 31:  # year first
        parts = [parts[2], parts[1], parts[0]]
    day, month = parts[0], parts[1]
    if month > 12:  # month/day order
        day, month = month, day
    return 1 <= day <= 31 and 1 <= month <= 12


def _dates(folded: str) -> Iterator[Candidate]:
    for m in _DATES.finditer(folded):
        s = m.group()
        if s[0].isdigit() and not re.search("[a-z]", s) and not _valid_numeric_date(s):
            continue
        end = m.end()
        while folded[end - 1] in " ./-":
            end -= 1
        yield m.start(), end, "FECHAS", _P_DATE


def _ages(folded: str) -> Iterator[Candidate]:
    for m in _AGE.finditer(folded):
        if m.group("n"):
            yield m.start(), m.end(), "EDAD_SUJETO_ASISTENCIA", _P_LABELLED
        else:
            yield m.start("m"), m.end("m"), "EDAD_SUJETO_ASISTENCIA", _P_LABELLED


def _fields(folded: str, text: str) -> Iterator[Candidate]:
    for m in _SEX.finditer(folded):
        yield m.start("v"), m.end("v"), "SEXO_SUJETO_ASISTENCIA", _P_LABELLED
    for m in _PROFESSION.finditer(folded):
        value = m.group("v")
        if _key(value) not in lex.PROFESSIONS:  # "ama de casa" is one occupation
            value = value.split(" ")[0]
            if _key(value) not in lex.PROFESSIONS:
                continue
        yield m.start("v"), m.start("v") + len(value), "PROFESION", _P_LABELLED
    for m in _OTHER_FIELD.finditer(folded):
        value = m.group("v")
        if value.split(" ")[-1] in {"de", "y", "con"}:
            value = value.rsplit(" ", 1)[0]
        yield m.start("v"), m.start("v") + len(value), "OTROS_SUJETO_ASISTENCIA", _P_LABELLED
    for m in _POSTCODE.finditer(folded):
        yield m.start("v"), m.end("v"), "TERRITORIO", _P_LABELLED


_ORG_TOKEN = re.compile(r"[^\W\d_][\w'’-]*|\d+[A-Za-z]?|n[°º]|#")
_ORG_GAP = re.compile(r"[ \t]{1,2}")
#: Abbreviations whose dot does not end a hospital or street name.
_ABBREVIATIONS = frozenset({"NO", "NUM", "DR", "DRA", "GRAL", "LIC", "STA", "STO", "AV", "PROF",
                            "ING", "SN", "MZ", "LT", "INT", "COL"})
_ORG_PARTICLES = frozenset({"DE", "DEL", "LA", "LAS", "LOS", "Y", "EL"})


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


def _organisations(folded: str, text: str) -> Iterator[Candidate]:
    for m in _HOSPITAL_HEAD.finditer(folded):
        if not text[m.start()].isupper():
            continue
        head = m.group("h")
        gap = _ORG_GAP.match(text, m.end())
        end = max(m.end(), _cap_words(text, gap.end(), 9, _ORG_STOP)) if gap else m.end()
        if end == m.end() and head in {"hospital", "clinica", "consultorio", "sanatorio"}:
            continue  # a bare head word names no place
        category = "CENTRO_SALUD" if head in _HEALTH_CENTRE_HEADS else "HOSPITAL"
        yield m.start(), end, category, _P_ORG
    for m in _UNIT_ACRONYM.finditer(folded):
        if not text[m.start()].isupper():
            continue
        head = m.group("h").replace(" ", "")
        category = "CENTRO_SALUD" if head in _HEALTH_CENTRE_HEADS else "HOSPITAL"
        yield m.start(), m.end(), category, _P_ORG
    for m in _STREET.finditer(folded):
        if not text[m.start()].isupper():
            continue
        end = _cap_words(text, m.end(), 7, _ORG_STOP)
        if end == m.end():
            continue
        n = _STREET_NUMBER.match(folded, end)
        if n and n.end() > end:
            end = n.end()
        yield m.start(), end, "CALLE", _P_ORG
    for m in _ADDRESS_LABEL.finditer(folded):
        start, end = m.span("v")
        value = folded[start:end].rstrip(" .")
        yield start, start + len(value), "CALLE", _P_ORG - 5
    for m in _AREA_CUE.finditer(folded):
        if m.end() >= len(text):
            continue
        end = _cap_words(text, m.end(), 5, _ORG_STOP)
        if end > m.end():
            yield m.start() + len(m.group()), end, "TERRITORIO", _P_ORG


def _tokens(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]


def _gazetteer(text: str, folded: str, tokens: list[tuple[int, int, str]]) -> Iterator[Candidate]:
    """Places, countries, institutions and hospital groups from the word lists."""
    n = len(tokens)
    i = 0
    while i < n:
        s0, _, w0 = tokens[i]
        if not w0[0].isupper():
            i += 1
            continue
        hit = None
        key = ""
        for j in range(i, min(n, i + 7)):
            if j > i:
                gap = text[tokens[j - 1][1]:tokens[j][0]]
                if gap not in (" ", ". ", "."):
                    break
                key += "." if gap == "." else (". " if gap == ". " else " ")
            key += _key(tokens[j][2])
            for table, category in _GAZETTEERS:
                if key in table:
                    hit = (j, category, key)
        if hit is None:
            i += 1
            continue
        j, category, key = hit
        end = tokens[j][1]
        if end < len(text) and text[end] == "." and key + "." in lex.STATE_ABBREVIATIONS:
            end += 1
        before = folded[max(0, s0 - 14):s0]
        if category == "TERRITORIO" and key in lex.AMBIGUOUS_PLACES:
            if not re.search(r"(?:\ben|mpio\.|municipio de|edo\.|estado de|ciudad de|,)\s*$",
                             before):
                i = j + 1
                continue
        if category == "TERRITORIO" and key in lex.STATE_ABBREVIATIONS and key not in lex.PLACES:
            if not before.rstrip().endswith(","):
                i = j + 1
                continue
        yield s0, end, category, _P_PLACE if category in {"TERRITORIO", "PAIS"} else _P_ORG
        i = j + 1


_GAZETTEERS: tuple[tuple[frozenset[str], str], ...] = (
    (lex.COUNTRIES, "PAIS"),
    (lex.PLACES, "TERRITORIO"),
    (lex.STATE_ABBREVIATIONS, "TERRITORIO"),
    (lex.INSTITUTIONS, "INSTITUCION"),
    (lex.HOSPITAL_NAMES, "HOSPITAL"),
)


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
    after = folded[end:end + 20]
    if _STAFF_TRAILER.match(after):
        role = "NOMBRE_PERSONAL_SANITARIO"
    elif (m := _FAMILY_TRAILER.match(after)) and _key(m.group(1)) in lex.FAMILY_CUES:
        role = "FAMILIARES_SUJETO_ASISTENCIA"
    return role


_PATIENT_CUES = frozenset({"PACIENTE", "PAC", "NOMBRE", "SR", "SRA", "SRITA", "DON", "DONA"})
_FAMILY_TRAILER = re.compile(r"\s*[,(]\s*(?:su\s+)?([a-z]+)")


def _names(text: str, folded: str, tokens: list[tuple[int, int, str]]) -> Iterator[Candidate]:
    """Runs of capitalised words that hold names from the lists or follow a name cue."""
    runs: list[list[tuple[int, int, str]]] = []
    run: list[tuple[int, int, str]] = []
    for tok in tokens:
        s, e, w = tok
        capital = w[0].isupper()
        particle = w in _PARTICLES_LOWER or (w.isupper() and _key(w) in lex.NAME_PARTICLES)
        k = _key(w)
        if (not capital and not particle) or (capital and k in lex.CLINICAL_WORDS
                                               and k not in lex.NAME_PARTICLES):
            if run:
                runs.append(run)
            run = []
            continue
        if run and text[run[-1][1]:s] not in _RUN_GAPS:
            runs.append(run)
            run = []
        if not run and particle and not capital:
            continue
        run.append(tok)
    if run:
        runs.append(run)

    for run in runs:
        # trim particles at both ends; a comma may only join surnames and given names
        while run and _key(run[-1][2]) in lex.NAME_PARTICLES:
            run = run[:-1]
        while run and _key(run[0][2]) in lex.NAME_PARTICLES:
            run = run[1:]
        if not run:
            continue
        for part in _split_commas(text, run):
            yield from _score_run(text, folded, part)


def _split_commas(text: str, run: list[tuple[int, int, str]]) -> list[list[tuple[int, int, str]]]:
    parts: list[list[tuple[int, int, str]]] = [[run[0]]]
    for prev, tok in zip(run, run[1:], strict=False):
        if text[prev[1]:tok[0]] == ", ":
            parts.append([tok])
        else:
            parts[-1].append(tok)
    if len(parts) == 2 and all(_lexicon_hits(p)[0] >= 1 for p in parts):
        return [run]  # "PÉREZ LÓPEZ, MARÍA": one name written surname first
    return parts


def _lexicon_hits(run: list[tuple[int, int, str]]) -> tuple[int, int, int]:
    strong = weak = unknown = 0
    for _, _, w in run:
        k = _key(w)
        if k in lex.NAME_PARTICLES:
            continue
        if k in lex.SURNAMES or (k in lex.GIVEN_NAMES and k not in lex.AMBIGUOUS_GIVEN):
            strong += 1
        elif k in lex.GIVEN_NAMES:
            weak += 1
        else:
            unknown += 1
    return strong, weak, unknown


def _score_run(text: str, folded: str, run: list[tuple[int, int, str]]) -> Iterator[Candidate]:
    start, end = run[0][0], run[-1][1]
    joined = " ".join(_key(w) for _, _, w in run)
    if joined in lex.PLACES or joined in lex.COUNTRIES or joined in lex.INSTITUTIONS:
        return
    strong, weak, unknown = _lexicon_hits(run)
    cued = bool(_NAME_CUE.search(folded[max(0, start - _CUE_WINDOW):start]))
    dicom_pn = "^" in text[start:end]
    words = strong + weak + unknown
    if dicom_pn:
        accept, priority = True, _P_PN
    elif cued and words <= 6:
        accept, priority = any(len(w) > 1 for _, _, w in run), _P_CUED
    elif strong + weak >= 2 and strong >= 1:
        accept, priority = unknown <= strong + weak, _P_NAME
    elif strong >= 1 and words >= 2:
        # one known name beside unknown capitalised words: "Juan Xicoténcatl"
        accept, priority = unknown <= 2 and not _all_caps_line(text, start), _P_NAME
    elif strong == 1 and words == 1:
        k = _key(run[0][2])
        accept = k in lex.GIVEN_NAMES and not run[0][2].isupper()
        priority = _P_NAME - 5
    else:
        accept, priority = False, 0
    if accept:
        if cued and words > 4 and not dicom_pn:
            end = run[min(len(run), 4) - 1][1]
        yield start, end, _name_role(folded, start, end), priority


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
    folded = text.translate(_FOLD)
    tokens = _tokens(text)
    candidates: list[Candidate] = []
    for found in (
        _checked_ids(text),
        _labelled(folded),
        _phones(folded),
        _dates(folded),
        _ages(folded),
        _fields(folded, text),
        _organisations(folded, text),
        _gazetteer(text, folded, tokens),
        _names(text, folded, tokens),
    ):
        candidates.extend(found)
    return _resolve(candidates, len(text))


def _resolve(candidates: list[Candidate], size: int) -> list[Span]:
    """Keep the best candidates that do not overlap: priority first, then length."""
    candidates.sort(key=lambda c: (-c[3], -(c[1] - c[0]), c[0]))
    taken = bytearray(size)  # 1 where a kept span already lies
    spans: list[Span] = []
    for start, end, category, _ in candidates:
        if end <= start or 1 in taken[start:end]:
            continue
        taken[start:end] = b"\x01" * (end - start)
        spans.append(Span(start, end, category))
    spans.sort()
    return spans


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
