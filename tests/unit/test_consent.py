"""client.consent: versioned consent forms, pinned by hash, covering every required section."""

from __future__ import annotations

import hashlib
import re
import unicodedata

import pytest

from client import consent

# The published forms and their SHA-256. A changed text must be a new file with a new
# version (the ledger keeps the hash of what each donor accepted): never edit a row here.
PUBLISHED = {
    ("consent-general", "1"):
        "feb12566ca067c92a23c1972a8638731a59fd451fae39ea17bdcd8277b15344f",
}


@pytest.mark.parametrize(("key", "sha256"), PUBLISHED.items())
def test_published_forms_are_unchanged(key, sha256):
    form = consent.load(*key)
    path = consent.FORMS_DIR / form.file_name
    assert form.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert form.sha256 == sha256, f"{form.file_name} changed: publish it as a new version"


def test_every_form_file_is_published():
    assert {(f.form_id, f.version) for f in consent.available()} == set(PUBLISHED)


def test_load_default_and_latest():
    form = consent.load()
    assert (form.form_id, form.version) == ("consent-general", "1")
    assert form.title == "Formulario de consentimiento para la donación de datos clínicos"
    assert consent.latest() == form
    assert form.text not in repr(form)


def test_ids_fit_the_contract():
    # chaincode/contract/validate.go: formId is an id, formVersion a short code.
    for form in consent.available():
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]{0,63}", form.form_id)
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,15}", form.version)


@pytest.mark.parametrize(("form_id", "version"), [
    ("consent-general", "2"), ("otro", "1"), ("../consent/consent-general", "1"),
    ("consent-general", "1/../1"), ("consent-general", "0"),
])
def test_unknown_forms(form_id, version):
    with pytest.raises(consent.UnknownForm):
        consent.load(form_id, version)


def test_available_orders_versions_as_numbers_and_skips_other_files(tmp_path):
    for name in ("f-v2.md", "f-v10.md", "f-v1.md", "README.md", "f-v1.md.bak", "g-v3.md"):
        (tmp_path / name).write_text(f"# {name}\n")
    forms = consent.available(folder=tmp_path)
    assert [(f.form_id, f.version) for f in forms] == [("f", "1"), ("f", "2"), ("f", "10"),
                                                       ("g", "3")]
    assert consent.latest("f", folder=tmp_path).version == "10"
    assert consent.load("f", "2", folder=tmp_path).title == "f-v2.md"


def test_hash_is_of_the_exact_bytes(tmp_path):
    (tmp_path / "f-v1.md").write_bytes("# Título\n".encode())
    (tmp_path / "f-v2.md").write_bytes("# Título\r\n".encode())
    one, two = consent.load("f", "1", folder=tmp_path), consent.load("f", "2", folder=tmp_path)
    assert one.sha256 == hashlib.sha256("# Título\n".encode()).hexdigest()
    assert one.sha256 != two.sha256


@pytest.mark.parametrize("form", consent.available(), ids=lambda f: f.file_name)
def test_text_is_clean_utf8(form):
    raw = (consent.FORMS_DIR / form.file_name).read_bytes()
    assert b"\r" not in raw and raw.endswith(b"\n") and not raw.startswith(b"\xef\xbb\xbf")
    assert unicodedata.normalize("NFC", form.text) == form.text
    for bad in ("Ã", "Â", "\ufffd", "TODO", "XXX", "{", "}"):
        assert bad not in form.text
    assert "sólo" not in form.text.lower()  # RAE: "solo" without the accent


# Each required section, with the words that show it is covered (all must appear).
SECTIONS = {
    "responsable": ["responsable de sus datos personales", "aviso de privacidad",
                    "universidad que administra la biblioteca"],
    "finalidades": ["inteligencia artificial", "docencia", "investigación",
                    "comité de ética"],
    "uso comercial aparte": ["uso comercial: no", "fines comerciales", "decisión aparte"],
    "datos": ["dicom", "papel", "escanean", "grupo de edad", "datos personales sensibles"],
    "desidentificación": ["desidentifica", "curp", "número de seguridad social",
                          "ps3.15", "original junto a la versión desidentificada", "cifrados"],
    "conservación": ["120 meses", "10 años"],
    "régimen legal": [
        "ley general de protección de datos personales en posesión de sujetos obligados",
        "(lgpdppso)",
        "ley federal de protección de datos personales en posesión de los particulares",
        "(lfpdppp)",
        "ley general de salud",
    ],
    "revocación": ["revocar su consentimiento en cualquier paso, antes de que sus datos queden "
                   "resguardados en la biblioteca", "se borran", "destruye la llave",
                   "comprobante de borrado"],
    "arco": ["**acceso**", "**rectificación**", "**cancelación**", "**oposición**",
             "cómo ejercerlos", "referencia de su donación"],
    "menores": ["menor de 18 años", "madre", "padre", "tutor", "patria potestad"],
    "registro compartido": ["registro compartido", "no hay datos personales", "sha-256",
                            "huella digital de este formulario"],
    "qr": ["código qr", "no muestra sus datos clínicos", "anterior deja de funcionar",
           "no lo comparta"],
    "decisiones": ["[ ] acepto", "firma"],
}


@pytest.mark.parametrize("section", SECTIONS)
def test_general_form_covers(section):
    text = " ".join(consent.load().text.lower().split())  # the text is wrapped
    missing = [w for w in SECTIONS[section] if w not in text]
    assert not missing, f"section {section}: missing {missing}"


def test_general_form_headings_are_numbered_in_order():
    headings = re.findall(r"^## (\d+)\. ", consent.load().text, flags=re.M)
    assert headings == [str(i) for i in range(1, len(headings) + 1)]
    assert len(headings) >= 10
