"""Which burned-in lines are clinical annotations that may stay unmasked.

A line stays only when all of these hold (anything else is masked):

- the recognizer read it with a score of at least :data:`KEEP_MIN_SCORE`;
- the caller's check (the Spanish detector and the file's known values, see
  :func:`anonymizer.dicom.pixels.clean_pixels`) finds nothing personal in it;
- every word of it is a measurement, a unit, a setting or a marker: a number of at most
  four integer digits (ids are longer) that is not a year (1900-2099: a date whose
  separators the recognizer dropped), or a term of :data:`VOCABULARY` (abbreviations of
  ultrasound biometry and settings, CT dose and technique, MR sequence parameters,
  orientation markers, Spanish anatomical planes); at least one is a term; and it holds
  no date or time.

The vocabulary is the annotation language of scanners' screens, not names: a word not in
it (a surname the name lists do not know, a hospital) makes the line personal. The
default is to mask: a wrong keep costs a leak, a wrong mask only an annotation.
"""

from __future__ import annotations

import re
import unicodedata

#: Minimum recognizer score (0-1) of a line that may be kept.
KEEP_MIN_SCORE = 0.80

#: Terms of scanner annotations (folded: upper case, no accents).
_TERMS = """
BPD DBP HC AC FL HL EFW PFE GA EG CRL LCC CCN ILA AFI BCF FCF FHR FC LMP FUM EDD FPP
TIS TIB TIC MI MHZ HZ KHZ DB GAN GAIN G PROF DEPTH DIST DYN DR PRF WF CF PW CW VEL VOL
ML CC MM CM M S MS SEC FREQ FRQ FR FPS ZOOM X THI HARM PWR MAP PERSIST FOCUS ANG ANGLE SV
RI PI PSV EDV VTI HR BPM LPM LVEF EF IVS LVPW LVIDD LVIDS TAPSE AREA CIRC DIAM
KV KVP MA MAS CTDIVOL CTDI DLP MGY MGYCM SSDE PITCH ROT SCAN SERIE SERIES SE IM IMG
IMAGEN CORTE SLICE SL THK TH KERNEL FOV WL WW C W L TR TE TI FA ETL NEX NSA BW MATRIX
R D I A P H F AP PA LAT LAO RAO OBL SUP INF ANT POST IZQ DER
TOTAL EXAM EVENT TIPO TYPE HELICAL AXIAL TOPO SCOUT LOCALIZER DOSE DOSIS PHANTOM BODY
HEAD CUERPO CABEZA MIN SEM DIAS TRANSVERSAL SAGITAL CORONAL LONGITUDINAL
"""
VOCABULARY = frozenset(_TERMS.split())

_DATE = re.compile(r"\d{1,4}\s*[/\-.]\s*\d{1,2}\s*[/\-.]\s*\d{2,4}|\d{1,2}:\d{2}")
_PIECE = re.compile(r"[A-Z]+|\d+(?:[.,]\d+)?")


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text.upper())
                   if not unicodedata.combining(c))


def clinical_words(text: str) -> bool:
    """Return True when every piece of ``text`` is a short number or a vocabulary term."""
    folded = _fold(text)
    if _DATE.search(folded):
        return False
    pieces = _PIECE.findall(folded)
    if not any(p[0].isalpha() for p in pieces):
        return False
    for p in pieces:
        if p[0].isdigit():
            whole = p.split(".")[0].split(",")[0]
            if len(whole) > 4 or (len(whole) == 4 and 1900 <= int(whole) <= 2099):
                return False
        elif p not in VOCABULARY:
            return False
    return True


def keep(text: str, score: float, personal: bool) -> bool:
    """Return True when a read line may stay unmasked (see the module docstring).

    ``personal`` is the caller's verdict (Spanish detector, known values) on ``text``.
    """
    return score >= KEEP_MIN_SCORE and not personal and clinical_words(text)
