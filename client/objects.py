"""Objects in MinIO: an encrypted ``staging`` bucket and a content-addressed ``library``.

``staging`` holds a donation's originals, drafts and reports, sealed client-side
(:mod:`client.crypto`) under the donation's data key, under random names (``s-<32 hex>``)
that say nothing about the input. ``library`` holds de-identified objects named by their
SHA-256 (the hash on the ledger), written once and verified on every read.

Each org reaches MinIO with its own scoped credentials (written by ``traza network up`` to
``<run>/minio/<org>.json``, read by :meth:`ObjectStoreConfig.from_file`, which also names
the CA of MinIO's TLS certificate: the network's MinIO speaks HTTPS only); the root account
is never used here. Errors are typed (:class:`ObjectStoreError` and subclasses) and name
only the bucket, the object name and the endpoint.

Usage::

    store = open_store(ObjectStoreConfig.from_file("network/run/minio/hospital.json"))
    name = store.staging.put(data_key, dicom_bytes, donation_id=did)
    sha = store.library.put(deidentified_bytes)
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any, TypeVar

import urllib3
from minio import Minio
from minio.deleteobjects import DeleteObject
from minio.error import InvalidResponseError, MinioException, S3Error, ServerError

from anonymizer.files import LooseSecretError, read_secret

from .crypto import CryptoError, seal, unseal

T = TypeVar("T")

STAGING_NAME = re.compile(r"^s-[0-9a-f]{32}$")
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_STAGING_AAD = b"traza/staging/v1"
_OCTET = "application/octet-stream"
# S3 error codes that mean "try again later" (5xx answers the retries did not get past).
_BUSY = frozenset({"ServiceUnavailable", "SlowDown", "XMinioServerNotInitialized", "InternalError"})


# ---------------------------------------------------------------- errors


class ObjectStoreError(Exception):
    """An object-store operation failed; ``bucket`` and ``name`` say on what."""

    def __init__(self, message: str, *, bucket: str = "", name: str = "") -> None:
        super().__init__(message)
        self.bucket = bucket
        self.name = name


class ObjectNotFound(ObjectStoreError):
    """The object does not exist."""


class ObjectAccessDenied(ObjectStoreError):
    """The credentials' policy does not allow the operation."""


class ObjectIntegrityError(ObjectStoreError):
    """A library object's bytes do not match the SHA-256 that names it."""


class ObjectStoreUnavailable(ObjectStoreError):
    """The server cannot be reached or answers 5xx (down, starting, overloaded): retry later."""


class _PreconditionFailed(Exception):
    """A conditional PUT found the object already there (internal)."""


# ---------------------------------------------------------------- configuration


@dataclass(frozen=True)
class ObjectStoreConfig:
    """Where MinIO is and whose credentials to use.

    ``endpoint`` is ``host:port``; ``secure`` selects HTTPS, verified against ``ca_file`` (or
    the system bundle). ``timeout`` (seconds, connect and read) and ``retries`` (connection
    failures and 5xx answers, with a short backoff) bound how long a call to a down server
    takes before :class:`ObjectStoreUnavailable`; the caller's outbox retries later.
    """

    endpoint: str
    access_key: str
    secret_key: str = field(repr=False)
    secure: bool = False
    ca_file: str | None = None
    staging_bucket: str = "staging"
    library_bucket: str = "library"
    region: str = "us-east-1"  # fixed, so the client never asks the server for it
    timeout: float = 10.0
    retries: int = 2

    @classmethod
    def from_file(cls, path: str | PathLike[str], **overrides: Any) -> ObjectStoreConfig:
        """Read an org's credentials JSON (as written by ``network/minio_accounts.py``).

        The file must not be readable by group or others. Keys: ``endpoint``,
        ``access_key``, ``secret_key`` and optionally ``secure``, ``ca_file``,
        ``staging_bucket``, ``library_bucket``; unknown keys (``org``, ``policy``) are
        ignored. ``overrides`` replace fields (e.g. ``timeout=2``).
        """
        path = Path(path)
        try:
            raw = read_secret(path)
        except LooseSecretError as e:
            raise ObjectStoreError(f"credentials file {e}") from None
        except OSError as e:
            raise ObjectStoreError(f"cannot open credentials file {path}: {e.strerror}") from None
        try:
            doc = json.loads(raw)
            known = {k: doc[k] for k in cls.__dataclass_fields__ if k in doc}
            return cls(**{**known, **overrides})
        except (ValueError, TypeError) as e:
            # Never echo the content: it holds the secret key.
            raise ObjectStoreError(
                f"credentials file {path} is not valid ({type(e).__name__}); "
                "it needs endpoint, access_key and secret_key"
            ) from None


def _client(config: ObjectStoreConfig) -> Minio:
    retry = urllib3.Retry(
        total=config.retries,
        backoff_factor=0.2,
        status_forcelist=[500, 502, 503, 504],
        raise_on_status=True,
    )
    timeout = urllib3.Timeout(connect=config.timeout, read=config.timeout)
    if config.secure:
        import certifi  # a dependency of minio

        http = urllib3.PoolManager(
            timeout=timeout,
            retries=retry,
            cert_reqs="CERT_REQUIRED",
            ca_certs=config.ca_file or certifi.where(),
        )
    else:
        http = urllib3.PoolManager(timeout=timeout, retries=retry)
    return Minio(
        config.endpoint,
        access_key=config.access_key,
        secret_key=config.secret_key,
        secure=config.secure,
        region=config.region,
        http_client=http,
    )


# ---------------------------------------------------------------- one bucket


class _Bucket:
    """The only code that calls the minio client; maps its failures to typed errors."""

    def __init__(self, client: Any, bucket: str, endpoint: str) -> None:
        self.client = client
        self.bucket = bucket
        self.endpoint = endpoint

    @contextmanager
    def _errors(self, op: str, name: str = "") -> Iterator[None]:
        where = f"{self.bucket}/{name}" if name else self.bucket
        kw = {"bucket": self.bucket, "name": name}
        try:
            yield
        except S3Error as e:
            code = e.code or ""
            if code in ("NoSuchKey", "NoSuchObject", "ResourceNotFound"):
                raise ObjectNotFound(f"no object {where}", **kw) from None
            if code == "NoSuchBucket":
                raise ObjectStoreError(f"bucket {self.bucket} does not exist", **kw) from None
            if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                raise ObjectAccessDenied(
                    f"{op} {where} refused by the server ({code})", **kw
                ) from None
            if code == "PreconditionFailed":
                raise _PreconditionFailed() from None
            if code in _BUSY:
                raise ObjectStoreUnavailable(
                    f"object store at {self.endpoint} answered {code} to {op} {where}", **kw
                ) from None
            raise ObjectStoreError(f"{op} {where} failed ({code})", **kw) from None
        except ServerError as e:
            raise ObjectStoreUnavailable(
                f"object store at {self.endpoint} answered HTTP {e.status_code} to {op} {where}",
                **kw,
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as e:
            # Connection refused, reset, timeouts, and retries exhausted on 5xx answers.
            raise ObjectStoreUnavailable(
                f"object store at {self.endpoint} is unreachable ({type(e).__name__}) "
                f"during {op} {where}",
                **kw,
            ) from None
        except InvalidResponseError as e:
            raise ObjectStoreError(
                f"{op} {where}: unexpected answer (HTTP {e._code})", **kw
            ) from None
        except MinioException as e:
            raise ObjectStoreError(f"{op} {where} failed ({type(e).__name__})", **kw) from None

    def _call(self, op: str, name: str, fn: Callable[[], T]) -> T:
        with self._errors(op, name):
            return fn()

    def put_new(self, name: str, data: bytes) -> bool:
        """PUT ``name`` only if it does not exist (``If-None-Match: *``); False if it did.

        minio-py 7.2's ``put_object`` turns unknown headers into user metadata, so the
        conditional header goes through its single-request PUT (``_put_object``); the body
        is in memory anyway.
        """
        headers = {"If-None-Match": "*", "Content-Type": _OCTET}
        try:
            self._call(
                "put", name, lambda: self.client._put_object(self.bucket, name, data, headers)
            )
        except _PreconditionFailed:
            return False
        return True

    def get(self, name: str) -> bytes:
        def read() -> bytes:
            resp = self.client.get_object(self.bucket, name)
            try:
                return resp.read()
            finally:
                resp.close()
                resp.release_conn()

        return self._call("get", name, read)

    def exists(self, name: str) -> bool:
        try:
            self._call("stat", name, lambda: self.client.stat_object(self.bucket, name))
        except ObjectNotFound:
            return False
        return True

    def delete(self, name: str) -> None:
        # S3 DELETE of a missing key succeeds: deleting twice is not an error.
        self._call("delete", name, lambda: self.client.remove_object(self.bucket, name))

    def delete_many(self, names: list[str]) -> None:
        """Delete objects with multi-object DELETE requests (up to 1000 names each)."""
        def run() -> None:
            for i in range(0, len(names), 1000):
                batch = [DeleteObject(n) for n in names[i:i + 1000]]
                errors = list(self.client.remove_objects(self.bucket, batch))  # lazy: drain it
                if errors:
                    raise errors[0]

        if names:
            self._call("delete", names[0], run)

    def names(self) -> list[str]:
        return self._call(
            "list",
            "",
            lambda: sorted(o.object_name for o in self.client.list_objects(self.bucket)),
        )


# ---------------------------------------------------------------- staging and library


def _staging_aad(donation_id: str, name: str) -> bytes:
    if not donation_id or "\x00" in donation_id:
        raise ValueError("donation_id must be a non-empty string without NUL")
    return b"\x00".join([_STAGING_AAD, donation_id.encode(), name.encode()])


def _check_staging_name(name: str) -> None:
    if not STAGING_NAME.match(name):
        raise ValueError("a staging object name looks like s-<32 hex digits>")


def _check_sha(sha256: str) -> None:
    if not SHA256_HEX.match(sha256):
        raise ValueError("a library object name is a SHA-256 in lower-case hex")


class Staging:
    """Encrypted, randomly named objects of donations in progress.

    Each object is ``seal(data_key, plaintext, aad)`` with the AAD binding the donation id
    and the object name, so a blob copied to another name or donation does not open.
    """

    def __init__(self, bucket: _Bucket) -> None:
        self._b = bucket

    @property
    def bucket(self) -> str:
        return self._b.bucket

    def put(self, data_key: bytes, plaintext: bytes, *, donation_id: str) -> str:
        """Seal and store ``plaintext``; return its new random name (``s-<32 hex>``)."""
        for _ in range(3):  # a collision of 128 random bits: only a broken RNG retries
            name = "s-" + secrets.token_hex(16)
            blob = seal(data_key, plaintext, _staging_aad(donation_id, name))
            if self._b.put_new(name, blob):
                return name
        raise ObjectStoreError("could not find a free staging name", bucket=self.bucket)

    def get(self, name: str, data_key: bytes, *, donation_id: str) -> bytes:
        """Fetch and open a staged object.

        Raises :class:`ObjectNotFound`, or :class:`~client.crypto.CryptoError` if the key or
        donation id is wrong or the object was modified.
        """
        _check_staging_name(name)
        blob = self._b.get(name)
        try:
            return unseal(data_key, blob, _staging_aad(donation_id, name))
        except CryptoError as e:
            raise CryptoError(f"{self.bucket}/{name}: {e}") from None

    def delete(self, name: str) -> None:
        """Delete a staged object; deleting a missing one is not an error."""
        _check_staging_name(name)
        self._b.delete(name)

    def delete_many(self, names: list[str]) -> None:
        """Delete several staged objects in few requests; missing ones are not an error."""
        for name in names:
            _check_staging_name(name)
        self._b.delete_many(names)

    def exists(self, name: str) -> bool:
        _check_staging_name(name)
        return self._b.exists(name)

    def list_names(self) -> list[str]:
        """Every object name in the staging bucket, sorted."""
        return self._b.names()


class Library:
    """De-identified objects named by their SHA-256: written once, verified on every read."""

    def __init__(self, bucket: _Bucket) -> None:
        self._b = bucket

    @property
    def bucket(self) -> str:
        return self._b.bucket

    def put(self, data: bytes) -> str:
        """Store ``data`` under its SHA-256 hex and return it; never overwrites.

        The PUT is conditional (``If-None-Match: *``). If the object is already there it is
        read back and must hash to its name, else :class:`ObjectIntegrityError`. On a server
        that ignored the condition the overwrite would still be harmless: the name is the
        hash, so the only bytes that can correctly sit under it are these.
        """
        sha = hashlib.sha256(data).hexdigest()
        if not self._b.put_new(sha, data):
            self.get(sha)  # verifies; the stored copy is left as it is either way
        return sha

    def get(self, sha256: str) -> bytes:
        """Fetch an object and check it hashes to ``sha256`` (:class:`ObjectIntegrityError`)."""
        _check_sha(sha256)
        data = self._b.get(sha256)
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ObjectIntegrityError(
                f"{self.bucket}/{sha256} does not match its SHA-256 (modified or corrupted)",
                bucket=self.bucket,
                name=sha256,
            )
        return data

    def exists(self, sha256: str) -> bool:
        _check_sha(sha256)
        return self._b.exists(sha256)

    def list_names(self) -> list[str]:
        return self._b.names()


@dataclass(frozen=True)
class ObjectStore:
    """An org's view of MinIO: :attr:`staging` and :attr:`library`."""

    config: ObjectStoreConfig
    staging: Staging
    library: Library


def open_store(config: ObjectStoreConfig, *, client: Any = None) -> ObjectStore:
    """Build the store; no request is made until the first operation.

    ``client`` replaces the minio client (unit tests pass a fake).
    """
    c = client if client is not None else _client(config)
    return ObjectStore(
        config=config,
        staging=Staging(_Bucket(c, config.staging_bucket, config.endpoint)),
        library=Library(_Bucket(c, config.library_bucket, config.endpoint)),
    )
