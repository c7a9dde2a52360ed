"""The Traza web app: the trace viewer (the page the QR opens), donor review, staff pages,
the regulator console.

A blueprint per area: ``trace`` (``/t/<token>``, public by capability), ``auth`` (sign-in),
``review`` (the donor's own donation), ``staff`` (operators, clinicians), ``redaction``
(operators), ``regulator`` (regulators, read-only). Deny by default:
every view outside ``trace``, ``auth``, ``/healthz`` and ``/static`` is guarded by
:func:`web.principal.require`; unknown paths are 404. Every response carries one strict CSP;
every POST a CSRF token (:mod:`web.sessions`). The request's SQL session is ``g.db``.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, g, render_template, request
from flask.ctx import _AppCtxGlobals
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from client.db import Database

from . import audit, auth, principal, review, staff
from .config import WebConfig
from .i18n import install_i18n
from .identity import PipelineFor, Pipelines
from .ledger_view import LedgerReader, profile_reader
from .regulator import bp as regulator_bp
from .security import TokenBucket, install_headers
from .sessions import install_sessions, load_key
from .trace import Bundler, bp
from .verify import LibraryCheck, library_checker

__all__ = ["WebConfig", "create_app", "ledger_bundler"]

log = logging.getLogger("traza.web")


class _Globals(_AppCtxGlobals):
    """``g`` with ``g.db``: the request's SQL session, opened on first use.

    Committed when the request ends (rolled back on an error). Opened lazily so that a view
    which works through the pipeline (its own transactions) holds no SQLite write lock
    while it does: such views touch ``g.db`` (``audit.record``) only afterwards.
    """

    def __getattr__(self, name: str) -> Any:
        # Only called for a name not set: ``g.get("db")`` still says whether it is open,
        # and a view may set and pop its own ``g.db``.
        if name != "db":
            return super().__getattr__(name)
        stack = contextlib.ExitStack()
        db = current_app.extensions["traza_db"]
        # GET pages only read (their audit rows are written after them, on their own): a
        # read-only session takes no SQLite write lock. Other methods may write.
        session: Session = stack.enter_context(
            db.read_session() if request.method in ("GET", "HEAD") else db.session())
        self.__dict__.update(db=session, db_stack=stack)
        return session


@contextlib.contextmanager
def _unavailable(_who: Any) -> Any:
    """The pipeline seam when no pipeline is configured: the page answers 503."""
    from flask import abort
    abort(503)
    yield


class _NoDonorLogin:
    """Donor sign-in without a pipeline: nothing is sent, no code opens anything."""

    def start(self, _s: Any, _email: str) -> str:
        from client.donor import new_id
        return new_id("s")

    def verify(self, _s: Any, _session_id: str, _code: str) -> None:
        return None


def install_limits(app: Flask) -> None:
    """The request body limit is the app's (64 KiB) except on the intake upload.

    Registered before CSRF protection, which reads the form (and so the whole body).
    """

    @app.before_request
    def _limits() -> None:
        if request.endpoint == "staff.intake":
            request.max_content_length = app.config["TRAZA"].upload_mb * 1024 * 1024


class _App(Flask):
    app_ctx_globals_class = _Globals

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
               library: LibraryCheck | None = None, ledger: LedgerReader | None = None,
               pipeline_for: PipelineFor | None = None, donor_login: Any = None,
               accounts_key: bytes | None = None) -> Flask:
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
    pipeline_for : callable, optional
        ``pipeline_for(principal)`` -> context manager of a :class:`client.workflow.Pipeline`
        signing as that person (:mod:`web.identity`); default from ``config.pipeline``.
        Kept as ``app.extensions["traza_pipeline_for"]``: the seam other pages use.
    donor_login : client.donor_login.DonorLogin, optional
        The donor's one-time-code sign-in; default from ``config.pipeline``.
    accounts_key : bytes, optional
        Seals staff TOTP secrets; default ``config.home/accounts.key``.
    """
    root = Path(__file__).parent
    app = _App(__name__, static_folder=str(root / "static"),
               template_folder=str(root / "templates"))
    app.config.update(TRAZA=config, BABEL_DEFAULT_LOCALE=config.default_locale,
                      BABEL_DEFAULT_TIMEZONE=config.timezone, MAX_CONTENT_LENGTH=64 * 1024,
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
    if config.pipeline is not None and (pipeline_for is None or donor_login is None):
        pipelines = Pipelines(config.pipeline, db=db)
        pipeline_for = pipeline_for or pipelines
        donor_login = donor_login or pipelines.donor_login()
    app.extensions["traza_pipeline_for"] = pipeline_for or _unavailable
    app.extensions["traza_donor_login"] = donor_login or _NoDonorLogin()
    if accounts_key is None and config.home is not None:
        accounts_key = load_key(config.home, "accounts.key")
    app.extensions["traza_accounts_key"] = accounts_key
    app.extensions["traza_auth_bucket"] = TokenBucket(10, 5)
    bucket = limiter or TokenBucket(config.rate_per_minute, config.rate_burst)
    install_i18n(app)
    install_headers(app)
    install_limits(app)  # before CSRF reads any form
    install_sessions(app, config)
    for blueprint in (bp, auth.bp, review.bp, staff.bp, regulator_bp):
        app.register_blueprint(blueprint)
    app.jinja_env.globals["signed_in"] = lambda: principal.current() is not None
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
        return None

    @app.after_request
    def _audit(response: Response) -> Response:
        # The request's own session ends first (committed: the view returned): on SQLite a
        # write session would hold the lock the audit rows need.
        stack = g.pop("db_stack", None)
        g.pop("db", None)
        try:
            if stack is not None:
                stack.close()
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
