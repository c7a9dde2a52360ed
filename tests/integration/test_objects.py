"""Staging and library on a real MinIO server, reached with an org's scoped credentials.

The server is started alone for this module (not the Fabric fixture): the pinned binary, a
data folder in tmp, free ports, fresh root credentials; it is stopped at the end.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
import secrets
import socket
import ssl
import stat
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from minio import Minio
from minio.credentials import StaticProvider
from minio.error import MinioAdminException
from minio.minioadmin import MinioAdmin

from client.crypto import CryptoError, new_data_key
from client.objects import (
    ObjectAccessDenied,
    ObjectIntegrityError,
    ObjectStoreConfig,
    ObjectStoreError,
    ObjectStoreUnavailable,
    open_store,
)
from network import binaries, minio_accounts, topology
from network import minio as minio_server
from network.process import NetworkError

from .helpers import throwaway_tls

ORGS = ["university", "hospital", "imss"]
PLANTED = "CURP PELJ800101HDFRPN09 Juan Perez Lopez"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MinioServer:
    """One MinIO process on a tmp data folder; root credentials passed by environment."""

    def __init__(self, home: Path, root: dict[str, str] | None = None,
                 ca_file: Path | None = None) -> None:
        """``ca_file``: serve HTTPS from ``home/certs`` (a pair that CA signed), as `up` does."""
        self.home = home
        self.ca_file = ca_file
        self.data = home / "data"
        self.port = _free_port()
        self.console_port = _free_port()
        self.endpoint = f"127.0.0.1:{self.port}"
        root = root or {
            "access_key": "root-" + secrets.token_hex(4),
            "secret_key": secrets.token_urlsafe(24),
        }
        self.root_user = root["access_key"]
        self.root_password = root["secret_key"]
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "MINIO_ROOT_USER": self.root_user,
            "MINIO_ROOT_PASSWORD": self.root_password,
            "MINIO_BROWSER": "off",
            "MINIO_UPDATE": "off",
        }
        argv = [
            binaries.path("minio"),
            "server",
            str(self.data),
            "--quiet",
            "--address",
            self.endpoint,
            "--console-address",
            f"127.0.0.1:{self.console_port}",
        ]
        context = None
        if self.ca_file:
            argv += ["--certs-dir", str(self.home / "certs")]
            context = ssl.create_default_context(cafile=str(self.ca_file))
        log = open(self.home / "minio.log", "ab")  # noqa: SIM115 (kept open by the child)
        self.proc = subprocess.Popen(argv, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        url = f"{'https' if self.ca_file else 'http'}://{self.endpoint}/minio/health/live"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((self.home / "minio.log").read_text()[-2000:])
            try:
                with urllib.request.urlopen(  # noqa: S310 (loopback)
                        url, timeout=1, context=context) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("MinIO did not become healthy in 60 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def root_client(self) -> Minio:
        return Minio(
            self.endpoint,
            access_key=self.root_user,
            secret_key=self.root_password,
            secure=False,
            region="us-east-1",
        )


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> MinioServer:
    if not Path(binaries.path("minio")).is_file():
        pytest.skip("no MinIO binary: run scripts/install-binaries.sh")
    srv = MinioServer(tmp_path_factory.mktemp("minio"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def accounts(server: MinioServer) -> dict[str, Path]:
    return minio_accounts.provision(
        server.endpoint, server.root_user, server.root_password, ORGS, server.home / "creds"
    )


@pytest.fixture
def store(accounts):
    return open_store(ObjectStoreConfig.from_file(accounts["hospital"]))


def _raw_files(root: Path) -> list[bytes]:
    return [p.read_bytes() for p in root.rglob("*") if p.is_file()]


def test_provisioning_writes_private_credentials_and_is_idempotent(server, accounts) -> None:
    assert sorted(accounts) == sorted(ORGS)
    first = {}
    for org, path in accounts.items():
        assert path == server.home / "creds" / f"{org}.json"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        doc = json.loads(path.read_text())
        assert doc["endpoint"] == server.endpoint and doc["org"] == org
        assert doc["staging_bucket"] == "staging" and doc["library_bucket"] == "library"
        assert doc["policy"] == f"traza-{org}" and doc["secure"] is False
        assert re.fullmatch(rf"traza-{org}-[0-9a-f]{{8}}", doc["access_key"])
        assert doc["secret_key"] != server.root_password
        first[org] = doc
    root = server.root_client()
    assert root.bucket_exists("staging") and root.bucket_exists("library")

    again = minio_accounts.provision(
        server.endpoint, server.root_user, server.root_password, ORGS, server.home / "creds"
    )
    for org, path in again.items():
        assert json.loads(path.read_text()) == first[org]
    # The reused credentials still work after the second run.
    store = open_store(ObjectStoreConfig.from_file(accounts["imss"]))
    assert isinstance(store.library.list_names(), list)


def test_staged_object_is_ciphertext_on_the_server_and_on_disk(server, store) -> None:
    marker = f"{PLANTED} {secrets.token_hex(8)}".encode()
    control = f"LIBRARY-CONTROL-{secrets.token_hex(8)}".encode()
    dk = new_data_key()
    name = store.staging.put(dk, b"DICM..." + marker + b"...", donation_id="d-int-1")
    sha = store.library.put(b"deidentified " + control)

    assert re.fullmatch(r"s-[0-9a-f]{32}", name)
    assert store.staging.get(name, dk, donation_id="d-int-1") == b"DICM..." + marker + b"..."
    # Same content again: a new random name, unrelated to the content.
    other = store.staging.put(dk, b"DICM..." + marker + b"...", donation_id="d-int-1")
    assert other != name and name in store.staging.list_names()

    # What the server holds (read as root) is the sealed blob.
    resp = server.root_client().get_object("staging", name)
    raw = resp.read()
    resp.close()
    resp.release_conn()
    assert raw[:4] == b"TZO\x01" and marker not in raw

    # The raw data folder: the library control marker is found (the scan works), the
    # staged marker is not (and neither is any word of the planted PHI).
    blobs = _raw_files(server.data)
    assert any(control in b for b in blobs), "scan found no plaintext: the scan is broken"
    assert any(sha.encode() in p.as_posix().encode() for p in server.data.rglob("*"))
    for needle in (marker, b"PELJ800101HDFRPN09", b"Juan Perez"):
        assert not any(needle in b for b in blobs)

    with pytest.raises(CryptoError, match=f"staging/{name}"):
        store.staging.get(name, dk, donation_id="d-int-2")
    with pytest.raises(CryptoError):
        store.staging.get(name, new_data_key(), donation_id="d-int-1")


def test_staging_delete_is_idempotent(store) -> None:
    dk = new_data_key()
    name = store.staging.put(dk, b"draft", donation_id="d-int-3")
    assert store.staging.exists(name)
    store.staging.delete(name)
    store.staging.delete(name)
    assert not store.staging.exists(name)
    assert name not in store.staging.list_names()


def test_library_is_write_once_and_verified_on_read(server, store) -> None:
    data = b"de-identified CT slice " + secrets.token_bytes(64)
    sha = store.library.put(data)
    assert sha == hashlib.sha256(data).hexdigest()
    root = server.root_client()
    etag = root.stat_object("library", sha).etag
    assert store.library.put(data) == sha  # again: no error...
    assert root.stat_object("library", sha).etag == etag  # ...and not rewritten
    assert store.library.get(sha) == data and store.library.exists(sha)

    # Someone with root rewrites the object: every read now fails...
    bad = data[:-1] + bytes([data[-1] ^ 1])
    root.put_object("library", sha, io.BytesIO(bad), len(bad))
    with pytest.raises(ObjectIntegrityError, match=f"library/{sha} does not match"):
        store.library.get(sha)
    # ...and putting the right bytes again is refused by the server (If-None-Match: *):
    # the client reads back, finds the mismatch, and leaves the object alone.
    with pytest.raises(ObjectIntegrityError):
        store.library.put(data)
    resp = root.get_object("library", sha)
    assert resp.read() == bad
    resp.close()
    resp.release_conn()


def test_org_account_cannot_delete_from_library_or_use_other_buckets(
    server, accounts, store
) -> None:
    sha = store.library.put(b"kept forever " + secrets.token_bytes(16))
    with pytest.raises(ObjectAccessDenied, match=f"delete library/{sha}"):
        store.library._b.delete(sha)
    assert store.library.exists(sha)

    root = server.root_client()
    if not root.bucket_exists("other"):
        root.make_bucket("other")
    cfg = ObjectStoreConfig.from_file(accounts["university"])
    org = Minio(
        cfg.endpoint,
        access_key=cfg.access_key,
        secret_key=cfg.secret_key,
        secure=False,
        region="us-east-1",
    )
    foreign = open_store(
        ObjectStoreConfig.from_file(
            accounts["university"], staging_bucket="other", library_bucket="other"
        )
    )
    with pytest.raises(ObjectAccessDenied):
        foreign.staging.put(new_data_key(), b"x", donation_id="d-x")
    with pytest.raises(ObjectAccessDenied):
        foreign.library.list_names()
    with pytest.raises(Exception, match="AccessDenied"):
        org.make_bucket("mine")
    # Nor the admin API (users, policies).
    admin = MinioAdmin(
        endpoint=cfg.endpoint,
        credentials=StaticProvider(cfg.access_key, cfg.secret_key),
        secure=False,
    )
    with pytest.raises(MinioAdminException):
        admin.user_list()
    # A wrong secret is refused, typed.
    wrong = open_store(ObjectStoreConfig.from_file(accounts["university"], secret_key="nope"))
    with pytest.raises(ObjectAccessDenied):
        wrong.library.list_names()


def test_minio_down_is_unavailable_then_recovers(server, accounts) -> None:
    store = open_store(ObjectStoreConfig.from_file(accounts["hospital"], timeout=1, retries=1))
    dk = new_data_key()
    name = store.staging.put(dk, b"before", donation_id="d-int-4")
    server.stop()
    try:
        t0 = time.monotonic()
        with pytest.raises(ObjectStoreUnavailable) as e:
            store.staging.put(dk, b"during", donation_id="d-int-4")
        assert time.monotonic() - t0 < 10
        assert f"object store at {server.endpoint} is unreachable" in str(e.value)
        assert "staging/s-" in str(e.value)  # names the bucket and the (random) name only
        assert e.value.bucket == "staging"
        with pytest.raises(ObjectStoreUnavailable, match=f"get staging/{name}"):
            store.staging.get(name, dk, donation_id="d-int-4")
        with pytest.raises(ObjectStoreUnavailable):
            store.library.exists("0" * 64)
        assert isinstance(e.value, ObjectStoreError)
    finally:
        server.start()
    assert store.staging.get(name, dk, donation_id="d-int-4") == b"before"


def test_network_up_provisions_every_application_org(tmp_path) -> None:
    """What `traza network up` runs after MinIO starts, on the network's own layout."""
    base = topology.load(run=tmp_path / "run")
    # HTTPS as on the network: a pair where `up` lays MinIO's out, signed by a CA put where
    # the network's (the orderer org's TLS CA) would be.
    certs = minio_server.certs_dir(base)
    throwaway_tls(minio_server.ca_file(base), certs / "public.crt", certs / "private.key",
                  name=minio_server.fqdn(base), hosts=["127.0.0.1"])
    srv = MinioServer(minio_server.home(base), root=minio_server.credentials(base),
                      ca_file=minio_server.ca_file(base))
    topo = dataclasses.replace(base, minio=topology.Endpoint("127.0.0.1", srv.port))
    srv.start()
    try:
        paths = minio_accounts.provision_network(topo)
        assert sorted(paths) == ["hospital", "imss", "university"]
        for org, path in paths.items():
            assert path == tmp_path / "run" / "minio" / f"{org}.json"
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            config = ObjectStoreConfig.from_file(path)
            assert config.secure and config.ca_file == str(minio_server.ca_file(base))
            store = open_store(config)
            assert store.library.get(store.library.put(org.encode())) == org.encode()
    finally:
        srv.stop()


def test_provisioning_with_wrong_root_credentials_fails_at_once(server, tmp_path) -> None:
    bad = "bad-" + secrets.token_hex(8)
    t0 = time.monotonic()
    with pytest.raises(NetworkError, match="MinIO: creating bucket staging failed") as e:
        minio_accounts.provision(server.endpoint, server.root_user, bad, ORGS, tmp_path)
    assert time.monotonic() - t0 < 10  # a refusal is not retried like a starting server
    assert bad not in str(e.value) and server.root_password not in str(e.value)
    assert list(tmp_path.iterdir()) == []
