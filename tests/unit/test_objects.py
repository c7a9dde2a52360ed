"""Staging and library over a fake minio client: names, sealing, write-once, error mapping."""

from __future__ import annotations

import hashlib
import json
import os
import re
from types import SimpleNamespace

import pytest
import urllib3
from minio.error import S3Error, ServerError

from anonymizer.files import write_secret
from client.crypto import CryptoError, new_data_key
from client.objects import (
    ObjectAccessDenied,
    ObjectIntegrityError,
    ObjectNotFound,
    ObjectStoreConfig,
    ObjectStoreError,
    ObjectStoreUnavailable,
    open_store,
)

PHI = b"Paciente Juan Perez Lopez CURP PELJ800101HDFRPN09"


def s3_error(code: str) -> S3Error:
    return S3Error(None, code, "message from the server", None, None, None)


class FakeResponse:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.closed = self.released = False

    def read(self) -> bytes:
        return self.data

    def close(self) -> None:
        self.closed = True

    def release_conn(self) -> None:
        self.released = True


class FakeMinio:
    """The subset of ``minio.Minio`` that client/objects.py calls, honouring If-None-Match."""

    def __init__(self, buckets=("staging", "library")) -> None:
        self.objects: dict[str, dict[str, bytes]] = {b: {} for b in buckets}
        self.puts: list[tuple[str, str, dict]] = []
        self.responses: list[FakeResponse] = []
        self.fail: Exception | None = None
        self.ignore_conditions = False

    def _bucket(self, bucket: str) -> dict[str, bytes]:
        if self.fail is not None:
            raise self.fail
        if bucket not in self.objects:
            raise s3_error("NoSuchBucket")
        return self.objects[bucket]

    def _put_object(self, bucket, name, data, headers=None, query_params=None):
        b = self._bucket(bucket)
        self.puts.append((bucket, name, dict(headers or {})))
        conditional = (headers or {}).get("If-None-Match") == "*"
        if conditional and name in b and not self.ignore_conditions:
            raise s3_error("PreconditionFailed")
        b[name] = bytes(data)

    def get_object(self, bucket, name):
        b = self._bucket(bucket)
        if name not in b:
            raise s3_error("NoSuchKey")
        r = FakeResponse(b[name])
        self.responses.append(r)
        return r

    def stat_object(self, bucket, name):
        b = self._bucket(bucket)
        if name not in b:
            raise s3_error("NoSuchKey")
        return SimpleNamespace(size=len(b[name]))

    def remove_object(self, bucket, name):
        self._bucket(bucket).pop(name, None)

    def list_objects(self, bucket):
        return [SimpleNamespace(object_name=n) for n in self._bucket(bucket)]

    def remove_objects(self, bucket, delete_objects):
        b = self._bucket(bucket)
        for d in delete_objects:
            b.pop(d.name, None)
        return iter(())


CONFIG = ObjectStoreConfig("127.0.0.1:9000", "traza-hospital-0a1b2c3d", "s3cr3t-value-xyz")


@pytest.fixture
def fake() -> FakeMinio:
    return FakeMinio()


@pytest.fixture
def store(fake):
    return open_store(CONFIG, client=fake)


# ---------------------------------------------------------------- config


def test_config_repr_hides_the_secret() -> None:
    assert "s3cr3t" not in repr(CONFIG)
    assert "traza-hospital-0a1b2c3d" in repr(CONFIG)


def test_config_from_file(tmp_path) -> None:
    doc = {
        "org": "hospital",
        "endpoint": "127.0.0.1:9025",
        "access_key": "traza-hospital-0a1b2c3d",
        "secret_key": "s3cr3t-value-xyz",
        "secure": False,
        "staging_bucket": "staging",
        "library_bucket": "library",
        "policy": "traza-hospital",
    }
    path = write_secret(tmp_path / "hospital.json", json.dumps(doc))
    cfg = ObjectStoreConfig.from_file(path)
    assert cfg == ObjectStoreConfig("127.0.0.1:9025", doc["access_key"], doc["secret_key"])
    assert ObjectStoreConfig.from_file(path, timeout=2).timeout == 2


def test_config_file_errors_never_echo_the_secret(tmp_path) -> None:
    path = write_secret(tmp_path / "c.json", '{"access_key": "a", "secret_key": "s3cr3t"}')
    with pytest.raises(ObjectStoreError, match="needs endpoint, access_key and secret_key") as e:
        ObjectStoreConfig.from_file(path)
    assert "s3cr3t" not in str(e.value)
    write_secret(path, '{"secret_key": "s3cr3t", oops')
    with pytest.raises(ObjectStoreError, match="not valid") as e:
        ObjectStoreConfig.from_file(path)
    assert "s3cr3t" not in str(e.value)
    os.chmod(path, 0o644)
    with pytest.raises(ObjectStoreError, match="writable by group or others.*chmod 600"):
        ObjectStoreConfig.from_file(path)
    with pytest.raises(ObjectStoreError, match="cannot open"):
        ObjectStoreConfig.from_file(tmp_path / "missing.json")


# ---------------------------------------------------------------- staging


def test_staging_put_seals_under_a_random_name(store, fake) -> None:
    dk = new_data_key()
    a = store.staging.put(dk, PHI, donation_id="d-1")
    b = store.staging.put(dk, PHI, donation_id="d-1")
    assert re.fullmatch(r"s-[0-9a-f]{32}", a) and a != b
    stored = fake.objects["staging"][a]
    assert stored[:4] == b"TZO\x01" and PHI not in stored and b"Juan" not in stored
    assert fake.puts[0][2]["If-None-Match"] == "*"
    assert store.staging.get(a, dk, donation_id="d-1") == PHI
    assert all(r.closed and r.released for r in fake.responses)


def test_staging_blob_is_bound_to_its_name_and_donation(store, fake) -> None:
    dk = new_data_key()
    a = store.staging.put(dk, PHI, donation_id="d-1")
    b = store.staging.put(dk, b"other", donation_id="d-1")
    with pytest.raises(CryptoError, match=f"staging/{a}: .*failed authentication"):
        store.staging.get(a, dk, donation_id="d-2")
    fake.objects["staging"][b] = fake.objects["staging"][a]  # moved to another name
    with pytest.raises(CryptoError):
        store.staging.get(b, dk, donation_id="d-1")
    with pytest.raises(CryptoError):
        store.staging.get(a, new_data_key(), donation_id="d-1")


def test_staging_retries_a_taken_name(store, fake, monkeypatch) -> None:
    import client.objects as objects

    tokens = iter(["0" * 32, "0" * 32, "1" * 32])
    monkeypatch.setattr(objects.secrets, "token_hex", lambda n: next(tokens))
    dk = new_data_key()
    assert store.staging.put(dk, b"x", donation_id="d-1") == "s-" + "0" * 32
    assert store.staging.put(dk, b"y", donation_id="d-1") == "s-" + "1" * 32
    assert store.staging.get("s-" + "0" * 32, dk, donation_id="d-1") == b"x"


def test_staging_delete_many_in_one_call(store, fake) -> None:
    names = [store.staging.put(new_data_key(), b"x", donation_id="d-1") for _ in range(3)]
    store.staging.delete_many(names[:2] + ["s-" + "f" * 32])  # a missing one is no error
    assert store.staging.list_names() == [names[2]]
    with pytest.raises(ValueError):
        store.staging.delete_many(["../library/x"])


def test_staging_delete_exists_list(store) -> None:
    dk = new_data_key()
    a = store.staging.put(dk, b"a", donation_id="d-1")
    assert store.staging.exists(a) and store.staging.list_names() == [a]
    store.staging.delete(a)
    store.staging.delete(a)  # idempotent
    assert not store.staging.exists(a) and store.staging.list_names() == []
    with pytest.raises(ObjectNotFound, match=f"no object staging/{a}"):
        store.staging.get(a, dk, donation_id="d-1")


@pytest.mark.parametrize("name", ["scan.dcm", "s-123", "../s-" + "0" * 32, "S-" + "0" * 32])
def test_staging_refuses_names_it_did_not_make(store, name: str) -> None:
    with pytest.raises(ValueError, match="s-<32 hex digits>"):
        store.staging.get(name, new_data_key(), donation_id="d-1")
    with pytest.raises(ValueError):
        store.staging.delete(name)


@pytest.mark.parametrize("donation_id", ["", "d\x001"])
def test_staging_refuses_bad_donation_ids(store, donation_id: str) -> None:
    with pytest.raises(ValueError, match="donation_id"):
        store.staging.put(new_data_key(), b"x", donation_id=donation_id)


# ---------------------------------------------------------------- library


def test_library_names_by_sha256_and_writes_once(store, fake) -> None:
    data = b"de-identified bytes"
    sha = store.library.put(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert fake.objects["library"][sha] == data
    assert store.library.put(data) == sha
    assert [p[1] for p in fake.puts] == [sha, sha]  # second PUT refused by the condition
    assert all(p[2]["If-None-Match"] == "*" for p in fake.puts)
    assert store.library.get(sha) == data and store.library.exists(sha)
    assert store.library.list_names() == [sha]


def test_library_get_verifies_the_hash(store, fake) -> None:
    sha = store.library.put(b"original")
    fake.objects["library"][sha] = b"modified"
    with pytest.raises(ObjectIntegrityError, match=f"library/{sha} does not match") as e:
        store.library.get(sha)
    assert e.value.bucket == "library" and e.value.name == sha


def test_library_put_over_a_corrupt_copy_raises_and_does_not_overwrite(store, fake) -> None:
    sha = store.library.put(b"original")
    fake.objects["library"][sha] = b"modified"
    with pytest.raises(ObjectIntegrityError):
        store.library.put(b"original")
    assert fake.objects["library"][sha] == b"modified"


def test_library_on_a_server_ignoring_the_condition_rewrites_identical_bytes(store, fake) -> None:
    fake.ignore_conditions = True
    sha = store.library.put(b"same")
    assert store.library.put(b"same") == sha
    assert fake.objects["library"][sha] == b"same"


@pytest.mark.parametrize("sha", ["abc", "A" * 64, "g" * 64, "../" + "0" * 61])
def test_library_refuses_names_that_are_not_hashes(store, sha: str) -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        store.library.get(sha)


# ---------------------------------------------------------------- error mapping


@pytest.mark.parametrize(
    "failure, error, message",
    [
        (s3_error("AccessDenied"), ObjectAccessDenied, "get library/.* refused .*AccessDenied"),
        (s3_error("InvalidAccessKeyId"), ObjectAccessDenied, "InvalidAccessKeyId"),
        (s3_error("NoSuchBucket"), ObjectStoreError, "bucket library does not exist"),
        (s3_error("InvalidRequest"), ObjectStoreError, "get library/.* failed .InvalidRequest"),
        (s3_error("SlowDown"), ObjectStoreUnavailable, "answered SlowDown to get library/"),
        (
            s3_error("XMinioServerNotInitialized"),
            ObjectStoreUnavailable,
            "answered XMinioServerNotInitialized",
        ),
        (ServerError("boom", 503), ObjectStoreUnavailable, "answered HTTP 503 to get library/"),
        (
            urllib3.exceptions.MaxRetryError(None, "/library/x", "refused"),
            ObjectStoreUnavailable,
            r"object store at 127\.0\.0\.1:9000 is unreachable \(MaxRetryError\) during get",
        ),
        (urllib3.exceptions.ReadTimeoutError(None, "/", "t"), ObjectStoreUnavailable, "Timeout"),
        (urllib3.exceptions.ProtocolError("reset"), ObjectStoreUnavailable, "ProtocolError"),
        (ConnectionRefusedError(111, "refused"), ObjectStoreUnavailable, "ConnectionRefused"),
    ],
)
def test_failures_are_typed_and_name_bucket_and_object(store, fake, failure, error, message):
    sha = store.library.put(b"x")
    fake.fail = failure
    with pytest.raises(error, match=message) as e:
        store.library.get(sha)
    assert type(e.value) is error
    assert e.value.bucket == "library"
    assert "s3cr3t" not in str(e.value) and "message from the server" not in str(e.value)


def test_unavailable_on_put_and_list(store, fake) -> None:
    fake.fail = urllib3.exceptions.NewConnectionError(None, "refused")
    with pytest.raises(ObjectStoreUnavailable, match="during put staging/s-"):
        store.staging.put(new_data_key(), PHI, donation_id="d-1")
    with pytest.raises(ObjectStoreUnavailable, match="during list staging"):
        store.staging.list_names()
    with pytest.raises(ObjectStoreUnavailable, match="during stat library/"):
        store.library.exists("0" * 64)


def test_real_client_to_a_closed_port_is_unavailable_fast() -> None:
    import socket
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens
    cfg = ObjectStoreConfig(f"127.0.0.1:{port}", "a", "b", timeout=1, retries=0)
    t0 = time.monotonic()
    with pytest.raises(ObjectStoreUnavailable, match=f"127.0.0.1:{port} is unreachable"):
        open_store(cfg).library.exists("0" * 64)
    assert time.monotonic() - t0 < 3
