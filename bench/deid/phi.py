"""The invented donors of the bench corpus and the spellings under which their PHI may leak.

Two Mexican donors (their identities are :class:`client.synthetic.Person`; donor A is the
demo's person; names with two surnames, CURP, RFC, IMSS NSS with valid check digits,
phones, addresses with colonia and C.P., their hospital, physicians and devices), the text
forms a template may use for each fact, Spanish free-text templates, and the variants the
scorer searches for (case, accents, DICOM PN with ``^``).
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from client.synthetic import DEMO_PERSON, INSTITUTIONS, PLACES, Name, Person, with_check_digits
from client.synthetic import plain as fold


@dataclass(frozen=True)
class Donor:
    """One invented person of :mod:`client.synthetic` and the staff and device of their studies."""

    key: str
    person: Person
    operator: Name
    relative: Name
    device_serial: str

    @property
    def sex(self) -> str:
        return self.person.sex

    @property
    def birth(self) -> dt.date:
        return self.person.birth


# Donor A is the demo's person. The letters of both CURPs are fixed, not recomputed, so that
# the corpus (and the figures in bench/README.md) stay byte for byte what they were.
DONORS: tuple[Donor, ...] = (
    Donor(
        key="A", person=DEMO_PERSON, operator=Name("ITZEL", "CUAUHTLE", "MONDRAGÓN"),
        relative=Name("ROSA ELENA", "LÓPEZ", "MÁRQUEZ"), device_serial="SN4471-0932",
    ),
    Donor(
        key="B",
        person=Person(
            name=Name("JOSÉ LUIS", "PÉREZ", "GUTIÉRREZ"), sex="M", birth=dt.date(1948, 11, 5),
            **with_check_digits("PEGL481105HJCRTS0", "PEGL481105MN", "4187652390"),
            elector_key="PEGUJO48110514H221", phone="33 3615 2040",
            email="jl.perez.gtz@correo.example.mx", street="Avenida Tepeyac 2517",
            place=PLACES[4], institution=INSTITUTIONS[1], mrn="UMF48-009173",
            accession="A2023-0000002", physician=Name("BEATRIZ", "OCHOA", "VILLASEÑOR"),
        ),
        operator=Name("EFRAÍN", "TLAXCALTECA", "RUIZ"),
        relative=Name("CARMEN", "GUTIÉRREZ", "SOLÍS"), device_serial="XR7720-1148",
    ),
)

MONTHS_ES = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
             "septiembre", "octubre", "noviembre", "diciembre")



def _spanish_date(d: dt.date) -> str:
    return f"{d.day} de {MONTHS_ES[d.month - 1]} de {d.year}"


# Text forms a template or attribute may use: form -> (label, kind, value for a donor).
# Labels group the spellings of one fact; each label is scored as one leak per file.
FORMS: dict[str, tuple[str, str, Callable[[Donor], str]]] = {
    "name": ("name", "name", lambda d: d.person.name.text),
    "name_title": ("name", "name", lambda d: d.person.name.text.title()),
    "name_pn": ("name", "name", lambda d: d.person.name.pn),
    "name_rev": ("name", "name", lambda d: f"{d.person.name.surnames}, {d.person.name.given}"),
    "surnames": ("name", "name", lambda d: d.person.name.surnames),
    "given": ("name", "name", lambda d: d.person.name.given),
    "birth_da": ("birth_date", "date", lambda d: d.birth.strftime("%Y%m%d")),
    "birth_text": ("birth_date", "date", lambda d: _spanish_date(d.birth)),
    "birth_slash": ("birth_date", "date", lambda d: d.birth.strftime("%d/%m/%Y")),
    "curp": ("curp", "identifier", lambda d: d.person.curp),
    "rfc": ("rfc", "identifier", lambda d: d.person.rfc),
    "nss": ("nss", "identifier", lambda d: d.person.nss),
    "mrn": ("mrn", "identifier", lambda d: d.person.mrn),
    "phone": ("phone", "contact", lambda d: d.person.phone),
    "phone_compact": ("phone", "contact", lambda d: d.person.phone.replace(" ", "")),
    "email": ("email", "contact", lambda d: d.person.email),
    "street": ("street", "contact", lambda d: d.person.street),
    "colonia": ("colonia", "contact", lambda d: f"Col. {d.person.place.colonia}"),
    "cp": ("cp", "contact", lambda d: f"C.P. {d.person.place.cp}"),
    "address_dicom": ("street", "contact",
                      lambda d: f"{d.person.street}, Col. {d.person.place.colonia}, "
                                f"C.P. {d.person.place.cp}"),
    "hospital": ("hospital", "institution", lambda d: d.person.institution.name),
    "hospital_short": ("hospital", "institution", lambda d: d.person.institution.short),
    "institution_address": ("institution_address", "institution",
                            lambda d: d.person.institution.address),
    "physician": ("physician", "staff",
                  lambda d: f"DR. {d.person.physician.text}"),
    "physician_pn": ("physician", "staff",
                     lambda d: f"{d.person.physician.pn}^^DR."),
    "physician_surnames": ("physician", "staff", lambda d: d.person.physician.surnames),
    "operator_pn": ("operator", "staff", lambda d: d.operator.pn),
    "operator_surnames": ("operator", "staff", lambda d: d.operator.surnames),
    "relative": ("relative", "name", lambda d: d.relative.text),
    "relative_pn": ("relative", "name", lambda d: d.relative.pn),
    "station": ("station", "device", lambda d: d.person.institution.station),
    "ae_title": ("ae_title", "device", lambda d: d.person.institution.ae_title),
    "device_serial": ("device_serial", "device", lambda d: d.device_serial),
}

# Spanish free text, as a radiology or admission clerk would type it.
HISTORY = ("Paciente {name}, CURP {curp}, NSS {nss}, tel {phone}, {colonia} {cp}, "
           "{hospital}.")
COMMENTS = (
    "Estudio solicitado por {physician} para {name_title}; fecha de nacimiento "
    "{birth_text}. Sin datos de lesión aguda.",
    "Contacto: {email}, tel. {phone_compact}. Domicilio {street}, {colonia}, {cp}.",
    "Expediente {mrn}, derechohabiente NSS {nss}, RFC {rfc}. Control por nódulo "
    "pulmonar de 8 mm.",
    "Pte. {name_rev} ({birth_slash}), referida de {hospital_short}. Técnica: {operator_pn}.",
)
SR_FINDINGS = ("Se revisa estudio de {name_title} (CURP {curp}). Hígado de tamaño normal, "
               "sin lesiones focales. Vesícula sin litos. Reporta {physician}.")
SR_DEEP = "Domicilio del paciente: {street}, {colonia}, {cp}; teléfono {phone}; correo {email}."


class Planter:
    """Fill text from FORMS for one donor and remember which labels went into the file."""

    def __init__(self, donor: Donor, ascii_only: bool) -> None:
        self.donor = donor
        self.ascii_only = ascii_only
        self.labels: set[str] = set()
        self.extra: dict[str, dict[str, Any]] = {}

    def __call__(self, form: str) -> str:
        label, _kind, value = FORMS[form]
        self.labels.add(label)
        text = value(self.donor)
        return fold(text) if self.ascii_only else text

    def fill(self, template: str) -> str:
        names = [f for _, f, _, _ in string.Formatter().parse(template) if f]
        return template.format(**{name: self(name) for name in names})

    def plant(self, label: str, kind: str, value: str, *variants: str) -> str:
        """Record a file-specific fact (study date, accession) and return ``value``."""
        self.labels.add(label)
        self.extra[label] = {"kind": kind, "variants": sorted({value, *variants})}
        return value


def phi_variants(text: str) -> list[str]:
    """Return the spellings under which ``text`` may leak: case and accent variants."""
    out = set()
    for t in (text, fold(text)):
        out.update({t, t.upper(), t.lower(), t.title()})
    return sorted(out)


def donor_catalog(donor: Donor) -> dict[str, dict[str, Any]]:
    """Return ``{label: {kind, variants}}`` of every fixed PHI fact of ``donor``."""
    catalog: dict[str, dict[str, Any]] = {}
    for _form, (label, kind, value) in FORMS.items():
        entry = catalog.setdefault(label, {"kind": kind, "variants": set()})
        entry["variants"].update(phi_variants(value(donor)))
    for entry in catalog.values():
        entry["variants"] = sorted(entry["variants"])
    return catalog
