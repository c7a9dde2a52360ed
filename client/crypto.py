"""Envelope encryption of staged objects: AES-256-GCM under a data key per donation.

Each donation has its own random 256-bit *data key*; every staged object (original, draft,
report) is sealed with it (:func:`seal`). The data key itself is stored only *wrapped*
(encrypted) by the intake org's *key-encryption key* (:class:`KeyEncryptionKey`), which is
kept outside MinIO and outside SQL: a 0600 file or an environment variable. A
:class:`KeyRing` holds the current KEK and retired ones, so a rotation re-wraps the data
keys (a few dozen bytes per donation) without re-encrypting any object.

Destroying a donation's data key is the caller's job: delete the row that holds the wrapped
key (and any copy of it). Once that row and the KEKs that wrapped it are gone, the staged
objects cannot be opened by anyone; the objects themselves are deleted as well, but their
erasure does not depend on it.

Blob formats (all integers one byte; the header is authenticated as part of the AAD):

- sealed object: ``b"TZO" | version (1) | nonce (12) | ciphertext | tag (16)``, with
  AAD ``header | caller's aad``;
- wrapped data key: ``b"TZK" | version (1) | len(kek_id) | kek_id (ASCII) | nonce (12) |
  encrypted data key (32) | tag (16)``, with AAD ``header (up to the nonce) | donation id``.

References
----------
NIST SP 800-38D (GCM): 96-bit random nonces, at most 2**32 messages per key — far above
the number of objects in one donation.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from anonymizer.files import LooseSecretError, atomic_write, private_dir, read_secret, write_secret

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # 96-bit, the GCM size that needs no extra hashing
TAG_BYTES = 16

SEAL_MAGIC = b"TZO"
WRAP_MAGIC = b"TZK"
VERSION = 1

_KEK_ID = re.compile(r"^k-[0-9a-f]{16}$")
_CURRENT = "current"  # the pointer file of a key-ring folder


class CryptoError(Exception):
    """A sealed object or wrapped key cannot be opened (or a key cannot be loaded).

    Messages never carry key material or plaintext.
    """


class KeyFileError(CryptoError):
    """A KEK file or key-ring folder is missing, malformed or too widely readable."""


# ---------------------------------------------------------------- data keys and objects


def new_data_key() -> bytes:
    """Return a fresh random 256-bit data key (one per donation)."""
    return secrets.token_bytes(KEY_BYTES)


def _check_key(key: bytes, what: str) -> None:
    if not isinstance(key, bytes | bytearray) or len(key) != KEY_BYTES:
        raise CryptoError(f"{what} must be {KEY_BYTES} bytes")


def seal(data_key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt and authenticate ``plaintext`` with AES-256-GCM under ``data_key``.

    Parameters
    ----------
    data_key : bytes
        32 bytes, from :func:`new_data_key`.
    plaintext : bytes
        The object's content.
    aad : bytes
        Associated data bound to the ciphertext (not stored in it); :func:`unseal` must be
        given the same bytes. Staging binds the donation id and object name, so a blob
        moved to another name or donation does not open.

    Returns
    -------
    bytes
        ``b"TZO" | version | nonce | ciphertext | tag`` (29 bytes longer than the input).
    """
    _check_key(data_key, "data key")
    header = SEAL_MAGIC + bytes([VERSION])
    nonce = secrets.token_bytes(NONCE_BYTES)
    return header + nonce + AESGCM(bytes(data_key)).encrypt(nonce, plaintext, header + aad)


def unseal(data_key: bytes, blob: bytes, aad: bytes) -> bytes:
    """Return the plaintext of a :func:`seal` blob; :class:`CryptoError` if it does not open.

    Raised on a wrong key, a wrong ``aad``, any modified byte, a truncated blob or an
    unknown format version.
    """
    _check_key(data_key, "data key")
    header = bytes(blob[:4])
    if len(blob) < 4 or header[:3] != SEAL_MAGIC:
        raise CryptoError("not a sealed Traza object (bad magic)")
    if header[3] != VERSION:
        raise CryptoError(f"sealed object format version {header[3]} is not supported")
    if len(blob) < 4 + NONCE_BYTES + TAG_BYTES:
        raise CryptoError("sealed object is truncated")
    nonce = bytes(blob[4 : 4 + NONCE_BYTES])
    try:
        return AESGCM(bytes(data_key)).decrypt(nonce, bytes(blob[4 + NONCE_BYTES :]), header + aad)
    except InvalidTag:
        raise CryptoError(
            "sealed object failed authentication (wrong key or associated data, "
            "or the object was modified or truncated)"
        ) from None


# ---------------------------------------------------------------- key-encryption keys


def _wrap_header(kek_id: str) -> bytes:
    raw = kek_id.encode("ascii")
    return WRAP_MAGIC + bytes([VERSION, len(raw)]) + raw


def wrapped_kek_id(wrapped: bytes) -> str:
    """Return the id of the KEK that wrapped ``wrapped`` (to find rows left to re-wrap)."""
    if len(wrapped) < 5 or bytes(wrapped[:3]) != WRAP_MAGIC:
        raise CryptoError("not a wrapped Traza data key (bad magic)")
    if wrapped[3] != VERSION:
        raise CryptoError(f"wrapped key format version {wrapped[3]} is not supported")
    n = wrapped[4]
    if len(wrapped) != 5 + n + NONCE_BYTES + KEY_BYTES + TAG_BYTES:
        raise CryptoError("wrapped data key has the wrong length (truncated?)")
    try:
        kek_id = bytes(wrapped[5 : 5 + n]).decode("ascii")
    except UnicodeDecodeError:
        raise CryptoError("wrapped data key has a malformed KEK id") from None
    if not _KEK_ID.match(kek_id):
        raise CryptoError("wrapped data key has a malformed KEK id")
    return kek_id


@dataclass(frozen=True)
class KeyEncryptionKey:
    """An org's key-encryption key: wraps and unwraps data keys, never touches objects.

    The text form (file content, environment variable) is ``"<kek_id>:<base64 key>"``,
    e.g. ``k-3f9c0a1b2c3d4e5f:…`` (:meth:`to_text`, :meth:`from_text`).
    """

    kek_id: str
    key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not _KEK_ID.match(self.kek_id):
            raise KeyFileError("a KEK id looks like k-<16 hex digits>")
        _check_key(self.key, "a KEK")

    def __repr__(self) -> str:
        return f"KeyEncryptionKey(kek_id={self.kek_id!r})"

    @classmethod
    def generate(cls) -> KeyEncryptionKey:
        """A new random KEK with a random id."""
        return cls("k-" + secrets.token_hex(8), secrets.token_bytes(KEY_BYTES))

    def to_text(self) -> str:
        """``"<kek_id>:<base64 key>"`` (a secret: write it only with ``write_secret``)."""
        return f"{self.kek_id}:{base64.b64encode(self.key).decode()}"

    @classmethod
    def from_text(cls, value: str) -> KeyEncryptionKey:
        """Parse :meth:`to_text`'s form (e.g. an environment variable's value)."""
        kek_id, sep, b64 = value.strip().partition(":")
        if not sep:
            raise KeyFileError("a KEK is written '<kek_id>:<base64 key>'")
        try:
            key = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            raise KeyFileError(f"KEK {kek_id}: the key is not valid base64") from None
        if len(key) != KEY_BYTES:
            raise KeyFileError(f"KEK {kek_id}: the key must be {KEY_BYTES} bytes")
        return cls(kek_id, key)

    @classmethod
    def load(cls, path: str | PathLike[str]) -> KeyEncryptionKey:
        """Read a KEK file; :class:`KeyFileError` if group or others may read it."""
        path = Path(path)
        try:
            raw = read_secret(path)
        except LooseSecretError as e:
            raise KeyFileError(str(e)) from None
        except OSError as e:
            raise KeyFileError(f"cannot open KEK file {path}: {e.strerror}") from None
        try:
            return cls.from_text(raw.decode("ascii"))
        except UnicodeDecodeError:
            raise KeyFileError(f"{path} is not a KEK file") from None
        except KeyFileError as e:
            raise KeyFileError(f"{path}: {e}") from None

    def save(self, path: str | PathLike[str]) -> Path:
        """Write the KEK to ``path``, 0600 from its first byte (folders created 0700)."""
        return write_secret(path, self.to_text() + "\n")

    def wrap(self, data_key: bytes, donation_id: str) -> bytes:
        """Encrypt ``data_key`` for ``donation_id``; the result names this KEK's id."""
        _check_key(data_key, "data key")
        header = _wrap_header(self.kek_id)
        nonce = secrets.token_bytes(NONCE_BYTES)
        ct = AESGCM(self.key).encrypt(nonce, bytes(data_key), header + donation_id.encode())
        return header + nonce + ct

    def unwrap(self, wrapped: bytes, donation_id: str) -> bytes:
        """Return the data key; :class:`CryptoError` if another KEK, donation or modified."""
        kek_id = wrapped_kek_id(wrapped)
        if kek_id != self.kek_id:
            raise CryptoError(f"data key is wrapped by KEK {kek_id}, not {self.kek_id}")
        header = _wrap_header(kek_id)
        body = bytes(wrapped[len(header) :])
        try:
            return AESGCM(self.key).decrypt(
                body[:NONCE_BYTES], body[NONCE_BYTES:], header + donation_id.encode()
            )
        except InvalidTag:
            raise CryptoError(
                f"wrapped data key does not open with KEK {kek_id} "
                "(another donation, or the wrapped key was modified)"
            ) from None


# ---------------------------------------------------------------- key ring


class KeyRing:
    """The current KEK (wraps new keys) and retired KEKs (only unwrap old ones).

    On disk a key ring is a folder of 0600 files ``<kek_id>.key`` and a ``current`` file
    naming the current KEK's id. A rotation (:meth:`rotate`) adds a KEK and moves
    ``current``; the caller then re-wraps every stored data key (:meth:`rewrap`) and, when
    no row is wrapped by an old KEK any more (:func:`wrapped_kek_id`), retires it
    (:meth:`retire`). Objects are never re-encrypted: their data keys do not change.
    """

    def __init__(
        self,
        current: KeyEncryptionKey,
        retired: list[KeyEncryptionKey] | tuple[KeyEncryptionKey, ...] = (),
        *,
        directory: str | PathLike[str] | None = None,
    ) -> None:
        self._keys = {k.kek_id: k for k in retired}
        self._keys[current.kek_id] = current
        self._current = current
        self.directory = Path(directory) if directory is not None else None

    def __repr__(self) -> str:
        return f"KeyRing(current={self._current.kek_id!r}, kek_ids={self.kek_ids!r})"

    @property
    def current(self) -> KeyEncryptionKey:
        return self._current

    @property
    def kek_ids(self) -> list[str]:
        """Ids of every KEK held, current included, sorted."""
        return sorted(self._keys)

    @classmethod
    def load(cls, directory: str | PathLike[str]) -> KeyRing:
        """Read a key-ring folder; each ``*.key`` file must be 0600."""
        directory = Path(directory)
        pointer = directory / _CURRENT
        try:
            current_id = pointer.read_text().strip()
        except OSError as e:
            raise KeyFileError(f"cannot read {pointer}: {e.strerror}") from None
        keys = []
        for path in sorted(directory.glob("*.key")):
            k = KeyEncryptionKey.load(path)
            if path.stem != k.kek_id:
                raise KeyFileError(f"{path} holds KEK {k.kek_id}: its name must match")
            keys.append(k)
        by_id = {k.kek_id: k for k in keys}
        if current_id not in by_id:
            raise KeyFileError(f"{pointer} names {current_id!r} but no such .key file exists")
        retired = [k for k in keys if k.kek_id != current_id]
        return cls(by_id[current_id], retired, directory=directory)

    @classmethod
    def create(cls, directory: str | PathLike[str]) -> KeyRing:
        """Make a key ring with one new KEK in ``directory`` (0700); refuse an existing ring."""
        directory = Path(directory)
        if (directory / _CURRENT).exists():
            raise KeyFileError(f"{directory} already holds a key ring")
        ring = cls(KeyEncryptionKey.generate(), directory=directory)
        ring._save_current(directory)
        return ring

    @classmethod
    def open(cls, directory: str | PathLike[str]) -> KeyRing:
        """:meth:`load` the ring in ``directory``, :meth:`create` it if there is none."""
        if (Path(directory) / _CURRENT).exists():
            return cls.load(directory)
        return cls.create(directory)

    def _folder(self, directory: str | PathLike[str] | None) -> Path:
        d = directory if directory is not None else self.directory
        if d is None:
            raise KeyFileError("this key ring has no folder: pass one")
        return Path(d)

    def _save_current(self, directory: Path) -> None:
        private_dir(directory)
        self._current.save(directory / f"{self._current.kek_id}.key")
        # The pointer is not secret, but it is replaced atomically so a crash mid-rotation
        # leaves the old current KEK (whose file exists) or the new one, never neither.
        atomic_write(directory / _CURRENT, self._current.kek_id + "\n", mode=0o600)

    def get(self, kek_id: str) -> KeyEncryptionKey:
        try:
            return self._keys[kek_id]
        except KeyError:
            raise CryptoError(f"no KEK {kek_id} in the key ring (retired?)") from None

    def wrap(self, data_key: bytes, donation_id: str) -> bytes:
        """Wrap ``data_key`` under the current KEK."""
        return self._current.wrap(data_key, donation_id)

    def unwrap(self, wrapped: bytes, donation_id: str) -> bytes:
        """Unwrap with the KEK whose id the wrapped key carries (current or retired)."""
        return self.get(wrapped_kek_id(wrapped)).unwrap(wrapped, donation_id)

    def needs_rewrap(self, wrapped: bytes) -> bool:
        """True if ``wrapped`` is not under the current KEK."""
        return wrapped_kek_id(wrapped) != self._current.kek_id

    def rewrap(self, wrapped: bytes, donation_id: str) -> bytes:
        """Return the same data key wrapped under the current KEK (unchanged if it already is).

        The data key is not changed, so objects sealed with it open as before.
        """
        if not self.needs_rewrap(wrapped):
            self._current.unwrap(wrapped, donation_id)  # still authenticate it
            return wrapped
        return self._current.wrap(self.unwrap(wrapped, donation_id), donation_id)

    def rotate(self, directory: str | PathLike[str] | None = None) -> KeyEncryptionKey:
        """Make a new current KEK (saved 0600 in the folder); old KEKs stay for unwrapping."""
        folder = self._folder(directory)
        new = KeyEncryptionKey.generate()
        self._keys[new.kek_id] = new
        self._current = new
        self._save_current(folder)
        self.directory = folder
        return new

    def retire(self, kek_id: str, directory: str | PathLike[str] | None = None) -> None:
        """Forget a non-current KEK and delete its file (once nothing is wrapped by it).

        Data keys still wrapped by it can no longer be opened: that is also how a whole
        generation of keys is destroyed on purpose.
        """
        if kek_id == self._current.kek_id:
            raise KeyFileError(f"{kek_id} is the current KEK: rotate first")
        self.get(kek_id)
        del self._keys[kek_id]
        folder = directory if directory is not None else self.directory
        if folder is not None:
            (Path(folder) / f"{kek_id}.key").unlink(missing_ok=True)
