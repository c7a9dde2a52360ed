"""Mexican-Spanish PHI in clinical text: per-category cases, kept clinical words, floors."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import pytest

from anonymizer.text_es import CATEGORIES, Span, find_phi, redact

ROOT = Path(__file__).resolve().parents[2]


def _found(text: str) -> set[tuple[str, str]]:
    return {(text[s.start:s.end], s.category) for s in find_phi(text)}


# (text, the exact span expected, its category)
CASES = [
    # names: two surnames, titles, DICOM PN, surname first, accents or not, relatives
    ("Paciente: María Guadalupe Hernández López, 45 años.",
     "María Guadalupe Hernández López", "NOMBRE_SUJETO_ASISTENCIA"),
    ("Se valora a Juan Pérez Gómez en consulta.", "Juan Pérez Gómez", "NOMBRE_SUJETO_ASISTENCIA"),
    ("PEREZ LOPEZ^JUAN CARLOS", "PEREZ LOPEZ^JUAN CARLOS", "NOMBRE_SUJETO_ASISTENCIA"),
    ("NOMBRE: GARCIA HERNANDEZ, MARIA JOSE", "GARCIA HERNANDEZ, MARIA JOSE",
     "NOMBRE_SUJETO_ASISTENCIA"),
    ("Sra. Xochiquetzal Tlatelpa recibe el resultado.", "Xochiquetzal Tlatelpa",
     "NOMBRE_SUJETO_ASISTENCIA"),
    ("Interpretó: Dra. Rocío Villaseñor Arreola", "Rocío Villaseñor Arreola",
     "NOMBRE_PERSONAL_SANITARIO"),
    ("Lic. Enf. Ana Cortés Ruiz tomó signos.", "Ana Cortés Ruiz", "NOMBRE_PERSONAL_SANITARIO"),
    ("Se informa a su esposa Rosa Martínez Luna.", "Rosa Martínez Luna",
     "FAMILIARES_SUJETO_ASISTENCIA"),
    # identifiers with check rules
    ("CURP GOLJ800101HDFNPN09 vigente", "GOLJ800101HDFNPN09", "ID_SUJETO_ASISTENCIA"),
    ("RFC: GODE561231GR8", "GODE561231GR8", "ID_SUJETO_ASISTENCIA"),
    ("NSS 12345678903", "12345678903", "ID_ASEGURAMIENTO"),
    ("afiliado 1234-56-7890-4", None, None),  # Luhn fails, no label: not an NSS
    ("clave de elector GMVLMR80070501M100", "GMVLMR80070501M100", "ID_SUJETO_ASISTENCIA"),
    ("Expediente: 4587123", "4587123", "ID_SUJETO_ASISTENCIA"),
    ("Folio 2021-000345 del estudio", "2021-000345", "ID_CONTACTO_ASISTENCIAL"),
    ("Accession: ACC20210303", "acc20210303", "ID_CONTACTO_ASISTENCIAL"),
    ("Céd. Prof. 7654321", "7654321", "ID_TITULACION_PERSONAL_SANITARIO"),
    ("Matrícula 99123456", "99123456", "ID_EMPLEO_PERSONAL_SANITARIO"),
    ("No. de serie: PJN784479H", "pjn784479h", "IDENTIF_DISPOSITIVOS_NRSERIE"),
    ("placas ABC-123-D", "abc-123-d", "IDENTIF_VEHICULOS_NRSERIE_PLACAS"),
    ("Huella dactilar: HD-8755746", "hd-8755746", "IDENTIF_BIOMETRICOS"),
    ("Beneficiario No. 1234567890", "1234567890", "NUMERO_BENEF_PLAN_SALUD"),
    ("Carpeta de investigación 2210044551", "2210044551", "OTRO_NUMERO_IDENTIF"),
    # contact
    ("Tel. (55) 1234-5678", "(55) 1234-5678", "NUMERO_TELEFONO"),
    ("llamar al +52 33 3615 4400", "+52 33 3615 4400", "NUMERO_TELEFONO"),
    ("Fax: 55 5627 6900", "55 5627 6900", "NUMERO_FAX"),
    ("correo juan.perez@gmail.com", "juan.perez@gmail.com", "CORREO_ELECTRONICO"),
    ("ver www.hospital.mx/resultados.", "www.hospital.mx/resultados", "URL_WEB"),
    ("estación 192.168.10.24", "192.168.10.24", "DIREC_PROT_INTERNET"),
    # dates and ages
    ("el 3 de marzo de 2021 se realizó", "3 de marzo de 2021", "FECHAS"),
    ("Fecha: 03/03/2021", "03/03/2021", "FECHAS"),
    ("desde marzo 2021", "marzo 2021", "FECHAS"),
    ("STUDY DATE 20210303", "20210303", "FECHAS"),
    ("Mujer de 92 años con disnea", "92 años", "EDAD_SUJETO_ASISTENCIA"),
    # places and organisations
    ("Calle Nogal 45 Int. 3, Col. Roma Norte", "Calle Nogal 45 Int. 3", "CALLE"),
    ("Calle Nogal 45 Int. 3, Col. Roma Norte", "Roma Norte", "TERRITORIO"),
    ("C.P. 06700", "06700", "TERRITORIO"),
    ("originaria de Puebla", "Puebla", "TERRITORIO"),
    ("nacida en Guatemala", "Guatemala", "PAIS"),
    ("Hospital General de Zona No. 1 del IMSS", "Hospital General de Zona No. 1", "HOSPITAL"),
    ("Hospital General de Zona No. 1 del IMSS", "IMSS", "INSTITUCION"),
    ("referida de UMF No. 28", "UMF No. 28", "CENTRO_SALUD"),
    ("en HGZ 1 urgencias", "HGZ 1", "HOSPITAL"),
    ("Centro Médico Nacional Siglo XXI", "Centro Médico Nacional Siglo XXI", "HOSPITAL"),
    # labelled attributes
    ("Sexo: Femenino", "Femenino", "SEXO_SUJETO_ASISTENCIA"),
    ("Ocupación: ama de casa", "ama de casa", "PROFESION"),
    ("Religión: Testigo de Jehová", "Testigo de Jehová", "OTROS_SUJETO_ASISTENCIA"),
    # OCR text: digits read for letters, capitals without accents
    ("NOMBRE: HERNANDEZ L0PEZ, MARIA", "HERNANDEZ L0PEZ, MARIA", "NOMBRE_SUJETO_ASISTENCIA"),
    ("originaria de Xa1apa", "Xa1apa", "TERRITORIO"),
    ("DR. JUAN RAMOS CED PR0F 7654321", "7654321", "ID_TITULACION_PERSONAL_SANITARIO"),
    # a DICOM PN inside a descriptor ends with its components
    ("OPERATOR RAMOS CHAVEZ^ALEJANDRO PROTOCOL TORAX", "RAMOS CHAVEZ^ALEJANDRO",
     "NOMBRE_PERSONAL_SANITARIO"),
    ("Lo acompaña su nieta Itzel Tzompantzi.", "Itzel Tzompantzi",
     "FAMILIARES_SUJETO_ASISTENCIA"),
    ("Sanatorio Durango del 25/05/2005 al 12-06-2005", "Sanatorio Durango", "HOSPITAL"),
    ("Abril Pérez López acude en abril 2021.", "Abril Pérez López", "NOMBRE_SUJETO_ASISTENCIA"),
]


@pytest.mark.parametrize(("text", "value", "category"), CASES)
def test_detects_each_category(text: str, value: str | None, category: str | None) -> None:
    found = find_phi(text)
    if value is None:
        assert found == []
        return
    folded = {(text[s.start:s.end].lower(), s.category) for s in found}
    assert (value.lower(), category) in folded, _found(text)


# clinical text that must come back unchanged (the shortest-span rule)
CLEAN = [
    "Campos pulmonares sin consolidación, neumonía descartada. Hígado de tamaño normal.",
    "Enfermedad de Parkinson y síndrome de Down. Signo de Murphy positivo.",
    "Dolores abdominales de 3 días. Luz intestinal conservada.",
    "Escala de Glasgow 15, Apgar 8/9. BI-RADS 4. Signo de Babinski ausente.",
    "Leucocitos 12500, plaquetas 250000, Hb 13.2 g/dL, TA 120/80 mmHg, FC 88.",
    "TAC CRANEO SIMPLE. RM COLUMNA LUMBAR T1 T2 STIR SAGITAL AXIAL.",
    "Paciente de 45 años con hipertensión arterial de 10 años de evolución.",
    "Se realiza USG de hígado y vías biliares en fase arterial.",
    "Conforme a la NOM-004-SSA3-2012 del expediente clínico. Secuencia T2W1 y HbA1c 7.1.",
    "Valoración por Cardiología y Medicina Interna. Escala de Braden 14, Norton 12.",
]


@pytest.mark.parametrize("text", CLEAN)
def test_keeps_clinical_text(text: str) -> None:
    assert find_phi(text) == [], _found(text)


def test_title_and_label_stay_outside_the_span() -> None:
    text = "Dr. Roberto Méndez Ruiz, Céd. Prof. 7654321"
    out, spans = redact(text)
    assert out == "Dr. [NOMBRE_PERSONAL_SANITARIO], Céd. Prof. [ID_TITULACION_PERSONAL_SANITARIO]"
    assert [s.category for s in spans] == ["NOMBRE_PERSONAL_SANITARIO",
                                           "ID_TITULACION_PERSONAL_SANITARIO"]


def test_redact_custom_replacement_and_offsets_refer_to_input() -> None:
    text = "Juan Pérez Gómez, Tel. 55 1234 5678."
    out, spans = redact(text, replacement=lambda s: "*" * (s.end - s.start))
    assert len(out) == len(text)
    assert "Juan" not in out and "1234" not in out
    assert all(out[s.start:s.end] == "*" * (s.end - s.start) for s in spans)


def test_spans_are_sorted_disjoint_and_typed() -> None:
    text = ("Paciente: María López Ruiz, CURP GOLJ800101HDFNPN09, 3 de marzo de 2021, "
            "Hospital Juárez de México, tel. 55 1234 5678")
    spans = find_phi(text)
    assert spans == sorted(spans)
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:], strict=False))
    assert all(s.category in CATEGORIES for s in spans)


def test_categories_are_meddocans_29() -> None:
    assert len(CATEGORIES) == 29 and len(set(CATEGORIES)) == 29
    assert {"NOMBRE_SUJETO_ASISTENCIA", "IDENTIF_BIOMETRICOS", "NUMERO_BENEF_PLAN_SALUD",
            "OTRO_NUMERO_IDENTIF", "OTROS_SUJETO_ASISTENCIA"} <= set(CATEGORIES)


def test_span_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Span(0, 1, "FECHAS").start = 2  # type: ignore[misc]


@pytest.mark.parametrize(("value", "error"), [(None, TypeError), (b"Juan", TypeError)])
def test_rejects_non_text(value: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        find_phi(value)  # type: ignore[arg-type]


def test_empty_text() -> None:
    assert find_phi("") == [] and redact("") == ("", [])


# --- floors on the held-out labelled set (tests/data/text_es/test.jsonl) ------------


def _eval_module():
    spec = importlib.util.spec_from_file_location("eval_text_es",
                                                  ROOT / "scripts" / "eval_text_es.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def test_scores() -> dict:
    ev = _eval_module()
    rows = ev.load("test")
    assert len(rows) >= 75
    return ev.score(rows)


def test_overall_recall_floor(test_scores: dict) -> None:
    p, r, f, n = test_scores["overlap"]["overall"]
    assert n >= 400
    assert r >= 0.95 and p >= 0.95


def test_redaction_recall_floor(test_scores: dict) -> None:
    # share of gold PHI characters that end up replaced, whatever the category
    assert test_scores["redaction"][1] >= 0.97


@pytest.mark.parametrize("category", ["NOMBRE_SUJETO_ASISTENCIA", "NOMBRE_PERSONAL_SANITARIO",
                                      "ID_SUJETO_ASISTENCIA", "ID_ASEGURAMIENTO", "FECHAS",
                                      "NUMERO_TELEFONO", "CORREO_ELECTRONICO", "CALLE"])
def test_key_category_recall_floor(test_scores: dict, category: str) -> None:
    assert test_scores["overlap"]["per_category"][category][1] >= 0.9
