"""MinIO buckets and one scoped identity per application org, made with root at `up`.

The root account (``minio.credentials()``) is used only here: it creates the ``staging``
and ``library`` buckets and, per application org, a MinIO user ``traza-<org>-<hex>`` with a
canned policy ``traza-<org>`` that allows only

- ``staging``: get, put, delete objects; list the bucket;
- ``library``: get, put objects; list the bucket (no delete: the library is append-only);

and nothing on any other bucket or on the admin API. Each org's credentials are written
0600 to ``<run>/minio/<org-key>.json`` (:func:`credentials_path`), the file that
``client.objects.ObjectStoreConfig.from_file`` reads. Running it again (every ``up``)
reuses those credentials and re-applies the user, policy and mapping, so it also repairs a
server whose data folder was wiped. Secrets travel in request bodies (the admin API
encrypts ``add-user`` bodies with the root secret), never on a command line.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import urllib3
from minio import Minio
from minio.credentials import StaticProvider
from minio.error import MinioAdminException, MinioException, S3Error, ServerError
from minio.minioadmin import MinioAdmin

from anonymizer.files import write_secret

from . import minio as minio_server
from .process import NetworkError
from .topology import Topology

STAGING = "staging"
LIBRARY = "library"


def policy_document(staging: str = STAGING, library: str = LIBRARY) -> dict[str, Any]:
    """The IAM policy of an org's identity: what its workflow needs on the two buckets."""

    def arn(x: str) -> str:
        return f"arn:aws:s3:::{x}"

    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "StagingObjects",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": [arn(f"{staging}/*")],
            },
            {
                "Sid": "LibraryObjects",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": [arn(f"{library}/*")],
            },
            {
                "Sid": "ListBoth",
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                "Resource": [arn(staging), arn(library)],
            },
        ],
    }


def credentials_path(out_dir: Path, org_key: str) -> Path:
    return Path(out_dir) / f"{org_key}.json"


def _existing(path: Path, org_key: str) -> dict[str, Any] | None:
    """The credentials written by an earlier run, or None if absent or unreadable."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    ok = (
        isinstance(doc, dict)
        and doc.get("org") == org_key
        and isinstance(doc.get("access_key"), str)
        and isinstance(doc.get("secret_key"), str)
    )
    return doc if ok else None


def _transient(e: Exception) -> bool:
    """True for "not yet" failures: unreachable, 5xx, server or IAM still initialising."""
    if isinstance(e, urllib3.exceptions.HTTPError | OSError | ServerError):
        return True
    if isinstance(e, S3Error):
        return e.code in ("XMinioServerNotInitialized", "ServiceUnavailable", "SlowDown")
    if isinstance(e, MinioAdminException):
        return str(e._code).startswith("5") or "NotInitialized" in str(e._body)
    return False


def _retry_until_ready(fn, what: str, timeout: float = 30.0):
    """Run ``fn``, retrying transient failures (MinIO just started) for up to ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except (MinioAdminException, MinioException, urllib3.exceptions.HTTPError, OSError) as e:
            if not _transient(e) or time.monotonic() > deadline:
                raise NetworkError(f"MinIO: {what} failed ({_why(e)})") from None
            time.sleep(0.5)


def _why(e: Exception) -> str:
    # The admin exception's text holds the server's answer (a code and a message, no
    # secret); keep it short.
    if isinstance(e, MinioAdminException):
        return f"HTTP {e._code}: {str(e._body)[:200]}"
    if isinstance(e, S3Error):
        return str(e.code)
    return type(e).__name__


def provision(
    endpoint: str,
    root_access_key: str,
    root_secret_key: str,
    org_keys: Iterable[str],
    out_dir: Path,
    *,
    secure: bool = False,
    ca_file: Path | None = None,
    staging: str = STAGING,
    library: str = LIBRARY,
) -> dict[str, Path]:
    """Create the buckets and each org's scoped user; return ``{org_key: credentials file}``.

    Idempotent: existing buckets are kept, existing credentials files reused.

    Parameters
    ----------
    endpoint : str
        ``host:port`` of the MinIO server.
    root_access_key, root_secret_key : str
        The root account (used for nothing else).
    org_keys : iterable of str
        Lower-case org keys (``university``, ``hospital``, ``imss``).
    out_dir : Path
        Where ``<org_key>.json`` files are written (0600, folder 0700 if created).
    secure : bool, optional
        HTTPS, verified against ``ca_file`` (written into each credentials file too).
    """
    creds = StaticProvider(root_access_key, root_secret_key)
    http = None
    if secure and ca_file is not None:
        http = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=str(ca_file),
                                   timeout=urllib3.Timeout(connect=5, read=30))
    root = Minio(endpoint, credentials=creds, secure=secure, region="us-east-1",
                 http_client=http)
    admin = MinioAdmin(endpoint=endpoint, credentials=creds, secure=secure, http_client=http)

    def make(bucket: str) -> None:
        if not root.bucket_exists(bucket):
            root.make_bucket(bucket)

    for bucket in (staging, library):
        _retry_until_ready(lambda b=bucket: make(b), f"creating bucket {bucket}")

    out: dict[str, Path] = {}
    for org in org_keys:
        path = credentials_path(out_dir, org)
        doc = _existing(path, org)
        if doc is None:
            doc = {
                "org": org,
                "access_key": f"traza-{org}-{secrets.token_hex(4)}",
                "secret_key": secrets.token_urlsafe(30),
            }
        policy = f"traza-{org}"
        doc.update(
            endpoint=endpoint,
            secure=secure,
            ca_file=str(ca_file) if ca_file else None,
            staging_bucket=staging,
            library_bucket=library,
            policy=policy,
        )
        # Written first: if a call below fails, the next run re-applies these same
        # credentials instead of leaving an orphan user behind.
        write_secret(path, json.dumps(doc, indent=2, sort_keys=True) + "\n")
        access, secret = doc["access_key"], doc["secret_key"]
        # add-user creates the user or resets its secret to the same value: idempotent.
        _retry_until_ready(lambda a=access, s=secret: admin.user_add(a, s), f"user for {org}")
        _retry_until_ready(
            lambda p=policy: admin.policy_add(p, policy=policy_document(staging, library)),
            f"policy {policy}",
        )
        # set-user-or-group-policy replaces the user's mapping (attach would refuse a
        # mapping already in effect on a second run).
        _retry_until_ready(
            lambda p=policy, a=access: admin.policy_set(p, user=a), f"mapping {policy}"
        )
        out[org] = path
    return out


def provision_network(topo: Topology) -> dict[str, Path]:
    """:func:`provision` for the network's MinIO and application orgs (called by `up`)."""
    root = minio_server.credentials(topo)
    return provision(
        topo.minio.address,
        root["access_key"],
        root["secret_key"],
        [o.key for o in topo.orgs],
        minio_server.home(topo),
        secure=True,
        ca_file=minio_server.ca_file(topo),
    )
