"""Synthetic Mexican identities: the one source of fake PHI for tests, bench, text set and demo.

A :class:`Person` holds an invented patient (given names, two surnames, sex, birth date, CURP,
RFC, IMSS NSS, an INE-like elector key, phone, e-mail, address with colonia and C.P.), the
institution that holds the record (hospital or IMSS unit, its address, AE title, station),
the record and accession numbers and the referring physician. :meth:`Person.dicom_attributes`
gives the attributes to plant in a DICOM file and :meth:`Person.leak_values` the strings a
leak scan must look for. :func:`person` draws one from a seed; the value generators
(:func:`curp`, :func:`rfc`, :func:`nss`, :func:`phone`...) are public so that the labelled
text set can fill its own templates with the same rules.

Identifiers carry their real check digits (CURP and RFC as RENAPO and SAT compute them, NSS
by Luhn) so that detectors which verify them have something to find. The letters of CURP and
RFC follow the main rules (first internal vowel and consonants, Ñ as X, particles skipped,
MARÍA/JOSÉ skipped in compound given names, inconvenient words masked with X); SAT's own
list of inconvenient words and the real homoclave algorithm are not applied. E-mail domains
are under ``.example`` (RFC 2606): no real mailbox.

References
----------
RENAPO, *Instructivo normativo para la asignación de la CURP* (2006); IMSS, NSS of 11 digits
with a Luhn check digit.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass

from stdnum import luhn
from stdnum.mx import curp as _stdnum_curp
from stdnum.mx import rfc as _stdnum_rfc

from anonymizer.fold import strip_accents

__all__ = [
    "DEMO_PERSON", "EMAIL_DOMAINS", "INSTITUTIONS", "Institution", "Name", "PLACES", "Person",
    "Place", "accession", "birth_date", "curp", "digits", "elector_key", "email", "nss",
    "people", "person", "person_from", "phone", "plain", "record_number", "rfc", "rfc_homoclave",
    "upper_plain", "with_check_digits",
]

# --------------------------------------------------------------------------- pools

GIVEN_F = ("MARÍA", "GUADALUPE", "ROSA", "ANA", "SOFÍA", "XÓCHITL", "ITZEL", "VERÓNICA",
           "LETICIA", "CLAUDIA", "BEATRIZ", "CITLALLI", "ERÉNDIRA", "YESENIA", "NAYELI",
           "TERESA", "MARISOL", "ADRIANA", "JIMENA", "REBECA")
GIVEN_M = ("JOSÉ", "JUAN", "LUIS", "CARLOS", "JORGE", "RAÚL", "EFRAÍN", "CUAUHTÉMOC",
           "TONATIUH", "ERNESTO", "RODRIGO", "FERNANDO", "HÉCTOR", "GERARDO", "ÁNGEL",
           "EMILIANO", "SANTIAGO", "RAFAEL", "HERIBERTO", "OSVALDO")
SURNAMES = ("HERNÁNDEZ", "GARCÍA", "MARTÍNEZ", "LÓPEZ", "GONZÁLEZ", "PÉREZ", "RODRÍGUEZ",
            "SÁNCHEZ", "RAMÍREZ", "FLORES", "GÓMEZ", "MORALES", "VÁZQUEZ", "JIMÉNEZ",
            "GUTIÉRREZ", "MENDOZA", "AGUILAR", "ORTIZ", "CHÁVEZ", "NÚÑEZ", "ZAVALA",
            "CUAUHTLE", "TLAXCALTECA", "XICOTÉNCATL", "VILLASEÑOR", "OCHOA", "DE LA CRUZ",
            "MONDRAGÓN", "ZAMUDIO", "ARIZMENDI")
STREETS = ("Calle Hidalgo", "Avenida Juárez", "Calle Morelos", "Calle Pitágoras",
           "Avenida Tepeyac", "Calle 5 de Mayo", "Privada Allende", "Calzada de Tlalpan",
           "Calle Nogal", "Andador Los Pinos")


@dataclass(frozen=True)
class Place:
    """A colonia with its C.P., municipality or alcaldía, state and CURP state code."""

    colonia: str
    cp: str
    municipality: str
    state: str
    state_code: str


PLACES = (
    Place("Narvarte", "03020", "Benito Juárez", "Ciudad de México", "DF"),
    Place("Tlacoquemécatl", "03200", "Benito Juárez", "Ciudad de México", "DF"),
    Place("Roma Norte", "06700", "Cuauhtémoc", "Ciudad de México", "DF"),
    Place("Santa María la Ribera", "06400", "Cuauhtémoc", "Ciudad de México", "DF"),
    Place("Chapalita Oriente", "45040", "Zapopan", "Jalisco", "JC"),
    Place("Mitras Centro", "64460", "Monterrey", "Nuevo León", "NL"),
    Place("La Paz", "72160", "Puebla", "Puebla", "PL"),
    Place("Ciudad Satélite", "53100", "Naucalpan", "Estado de México", "MC"),
    Place("Centro", "91000", "Xalapa", "Veracruz", "VZ"),
    Place("García Ginerés", "97070", "Mérida", "Yucatán", "YN"),
)


@dataclass(frozen=True)
class Institution:
    """A hospital or IMSS unit: what DICOM files from it carry about it."""

    name: str
    short: str
    address: str
    ae_title: str
    station: str


INSTITUTIONS = (
    Institution("Hospital General de Zona No. 32", "HGZ No. 32",
                "Calzada del Hueso 4120, Coyoacán", "HGZ32PACS", "HGZ32-TOM01"),
    Institution("Unidad de Medicina Familiar No. 48", "UMF No. 48",
                "Av. Xóchitl 318, Zapopan", "UMF48GW", "UMF48-RX02"),
    Institution("Hospital General Regional No. 1", "HGR No. 1",
                "Av. Gabriel Mancera 222, Benito Juárez", "HGR1PACS", "HGR1-CT02"),
    Institution("Unidad Médica de Alta Especialidad No. 25", "UMAE No. 25",
                "Av. Fidel Velázquez 3000, Monterrey", "UMAE25PACS", "UMAE25-MR01"),
    Institution("Hospital Regional de Alta Especialidad de Puebla", "HRAE Puebla",
                "Av. 31 Poniente 1020, Puebla", "HRAEPUE", "HRAEP-US03"),
)

EMAIL_DOMAINS = ("correo.example", "correo.example.mx", "salud.example")

# --------------------------------------------------------------------------- text helpers


# Without accents, case kept (what an ASCII-only system stores): the anonymizer's one fold.
plain = strip_accents


def upper_plain(text: str) -> str:
    """Return ``text`` in capitals without accents."""
    return plain(text).upper()


# --------------------------------------------------------------------------- identifiers

_VOWELS = "AEIOU"
_PARTICLES = {"DA", "DAS", "DE", "DEL", "DER", "DI", "DIE", "EL", "LA", "LOS", "LAS",
              "LE", "LES", "MAC", "MC", "VAN", "VON", "Y"}
_SKIPPED_GIVEN = {"MARIA", "MA.", "MA", "JOSE", "J", "J."}
# RENAPO's inconvenient words (second letter replaced by X); python-stdnum keeps the list.
_INCONVENIENT = frozenset(getattr(_stdnum_curp, "_name_blacklist", ()))


def _key(word: str) -> str:
    """CURP form of a name: capitals, Ñ as X, accents dropped, particles skipped."""
    up = word.upper().replace("Ñ", "X")
    parts = [p for p in upper_plain(up).split() if p not in _PARTICLES]
    return " ".join(parts) or upper_plain(up)


def _given_key(given: str) -> str:
    parts = _key(given).split()
    if len(parts) > 1 and parts[0] in _SKIPPED_GIVEN:
        parts = parts[1:]
    return " ".join(parts)


def _first(chars: str, pred: Callable[[str], bool]) -> str:
    return next((c for c in chars if c.isalpha() and pred(c)), "X")


def _letters(given: str, surname1: str, surname2: str) -> tuple[str, str]:
    """The four initial letters and the three internal consonants shared by CURP and RFC."""
    s1, s2, g = _key(surname1), _key(surname2) if surname2 else "", _given_key(given)
    head = s1[0] + _first(s1[1:], lambda c: c in _VOWELS) + (s2[:1] or "X") + g[0]
    if head in _INCONVENIENT:
        head = head[0] + "X" + head[2:]
    inner = "".join(_first(w[1:], lambda c: c not in _VOWELS) if w else "X" for w in (s1, s2, g))
    return head, inner


def curp(given: str, surname1: str, surname2: str, birth: dt.date, sex: str, state: str,
         homonym: str | None = None) -> str:
    """Return the CURP of a person, with its check digit.

    Parameters
    ----------
    given, surname1, surname2
        Names as written (accents, Ñ and particles are handled here).
    birth
        Birth date; the homonym character is ``0`` before 2000 and ``A`` after by default.
    sex
        ``"F"`` or ``"M"`` (DICOM); written as ``M`` (mujer) or ``H`` (hombre).
    state
        Two-letter state code (``DF``, ``JC``, ``NL``...; ``NE`` born abroad).
    """
    head, inner = _letters(given, surname1, surname2)
    homonym = homonym or ("0" if birth.year < 2000 else "A")
    body = (head + birth.strftime("%y%m%d") + {"F": "M", "M": "H"}[sex] + state + inner
            + homonym)
    return body + _stdnum_curp.calc_check_digit(body)


def rfc(given: str, surname1: str, surname2: str, birth: dt.date, homoclave: str) -> str:
    """Return the RFC of a person (13 characters): name letters, date, homoclave, check digit."""
    head, _ = _letters(given, surname1, surname2)
    body = head + birth.strftime("%y%m%d") + homoclave
    return body + _stdnum_rfc.calc_check_digit(body)


def rfc_homoclave(rng: random.Random) -> str:
    """Return two homoclave characters (invented, not SAT's algorithm)."""
    return rng.choice("ABCDEFGH") + str(rng.randint(1, 9))


def nss(rng: random.Random) -> str:
    """Return an IMSS NSS: ten random digits and their Luhn check digit."""
    body = "".join(str(rng.randint(0, 9)) for _ in range(10))
    return body + luhn.calc_check_digit(body)


def elector_key(given: str, surname1: str, surname2: str, birth: dt.date, sex: str, state: int,
                serial: int) -> str:
    """Return an INE-like elector key (18 characters): letters, birth date, state, sex, serial.

    ``sex`` is ``"F"`` or ``"M"``; ``state`` the two-digit entity number (1-32).
    """
    k = upper_plain
    return (k(surname1)[:2] + k(surname2)[:2] + k(given)[:2] + birth.strftime("%y%m%d")
            + f"{state:02d}" + {"F": "M", "M": "H"}[sex] + f"{serial:03d}")


def birth_date(rng: random.Random) -> dt.date:
    """Return a birth date between 1940 and 1999 (days 1-28: every month has them)."""
    year, month, day = rng.randint(40, 99), rng.randint(1, 12), rng.randint(1, 28)
    return dt.date(1900 + year, month, day)


def phone(rng: random.Random) -> str:
    """Return a ten-digit Mexican phone number written ``NN NNNN NNNN``."""
    area = f"{rng.randint(2, 9)}{rng.randint(0, 9)}"
    return f"{area} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"


def email(rng: random.Random, given: str, surname: str,
          domains: tuple[str, ...] | list[str] = EMAIL_DOMAINS) -> str:
    """Return ``given.surname<n>@domain`` in lower case without accents."""
    user = plain(f"{given.split()[0]}.{surname.split()[-1]}").lower()
    number = rng.randint(1, 99)
    return f"{user}{number}@{rng.choice(domains)}"


def digits(rng: random.Random, n: int) -> str:
    """Return ``n`` random digits, the first not 0."""
    return str(rng.randint(10 ** (n - 1), 10 ** n - 1))


def record_number(rng: random.Random, prefix: str) -> str:
    """Return a medical record number such as ``HGZ32-458712``."""
    return f"{prefix}-{digits(rng, 6)}"


def accession(rng: random.Random) -> str:
    """Return an accession number in one of the forms RIS systems use (at most 16 characters)."""
    return rng.choice([f"ACC{digits(rng, 8)}", f"RX{digits(rng, 7)}", digits(rng, 10)])


# --------------------------------------------------------------------------- people


@dataclass(frozen=True)
class Name:
    """A Mexican name: given names and two surnames, in capitals as DICOM files hold them."""

    given: str
    surname1: str
    surname2: str

    @property
    def surnames(self) -> str:
        return f"{self.surname1} {self.surname2}".strip()

    @property
    def text(self) -> str:
        """``GIVEN SURNAME1 SURNAME2``."""
        return f"{self.given} {self.surnames}"

    @property
    def title(self) -> str:
        """``Given Surname1 Surname2``, as typed in a note."""
        return self.text.title()

    @property
    def pn(self) -> str:
        """DICOM PN: both surnames in the family component (``SURNAMES^GIVEN``)."""
        return f"{self.surnames}^{self.given}"

    def parts(self) -> list[str]:
        """Each given name and surname on its own."""
        return [*self.given.split(), self.surname1, self.surname2]


@dataclass(frozen=True)
class Person:
    """One invented patient, the institution holding their record and its numbers."""

    name: Name
    sex: str  # DICOM: "F" or "M"
    birth: dt.date
    curp: str
    rfc: str
    nss: str
    elector_key: str
    phone: str
    email: str
    street: str
    place: Place
    institution: Institution
    mrn: str
    accession: str
    physician: Name

    @property
    def address(self) -> str:
        """``street, Col. colonia, C.P. cp``: fits Patient's Address (LO, 64 characters)."""
        return f"{self.street}, Col. {self.place.colonia}, C.P. {self.place.cp}"

    @property
    def full_address(self) -> str:
        """:attr:`address` followed by municipality and state."""
        return f"{self.address}, {self.place.municipality}, {self.place.state}"

    def note(self) -> str:
        """Return a Spanish clinical note that names every fact of the person."""
        n = self.name
        return (f"Paciente {n.title}, CURP {self.curp}, RFC {self.rfc}, NSS {self.nss}, "
                f"INE {self.elector_key}, tel. {self.phone}, {self.email}, domicilio "
                f"{self.full_address}. Nacimiento "
                f"{self.birth:%d/%m/%Y}. Expediente {self.mrn} en {self.institution.name}. "
                f"Referida por Dr. {self.physician.title}. Dolor torácico de 3 días.")

    def dicom_attributes(self) -> dict[str, str]:
        """Return ``{keyword: value}`` of the attributes to plant, all string VRs.

        Patient, institution, station, physician and accession attributes with their DICOM
        spellings, and :meth:`note` as free text (CURP, RFC, NSS, e-mail live there).
        """
        inst = self.institution
        return {
            "PatientName": self.name.pn,
            "PatientID": self.mrn,
            "IssuerOfPatientID": inst.short,
            "PatientBirthDate": self.birth.strftime("%Y%m%d"),
            "PatientSex": self.sex,
            "PatientAddress": self.address,
            "PatientTelephoneNumbers": self.phone,
            "InstitutionName": inst.name,
            "InstitutionAddress": inst.address,
            "StationName": inst.station,
            "ReferringPhysicianName": self.physician.pn,
            "AccessionNumber": self.accession,
            "PatientComments": self.note(),
            "ImageComments": self.note(),
        }

    def leak_values(self) -> list[str]:
        """Return the strings a leak scan must look for, as planted (sorted, no duplicates).

        The spellings of :meth:`dicom_attributes` and :meth:`note` and each name on its own;
        case and accent variants, and encodings, are the scanner's business.
        """
        n, p, inst = self.name, self.place, self.institution
        values = {
            n.pn, n.text, n.title, *n.parts(), *(w.title() for w in n.parts()),
            self.birth.strftime("%Y%m%d"), self.birth.strftime("%d/%m/%Y"),
            self.curp, self.rfc, self.nss, self.elector_key,
            self.phone, self.phone.replace(" ", ""), self.email,
            self.street, self.address, self.full_address, p.colonia, f"C.P. {p.cp}",
            inst.name, inst.short, inst.address, inst.ae_title, inst.station,
            self.mrn, self.accession, self.physician.pn, self.physician.text,
            self.physician.title, self.physician.surnames,
        }
        return sorted(values)


def _name(rng: random.Random, sex: str) -> Name:
    pool = GIVEN_F if sex == "F" else GIVEN_M
    given = rng.choice(pool)
    if rng.random() < 0.3:
        given += " " + rng.choice([g for g in pool if g != given])
    surname1, surname2 = rng.sample(SURNAMES, 2)
    return Name(given, surname1, surname2)


def person_from(name: Name, sex: str, birth: dt.date, place: Place, *, homoclave: str,
                elector_serial: int, **rest: object) -> Person:
    """Return the :class:`Person` of these facts, CURP, RFC and elector key computed from them.

    ``rest`` gives the other fields of :class:`Person` (``nss``, ``phone``, ``email``,
    ``street``, ``institution``, ``mrn``, ``accession``, ``physician``).
    """
    names = (name.given, name.surname1, name.surname2)
    return Person(
        name=name, sex=sex, birth=birth, place=place,
        curp=curp(*names, birth, sex, place.state_code),
        rfc=rfc(*names, birth, homoclave),
        elector_key=elector_key(*names, birth, sex, PLACES.index(place) + 1, elector_serial),
        **rest,  # type: ignore[arg-type]
    )


def with_check_digits(curp17: str, rfc12: str, nss10: str) -> dict[str, str]:
    """Return ``{"curp", "rfc", "nss"}`` completed with their check digits (for fixed people)."""
    return {"curp": curp17 + _stdnum_curp.calc_check_digit(curp17),
            "rfc": rfc12 + _stdnum_rfc.calc_check_digit(rfc12),
            "nss": nss10 + luhn.calc_check_digit(nss10)}


def person(rng: random.Random | int) -> Person:
    """Return an invented person drawn from ``rng`` (a ``random.Random`` or a seed).

    The same seed gives the same person on every platform (only ``random.Random`` is used).
    """
    r = rng if isinstance(rng, random.Random) else random.Random(rng)
    sex = r.choice("FM")
    name = _name(r, sex)
    birth = birth_date(r)
    place = r.choice(PLACES)
    inst = r.choice(INSTITUTIONS)
    homoclave = rfc_homoclave(r)
    return person_from(
        name, sex, birth, place, homoclave=homoclave, nss=nss(r),
        elector_serial=r.randint(100, 999), phone=phone(r), email=email(r, name.given,
                                                                       name.surname1),
        street=f"{r.choice(STREETS)} {r.randint(1, 4999)}", institution=inst,
        mrn=record_number(r, inst.station.split("-")[0]), accession=accession(r),
        physician=_name(r, r.choice("FM")),
    )


def people(seed: int, n: int) -> list[Person]:
    """Return ``n`` invented people from one seed (the same seed, the same people)."""
    rng = random.Random(seed)
    return [person(rng) for _ in range(n)]


# The demo's donor: fixed, and fictitious (example-domain e-mail, a made-up record number).
# Her identity is also the bench corpus's donor A, whose identifiers predate this module: her
# CURP keeps "M" of MARÍA (the rules above would skip it), so it is written out, not computed.
DEMO_PERSON = Person(
    name=Name("MARÍA GUADALUPE", "HERNÁNDEZ", "LÓPEZ"), sex="F", birth=dt.date(1985, 3, 12),
    **with_check_digits("HELM850312MDFRPR0", "HELM850312QK", "1234567890"),
    elector_key="HELOMA85031209M104", phone="55 1234 5678",
    email="lupita.hdz85@correo.example.mx", street="Calle Pitágoras 1023", place=PLACES[0],
    institution=INSTITUTIONS[0], mrn="HGZ32-458712", accession="A2024-0000001",
    physician=Name("RAÚL", "NÚÑEZ", "ZAVALA"),
)
