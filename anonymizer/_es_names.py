"""Capitalised runs in Mexican-Spanish text: person names, places and institutions.

Runs of capitalised words are scored against the word lists of :mod:`anonymizer._es_lexicon`
and the cues of :mod:`anonymizer._es_rules` (``Dr.``, ``Nombre:``, ``su hija``); used by
:func:`anonymizer.text_es.find_phi`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from anonymizer import _es_lexicon as lex
from anonymizer import _es_rules as rules
from anonymizer._es_rules import Candidate
from anonymizer.fold import key

Token = tuple[int, int, str, str]  # start, end, word, key (upper case, no accents)
# Particles that open a compound surname (De la Cruz, Del Valle, De los Santos).
_SURNAME_PREFIXES = frozenset({"DE", "DEL", "DE LA", "DE LAS", "DE LOS"})


def runs(text: str, keyed: str) -> Iterator[list[Token]]:
    """Yield runs of capitalised words as tokens."""
    for m in rules.CAP_RUN.finditer(text):
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
                keyed[start + t.start():start + t.end()]) for t in rules.WORD.finditer(run)]


def gazetteer(folded: str, tokens: list[Token]) -> Iterator[Candidate]:
    """Places, countries, institutions and hospital groups from the word lists."""
    keys = [t[3] for t in tokens]
    n = len(tokens)
    i = 0
    while i < n:
        if keys[i] not in rules.GAZETTEER_FIRST:
            i += 1
            continue
        hit = None
        key = ""
        for j in range(i, min(n, i + 7)):
            key = keys[j] if j == i else f"{key} {keys[j]}"
            if key in rules.GAZETTEER:
                hit = j
            if key not in rules.GAZETTEER_PREFIXES:
                break
        if hit is None:
            i += 1
            continue
        key = " ".join(keys[i:hit + 1])
        category = rules.GAZETTEER[key]
        start, end = tokens[i][0], tokens[hit][1]
        if category == "TERRITORIO" and key in lex.AMBIGUOUS_PLACES and \
                not rules.PLACE_CUE.search(folded, max(0, start - 14), start):
            i = hit + 1
            continue
        priority = rules.P_GAZ_MULTI if hit > i else (
            rules.P_PLACE if category in {"TERRITORIO", "PAIS"} else rules.P_ORG)
        yield start, end, category, priority
        i = hit + 1


def _name_role(folded: str, start: int, end: int) -> str:
    before = folded[max(0, start - rules.CUE_WINDOW):start]
    words = re.findall(r"[a-z0-9]+", before)[-4:]
    role = "NOMBRE_SUJETO_ASISTENCIA"
    previous = ""
    for w in words:  # the nearest cue decides
        k = key(w)
        if k in lex.STAFF_CUES:
            role = "NOMBRE_PERSONAL_SANITARIO"
        elif k in lex.FAMILY_CUES:
            role = "FAMILIARES_SUJETO_ASISTENCIA"
        elif k in rules.PATIENT_CUES and previous not in {"DEL", "AL", "DE"}:
            role = "NOMBRE_SUJETO_ASISTENCIA"  # not "responsable del paciente"
        previous = k
    if rules.STAFF_TRAILER.match(folded, end):
        role = "NOMBRE_PERSONAL_SANITARIO"
    elif (m := rules.FAMILY_TRAILER.match(folded, end)) and key(m.group(1)) in lex.FAMILY_CUES:
        role = "FAMILIARES_SUJETO_ASISTENCIA"
    return role


def names(text: str, folded: str, tokens: list[Token]) -> Iterator[Candidate]:
    """Names in one run of capitalised words: split at clinical words, then scored."""
    start, end = tokens[0][0], tokens[-1][1]
    if not any(t[3] in rules.NAME_WORDS for t in tokens) and "^" not in text[start:end] \
            and not _cued(folded, start) \
            and not any(t[3].lower() in rules.NAME_CUES for t in tokens):
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
        lead = 0
        while lead < len(run) and run[lead][3] in lex.NAME_PARTICLES:
            lead += 1
        # "DE LA CRUZ MENDOZA": particles before a surname are part of it, else not a name.
        if not (lead < len(run) and run[lead][3] in lex.SURNAMES
                and " ".join(t[3] for t in run[:lead]) in _SURNAME_PREFIXES):
            run = run[lead:]
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
    if joined in rules.GAZETTEER:
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
        accept, priority = True, rules.P_PN
    elif cued and words <= 6:
        accept, priority = any(len(t[2]) > 1 for t in run), rules.P_CUED
    elif strong + weak >= 2 and strong >= 1:
        accept, priority = unknown <= strong + weak, rules.P_NAME
    elif strong >= 1 and words >= 2:
        # one known name beside unknown capitalised words: "Juan Xicoténcatl"
        accept, priority = unknown <= 2 and not _all_caps_line(text, start), rules.P_NAME
    elif strong == 1 and words == 1:
        accept = run[0][3] in lex.GIVEN_NAMES and not run[0][2].isupper()
        priority = rules.P_NAME - 5
    else:
        accept, priority = False, 0
    if accept:
        if cued and words > 4 and not dicom_pn:
            end = run[min(len(run), 4) - 1][1]
        yield start, end, _name_role(folded, start, end), priority


def _cued(folded: str, start: int) -> bool:
    words = folded[max(0, start - rules.CUE_WINDOW):start].rstrip(" :\t\n").split()[-3:]
    return bool(words) and (
        words[-1] in rules.NAME_CUES or " ".join(words[-2:]) in rules.NAME_CUES
        or " ".join(words) in rules.NAME_CUES
    )


def _all_caps_line(text: str, pos: int) -> bool:
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    line = text[line_start:line_end if line_end >= 0 else len(text)]
    letters = [c for c in line if c.isalpha()]
    return bool(letters) and sum(c.isupper() for c in letters) > 0.8 * len(letters)
