"""The web app's configuration: one typed object, built at the CLI edge and passed down."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["WebConfig"]


@dataclass(frozen=True)
class WebConfig:
    """What :func:`web.create_app` needs.

    Parameters
    ----------
    database_url : str
        The SQL database holding the event index (``donations_index``, ``steps_index``).
    profiles_dir : Path, optional
        The connection profiles folder (``network/run/profiles``); without it the evidence
        download answers 503.
    reader_org, reader_user : str
        The identity the evidence bundle is read with (any channel reader: a regulator).
    chaincode : str
        The contract whose events are the steps.
    timezone : str
        Times are shown in this zone (IANA name).
    rate_per_minute, rate_burst : int
        The token bucket per client address on ``/t/``: refill rate and capacity.
    trusted_proxies : int
        How many reverse proxies set ``X-Forwarded-For`` in front (0: use the socket address).
    secret_key : bytes, optional
        Signs the session cookie; without it a random key per process (sessions end with it).
    objects_file : Path, optional
        An org's MinIO settings (``<run>/minio/<org>.json``): the verification panel reads
        the library objects and checks each hashes to its ledger hash; without it, skipped.
    """

    database_url: str
    profiles_dir: Path | None = None
    reader_org: str = "imss"
    reader_user: str = "regulator1"
    chaincode: str = "traza"
    timezone: str = "America/Mexico_City"
    rate_per_minute: int = 30
    rate_burst: int = 10
    trusted_proxies: int = 0
    default_locale: str = "es"
    secret_key: bytes | None = field(default=None, repr=False)
    objects_file: Path | None = None
