"""The web app's configuration: one typed object, built at the CLI edge and passed down."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from client.settings import Settings

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
    home : Path, optional
        The web's private folder (``<run>/web``): ``session.key`` (the session cookies' key),
        ``accounts.key`` (seals staff TOTP secrets) and ``wallet/`` (staff identities), made
        0600/0700 at first use. Without it (tests) ``secret_key`` must be given.
    secret_key : bytes, optional
        The session key itself (tests); default read from ``home/session.key``.
    donor_minutes : int
        A donor's session ends this long after sign-in.
    staff_hours, staff_idle_minutes : int
        A staff session ends this long after sign-in, or after this long without a request.
    upload_mb, upload_files : int
        The intake upload's limits: total size and number of files (in a zip too).
    intake_org : str
        The member org whose pipeline (database, staging, keys) the review and staff pages use.
    pipeline : client.settings.Settings, optional
        That pipeline's settings; without them the review and staff pages answer 503.
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
    home: Path | None = None
    secret_key: bytes | None = field(default=None, repr=False)
    donor_minutes: int = 15
    staff_hours: int = 8
    staff_idle_minutes: int = 30
    upload_mb: int = 200
    upload_files: int = 500
    intake_org: str = "hospital"
    pipeline: Settings | None = None
    objects_file: Path | None = None
