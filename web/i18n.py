"""Languages: Spanish first, English on ``?lang=en`` or the browser's Accept-Language."""

from __future__ import annotations

from flask import Flask, request, session
from flask_babel import Babel, format_datetime, get_locale
from flask_babel import lazy_gettext as _l

__all__ = ["LANGUAGES", "OPERATION_NAMES", "STATE_NAMES", "STEP_NAMES", "install_i18n",
           "select_locale"]

LANGUAGES = ("es", "en")

# Contract transaction names -> plain words (msgids in English; the es catalogue has Spanish).
STEP_NAMES = {
    "RegisterDonation": _l("Registration"),
    "LinkDonor": _l("Link to the donor"),
    "Consent": _l("Consent"),
    "Acquire": _l("Acquisition"),
    "Deidentify": _l("De-identification"),
    "Diagnose": _l("Clinical diagnosis"),
    "SubmitForReview": _l("Donor review"),
    "RequestChanges": _l("Changes requested"),
    "Accept": _l("Acceptance"),
    "Store": _l("Kept in the library"),
    "Revoke": _l("Revocation"),
    "Erase": _l("Erasure"),
    "ReissueQR": _l("New QR code"),
}
STATE_NAMES = {
    "REGISTERED": _l("Registered"),
    "CONSENTED": _l("Consent given"),
    "ACQUIRED": _l("Studies received"),
    "DEIDENTIFIED": _l("De-identified"),
    "DIAGNOSED": _l("Clinical diagnosis recorded"),
    "UNDER_REVIEW": _l("Under review by the donor"),
    "CHANGES_REQUESTED": _l("Changes requested by the donor"),
    "ACCEPTED": _l("Accepted by the donor"),
    "STORED": _l("Kept in the library"),
    "REVOKED": _l("Revoked"),
    "ERASED": _l("Erased"),
}

# The anonymizer report's operations (anonymizer.report.AttributeAction.operation).
OPERATION_NAMES = {
    "removed": _l("removed"),
    "emptied": _l("emptied"),
    "dummy": _l("replaced by a placeholder"),
    "pseudonym": _l("replaced by a pseudonym"),
    "uid": _l("new identifier"),
    "date_shift": _l("date shifted"),
    "text_clean": _l("text cleaned"),
    "age_capped": _l("age capped"),
}


def select_locale() -> str:
    """``?lang=`` (kept in the session for the next pages), else the session's, else
    Accept-Language, else Spanish."""
    wanted = request.args.get("lang", "")
    if wanted in LANGUAGES:
        if session.get("lang", LANGUAGES[0]) != wanted:
            session["lang"] = wanted
        return wanted
    if session.get("lang") in LANGUAGES:
        return session["lang"]
    return request.accept_languages.best_match(LANGUAGES, default=LANGUAGES[0]) or "es"


def install_i18n(app: Flask) -> Babel:
    """Flask-Babel on ``app`` with the catalogues in ``web/translations``."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "es")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = "translations"
    babel = Babel(app, locale_selector=select_locale)
    app.jinja_env.globals.update(get_locale=get_locale, format_datetime=format_datetime)
    return babel
