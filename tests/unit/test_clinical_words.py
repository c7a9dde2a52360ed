"""Clinical words next to names stay: the shortest span that covers the name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from anonymizer import _es_lexicon as lex
from anonymizer import text_es

DATA = Path(__file__).resolve().parents[2] / "anonymizer" / "data"


@pytest.mark.parametrize(("text", "kept", "gone"), [
    ("RM CRANEO CONTROL HERNANDEZ GARCIA", "RM CRANEO CONTROL", "HERNANDEZ GARCIA"),
    ("ESTUDIOS EXTERNOS LOPEZ MARTINEZ", "ESTUDIOS EXTERNOS", "LOPEZ MARTINEZ"),
    ("TC TORAX SIMPLE JUAN PEREZ", "TC TORAX SIMPLE", "JUAN PEREZ"),
    ("US DOPPLER VENOSO DERECHO MARIA RAMIREZ", "VENOSO DERECHO", "MARIA RAMIREZ"),
])
def test_clinical_words_next_to_names_stay(text, kept, gone):
    clean, spans = text_es.redact(text)
    assert kept in clean and gone not in clean
    assert len(spans) == 1


def test_the_vocabulary_comes_from_its_sources_and_holds_no_name():
    source = json.loads((DATA / "clinical_vocab.source.json").read_text(encoding="utf-8"))
    assert {s["package"] for s in source["sources"]} == {"cie", "pydicom"}
    assert len(lex.CLINICAL_VOCABULARY) > 10_000
    assert not lex.CLINICAL_VOCABULARY & (lex.GIVEN_NAMES | lex.SURNAMES)
    assert {"CONTROL", "EXTERNOS", "SIMPLE", "CONTRASTE", "DERECHO"} <= lex.CLINICAL_WORDS
    assert "HONDURAS" not in lex.CLINICAL_VOCABULARY  # a country stays a candidate


def test_compound_surnames_keep_their_particles():
    clean, _ = text_es.redact("RM COLUMNA LUMBAR SIMPLE DE LA CRUZ MENDOZA")
    assert clean == "RM COLUMNA LUMBAR SIMPLE [NOMBRE_SUJETO_ASISTENCIA]"
    clean, _ = text_es.redact("FRACTURA DE LA CADERA")  # "de la" before a clinical word
    assert clean == "FRACTURA DE LA CADERA"


def test_known_compound_surnames_and_ma_are_one_name():
    from pydicom.dataset import Dataset

    from anonymizer import known_values

    ds = Dataset()
    ds.PatientName = "ESPINOSA DE LOS MONTEROS GIL^MA. DE LOURDES"
    known = known_values.collect(ds)
    clean, _ = known_values.redact("LOCALIZADOR ESPINOSA DE LOS MONTEROS GIL, MA. DE "
                                   "LOURDES", known)
    assert clean == "LOCALIZADOR [NOMBRE_SUJETO_ASISTENCIA]"
