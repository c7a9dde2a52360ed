"""Database backends for the tests: every ``db`` test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``TRAZA_TEST_DATABASE_URL`` or the 0600 file that
``scripts/start-postgres.sh`` writes (``~/.cache/traza/postgres-test.url``). In CI
(``CI=true``) a missing or unreachable server is an error; locally the script is run once
to start it (when PostgreSQL is installed), else the PostgreSQL cases are skipped. Each test
session works in a schema of its own, dropped at the end, so runs do not see each other.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
URL_FILE = Path.home() / ".cache" / "traza" / "postgres-test.url"
BACKENDS = ("sqlite", "postgresql")


def _reachable(url: str) -> str | None:
    """None when ``url`` answers, else the reason."""
    from sqlalchemy import text

    from client.db import Database, DatabaseUnavailable

    db = Database(url)
    try:
        with db.session() as s:
            s.execute(text("SELECT 1"))
        return None
    except DatabaseUnavailable as e:
        return str(e)
    finally:
        db.dispose()


def _postgres_url() -> str:
    """The test server's URL, starting it locally if needed; fails in CI, else skips."""
    in_ci = os.environ.get("CI") == "true"
    url = os.environ.get("TRAZA_TEST_DATABASE_URL", "").strip()
    if not url and URL_FILE.exists():
        url = URL_FILE.read_text().strip()
    problem = _reachable(url) if url else "no TRAZA_TEST_DATABASE_URL and no " + str(URL_FILE)
    if problem and not in_ci and shutil.which("pg_lsclusters"):
        subprocess.run([str(REPO / "scripts" / "start-postgres.sh")], check=False,
                       capture_output=True, timeout=300)
        url = os.environ.get("TRAZA_TEST_DATABASE_URL", "").strip() or (
            URL_FILE.read_text().strip() if URL_FILE.exists() else "")
        problem = _reachable(url) if url else f"scripts/start-postgres.sh wrote no {URL_FILE}"
    if problem:
        message = f"PostgreSQL for tests: {problem} (run scripts/start-postgres.sh)"
        if in_ci:
            pytest.fail(message)
        pytest.skip(message)
    return url


@contextmanager
def _schema(base: str) -> Iterator[str]:
    """A URL of ``base`` whose ``search_path`` is a new schema, dropped afterwards."""
    from client.db import temporary_schema

    with temporary_schema(base) as (url, _):
        yield url


@pytest.fixture(scope="session")
def postgres_base_url() -> str:
    """The test server's URL (see the module docstring)."""
    return _postgres_url()


@pytest.fixture(scope="session")
def postgres_url(postgres_base_url: str) -> Iterator[str]:
    """A PostgreSQL URL whose ``search_path`` is a schema made for this session."""
    with _schema(postgres_base_url) as url:
        yield url


@pytest.fixture(scope="session")
def _postgres_db(postgres_url: str):
    from client.db import Database

    db = Database.open(postgres_url)
    yield db
    db.dispose()


def _empty(db) -> None:
    from sqlalchemy import text

    from client.db import Base

    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with db.session() as s:
        s.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    """``"sqlite"`` or ``"postgresql"``: tests using it run once on each."""
    return request.param


@pytest.fixture
def database_url(backend: str, request, tmp_path: Path) -> Iterator[str]:
    """An empty (not yet migrated) database URL of ``backend``."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'traza.sqlite'}"
        return
    with _schema(request.getfixturevalue("postgres_base_url")) as url:
        yield url


@pytest.fixture
def db(backend: str, request, tmp_path: Path):
    """A migrated, empty :class:`client.db.Database` on ``backend``."""
    from client.db import Database

    if backend == "sqlite":
        database = Database.open(f"sqlite:///{tmp_path / 'traza.sqlite'}")
        yield database
        database.dispose()
        return
    database = request.getfixturevalue("_postgres_db")
    _empty(database)
    yield database
