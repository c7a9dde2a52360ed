"""Accent folding, the one copy: letters without their accents, one character for one.

Every view of a text that rules and word lists compare against is made here: :func:`fold`
(lower case, the view the Spanish text rules and the known values match), :func:`key`
(upper case, the form of the word lists in :mod:`anonymizer._es_lexicon`) and
:func:`strip_accents` (case kept). A character is decomposed (Unicode NFD) and its
combining marks dropped, so ``á``, ``ç``, ``ã``, ``ő`` and ``İ`` fold as well as the
Spanish accents; ``ñ`` folds to ``n`` (the rules are written for ``ano``, ``dona``).

Each result has the length of its input, so offsets found in a view are offsets in the
text. A character that would not stay one character (``ß`` upper-cased is ``SS``; a
Hangul syllable decomposes into two letters) is kept as it is, and a Latin-1 character
always folds to a Latin-1 one, so that Latin-1 text folds through ``bytes.translate`` (C,
memory speed) with the same result as the general path.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

__all__ = ["fold", "key", "strip_accents"]


def _bare(char: str) -> str:
    """Return ``char`` without its combining marks, or ``char`` if that is not one letter."""
    bare = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
    return bare if len(bare) == 1 else char


class _Table(dict[int, str]):
    """``str.translate`` table filled on demand: ``case(_bare(char))``, one for one."""

    def __init__(self, case: Callable[[str], str]) -> None:
        super().__init__()
        self._case = case
        self.latin1 = bytes(ord(self[i]) for i in range(256))

    def __missing__(self, code: int) -> str:
        char = chr(code)
        out = self._case(_bare(char))
        if len(out) != 1 or (code < 256 and ord(out) > 255):  # "ß" -> "SS", "µ" -> "Μ"
            out = _bare(char)
        self[code] = out
        return out

    def apply(self, text: str) -> str:
        try:
            raw = text.encode("latin-1")
        except UnicodeEncodeError:
            return text.translate(self)
        return raw.translate(self.latin1).decode("latin-1")


_LOWER = _Table(str.lower)
_UPPER = _Table(str.upper)
_KEEP = _Table(str)


def fold(text: str) -> str:
    """Return ``text`` in lower case without accents, same length (``"Peña"`` -> ``"pena"``)."""
    return _LOWER.apply(text)


def key(text: str) -> str:
    """Return ``text`` in upper case without accents, same length (``"Peña"`` -> ``"PENA"``)."""
    return _UPPER.apply(text)


def strip_accents(text: str) -> str:
    """Return ``text`` without accents, case kept, same length (``"Peña"`` -> ``"Pena"``)."""
    return _KEEP.apply(text)
