"""client.synthetic: invented people with valid check digits, deterministic for a seed."""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from pathlib import Path

import pytest
from pydicom.datadict import dictionary_VR
from stdnum import luhn
from stdnum.mx import curp as stdnum_curp
from stdnum.mx import rfc as stdnum_rfc

from client import synthetic
from client.synthetic import DEMO_PERSON, Name, Person

PEOPLE = synthetic.people(seed=3, n=200)
MAX_LENGTH = {"PN": 64, "LO": 64, "SH": 16, "DA": 8, "CS": 16, "ST": 1024, "LT": 10240}
TEXT_SET = Path(__file__).parents[1] / "data" / "text_es"


def test_same_seed_same_people_other_seed_other_people():
    assert synthetic.people(3, 200) == PEOPLE
    assert synthetic.people(4, 200) != PEOPLE
    assert synthetic.person(17) == synthetic.person(random.Random(17))
    assert len({p.curp for p in PEOPLE}) > 190  # a pool, not a handful of names


@pytest.mark.parametrize("p", [*PEOPLE, DEMO_PERSON], ids=lambda p: p.curp)
def test_identifiers_pass_their_check_rules(p: Person):
    assert stdnum_curp.validate(p.curp) == p.curp  # format, state, date, sex, check digit
    assert stdnum_curp.get_birth_date(p.curp) == p.birth
    assert stdnum_curp.get_gender(p.curp) == p.sex
    assert stdnum_rfc.validate(p.rfc, validate_check_digits=True) == p.rfc
    assert p.rfc[:10] == p.curp[:10]
    assert len(p.nss) == 11 and luhn.is_valid(p.nss)
    assert re.fullmatch(r"[A-Z]{6}\d{8}[HM]\d{3}", p.elector_key)
    assert re.fullmatch(r"[2-9]\d \d{4} \d{4}", p.phone)
    assert p.email.split("@")[1].endswith(".example") or ".example." in p.email
    assert re.fullmatch(r"\d{5}", p.place.cp)


def test_curp_letters_follow_renapo_rules():
    def body(*args: object) -> str:
        return synthetic.curp(*args)[:17]  # type: ignore[arg-type]

    assert body("GLORIA", "HERNÁNDEZ", "GARCÍA", dt.date(1956, 4, 27), "F", "VZ") == \
        "HEGG560427MVZRRL0"
    # MARÍA/JOSÉ of a compound given name are skipped, particles too, Ñ is X, after 2000 "A".
    assert body("JOSÉ ÁNGEL", "DE LA CRUZ", "PEÑA", dt.date(2003, 5, 6), "M", "NL") == \
        "CUPA030506HNLRXNA"
    assert body("MARÍA", "GARCÍA", "LÓPEZ", dt.date(1980, 1, 1), "F", "DF")[:4] == "GALM"
    # An inconvenient word gets an X for its second letter (BUEI -> BXEI).
    assert body("IGNACIO", "BUENO", "ESTRADA", dt.date(1970, 1, 2), "M", "DF")[:4] == "BXEI"
    # A single surname: X in its place.
    assert body("ANA", "SOSA", "", dt.date(1990, 2, 3), "F", "NE")[:4] == "SOXA"


def test_a_wrong_check_digit_is_caught_by_the_validators():
    """The validators used above can fail: a changed digit is refused."""
    p = PEOPLE[0]
    bad_curp = p.curp[:-1] + str((int(p.curp[-1]) + 1) % 10)
    bad_nss = p.nss[:-1] + str((int(p.nss[-1]) + 1) % 10)
    assert not stdnum_curp.is_valid(bad_curp)
    assert not luhn.is_valid(bad_nss)


@pytest.mark.parametrize("p", [*PEOPLE[:50], DEMO_PERSON], ids=lambda p: p.curp)
def test_dicom_attributes_fit_their_vr_and_are_all_in_the_leak_values(p: Person):
    attrs = p.dicom_attributes()
    assert {"PatientName", "PatientID", "PatientBirthDate", "InstitutionName",
            "ImageComments"} <= set(attrs)
    leaks = p.leak_values()
    assert leaks == sorted(set(leaks))
    for keyword, value in attrs.items():
        vr = dictionary_VR(keyword)
        assert len(value) <= MAX_LENGTH[vr], (keyword, value)
        if keyword not in {"PatientSex", "PatientComments", "ImageComments"}:
            assert value in leaks, keyword
    note = p.note()
    for fact in (p.curp, p.rfc, p.nss, p.elector_key, p.phone, p.email, p.name.title,
                 p.address, p.mrn, p.institution.name, p.physician.title):
        assert fact in note and fact in leaks
    assert {p.name.surname1, p.name.surname2, p.name.given.split()[0]} <= set(leaks)


def test_name_forms():
    n = Name("JOSÉ LUIS", "PÉREZ", "GUTIÉRREZ")
    assert n.pn == "PÉREZ GUTIÉRREZ^JOSÉ LUIS"
    assert n.title == "José Luis Pérez Gutiérrez"
    assert n.parts() == ["JOSÉ", "LUIS", "PÉREZ", "GUTIÉRREZ"]
    assert synthetic.upper_plain("Peña Núñez") == "PENA NUNEZ"


def test_demo_person_is_the_bench_donor_a_and_fictitious():
    from bench.deid.phi import DONORS

    assert DONORS[0].person is DEMO_PERSON
    assert DEMO_PERSON.email.endswith("@correo.example.mx")
    assert all(stdnum_curp.is_valid(d.person.curp) and luhn.is_valid(d.person.nss)
               and stdnum_rfc.is_valid(d.person.rfc, validate_check_digits=True) for d in DONORS)


def test_text_set_still_regenerates_byte_identical():
    """The labelled set's figures are published: shared generators must not change it."""
    from tests.data.text_es import make_set

    for split, templates, seed in (("dev", make_set.DEV_TEMPLATES, 11),
                                   ("test", make_set.TEST_TEMPLATES, 29)):
        rows = make_set.build(templates, split, seed, repeats=5)
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        assert text == (TEXT_SET / f"{split}.jsonl").read_text(encoding="utf-8"), split
