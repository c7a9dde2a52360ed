"""Sessions: the server-side key, cookie flags, CSRF on every form, lifetimes per kind.

The session is Flask's signed cookie under a key that lives only on the server
(``<run>/web/session.key``, 0600 from its first byte). Cookies are ``Secure``, ``HttpOnly``
and ``SameSite=Strict``; every POST carries Flask-WTF's CSRF token (and a cross-site
``Origin`` is refused before it). A donor's session ends :attr:`WebConfig.donor_minutes`
after sign-in; a staff session after :attr:`WebConfig.staff_hours`, sooner when idle, and
at once when the account is disabled.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, render_template, request, session
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy import select

from anonymizer.files import private_dir, read_secret, write_secret
from client.db.models import StaffAccount

from . import principal
from .config import WebConfig

__all__ = ["csrf", "install_sessions", "load_key"]

csrf = CSRFProtect()


def load_key(home: Path, name: str) -> bytes:
    """The 32-byte key ``home/name``, created 0600 at first use (folder 0700)."""
    path = private_dir(home) / name
    if not path.exists():
        write_secret(path, secrets.token_bytes(32))
    key = read_secret(path)
    if len(key) < 32:
        raise ValueError(f"{path} holds {len(key)} bytes; a session key needs 32")
    return key


def _expired(config: WebConfig) -> bool:
    who = principal.current()
    if who is None:
        return False
    now = int(time.time())
    since = int(session.get("since", 0))
    seen = int(session.get("seen", since))
    if who.is_staff:
        return (now - since > config.staff_hours * 3600
                or now - seen > config.staff_idle_minutes * 60)
    return now - since > config.donor_minutes * 60


def _still_active(who: principal.Principal) -> bool:
    """A staff session ends as soon as the account is disabled or its role changes.

    Read in a short transaction of its own: ``g.db`` stays closed for the pipeline's views.
    """
    with current_app.extensions["traza_db"].read_session() as s:
        account = s.scalar(select(StaffAccount).where(StaffAccount.username == who.subject))
        return (account is not None and account.disabled_at is None
                and account.role == who.role and account.org == who.org)


def install_sessions(app: Flask, config: WebConfig) -> None:
    """Configure the session cookie and CSRF on ``app``; end expired sessions per request."""
    key = config.secret_key
    if key is None:
        # Without a home (tests, a throw-away viewer) the key lives in memory only:
        # sessions end when the process does.
        key = (load_key(config.home, "session.key") if config.home is not None
               else secrets.token_bytes(32))
    app.config.update(
        SECRET_KEY=key, SESSION_COOKIE_NAME="traza_session", SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=config.staff_hours),
        # The token check stays; the Referer check cannot: every page says no-referrer.
        # A cross-site Origin is refused below instead.
        WTF_CSRF_SSL_STRICT=False, WTF_CSRF_TIME_LIMIT=3600)
    csrf.init_app(app)

    @app.before_request
    def _session() -> None:
        if request.method == "POST":
            origin = request.headers.get("Origin")
            if origin and origin != "null" and urlsplit(origin).netloc != request.host:
                abort(403)
        who = principal.current()
        if _expired(config) or (who is not None and who.is_staff and not _still_active(who)):
            principal.sign_out()
        elif principal.current() is not None:
            session["seen"] = int(time.time())

    @app.errorhandler(CSRFError)
    def _csrf(_e: CSRFError):  # noqa: ANN202 (a Flask response)
        return render_template("error.html", code=400), 400
