"""What a pipeline is configured with and hands back (see :mod:`client.workflow`)."""

from __future__ import annotations

from dataclasses import dataclass

from .donations import LegalRegime
from .ledger import Actor


class PipelineError(Exception):
    """A pipeline step could not be done; the message names the donation and the step."""


@dataclass(frozen=True)
class PipelineConfig:
    """Who takes which step, and the defaults of a donation."""

    intake_org: str = "hospital"
    operator: str = "operator1"
    service: str = "service1"
    deid_org: str | None = None  # another member's service may de-identify; default: intake
    viewer_base: str = "http://127.0.0.1:8080"
    profile: str = "library"
    jobs: int | None = None
    legal_regime: LegalRegime = "LGPDPPSO"
    step_timeout: float = 120.0

    @property
    def operator_actor(self) -> Actor:
        return Actor(self.intake_org, self.operator)

    @property
    def service_actor(self) -> Actor:
        return Actor(self.intake_org, self.service)

    @property
    def deid_actor(self) -> Actor:
        return Actor(self.deid_org or self.intake_org, self.service)


@dataclass(frozen=True)
class Registration:
    """What registration hands back: the ids, and the QR link that was e-mailed."""

    donation_id: str
    account_id: str
    viewer_url: str
    message_id: str | None


@dataclass(frozen=True)
class Secrets:
    """The intake org's pipeline secrets: de-identification key, account key (HMAC)."""

    deid: bytes
    accounts: bytes
