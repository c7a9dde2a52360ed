"""The SQL database: an engine, sessions and Alembic migrations, SQLite or PostgreSQL by URL.

SQLite (the default, a file) runs in WAL mode with foreign keys on, and every transaction
starts with ``BEGIN IMMEDIATE``: writers queue on the busy timeout instead of failing when
a read turns into a write. PostgreSQL is reached with psycopg 3; a plain
``postgresql://`` URL is given that driver.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import URL, Engine, create_engine, event, make_url, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["Database", "DatabaseError", "DatabaseUnavailable", "ReadOnlySessionError",
           "sqlite_url"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT = 30.0  # seconds a writer waits for another one
READ_ONLY = "traza_read_only"  # execution option of read_session()'s engine


class DatabaseError(Exception):
    """The database refused or failed an operation."""


class DatabaseUnavailable(DatabaseError):
    """The database could not be reached (down, locked, network): retry later, nothing done."""


class ReadOnlySessionError(DatabaseError):
    """Rows were added, changed or deleted in :meth:`Database.read_session` (nothing kept)."""


def sqlite_url(path: str | os.PathLike[str]) -> str:
    """The URL of an SQLite file."""
    return f"sqlite:///{Path(path).resolve()}"


def _normalize(url: str | URL) -> URL:
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling would defeat SAVEPOINT and BEGIN IMMEDIATE:
        # switch it off and let the "begin" hook below start transactions (SQLAlchemy docs,
        # "Serializable isolation / Savepoints / Transactional DDL").
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # A read-only session (Database.read_session) takes no write lock: in WAL mode its
        # reads run beside the one writer instead of queueing behind it.
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class Database:
    """An SQL database: engine, session factory and schema migrations.

    Parameters
    ----------
    url : str or sqlalchemy.URL
        ``sqlite:///path/to/file.sqlite`` or ``postgresql://user@host:port/db`` (the
        password from the URL, a ``.pgpass`` file or ``PGPASSWORD``; never logged).
    echo : bool, optional
        Log every SQL statement (default False).

    Examples
    --------
    >>> db = Database.open("sqlite:////tmp/traza.sqlite")  # doctest: +SKIP
    >>> with db.session() as s:  # doctest: +SKIP
    ...     s.add(Operation(...))  # committed on leaving the block
    """

    def __init__(self, url: str | URL, *, echo: bool = False) -> None:
        self.url = _normalize(url)
        options: dict[str, Any] = {"echo": echo}
        if self.dialect == "sqlite":
            options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT,
                                       "check_same_thread": False}
        else:
            # A connection broken while the server was down is replaced on next use.
            options.update(pool_pre_ping=True, pool_size=5, max_overflow=5)
        self.engine = create_engine(self.url, **options)
        if self.dialect == "sqlite":
            _sqlite_pragmas(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._readers = sessionmaker(self.engine.execution_options(**{READ_ONLY: True}),
                                     expire_on_commit=False)

    @classmethod
    def open(cls, url: str | URL, **options: Any) -> Database:
        """Connect and migrate the schema to the newest revision."""
        db = cls(url, **options)
        db.upgrade()
        return db

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.url.get_backend_name()

    @property
    def safe_url(self) -> str:
        """The URL with any password masked, for messages."""
        return self.url.render_as_string(hide_password=True)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on leaving the block, rolled back on error.

        Raises
        ------
        DatabaseUnavailable
            If the server cannot be reached (or SQLite stays locked); nothing was committed.
        """
        with self._translate(), self._sessions.begin() as session:
            yield session

    @contextlib.contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session for reads only: on SQLite a deferred ``BEGIN``, never the write lock.

        For pages that only read (the web's GET requests): many run at once beside one
        writer. Rolled back on leaving the block; objects added, changed or deleted in it
        raise :class:`ReadOnlySessionError` then instead of being dropped silently (use
        :meth:`session` to write).
        """
        with self._translate(), self._readers() as session:
            try:
                yield session
                if session.new or session.dirty or session.deleted:
                    raise ReadOnlySessionError(
                        "a read-only session was asked to write: use Database.session()")
            finally:
                session.rollback()

    @contextlib.contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except (sa_exc.OperationalError, sa_exc.InterfaceError) as e:
            raise DatabaseUnavailable(
                f"database {self.safe_url} is unavailable: {_first_line(e.orig)}") from e
        except sa_exc.DBAPIError as e:
            if e.connection_invalidated:
                raise DatabaseUnavailable(
                    f"database {self.safe_url} connection lost: {_first_line(e.orig)}") from e
            raise

    # -- migrations --------------------------------------------------------------------

    def alembic_config(self) -> Config:
        """Alembic's configuration for this database (no ini file: works when installed)."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.set_main_option("sqlalchemy.url", self.url.render_as_string(hide_password=False)
                            .replace("%", "%%"))
        return cfg

    def _run(self, fn: Any, *args: Any) -> None:
        cfg = self.alembic_config()
        with self._translate(), self.engine.begin() as connection:
            if self.dialect == "postgresql":
                # Two processes opening a fresh database migrate one after the other.
                connection.execute(text("SELECT pg_advisory_xact_lock(74726159)"))
            cfg.attributes["connection"] = connection
            fn(cfg, *args)

    def upgrade(self, revision: str = "head") -> None:
        """Migrate the schema up to ``revision`` (default: the newest)."""
        self._run(command.upgrade, revision)

    def downgrade(self, revision: str) -> None:
        """Migrate the schema down to ``revision`` (``"base"``: no tables)."""
        self._run(command.downgrade, revision)

    def revision(self) -> str | None:
        """The schema revision the database is at (``None`` before the first upgrade)."""
        with self._translate(), self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def head(self) -> str | None:
        """The newest revision the code knows."""
        return ScriptDirectory.from_config(self.alembic_config()).get_current_head()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({self.safe_url!r})"


@contextlib.contextmanager
def temporary_schema(base: str, prefix: str = "t") -> Iterator[tuple[str, str]]:
    """``(url, schema)``: PostgreSQL ``base`` whose ``search_path`` is a new schema.

    The schema is dropped on exit: test sessions and bench runs on one server never see
    each other's rows.
    """
    import secrets

    schema = f"{prefix}_{secrets.token_hex(6)}"
    admin = Database(base)
    with admin.session() as s:
        s.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False), schema
    finally:
        with admin.session() as s:
            s.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _first_line(err: BaseException | None) -> str:
    return str(err).strip().splitlines()[0] if err is not None and str(err).strip() else "error"
