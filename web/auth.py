"""Sign-in and sign-out: donors by a one-time code e-mailed to them, staff by password + TOTP.

Donor: ``/entrar`` asks for the e-mail address and always answers the same ("if the address
has a donation under review, a code is on its way"); the pending review session's id is kept
in the session cookie, never in a URL; ``/entrar/codigo`` takes the six digits (few tries,
short validity, see :mod:`client.donor_login`). Staff: ``/personal/entrar`` (username,
password, TOTP code; one generic failure message; lockout in :mod:`web.accounts`). Every
sign-in starts a new session (:func:`web.principal.sign_in`); ``/salir`` (a POST) ends it.
Sign-in posts are rate-limited per client address.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Blueprint,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from client.mail import MailError

from . import accounts, audit, principal
from .principal import DONOR, Principal
from .security import TokenBucket

__all__ = ["bp"]

log = logging.getLogger("traza.web")
bp = Blueprint("auth", __name__)


def _limited() -> Any:
    """A 429 page when this address posts sign-ins too fast, else ``None``."""
    bucket: TokenBucket = current_app.extensions["traza_auth_bucket"]
    wait = bucket.take(request.remote_addr or "?")
    if wait:
        log.info("sign-in rate limit: 429")
        return render_template("error.html", code=429), 429, {
            "Retry-After": TokenBucket.retry_after(wait)}
    return None


def _start(who: Principal | None) -> None:
    """A fresh session (``who`` signed in, or nobody); only the chosen language is kept."""
    lang = session.get("lang")
    if who is None:
        principal.sign_out()
    else:
        principal.sign_in(who)
    if lang:
        session["lang"] = lang


def _next(default: str) -> str:
    """Where to go after sign-in: a local path only (no open redirect)."""
    target = request.args.get("next", "")
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for(default)


@bp.route("/entrar", methods=["GET", "POST"])
def donor_login() -> Any:
    """The donor's e-mail address: a code is sent if a donation of theirs awaits review."""
    if request.method == "GET":
        return render_template("auth/donor_login.html")
    if (limited := _limited()) is not None:
        return limited
    email = request.form.get("email", "")[:254]
    login = current_app.extensions["traza_donor_login"]
    try:
        pending = login.start(g.db, email)
    except MailError as e:
        # The same answer as for an unknown address; the log names no address.
        log.warning("donor code not sent: %s", type(e).__name__)
        pending = None
    _start(None)  # a half-open session of someone else ends here
    if pending:
        session["pending_review"] = pending
    audit.record("donor-code-request")
    return redirect(url_for("auth.donor_code"))


@bp.route("/entrar/codigo", methods=["GET", "POST"])
def donor_code() -> Any:
    """The six-digit code from the e-mail."""
    if request.method == "GET":
        return render_template("auth/donor_code.html", error=None)
    if (limited := _limited()) is not None:
        return limited
    pending = session.get("pending_review")
    login = current_app.extensions["traza_donor_login"]
    verified = login.verify(g.db, pending, request.form.get("code", "")[:16]) \
        if isinstance(pending, str) else None
    if verified is None:
        audit.record("donor-sign-in", outcome="failure")
        return render_template("auth/donor_code.html", error=True), 400
    config = current_app.config["TRAZA"]
    _start(Principal(kind="donor", subject=verified.donation_id, role=DONOR,
                     org=config.intake_org))
    audit.record("donor-sign-in", verified.donation_id)
    return redirect(url_for("review.index"))


@bp.route("/personal/entrar", methods=["GET", "POST"])
def staff_login() -> Any:
    """Staff: username, password and the authenticator's code."""
    if request.method == "GET":
        return render_template("auth/staff_login.html", error=None)
    if (limited := _limited()) is not None:
        return limited
    f = request.form
    who = accounts.authenticate(g.db, current_app.extensions["traza_accounts_key"],
                                f.get("username", "")[:64], f.get("password", "")[:1024],
                                f.get("code", "")[:16])
    if who is None:
        audit.record("staff-sign-in", outcome="failure")
        return render_template("auth/staff_login.html", error=True), 400
    _start(who)
    audit.record("staff-sign-in")
    return redirect(_next("staff.home"))


@bp.post("/salir")
def logout() -> Any:
    """End the session (a form button: a link could be forged by any page)."""
    who = principal.current()
    if who is not None:
        audit.record("sign-out")
    principal.sign_out()
    return redirect(url_for("auth.staff_login" if who and who.is_staff else "auth.donor_login"))
