"""Rule tables for Mexican-Spanish PHI detection (used by :mod:`anonymizer.text_es`).

Data, beside the word lists of :mod:`anonymizer._es_lexicon`: rule priorities, the
regular expressions each detector runs (over the folded view of the text: lower case, no
accents, see :func:`anonymizer.fold.fold`, unless noted) and the key words that open the
windows keyword rules run in. The detectors that use them are in :mod:`anonymizer.text_es`.
"""

from __future__ import annotations

import re

from anonymizer import _es_lexicon as lex

#: 0 or 1 between letters, or ending a word of letters: an OCR misreading of O or l.
#: Codes keep their digits: in a CURP or RFC a 0/1 always has a digit beside it.
OCR_DIGIT = re.compile(r"(?<=[^\W\d_])[01](?=[^\W\d_])|(?<=[^\W\d_]{2})[01](?![\w])")

#: A span found by a detector: start, end, MEDDOCAN category, priority (below).
Candidate = tuple[int, int, str, int]

# Priorities: higher wins an overlap; equal priority, the longer span wins.
P_CHECKED = 100  # format with a check rule (CURP, RFC, NSS, e-mail, URL)
P_LABELLED = 90  # value after a field label ("Expediente: 123")
P_PN = 85  # DICOM person names (APELLIDO^NOMBRE)
P_ORG = 80  # hospitals, units, streets
P_GAZ_MULTI = 79  # multi-word place or institution from the lists
P_CUED = 75  # names after "Nombre:", "Dr." and the like
P_DATE = 70
P_NAME = 60
P_PLACE = 55
P_GENERIC = 40  # long numbers with no label

MONTH = (
    r"(?:enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre"
    r"|noviembre|diciembre|ene|feb|mar|abr|may|jun|jul|ago|sept?|set|oct|nov|dic)"
)
WEEKDAY = r"(?:lunes|martes|miercoles|jueves|viernes|sabado|domingo)"

#: Field labels (folded: lower case, no accents) and the type of the value after them.
#: Each value must hold at least three digits; see ``LABEL_VALUE``.
ID_LABELS: tuple[tuple[str, str], ...] = (
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
LABEL_VALUE = r"(?P<v>(?=[\w/.-]*\d)[a-z0-9][\w/.-]*(?:[ -]\d[\d-]*)*)"
LABEL_GLUE = r"\s*(?:[:#]|n[o°º]\.?|num\.?|numero)?\s*[:#]?\s*"
LABELS = "|".join(f"(?P<c{i}>{labels})" for i, (_, labels) in enumerate(ID_LABELS))
LABELLED = re.compile(rf"(?<![a-z0-9])(?:{LABELS})(?![a-z]){LABEL_GLUE}{LABEL_VALUE}")

PHONE_LABEL = re.compile(
    r"(?<![a-z])(?:(?P<fax>fax)|tel(?:efono)?s?|tel\.|cel(?:ular)?|movil|whats?app|contacto"
    r"|lada)\b\.?(?:\s+(?:casa|trabajo|oficina|particular|de contacto|celular))?"
    r"\s*(?:no\.?)?\s*[:#]?\s*(?:al\s+)?"
    r"(?P<v>\+?\(?\d[\d ().-]{5,18}\d)(?:\s*(?:ext|ext\.|extension)\s*\d{1,5})?"
)
# Bare phone numbers; the character before is checked in code (faster than a lookbehind).
PHONE = re.compile(
    r"(?:\+\s?52[\s.-]?(?:1[\s.-]?)?|0[14]4[\s.-]?|01[\s.-]?)?"
    r"(?:\(\d{2,3}\)|\d{2,3})[\s.-]?\d{3,4}[\s.-]?\d{4}(?![\w/]|[.-]\d)"
)

# Dates written with a month name; looked for only near a month word.
DATE_TEXT = re.compile(
    rf"(?:{WEEKDAY}\s*,?\s*)?(?<![\d])\d{{1,2}}\s*(?:de\s+|[/.-]\s*)?{MONTH}(?![a-z])\.?"
    rf"(?:\s*(?:de(?:l)?\s+|[/.-]\s*|\s)(?:\d{{4}}|'?\d{{2}})(?!\d))?"
    rf"|(?<![a-z]){MONTH}(?![a-z])\.?\s*(?:de(?:l)?\s+|[/.-]\s*)?(?:19|20)\d{{2}}(?!\d)"
)
# Dates in digits: 03/03/2021, 3-3-21, 2021-03-03, DICOM DA/DT 20210303[121500[.000]].
DATE_NUM = re.compile(
    r"\d{1,2}\s?[/.-]\s?\d{1,2}\s?[/.-]\s?(?:\d{4}|\d{2})(?![\d/]|[.-]\d)"
    r"|(?:19|20)\d{2}(?:[/.-]\d{1,2}[/.-]\d{1,2}(?![\d/]|[.-]\d)"
    r"|(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?:\d{4,6}(?:\.\d+)?)?(?![\d.]\d|\d))"
)

AGE = re.compile(r"(?:9\d|1[01]\d)\s*(?:anos|ano|a\.(?!\w)|a(?![\w.]))")
AGE_LABEL = re.compile(
    r"edad\s*:?\s*(?P<m>(?:9\d|1[01]\d)(?:\s*(?:anos|ano|a\.(?!\w)|a(?![\w.])))?)(?![\d.,])"
)

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
URL = re.compile(r"(?:https?://|www\.)[^\s<>\"']+")
IPV4 = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\d]|\.\d)")
#: Upper-case codes with digits; told apart by shape below (CURP, RFC, clave de elector).
CODE = re.compile(r"[A-ZÑ&]{3,6}\d{6,8}[A-Z0-9]{0,8}")
CURP = re.compile(r"[A-Z][AEIOUX][A-Z]{2}\d{6}[HMX][A-Z]{5}[A-Z0-9]\d")
RFC = re.compile(r"[A-ZÑ&]{3,4}\d{6}(?:[A-Z0-9]{3})?")
ELECTOR = re.compile(r"[A-Z]{6}\d{8}[HM]\d{3}")
NSS = re.compile(r"\d{2}[ -]?\d{2}[ -]?\d{2}[ -]?\d{4}[ -]?\d(?![\d]|[ -]\d)")
UID = re.compile(r"\d+(?:\.\d+){4,}(?![\d])")
LONG_NUMBER = re.compile(r"\d{7,}(?![\w,/]|[.-]\d)")
NUMERIC_RUN = re.compile(r"\d[\d ()./:-]{4,}")
CODE_PREFIX = re.compile(r"[A-Za-z]{1,4}-?$")

SEX = re.compile(
    r"(?:sexo|genero)\s*:?\s*(?P<v>masculino|femenino|hombre|mujer|varon|[mfh])(?![a-z])"
)
#: Labelled quasi-identifiers of NOM-004 forms (OTROS_SUJETO_ASISTENCIA).
OTHER_FIELD = re.compile(
    r"(?:religion|lengua indigena|lengua materna|grupo etnico|etnia|pueblo indigena)\s*:\s*"
    r"(?P<v>[^\W\d_]+(?: de [^\W\d_]+| [^\W\d_]+)?)"
)
PROFESSION = re.compile(
    r"(?:ocupacion|profesion|oficio|se dedica a(?:l)?|trabaja como|labora como"
    r"|de profesion|empleo)\s*:?\s*(?:(?:el|la|los|las)\s+)?"
    r"(?P<v>[a-z]+(?: (?:de|del|la|en) [a-z]+| [a-z]+)?)"
)

# Streets: a head word, the street's name, and its number (or "S/N").
STREET = re.compile(
    r"(?<![a-z])(?:calle|c\.|av\.|avda\.?|avenida|calz\.|calzada|blvd\.?|boulevard|bulevar"
    r"|privada|priv\.|cerrada|cda\.|callejon|andador|prolongacion|prol\.|circuito|cto\."
    r"|retorno|carretera|camino|paseo|periferico|eje(?:\s+vial)?|viaducto|diagonal|manzana"
    r"|mz\.?)\s+"
)
STREET_NUMBER = re.compile(
    r"\s*,?\s*(?:(?:no\.?|num\.?|numero|n[°º]\.?|#)\s*)?(?:\d+[a-z]?(?:-[a-z0-9]+)?|s/n)"
    r"(?:\s*,?\s*(?:int\.?|interior|depto\.?|dpto\.?|edif\.?|piso|lt\.?|lote|mz\.?)\s*[\w-]+)*",
)
ADDRESS_LABEL = re.compile(
    r"(?:domicilio|direccion|dir\.)\s*(?:particular)?\s*:\s*(?P<v>[^,\n;]*\d[^,\n;]*)"
)
AREA_CUE = re.compile(
    r"(?<![a-z])(?:col\.|col(?= )|colonia|fracc\.|fraccionamiento|barrio|unidad habitacional"
    r"|u\.\s?h\.|ejido|localidad|delegacion|alcaldia|mpio\.|municipio(?:\s+de)?|poblacion"
    r"|residencia)\s*:?\s*"
)
POSTCODE = re.compile(r"(?<![a-z])(?:c\.\s?p\.|cp|codigo postal)\s*:?\s*(?P<v>\d{5})(?!\d)")

# Hospitals and health centres: head word plus a name; acronyms need a number.
HOSPITAL_HEAD = re.compile(
    r"(?<![a-z])(?P<h>hospital|clinica de medicina familiar|clinica|sanatorio|centro medico"
    r"|instituto nacional|unidad medica|umae|policlinica|nosocomio|centro de salud"
    r"|unidad de medicina familiar|consultorio|centro de especialidades"
    r"|jurisdiccion sanitaria)(?![a-z])"
)
UNIT_ACRONYM = re.compile(
    r"(?<![a-z])(?P<h>hgz(?:\s?/\s?mf|mf)?|hgr|hgo|hgp|hg|he|umaa|umae|hr|hgs|hp|umf|cmf|cs|csu"
    r"|c\.s\.|uneme)\.?\s*(?:no\.?|num\.?|n[°º]\.?|#)?\s*(?P<n>\d{1,3})(?!\d)"
)
HEALTH_CENTRE_HEADS = frozenset(
    {"centro de salud", "unidad de medicina familiar", "clinica de medicina familiar",
     "consultorio", "umf", "cmf", "cs", "csu", "c.s.", "uneme", "jurisdiccion sanitaria"}
)
STATE_ABBREVIATION = re.compile(
    r",\s*(?P<v>(?:" + "|".join(
        sorted((re.escape(a.lower()).replace(r"\ ", r"\s?") + r"\.?"
                for a in lex.STATE_ABBREVIATIONS), key=len, reverse=True)
    ) + r"))(?![a-z])"
)

#: Key words that announce each keyword-driven rule (folded). Rules run only in a
#: window around these words, found in one pass, which keeps long texts fast.
ANCHORS: dict[str, str] = {
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


def trie_pattern(words: set[str]) -> str:
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


ANCHOR_FAMILIES: dict[str, frozenset[str]] = {}
for _family, _words in ANCHORS.items():
    for _w in _words.split():
        ANCHOR_FAMILIES[_w] = ANCHOR_FAMILIES.get(_w, frozenset()) | {_family}
ANCHOR = re.compile(rf"(?=[a-z])\b{trie_pattern(set(ANCHOR_FAMILIES))}(?![a-z])")
WINDOW_BEFORE, WINDOW_AFTER = 30, 100

# Words just before a run of capitalised words that make it a name with no list hit
# (folded; the last one, two or three words before the run, trailing ":" dropped).
NAME_CUES = frozenset(c.lower() for c in lex.NAME_CUES | lex.FAMILY_CUES)  # folded
NAME_WORDS = lex.SURNAMES | lex.GIVEN_NAMES
CUE_WINDOW = 40
STAFF_TRAILER = re.compile(r"\s*,?\s*\(?(?:ced|cedula|mat\.|matricula|r[1-4]\b|mpss)")
FAMILY_TRAILER = re.compile(r"\s*[,(]\s*(?:su\s+)?([a-z]+)")
PATIENT_CUES = frozenset({"PACIENTE", "PAC", "NOMBRE", "SR", "SRA", "SRITA", "DON", "DONA"})

# Runs of capitalised words (names, places, institutions), joined by single spaces, the
# DICOM PN separator "^", ", " or lower-case particles ("María de la Luz").
UPPER = "A-ZÁÉÍÓÚÜÑÀÈÌÒÙ"
CAP_WORD = rf"[{UPPER}][^\W\d_]*(?:['’-][^\W\d_]+)*"
CAP_RUN = re.compile(
    rf"{CAP_WORD}(?:(?: {{1,2}}|\^{{1,4}}|, )(?:(?:de|del|la|las|los|y) )*{CAP_WORD})*"
)
WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")

ORG_TOKEN = re.compile(r"[Ss]/[Nn]|[^\W\d_][\w'’-]*|\d+[A-Za-z]?(?:-[A-Za-z]{1,2})?|n[°º]|#")
DATE_AHEAD = re.compile(r"[/.:-]\d")
ORG_GAP = re.compile(r"[ \t]{1,2}")
#: Abbreviations whose dot does not end a hospital or street name.
ABBREVIATIONS = frozenset({"NO", "NUM", "DR", "DRA", "GRAL", "LIC", "STA", "STO", "AV", "PROF",
                           "ING", "SN", "MZ", "LT", "INT", "COL"})
ORG_PARTICLES = frozenset({"DE", "DEL", "LA", "LAS", "LOS", "Y", "EL"})

#: Word-list entries (key form) and their category, for places and institutions.
GAZETTEER: dict[str, str] = {}
for _table, _category in (
    (lex.HOSPITAL_NAMES, "HOSPITAL"),
    (lex.INSTITUTIONS, "INSTITUCION"),
    (lex.PLACES, "TERRITORIO"),
    (lex.COUNTRIES, "PAIS"),
):
    for _entry in _table:
        GAZETTEER[_entry] = _category
GAZETTEER_PREFIXES = frozenset(
    " ".join(e.split(" ")[:n]) for e in GAZETTEER for n in range(1, e.count(" ") + 1)
)
GAZETTEER_FIRST = frozenset(e.split(" ")[0] for e in GAZETTEER)
PLACE_CUE = re.compile(r"(?:\ben|mpio\.|municipio de|edo\.|estado de|ciudad de|,)\s*$")

del _family, _words, _w, _table, _category, _entry
