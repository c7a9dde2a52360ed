"""Connection profiles: the JSON file ``traza network up`` writes, read back by clients."""

from __future__ import annotations

import json
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from anonymizer.files import LooseSecretError
from client.profile import MinioAccess, Profile


def profile(root: Path) -> Profile:
    return Profile(
        msp_id="HospitalMSP",
        msp_dir=root / "orgs/hospital/users/operator1/msp",
        peer="127.0.0.1:9056",
        tls_ca=root / "orgs/hospital/msp/tlscacerts/ca.pem",
        server_name="peer0.hospital.traza.local",
        minio=MinioAccess("127.0.0.1:9005", root / "minio/hospital.json"),
    )


def test_a_saved_profile_reads_back_equal(tmp_path):
    p = profile(tmp_path)
    path = p.save(tmp_path / "profiles" / "hospital" / "operator1.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # paths only, no secrets
    assert Profile.from_file(path) == p
    doc = json.loads(path.read_text())
    assert doc["gateway"] == {"address": "127.0.0.1:9056",
                              "server_name": "peer0.hospital.traza.local",
                              "tls_ca": f"{tmp_path}/orgs/hospital/msp/tlscacerts/ca.pem"}
    assert doc["minio"] == {"endpoint": "127.0.0.1:9005", "secure": False,
                            "credentials": f"{tmp_path}/minio/hospital.json"}


def test_relative_paths_are_read_from_the_profiles_folder(tmp_path):
    path = tmp_path / "p" / "me.json"
    path.parent.mkdir()
    path.write_text(json.dumps({
        "msp": {"id": "IMSSMSP", "dir": "msp"},
        "gateway": {"address": "peer.example:7051", "tls_ca": "../tls/ca.pem"},
    }))
    p = Profile.from_file(path)
    assert p.msp_dir == tmp_path / "p" / "msp"
    assert p.tls_ca == tmp_path / "p" / "../tls/ca.pem"
    assert (p.channel, p.chaincode, p.server_name, p.minio) == ("donations", "traza", "", None)


@pytest.mark.parametrize("org", ["hospital", "Hospital", "HospitalMSP"])
def test_from_dir_finds_an_org_by_any_of_its_names(tmp_path, org):
    p = profile(tmp_path)
    p.save(tmp_path / "profiles" / "hospital" / "operator1.json")
    assert Profile.from_dir(tmp_path / "profiles", org, "operator1") == p


def test_from_dir_says_the_network_may_be_down(tmp_path):
    folder = tmp_path / "profiles"
    with pytest.raises(ValueError) as e:
        Profile.from_dir(folder, "hospital", "operator1")
    assert str(e.value) == f"no profile for operator1 of hospital in {folder}: is the network up?"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "is not JSON"),
        ('{"msp": {"id": "X"}, "gateway": {"address": "a", "tls_ca": "c"}}', "lacks 'dir'"),
        ('{"msp": {"id": "X", "dir": "m"}}', "lacks 'gateway'"),
        ('{"version": 2, "msp": {}, "gateway": {}}', "version 2 is not 1"),
        ('["a list"]', "is a JSON object, not list"),
    ],
)
def test_a_bad_profile_file_is_named_in_the_error(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as e:
        Profile.from_file(path)
    assert str(path) in str(e.value)


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="cannot read connection profile .*nope.json"):
        Profile.from_file(tmp_path / "nope.json")


def test_from_env_needs_the_four_fields_without_a_base():
    with pytest.raises(ValueError, match="set TRAZA_MSP_ID, TRAZA_MSP_DIR, TRAZA_PEER, "
                                         r"TRAZA_TLS_CA \(or TRAZA_PROFILE"):
        Profile.from_env({})


def test_from_env_alone(tmp_path):
    p = Profile.from_env({"TRAZA_MSP_ID": "IMSSMSP", "TRAZA_MSP_DIR": "/m", "TRAZA_PEER": "h:1",
                          "TRAZA_TLS_CA": "/ca.pem", "TRAZA_CHANNEL": "other"})
    assert p == Profile("IMSSMSP", Path("/m"), "h:1", Path("/ca.pem"), "", channel="other")


def test_from_env_overrides_a_profile_file(tmp_path):
    path = profile(tmp_path).save(tmp_path / "p.json")
    p = Profile.from_env({"TRAZA_PROFILE": str(path), "TRAZA_PEER": "10.0.0.2:9051",
                          "TRAZA_PEER_NAME": "peer1.hospital.traza.local"})
    assert p.peer == "10.0.0.2:9051" and p.server_name == "peer1.hospital.traza.local"
    assert p.msp_id == "HospitalMSP" and p.minio == profile(tmp_path).minio


def test_from_env_overrides_a_given_base(tmp_path):
    base = profile(tmp_path)
    assert Profile.from_env({}, base=base) == base
    assert Profile.from_env({"TRAZA_CHAINCODE": "traza2"}, base=base).chaincode == "traza2"


def test_a_profile_carries_the_client_tls_pair_and_minios_ca(tmp_path):
    p = replace(profile(tmp_path), tls_cert=tmp_path / "tls/server.crt",
                tls_key=tmp_path / "tls/server.key",
                minio=MinioAccess("127.0.0.1:9005", tmp_path / "minio/hospital.json",
                                  secure=True, ca_file=tmp_path / "minio-ca.pem"))
    path = p.save(tmp_path / "p.json")
    doc = json.loads(path.read_text())
    assert doc["gateway"]["client_cert"] == f"{tmp_path}/tls/server.crt"
    assert doc["gateway"]["client_key"] == f"{tmp_path}/tls/server.key"
    assert doc["minio"]["ca_file"] == f"{tmp_path}/minio-ca.pem"
    assert Profile.from_file(path) == p
    env = {"TRAZA_TLS_CERT": "/other.crt", "TRAZA_TLS_KEY": "/other.key"}
    assert Profile.from_env(env, base=p).tls_key == Path("/other.key")


def test_a_client_cert_without_its_key_is_refused(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({
        "msp": {"id": "IMSSMSP", "dir": "msp"},
        "gateway": {"address": "a:1", "tls_ca": "ca.pem", "client_cert": "c.pem"},
    }))
    with pytest.raises(ValueError, match="client_cert and client_key go together"):
        Profile.from_file(path)


def test_a_loose_client_key_is_refused_before_connecting(tmp_path):
    key = tmp_path / "server.key"
    key.write_text("k")
    key.chmod(0o644)
    (tmp_path / "server.crt").write_text("c")
    p = replace(profile(tmp_path), tls_cert=tmp_path / "server.crt", tls_key=key)
    with pytest.raises(LooseSecretError, match="chmod 600"):
        p.client_tls()
    key.chmod(0o600)
    assert p.client_tls() == (b"c", b"k")
    assert replace(p, tls_cert=None, tls_key=None).client_tls() == (None, None)
