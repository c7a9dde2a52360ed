"""Whose identity signs a web step: the seam ``app.extensions["traza_pipeline_for"]``.

``pipeline_for(principal)`` is a context manager yielding a :class:`client.workflow.Pipeline`
of the web's intake org whose ledger actors are chosen for that person::

    with current_app.extensions["traza_pipeline_for"](principal.current()) as pipeline:
        pipeline.ingest(donation_id, folder, source)      # Acquire signed by that operator
        pipeline.diagnose(did, code, clinician=actor_of(who))  # Diagnose signed by them

- A staff person of the intake org: the pipeline's operator, service and de-identification
  actors are all that person's own Fabric identity (``Actor(org, "w-<username>")``, a
  wallet profile under ``<run>/web/wallet/profiles``), so every step they take is signed by
  them; a step their role may not take is refused by the contract, never re-signed by a
  shared identity.
- A staff person of another member org: only the steps that name their actor
  (:meth:`Pipeline.diagnose` with ``clinician=actor_of(who)``) are theirs; the intake org's
  own steps cannot be theirs, and the pipeline's default actors only read.
- A donor (no Fabric identity): the intake org's service identity, as the contract's
  lifecycle says donor decisions are submitted on the donor's behalf.

The gateway connections are opened on first use and closed when the block ends.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace

from client import mail
from client.db import Database
from client.donor_login import DonorLogin
from client.ledger import Actor, Ledger
from client.objects import ObjectStore, ObjectStoreConfig, open_store
from client.settings import Settings, key_ring, load_secrets
from client.workflow import Pipeline, PipelineConfig

from .accounts import fabric_user
from .principal import Principal

__all__ = ["PipelineFor", "Pipelines", "actor_of"]

log = logging.getLogger("traza.web")
PipelineFor = Callable[[Principal], AbstractContextManager[Pipeline]]


def actor_of(who: Principal, config: PipelineConfig) -> Actor:
    """The ledger actor of ``who``'s own steps (a donor's: the intake org's service)."""
    if who.is_staff:
        return Actor(who.org, fabric_user(who.subject))
    return config.service_actor


def config_for(who: Principal, base: PipelineConfig) -> PipelineConfig:
    """``base`` with its actors chosen for ``who`` (see the module docstring)."""
    if not who.is_staff or who.org != base.intake_org:
        return base
    user = fabric_user(who.subject)
    return replace(base, operator=user, service=user, deid_org=None)


class Pipelines:
    """The intake org's pipeline pieces, opened once; a :class:`Pipeline` per person and use.

    Parameters
    ----------
    settings : client.settings.Settings
        The intake org's pipeline settings (``identity_dirs`` must include the wallet's
        profiles folder).
    db : Database, optional
        The app's database (default opened from ``settings``).
    """

    def __init__(self, settings: Settings, *, db: Database | None = None) -> None:
        self.settings = settings
        self.db = db or Database.open(settings.database)
        self.keys = key_ring(settings.home)
        self.secrets = load_secrets(settings.home)
        self._store: ObjectStore | None = None

    @property
    def store(self) -> ObjectStore:
        if self._store is None:  # MinIO is reached on first use, not at start-up
            self._store = open_store(ObjectStoreConfig.from_file(self.settings.objects_file))
        return self._store

    @contextmanager
    def __call__(self, who: Principal) -> Iterator[Pipeline]:
        """A pipeline whose actors are ``who``'s (the ``traza_pipeline_for`` seam)."""
        s = self.settings
        with Ledger(s.profiles_dir, identity_dirs=s.identity_dirs) as ledger:
            yield Pipeline(config_for(who, s.pipeline), db=self.db, store=self.store,
                           keys=self.keys, secrets=self.secrets, ledger=ledger,
                           mail_settings=s.mail)

    def donor_login(self, minutes: int = 10) -> DonorLogin:
        """The donor sign-in on this org's accounts, codes sent with its mail settings."""
        m = self.settings.mail

        def deliver(msg: object) -> None:
            try:
                mail.send(m, msg)  # type: ignore[arg-type]
            except mail.MailError as e:  # the donor asks again; the log names no address
                log.warning("donor code not sent: %s", type(e).__name__)

        def send(msg: object) -> None:
            if m is None:
                raise mail.MailError("no mail server configured: the code cannot be sent")
            # Off the request: the answer takes as long for a known address as for an
            # unknown one (no timing hint of who has a donation under review).
            threading.Thread(target=deliver, args=(msg,), daemon=True).start()

        return DonorLogin(self.secrets.accounts, send,
                          sender=m.sender if m else "no-responder@traza.local", minutes=minutes)
