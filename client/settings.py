"""Where an intake org's pipeline keeps its state, and how to open it.

An intake org's pipeline home holds its SQLite database (unless a PostgreSQL URL is given),
its key-encryption keys (``keys/``) and its pipeline secrets (``secrets/``), all created
0600/0700 on first use. The connection profiles and the MinIO credentials are the files that
``traza network up`` writes; a deployment points at its own.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anonymizer.files import private_dir, write_secret

from .crypto import KeyRing
from .db import Database
from .ledger import Actor, Ledger
from .mail import MailSettings
from .objects import ObjectStoreConfig, open_store
from .workflow import Pipeline, PipelineConfig, Secrets


@dataclass(frozen=True)
class Settings:
    """Everything a pipeline needs, passed down explicitly (env vars are read by the CLI)."""

    home: Path
    profiles_dir: Path
    objects_file: Path
    database_url: str | None = None
    mail: MailSettings | None = None
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    identity_dirs: tuple[Path, ...] = ()  # per-person identities (the web's wallet profiles)

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'traza.db'}"

    @classmethod
    def for_run_dir(cls, run_dir: Path, intake_org: str = "hospital", *,
                    mail: MailSettings | None = None, database_url: str | None = None,
                    **config: object) -> Settings:
        """The layout ``traza network up`` writes under ``run_dir``, for ``intake_org``."""
        return cls(home=run_dir / "pipeline" / intake_org, profiles_dir=run_dir / "profiles",
                   objects_file=run_dir / "minio" / f"{intake_org}.json",
                   database_url=database_url, mail=mail,
                   pipeline=PipelineConfig(intake_org=intake_org, **config),  # type: ignore[arg-type]
                   identity_dirs=(run_dir / "web" / "wallet" / "profiles",))


def _secret(path: Path, size: int = 32) -> bytes:
    if not path.exists():
        write_secret(path, secrets.token_bytes(size))
    return path.read_bytes()


def load_secrets(home: Path) -> Secrets:
    """The pipeline's secrets under ``home/secrets`` (generated 0600 at first use)."""
    d = private_dir(home / "secrets")
    return Secrets(deid=_secret(d / "deid.key"), accounts=_secret(d / "accounts.key"))


def key_ring(home: Path) -> KeyRing:
    """The intake org's key-encryption keys under ``home/keys`` (one made at first use)."""
    return KeyRing.open(private_dir(home / "keys"))


def database(settings: Settings) -> Database:
    private_dir(settings.home)
    return Database.open(settings.database)


@contextmanager
def open_pipeline(settings: Settings, *, worker_id: str | None = None,
                  on_step: Callable[[dict[str, Any], Actor], None] | None = None,
                  ) -> Iterator[Pipeline]:
    """A :class:`Pipeline` on ``settings``, its gateway connections closed on exit."""
    db = database(settings)
    store = open_store(ObjectStoreConfig.from_file(settings.objects_file))
    with Ledger(settings.profiles_dir, identity_dirs=settings.identity_dirs) as ledger:
        yield Pipeline(settings.pipeline, db=db, store=store, keys=key_ring(settings.home),
                       secrets=load_secrets(settings.home), ledger=ledger,
                       mail_settings=settings.mail, worker_id=worker_id, on_step=on_step)
