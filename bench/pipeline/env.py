"""What the bench runs against: a running network's run folder, a pipeline home, a database.

The bench never starts or stops the network. Its pipeline home (keys, secrets, SQLite file)
is its own, under the output folder, so the demo's state is neither read nor changed. A
PostgreSQL run works in a schema made for it and dropped afterwards, as the tests do.
"""

from __future__ import annotations

from pathlib import Path

from client.db import Database
from client.settings import Settings
from client.workflow import PipelineConfig

POSTGRES_URL_FILE = Path.home() / ".cache" / "traza" / "postgres-test.url"
ORGS = ("university", "hospital", "imss")


def bench_settings(run_dir: Path, home: Path, *, intake_org: str = "hospital",
                   database_url: str | None = None, jobs: int | None = None) -> Settings:
    """Settings of a pipeline on the network of ``run_dir`` with its state under ``home``."""
    return Settings(home=home, profiles_dir=run_dir / "profiles",
                    objects_file=run_dir / "minio" / f"{intake_org}.json",
                    database_url=database_url, mail=None,
                    pipeline=PipelineConfig(intake_org=intake_org, jobs=jobs))


def postgres_base_url() -> str | None:
    """The test server's URL from ``~/.cache/traza/postgres-test.url``, if it answers."""
    from sqlalchemy import text

    if not POSTGRES_URL_FILE.exists():
        return None
    url = POSTGRES_URL_FILE.read_text().strip()
    db = Database(url)
    try:
        with db.session() as s:
            s.execute(text("SELECT 1"))
        return url
    except Exception:  # noqa: BLE001 - unreachable: the bench falls back to SQLite
        return None
    finally:
        db.dispose()


def postgres_schema(base: str):
    """``(url, schema)``: ``base`` with ``search_path`` on a new schema, dropped on exit."""
    from client.db import temporary_schema

    return temporary_schema(base, "bench")


def chain_heights(run_dir: Path, user: str = "service1") -> dict[str, int]:
    """The channel's height at each org's peer (``qscc GetChainInfo`` through its gateway)."""
    from client.index import chain_height
    from client.profile import Profile

    heights = {}
    for org in ORGS:
        profile = Profile.from_dir(run_dir / "profiles", org, user)
        with profile.gateway() as gw:
            heights[f"{org} {profile.peer}"] = chain_height(gw.get_network(profile.channel))
    return heights

