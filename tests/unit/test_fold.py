"""Accent folding: one function for the text rules, the known values and the word lists."""

from __future__ import annotations

import unicodedata

import pytest

from anonymizer import _es_lexicon as lex
from anonymizer import known_values, text_es
from anonymizer.fold import fold, key, strip_accents

# The three copies that existed before anonymizer.fold, as they were written.
_ACCENTED = "áéíóúüñàèìòùâêîôûäëïöÁÉÍÓÚÜÑÀÈÌÒÙÂÊÎÔÛÄËÏÖ"
_PLAIN = "aeiouunaeiouaeiouaeioAEIOUUNAEIOUAEIOUAEIO"
_OLD_TEXT_ES = bytes(
    str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ" + _ACCENTED,
                  "abcdefghijklmnopqrstuvwxyz" + _PLAIN.lower()).get(i, i) for i in range(256))


def old_text_es(text: str) -> str:  # listed accents only, through Latin-1 bytes
    return text.encode("latin-1", "replace").translate(_OLD_TEXT_ES).decode("latin-1")


def old_known_values(text: str) -> str:  # first character of the NFD form
    return "".join(unicodedata.normalize("NFD", c.lower())[:1] or c for c in text)


def old_lexicon(text: str) -> str:  # NFD without combining marks, then upper case
    return "".join(c for c in unicodedata.normalize("NFD", text)
                   if not unicodedata.combining(c)).upper()


@pytest.mark.parametrize(("letter", "folded"), [("ç", "c"), ("ã", "a"), ("ő", "o"), ("Ç", "c")])
def test_old_copies_disagreed_where_the_one_copy_folds(letter: str, folded: str) -> None:
    assert old_text_es(letter) != old_known_values(letter)  # e.g. "ç" kept against "c"
    assert fold(letter) == folded
    assert key(letter) == folded.upper() == old_lexicon(letter)


def test_old_copies_changed_the_length_where_the_one_copy_does_not() -> None:
    assert len(old_lexicon("Straße")) == 7  # "STRASSE": offsets no longer agree
    for text in ["Straße", "İZMİR", "µg", "가나", "ǅemal", "Peña Ñuñoa", "O’Higgins"]:
        assert len(fold(text)) == len(key(text)) == len(strip_accents(text)) == len(text)


def test_spanish_letters_fold_as_the_rules_expect() -> None:
    assert fold("Doña MARÍA Güémez, 45 años") == "dona maria guemez, 45 anos"
    assert key("Peña") == "PENA" and strip_accents("Peña Ñuñoa") == "Pena Nunoa"


def test_latin1_and_general_paths_agree() -> None:
    latin1 = "".join(chr(i) for i in range(32, 256))
    assert fold(latin1 + "ő")[:-1] == fold(latin1)  # the non-Latin-1 path, same result
    assert key(latin1 + "ő")[:-1] == key(latin1)
    assert all(ord(c) < 256 for c in fold(latin1) + key(latin1))


def test_every_caller_uses_the_one_copy() -> None:
    # the lexicon's keys, the text rules' views and the known values are the same fold
    assert key("Gonçalves") == "GONCALVES"
    assert all(key(w) == w for w in lex.SURNAMES)
    assert known_values.fold is fold and text_es.fold is fold and text_es.key is key
