"""Envelope encryption: sealing, wrapping, KEK files and rotation."""

from __future__ import annotations

import os
import stat

import pytest

from client.crypto import (
    CryptoError,
    KeyEncryptionKey,
    KeyFileError,
    KeyRing,
    new_data_key,
    seal,
    unseal,
    wrapped_kek_id,
)

AAD = b"d-0001\x00s-" + b"a" * 32
SECRET_TEXT = b"Paciente: JUAN PEREZ LOPEZ, CURP PELJ800101HDFRPN09"


def test_data_keys_are_random_256_bit() -> None:
    keys = {new_data_key() for _ in range(50)}
    assert len(keys) == 50
    assert all(len(k) == 32 for k in keys)


def test_seal_round_trip_and_format() -> None:
    key = new_data_key()
    blob = seal(key, SECRET_TEXT, AAD)
    assert blob[:4] == b"TZO\x01"
    assert len(blob) == len(SECRET_TEXT) + 4 + 12 + 16
    assert SECRET_TEXT not in blob and b"JUAN" not in blob
    assert unseal(key, blob, AAD) == SECRET_TEXT
    # A fresh nonce every time: the same input never gives the same blob.
    assert seal(key, SECRET_TEXT, AAD) != blob


def test_seal_empty_plaintext() -> None:
    key = new_data_key()
    assert unseal(key, seal(key, b"", b""), b"") == b""


def _flip(blob: bytes, i: int) -> bytes:
    b = bytearray(blob)
    b[i] ^= 0x01
    return bytes(b)


def _no_secret(e: pytest.ExceptionInfo, *secrets: bytes) -> None:
    msg = str(e.value)
    for s in secrets:
        assert s.hex() not in msg and repr(s) not in msg
    assert "JUAN" not in msg


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda b: _flip(b, 20), "failed authentication"),  # ciphertext byte
        (lambda b: _flip(b, len(b) - 1), "failed authentication"),  # tag byte
        (lambda b: _flip(b, 5), "failed authentication"),  # nonce byte
        (lambda b: b[:-1], "failed authentication"),  # one byte short
        (lambda b: b[:20], "truncated"),
        (lambda b: b[:3], "bad magic"),
        (lambda b: b"XYZ" + b[3:], "bad magic"),
        (lambda b: b[:3] + b"\x02" + b[4:], "version 2"),
        (lambda b: b + b"\x00", "failed authentication"),
    ],
)
def test_unseal_refuses_tampering_and_truncation(mutate, message) -> None:
    key = new_data_key()
    blob = seal(key, SECRET_TEXT, AAD)
    with pytest.raises(CryptoError, match=message) as e:
        unseal(key, mutate(blob), AAD)
    _no_secret(e, key)


def test_unseal_wrong_key_or_aad() -> None:
    key = new_data_key()
    blob = seal(key, SECRET_TEXT, AAD)
    with pytest.raises(CryptoError, match="failed authentication") as e:
        unseal(new_data_key(), blob, AAD)
    _no_secret(e, key)
    with pytest.raises(CryptoError, match="failed authentication"):
        unseal(key, blob, b"d-0002\x00s-" + b"a" * 32)


def test_bad_key_length() -> None:
    with pytest.raises(CryptoError, match="32 bytes"):
        seal(b"short", b"x", b"")


# ---------------------------------------------------------------- KEK


def test_wrap_unwrap_round_trip_and_format() -> None:
    kek = KeyEncryptionKey.generate()
    dk = new_data_key()
    wrapped = kek.wrap(dk, "d-0001")
    assert wrapped[:4] == b"TZK\x01"
    assert wrapped_kek_id(wrapped) == kek.kek_id
    assert kek.kek_id.encode() in wrapped
    assert len(wrapped) == 5 + len(kek.kek_id) + 12 + 32 + 16
    assert dk not in wrapped
    assert kek.unwrap(wrapped, "d-0001") == dk


def test_unwrap_refuses_other_donation_other_kek_and_tampering() -> None:
    kek = KeyEncryptionKey.generate()
    dk = new_data_key()
    wrapped = kek.wrap(dk, "d-0001")
    with pytest.raises(CryptoError, match="another donation") as e:
        kek.unwrap(wrapped, "d-0002")
    _no_secret(e, dk, kek.key)
    other = KeyEncryptionKey.generate()
    with pytest.raises(CryptoError, match=f"wrapped by KEK {kek.kek_id}, not {other.kek_id}"):
        other.unwrap(wrapped, "d-0001")
    # An impostor KEK with the same id but another key does not open it either.
    impostor = KeyEncryptionKey(kek.kek_id, new_data_key())
    with pytest.raises(CryptoError, match="does not open"):
        impostor.unwrap(wrapped, "d-0001")
    with pytest.raises(CryptoError, match="does not open"):
        kek.unwrap(_flip(wrapped, len(wrapped) - 3), "d-0001")
    with pytest.raises(CryptoError, match="wrong length"):
        kek.unwrap(wrapped[:-1], "d-0001")
    # Changing the id inside the header breaks authentication (the header is in the AAD).
    forged = wrapped.replace(kek.kek_id.encode(), b"k-" + b"0" * 16)
    with pytest.raises(CryptoError):
        KeyEncryptionKey("k-" + "0" * 16, kek.key).unwrap(forged, "d-0001")


def test_kek_repr_hides_the_key() -> None:
    kek = KeyEncryptionKey.generate()
    assert kek.key.hex() not in repr(kek)
    assert repr(kek) == f"KeyEncryptionKey(kek_id={kek.kek_id!r})"
    assert kek.kek_id.startswith("k-") and len(kek.kek_id) == 18
    assert KeyEncryptionKey.generate().kek_id != kek.kek_id


def test_kek_text_form() -> None:
    kek = KeyEncryptionKey.generate()
    assert KeyEncryptionKey.from_text(kek.to_text() + "\n") == kek


@pytest.mark.parametrize(
    "value, message",
    [
        ("no-colon", "<kek_id>:<base64 key>"),
        ("k-0123456789abcdef:not base64!", "not valid base64"),
        ("k-0123456789abcdef:AAAA", "must be 32 bytes"),
        ("bad-id:" + "A" * 43 + "=", "k-<16 hex digits>"),
    ],
)
def test_kek_from_text_errors(value: str, message: str) -> None:
    with pytest.raises(KeyFileError, match=message):
        KeyEncryptionKey.from_text(value)


def test_kek_file_saved_0600_and_loaded(tmp_path) -> None:
    kek = KeyEncryptionKey.generate()
    path = kek.save(tmp_path / "keys" / "org.key")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert KeyEncryptionKey.load(path) == kek


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o620])
def test_kek_file_readable_by_others_is_refused(tmp_path, mode: int) -> None:
    path = KeyEncryptionKey.generate().save(tmp_path / "org.key")
    os.chmod(path, mode)
    with pytest.raises(KeyFileError, match=f"mode {mode:04o}.*chmod 600") as e:
        KeyEncryptionKey.load(path)
    assert path.read_text().split(":")[1].strip() not in str(e.value)


def test_kek_file_missing_or_garbage(tmp_path) -> None:
    with pytest.raises(KeyFileError, match="cannot open"):
        KeyEncryptionKey.load(tmp_path / "nope.key")
    p = tmp_path / "g.key"
    p.write_bytes(b"\xff\xfe")
    p.chmod(0o600)
    with pytest.raises(KeyFileError, match="not a KEK file"):
        KeyEncryptionKey.load(p)


# ---------------------------------------------------------------- key ring and rotation


def test_rotation_rewraps_without_reencrypting_and_retires_old_kek(tmp_path) -> None:
    ring = KeyRing.create(tmp_path / "kek")
    old_id = ring.current.kek_id
    dk = new_data_key()
    wrapped = ring.wrap(dk, "d-0001")
    sealed = seal(dk, SECRET_TEXT, AAD)  # the object in staging: never touched again

    new = ring.rotate()
    assert ring.current == new and new.kek_id != old_id
    assert ring.kek_ids == sorted([old_id, new.kek_id])
    assert ring.needs_rewrap(wrapped)
    # Old wrapped keys still open during the transition.
    assert ring.unwrap(wrapped, "d-0001") == dk

    rewrapped = ring.rewrap(wrapped, "d-0001")
    assert wrapped_kek_id(rewrapped) == new.kek_id
    assert not ring.needs_rewrap(rewrapped)
    assert ring.rewrap(rewrapped, "d-0001") == rewrapped  # idempotent

    # The on-disk ring agrees after a restart.
    reloaded = KeyRing.load(tmp_path / "kek")
    assert reloaded.current == new and reloaded.kek_ids == ring.kek_ids

    reloaded.retire(old_id)
    assert not (tmp_path / "kek" / f"{old_id}.key").exists()
    after = KeyRing.load(tmp_path / "kek")
    assert after.kek_ids == [new.kek_id]
    # The object sealed before the rotation opens with the re-wrapped key...
    assert unseal(after.unwrap(rewrapped, "d-0001"), sealed, AAD) == SECRET_TEXT
    # ...and a key left un-wrapped under the retired KEK is gone for good.
    with pytest.raises(CryptoError, match=f"no KEK {old_id}"):
        after.unwrap(wrapped, "d-0001")


def test_ring_files_are_private(tmp_path) -> None:
    ring = KeyRing.create(tmp_path / "kek")
    ring.rotate()
    d = tmp_path / "kek"
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    for p in d.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p.name
    assert sorted(p.name for p in d.iterdir()) == sorted(
        ["current", *(f"{k}.key" for k in ring.kek_ids)]
    )


def test_ring_refuses_to_retire_current_and_to_recreate(tmp_path) -> None:
    ring = KeyRing.create(tmp_path / "kek")
    with pytest.raises(KeyFileError, match="current KEK"):
        ring.retire(ring.current.kek_id)
    with pytest.raises(KeyFileError, match="already holds a key ring"):
        KeyRing.create(tmp_path / "kek")
    assert KeyRing.open(tmp_path / "kek").current == ring.current


def test_ring_load_errors(tmp_path) -> None:
    with pytest.raises(KeyFileError, match="cannot read"):
        KeyRing.load(tmp_path)
    ring = KeyRing.create(tmp_path / "kek")
    key_file = tmp_path / "kek" / f"{ring.current.kek_id}.key"
    key_file.chmod(0o644)
    with pytest.raises(KeyFileError, match="readable or writable by group or others"):
        KeyRing.load(tmp_path / "kek")
    key_file.chmod(0o600)
    key_file.rename(tmp_path / "kek" / "k-0000000000000000.key")
    with pytest.raises(KeyFileError, match="its name must match"):
        KeyRing.load(tmp_path / "kek")


def test_ring_from_an_environment_kek() -> None:
    kek = KeyEncryptionKey.generate()
    retired = KeyEncryptionKey.generate()
    ring = KeyRing(KeyEncryptionKey.from_text(kek.to_text()), [retired])
    dk = new_data_key()
    assert ring.unwrap(retired.wrap(dk, "d-9"), "d-9") == dk
    assert wrapped_kek_id(ring.wrap(dk, "d-9")) == kek.kek_id
    with pytest.raises(KeyFileError, match="no folder"):
        ring.rotate()
