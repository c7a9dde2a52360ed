"""The consent forms the donor reads: versioned Spanish text files, each pinned by SHA-256.

A form is ``client/data/consent/<form_id>-v<version>.md``. Its SHA-256 (of the file's exact
UTF-8 bytes) goes on the ledger with the Consent step (``formId``, ``formVersion``,
``formSha256`` of :class:`client.donations.Consent`), so the text a donor accepted can be
proven later. A changed text is a new file with a new version, never an edit: the tests pin
each published file's hash.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

FORMS_DIR = Path(__file__).resolve().parent / "data" / "consent"
DEFAULT_FORM = "consent-general"

# form_id: the contract's id form; version: digits (a short code on the ledger).
_FILE = re.compile(r"^(?P<form_id>[a-z0-9][a-z0-9-]{0,63})-v(?P<version>[1-9][0-9]{0,5})\.md$")
_FORM_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_VERSION = re.compile(r"^[1-9][0-9]{0,5}$")


class UnknownForm(LookupError):
    """No consent form with that id and version."""


@dataclass(frozen=True)
class ConsentForm:
    """One version of a consent form.

    Attributes
    ----------
    form_id, version : str
        As on the ledger (``"consent-general"``, ``"1"``).
    title : str
        The first heading of the text.
    text : str
        The whole text (Markdown), exactly as shown to the donor.
    sha256 : str
        Hex SHA-256 of the file's UTF-8 bytes: the ``formSha256`` of the Consent step.
    """

    form_id: str
    version: str
    title: str
    text: str = field(repr=False)
    sha256: str

    @property
    def file_name(self) -> str:
        return f"{self.form_id}-v{self.version}.md"


def _read(path: Path, form_id: str, version: str) -> ConsentForm:
    raw = path.read_bytes()
    text = raw.decode("utf-8")  # strict: a form in another encoding is a defect
    title = next(
        (line[2:].strip() for line in text.splitlines() if line.startswith("# ")), form_id
    )
    return ConsentForm(form_id, version, title, text, hashlib.sha256(raw).hexdigest())


def load(form_id: str = DEFAULT_FORM, version: str = "1", *,
         folder: Path = FORMS_DIR) -> ConsentForm:
    """The form ``form_id`` at ``version``.

    Raises
    ------
    UnknownForm
        If there is no such file (or the id or version has another form).
    """
    version = str(version)
    if not _FORM_ID.fullmatch(form_id) or not _VERSION.fullmatch(version):
        raise UnknownForm("a form id is a-z, 0-9 and '-'; a version is a number")
    path = folder / f"{form_id}-v{version}.md"
    if not path.is_file():
        raise UnknownForm(f"no consent form {form_id} version {version}")
    return _read(path, form_id, version)


def available(*, folder: Path = FORMS_DIR) -> list[ConsentForm]:
    """Every form in ``folder``, by id and then by version number."""
    out = []
    for path in folder.glob("*.md"):
        m = _FILE.fullmatch(path.name)
        if m:
            out.append(_read(path, m["form_id"], m["version"]))
    return sorted(out, key=lambda f: (f.form_id, int(f.version)))


def latest(form_id: str = DEFAULT_FORM, *, folder: Path = FORMS_DIR) -> ConsentForm:
    """The highest version of ``form_id`` (what a new donor is shown)."""
    forms = [f for f in available(folder=folder) if f.form_id == form_id]
    if not forms:
        raise UnknownForm(f"no consent form {form_id}")
    return forms[-1]


__all__ = ["ConsentForm", "UnknownForm", "available", "latest", "load"]
