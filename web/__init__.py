"""The Traza web app: the donor's trace viewer (the page the QR opens), the regulator console.

Deny by default: without a session only ``/t/<token>`` (and its ``evidence.json`` and
``verify``), ``/healthz`` and ``/static`` answer; ``/regulator/`` needs a regulator's
session; everything else is 404. Every response carries one strict CSP.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from client.db import Database

from . import audit
from .config import WebConfig
from .i18n import install_i18n
from .ledger_view import LedgerReader, profile_reader
from .regulator import bp as regulator_bp
from .security import TokenBucket, install_headers
from .trace import Bundler, bp
from .verify import LibraryCheck, library_checker

__all__ = ["WebConfig", "create_app", "ledger_bundler"]

log = logging.getLogger("traza.web")


class _App(Flask):
    def log_exception(self, exc_info: Any) -> None:
        # Flask's own message names the path, and the path holds the token: log the kind only.
        log.error("unhandled %s on %s", exc_info[0].__name__ if exc_info[0] else "error",
                  request.url_rule.rule if request.url_rule else "?")


def ledger_bundler(config: WebConfig) -> Bundler | None:
    """Build bundles through the reader's connection profile (``None`` without profiles)."""
    reader = profile_reader(config)
    return reader.bundle if reader is not None else None


def create_app(config: WebConfig, *, bundler: Bundler | None = None,
               database: Database | None = None, limiter: TokenBucket | None = None,
               library: LibraryCheck | None = None,
               ledger: LedgerReader | None = None) -> Flask:
    """The Flask app for ``config``.

    Parameters
    ----------
    config : WebConfig
    bundler : callable, optional
        Builds a donation's evidence bundle; default :func:`ledger_bundler` (a fake in tests).
    database : Database, optional
        The index's database; default opened (and migrated) from ``config.database_url``.
    limiter : TokenBucket, optional
        The rate limit on ``/t/``; default from ``config``.
    library : callable, optional
        Checks a library object against its hash (verification panel); default from
        ``config.objects_file``.
    ledger : LedgerReader, optional
        Reads blocks and bundles for the regulator console; default through the reader's
        connection profile (a fake in tests).
    """
    root = Path(__file__).parent
    app = _App(__name__, static_folder=str(root / "static"),
               template_folder=str(root / "templates"))
    app.config.update(TRAZA=config, BABEL_DEFAULT_LOCALE=config.default_locale,
                      BABEL_DEFAULT_TIMEZONE=config.timezone, MAX_CONTENT_LENGTH=16 * 1024,
                      SEND_FILE_MAX_AGE_DEFAULT=3600)
    if config.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config.trusted_proxies)  # type: ignore
    db = database or Database.open(config.database_url)
    app.extensions["traza_db"] = db
    reader = ledger if ledger is not None else profile_reader(config)
    app.extensions["traza_ledger"] = reader
    app.extensions["traza_bundler"] = (bundler if bundler is not None
                                       else reader.bundle if reader is not None else None)
    app.extensions["traza_library"] = (library if library is not None
                                       else library_checker(config.objects_file))
    # One key per process when none is configured: sessions then end with the process.
    app.secret_key = config.secret_key or secrets.token_bytes(32)
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict",
                      SESSION_COOKIE_NAME="traza_session")
    bucket = limiter or TokenBucket(config.rate_per_minute, config.rate_burst)
    install_i18n(app)
    install_headers(app)
    app.register_blueprint(bp)
    app.register_blueprint(regulator_bp)
    # -- manual redaction of scanned pages (operators; web/redaction.py, issue 13) --------
    from .redaction import install_redaction

    install_redaction(app)
    # -------------------------------------------------------------------------------------

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.before_request
    def _before() -> Any:
        if request.path.startswith("/t/"):
            wait = bucket.take(request.remote_addr or "?")
            if wait:
                log.info("rate limit: 429")  # no address: an IP is personal data
                return render_template("error.html", code=429), 429, {
                    "Retry-After": TokenBucket.retry_after(wait)}
        if not request.path.startswith(("/static/", "/healthz")):
            stack = contextlib.ExitStack()
            # GET pages only read (their audit rows are written after them, on their own):
            # a read-only session takes no SQLite write lock. Other methods may write.
            g.db = stack.enter_context(db.read_session() if request.method in ("GET", "HEAD")
                                       else db.session())
            g.db_stack = stack
        return None

    @app.after_request
    def _audit(response: Response) -> Response:
        try:
            audit.write(db)
        except Exception as e:  # fail closed: a read that cannot be recorded is not served
            log.error("audit: %s; answering 503", type(e).__name__)
            response = app.make_response((render_template("error.html", code=503), 503))
        return response

    @app.teardown_request
    def _teardown(exc: BaseException | None) -> None:
        stack = g.pop("db_stack", None)
        if stack is not None:
            if exc is None:
                stack.close()
            else:
                stack.__exit__(type(exc), exc, exc.__traceback__)

    @app.errorhandler(HTTPException)
    def _error(e: HTTPException) -> Any:
        code = e.code or 500
        template = "not_found.html" if code in (404, 405) else "error.html"
        # 405 looks like 404: no hint that a route exists.
        code = 404 if code == 405 else code
        return render_template(template, code=code), code

    return app
