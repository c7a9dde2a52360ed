"""Known-value redaction: values the file carries are found in its free text."""

from __future__ import annotations

import re

import pytest
from pydicom.dataset import Dataset

from anonymizer import known_values as kv
from anonymizer import text_es


def _donor() -> Dataset:
    ds = Dataset()
    ds.PatientName = "HERNÁNDEZ LÓPEZ^MARÍA GUADALUPE"
    ds.PatientID = "EXP-2023-004512"
    ds.PatientBirthDate = "19850307"
    ds.PatientTelephoneNumbers = "(55) 1234-5678"
    ds.PatientAddress = "Calle Encino 12, Col. Del Valle, C.P. 03100, CDMX"
    ds.PatientMotherBirthName = "Zúñiga^Rosario"
    ds.AccessionNumber = "ACC778812"
    ds.InstitutionName = "Hospital Ángeles Tlalnepantla"
    request = Dataset()
    request.ReferringPhysicianName = "Campos^Ana"
    nested = Dataset()
    nested.PatientID = "9981234"
    ds.OtherPatientIDsSequence = [nested]
    ds.RequestAttributesSequence = [request]
    return ds


KNOWN = kv.collect(_donor())


@pytest.mark.parametrize(("text", "expected"), [
    ("Marcas de HERNÁNDEZ LÓPEZ", "Marcas de [NOMBRE_SUJETO_ASISTENCIA]"),
    ("Segmentación de hernandez lopez, maria", "Segmentación de [NOMBRE_SUJETO_ASISTENCIA]"),
    ("estudio de Guadalupe", "estudio de [NOMBRE_SUJETO_ASISTENCIA]"),
    ("acompañada por rosario zuniga", "acompañada por [FAMILIARES_SUJETO_ASISTENCIA]"),
    ("Exp 2023 004512", "[ID_SUJETO_ASISTENCIA]"),
    ("registro 004512", "registro [ID_SUJETO_ASISTENCIA]"),
    ("otro id 9981234.", "otro id [ID_SUJETO_ASISTENCIA]."),
    ("acc778812", "[ID_CONTACTO_ASISTENCIAL]"),
    ("tel. 55 1234 5678", "tel. [NUMERO_TELEFONO]"),
    ("llamar al 5512345678", "llamar al [NUMERO_TELEFONO]"),
    ("nacida el 7 de marzo de 1985", "nacida el [FECHAS]"),
    ("FN 07/03/85", "FN [FECHAS]"),
    ("FN 1985-03-07", "FN [FECHAS]"),
    ("vive en Col. del Valle, cp 03100", "vive en [CALLE]"),
    ("referida del HOSPITAL ANGELES TLALNEPANTLA", "referida del [HOSPITAL]"),
    ("Dra. Campos", "Dra. [NOMBRE_PERSONAL_SANITARIO]"),
    ("de la maría", "de la [NOMBRE_SUJETO_ASISTENCIA]"),
])
def test_known_values_are_replaced_whatever_their_case_accents_or_separators(text, expected):
    out, spans = kv.redact(text, KNOWN)
    assert out == expected
    assert spans and all(s.category in text_es.CATEGORIES for s in spans)


@pytest.mark.parametrize("text", [
    "campos pulmonares limpios",  # a surname that is a clinical word, written lower case
    "lopezito",  # not a whole word
    "marzo de 1985",  # not the birth date
    "serie 1004512",  # a longer digit run is another number
    "el valle del río",  # one word of an address is not the address
    "de la mesa",  # particles of the names ("de", "la") are not names
])
def test_text_without_the_values_is_kept(text):
    assert kv.redact(text, KNOWN) == (text, [])


def test_ideographic_and_phonetic_name_groups_are_collected():
    ds = Dataset()
    ds.PatientName = "Yamada^Tarou=山田^太郎=やまだ^たろう"
    known = kv.collect(ds)
    out, _ = kv.redact("所見: 山田太郎 さん; Sr. YAMADA", known)
    assert "山田" not in out and "太郎" not in out and "YAMADA" not in out


def test_repr_shows_counts_never_values():
    assert "HERN" not in repr(KNOWN) and "004512" not in repr(KNOWN)
    assert repr(kv.KnownValues()) == "KnownValues(names=0, ids=0, phrases=0, dates=0)"


def test_nothing_known_changes_nothing():
    assert kv.redact("Marcas de HERNÁNDEZ LÓPEZ", kv.KnownValues()) == (
        "Marcas de HERNÁNDEZ LÓPEZ", [])


def test_merge_adds_the_donors_other_values():
    other = Dataset()
    other.PatientBirthName = "Quiroga^Itzel"
    merged = kv.collect(_donor(), kv.collect(other))
    assert kv.redact("Itzel", merged)[0] == "[NOMBRE_SUJETO_ASISTENCIA]"
    assert kv.redact("Itzel", KNOWN)[0] == "Itzel"


def _curp_only(text: str):
    """A rule redactor that knows only CURPs: the known values must do the rest."""
    spans = [text_es.Span(m.start(), m.end(), "ID_SUJETO_ASISTENCIA")
             for m in re.finditer(r"[A-Z]{4}\d{6}[A-Z0-9]{8}", text)]
    return re.sub(r"[A-Z]{4}\d{6}[A-Z0-9]{8}", "[CURP]", text), spans


def test_clean_chains_the_rule_redactor_with_offsets_in_the_original():
    text = "Marcas de HERNÁNDEZ LÓPEZ, CURP HELM850307MDFRPR09 tel 55 1234 5678"
    out, spans = kv.clean(text, KNOWN, _curp_only)
    assert out == ("Marcas de [NOMBRE_SUJETO_ASISTENCIA], CURP [CURP] tel [NUMERO_TELEFONO]")
    assert [(text[s.start:s.end], s.category) for s in spans] == [
        ("HERNÁNDEZ", "NOMBRE_SUJETO_ASISTENCIA"), ("LÓPEZ", "NOMBRE_SUJETO_ASISTENCIA"),
        ("HELM850307MDFRPR09", "ID_SUJETO_ASISTENCIA"), ("55 1234 5678", "NUMERO_TELEFONO"),
    ]


def test_what_the_rule_redactor_found_is_not_counted_twice():
    text = "Marcas de HERNÁNDEZ LÓPEZ"
    out, spans = kv.clean(text, KNOWN, text_es.redact)
    assert out == "[NOMBRE_SUJETO_ASISTENCIA]" and len(spans) == 1


@pytest.mark.parametrize(("vr", "text"), [
    ("SH", "HERNÁNDEZ LÓPEZ"),
    ("SH", "Rx de Guadalupe"),
    ("LO", "Marcas de HERNÁNDEZ LÓPEZ MARÍA GUADALUPE con expediente EXP-2023-004512 y mamá"),
])
def test_replacements_fit_the_vr_length(vr, text):
    out, spans = kv.clean(text, KNOWN, text_es.redact, max_length=kv.MAX_LENGTH[vr])
    assert spans
    assert len(out) <= kv.MAX_LENGTH[vr]
    for value in ("HERN", "LÓPEZ", "GUADALUPE", "004512"):
        assert value not in out


def test_placeholders_are_not_found_again():
    once, _ = kv.clean("Marcas de HERNÁNDEZ LÓPEZ", KNOWN, text_es.redact)
    assert kv.clean(once, KNOWN, text_es.redact) == (once, [])


def test_a_name_sent_as_un_is_collected():
    """A PN written with VR UN (explicit VR, unknown to the sender) is still a name."""
    from pydicom.dataelem import RawDataElement
    from pydicom.tag import Tag

    ds = Dataset()
    ds._dict[0x00081070] = RawDataElement(Tag(0x00081070), "UN", 14, b"ZUMAYA^OSVALDO", 0,
                                          False, True)  # OperatorsName
    known = kv.collect(ds)
    assert kv.redact("lo vio el técnico Osvaldo Zumaya", known)[0] == \
        "lo vio el técnico [NOMBRE_PERSONAL_SANITARIO]"
    # A second call with the same text and values is answered from the cache, unchanged.
    assert kv.clean("Zumaya", known)[0] == "[NOMBRE_PERSONAL_SANITARIO]"
    assert kv.clean("Zumaya", known)[0] == "[NOMBRE_PERSONAL_SANITARIO]"
