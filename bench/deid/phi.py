"""The invented donors of the bench corpus and the spellings under which their PHI may leak.

Two Mexican donors (names with two surnames, CURP, RFC, IMSS NSS with valid check digits,
phones, addresses with colonia and C.P., their hospital, physicians and devices), the text
forms a template may use for each fact, Spanish free-text templates, and the variants the
scorer searches for (case, accents, DICOM PN with ``^``).
"""

from __future__ import annotations

import datetime as dt
import string
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stdnum import luhn
from stdnum.mx import curp as stdnum_curp
from stdnum.mx import rfc as stdnum_rfc


@dataclass(frozen=True)
class Donor:
    """One invented person and the institution that holds their records."""

    key: str
    given: str
    surnames: str
    sex: str
    birth: dt.date
    curp17: str  # CURP without its check digit
    rfc12: str  # RFC without its check digit
    nss10: str  # IMSS NSS without its Luhn digit
    mrn: str
    phone: str
    email: str
    street: str
    colonia: str
    cp: str
    hospital: str
    hospital_short: str
    institution_address: str
    physician_given: str
    physician_surnames: str
    operator_given: str
    relative_given: str
    relative_surnames: str
    operator_surnames: str
    station: str
    ae_title: str
    device_serial: str

    @property
    def curp(self) -> str:
        return self.curp17 + stdnum_curp.calc_check_digit(self.curp17)

    @property
    def rfc(self) -> str:
        return self.rfc12 + stdnum_rfc.calc_check_digit(self.rfc12)

    @property
    def nss(self) -> str:
        return self.nss10 + luhn.calc_check_digit(self.nss10)


DONORS: tuple[Donor, ...] = (
    Donor(
        key="A", given="MARÍA GUADALUPE", surnames="HERNÁNDEZ LÓPEZ", sex="F",
        birth=dt.date(1985, 3, 12), curp17="HELM850312MDFRPR0", rfc12="HELM850312QK",
        nss10="1234567890", mrn="HGZ32-458712", phone="55 1234 5678",
        email="lupita.hdz85@correo.example.mx", street="Calle Pitágoras 1023",
        colonia="Narvarte", cp="03020", hospital="Hospital General de Zona No. 32",
        hospital_short="HGZ No. 32", institution_address="Calzada del Hueso 4120, Coyoacán",
        physician_given="RAÚL", physician_surnames="NÚÑEZ ZAVALA",
        operator_given="ITZEL", operator_surnames="CUAUHTLE MONDRAGÓN",
        relative_given="ROSA ELENA", relative_surnames="LÓPEZ MÁRQUEZ",
        station="HGZ32-TOM01", ae_title="HGZ32PACS", device_serial="SN4471-0932",
    ),
    Donor(
        key="B", given="JOSÉ LUIS", surnames="PÉREZ GUTIÉRREZ", sex="M",
        birth=dt.date(1948, 11, 5), curp17="PEGL481105HJCRTS0", rfc12="PEGL481105MN",
        nss10="4187652390", mrn="UMF48-009173", phone="33 3615 2040",
        email="jl.perez.gtz@correo.example.mx", street="Avenida Tepeyac 2517",
        colonia="Chapalita Oriente", cp="45040", hospital="Unidad de Medicina Familiar No. 48",
        hospital_short="UMF No. 48", institution_address="Av. Xóchitl 318, Zapopan",
        physician_given="BEATRIZ", physician_surnames="OCHOA VILLASEÑOR",
        operator_given="EFRAÍN", operator_surnames="TLAXCALTECA RUIZ",
        relative_given="CARMEN", relative_surnames="GUTIÉRREZ SOLÍS",
        station="UMF48-RX02", ae_title="UMF48GW", device_serial="XR7720-1148",
    ),
)

MONTHS_ES = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
             "septiembre", "octubre", "noviembre", "diciembre")



def fold(text: str) -> str:
    """Return ``text`` without accents (what an ASCII-only system would store)."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _pn(surnames: str, given: str, prefix: str = "") -> str:
    return f"{surnames}^{given}^^{prefix}" if prefix else f"{surnames}^{given}"


def _spanish_date(d: dt.date) -> str:
    return f"{d.day} de {MONTHS_ES[d.month - 1]} de {d.year}"


# Text forms a template or attribute may use: form -> (label, kind, value for a donor).
# Labels group the spellings of one fact; each label is scored as one leak per file.
FORMS: dict[str, tuple[str, str, Callable[[Donor], str]]] = {
    "name": ("name", "name", lambda d: f"{d.given} {d.surnames}"),
    "name_title": ("name", "name", lambda d: f"{d.given} {d.surnames}".title()),
    "name_pn": ("name", "name", lambda d: _pn(d.surnames, d.given)),
    "name_rev": ("name", "name", lambda d: f"{d.surnames}, {d.given}"),
    "surnames": ("name", "name", lambda d: d.surnames),
    "given": ("name", "name", lambda d: d.given),
    "birth_da": ("birth_date", "date", lambda d: d.birth.strftime("%Y%m%d")),
    "birth_text": ("birth_date", "date", lambda d: _spanish_date(d.birth)),
    "birth_slash": ("birth_date", "date", lambda d: d.birth.strftime("%d/%m/%Y")),
    "curp": ("curp", "identifier", lambda d: d.curp),
    "rfc": ("rfc", "identifier", lambda d: d.rfc),
    "nss": ("nss", "identifier", lambda d: d.nss),
    "mrn": ("mrn", "identifier", lambda d: d.mrn),
    "phone": ("phone", "contact", lambda d: d.phone),
    "phone_compact": ("phone", "contact", lambda d: d.phone.replace(" ", "")),
    "email": ("email", "contact", lambda d: d.email),
    "street": ("street", "contact", lambda d: d.street),
    "colonia": ("colonia", "contact", lambda d: f"Col. {d.colonia}"),
    "cp": ("cp", "contact", lambda d: f"C.P. {d.cp}"),
    "address_dicom": ("street", "contact",
                      lambda d: f"{d.street}, Col. {d.colonia}, C.P. {d.cp}"),
    "hospital": ("hospital", "institution", lambda d: d.hospital),
    "hospital_short": ("hospital", "institution", lambda d: d.hospital_short),
    "institution_address": ("institution_address", "institution",
                            lambda d: d.institution_address),
    "physician": ("physician", "staff",
                  lambda d: f"DR. {d.physician_given} {d.physician_surnames}"),
    "physician_pn": ("physician", "staff",
                     lambda d: _pn(d.physician_surnames, d.physician_given, "DR.")),
    "physician_surnames": ("physician", "staff", lambda d: d.physician_surnames),
    "operator_pn": ("operator", "staff", lambda d: _pn(d.operator_surnames, d.operator_given)),
    "operator_surnames": ("operator", "staff", lambda d: d.operator_surnames),
    "relative": ("relative", "name", lambda d: f"{d.relative_given} {d.relative_surnames}"),
    "relative_pn": ("relative", "name", lambda d: _pn(d.relative_surnames, d.relative_given)),
    "station": ("station", "device", lambda d: d.station),
    "ae_title": ("ae_title", "device", lambda d: d.ae_title),
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
    # The PN form with empty trailing components is also how a PN is often stored.
    catalog["name"]["variants"].update(phi_variants(f"{donor.surnames}^{donor.given}"))
    for entry in catalog.values():
        entry["variants"] = sorted(entry["variants"])
    return catalog
