"""Issue 11 (2): while the network runs, no secret is in a command line, an environment, a log.

The secrets are read from where ``up`` keeps them — every CA's registrar and enrollment
secrets, MinIO's root and service-account keys, every private key under the run folder —
then looked for in ``ps`` output, every process's ``/proc/<pid>/cmdline``, the
``/proc/<pid>/environ`` of the network's processes, their rendered ``env`` files and their
logs. The run folder is walked too: every file holding a secret is 0600 (or tighter) and
every folder between it and the run folder is 0700.
"""

from __future__ import annotations

import json
import re
import stat
import subprocess
from pathlib import Path

import pytest

from network import control
from network.process import pid_of

PEM_KEY = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----\s+([A-Za-z0-9+/=\s]+?)-----END")
SECRET_NAMES = {"secrets.json", "credentials.json", "root-user", "root-password",
                "fabric-ca-server-config.yaml", "private.key", "server.key"}


def leaks(values: set[str], data: bytes) -> list[str]:
    """The ``values`` that occur in ``data``, byte for byte (random tokens have no variants)."""
    return sorted(v for v in values if v.encode() in data)


def _files(run: Path) -> list[Path]:
    return [p for p in run.rglob("*") if p.is_file() and not p.is_symlink()]


def _key_bodies(data: bytes) -> list[str]:
    """The first base64 line of each PEM private key in ``data`` (enough to spot a copy)."""
    return [m.group(1).split()[0].decode() for m in PEM_KEY.finditer(data)]


@pytest.fixture(scope="module")
def known(fabric) -> dict[str, set[str]]:
    """Every secret of the running network, by kind."""
    run = fabric.run
    out: dict[str, set[str]] = {"ca": set(), "minio": set(), "keys": set()}
    for org in fabric.all_orgs:
        out["ca"] |= set(json.loads((run / "ca" / org.key / "secrets.json").read_text()).values())
    root = json.loads((run / "minio" / "credentials.json").read_text())
    out["minio"] |= {root["secret_key"], root["access_key"]}
    for org in fabric.orgs:
        out["minio"].add(json.loads((run / "minio" / f"{org.key}.json").read_text())["secret_key"])
    for path in _files(run):
        if path.stat().st_size < 1_000_000:
            out["keys"] |= set(_key_bodies(path.read_bytes()))
    assert len(out["ca"]) > 20 and len(out["minio"]) == 2 + len(fabric.orgs)
    assert len(out["keys"]) > 40  # nodes, users, registrars, CAs, MinIO
    return out


def _secret_file(path: Path, data: bytes, values: set[str]) -> bool:
    return (path.name in SECRET_NAMES or path.name.endswith("_sk")
            or (path.parent.name == "minio" and path.suffix == ".json")
            or bool(PEM_KEY.search(data)) or bool(leaks(values, data)))


def test_every_secret_file_is_0600_in_0700_folders(fabric, known):
    run = fabric.run
    values = known["ca"] | known["minio"]
    assert stat.S_IMODE(run.stat().st_mode) == 0o700
    seen, loose = 0, []
    for path in _files(run):
        if path.stat().st_size > 1_000_000:  # ledgers and objects: written by the servers
            continue
        data = path.read_bytes()
        if not _secret_file(path, data, values):
            continue
        seen += 1
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            loose.append(f"{oct(stat.S_IMODE(path.stat().st_mode))} {path.relative_to(run)}")
        for folder in path.relative_to(run).parents:
            mode = stat.S_IMODE((run / folder).stat().st_mode)
            if mode != 0o700:
                loose.append(f"{oct(mode)} {folder}/ (holds {path.name})")
    assert seen > 60, seen  # keys of every node and user, CA configs, credentials
    assert not sorted(set(loose)), "\n".join(sorted(set(loose)))


def _network_pids(fabric) -> dict[str, int]:
    return {n.name: pid for n in control.all_nodes(fabric) if (pid := pid_of(n))}


def test_no_secret_in_any_command_line_environment_env_file_or_log(fabric, known):
    pids = _network_pids(fabric)
    assert len(pids) >= 15, sorted(pids)  # CAs, orderers, peers, MinIO, mail, contracts
    secrets = known["ca"] | known["minio"] | known["keys"]
    found: list[str] = []

    ps = subprocess.run(["ps", "-eww", "-o", "args="], capture_output=True, check=True).stdout
    assert b"fabric-ca-server" in ps and b"peer node start" in ps  # the network is seen
    found += [f"ps: {v[:6]}..." for v in leaks(secrets, ps)]

    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        found += [f"cmdline of {proc.name}: {v[:6]}..." for v in leaks(secrets, cmdline)]

    for name, pid in pids.items():
        environ = Path(f"/proc/{pid}/environ").read_bytes()
        assert environ, name  # readable: the scan is not empty
        found += [f"environ of {name}: {v[:6]}..." for v in leaks(secrets, environ)]
    for node in control.all_nodes(fabric):
        for path in (node.home / "env", node.logfile):
            if path.exists():
                found += [f"{path.relative_to(fabric.run)}: {v[:6]}..."
                          for v in leaks(secrets, path.read_bytes())]
    assert not found, "\n".join(found)


def test_the_scan_finds_the_secrets_where_they_are_kept(fabric, known):
    """The matcher itself, on real files: silence elsewhere means absence, not blindness."""
    org = fabric.orgs[0]
    config = (fabric.run / "ca" / org.key / "fabric-ca-server-config.yaml").read_bytes()
    assert len(leaks(known["ca"], config)) == 1  # the registrar's secret
    key = fabric.run / "orgs" / org.key / "users" / "operator1" / "tls" / "server.key"
    assert len(leaks(known["keys"], key.read_bytes())) == 1
    creds = (fabric.run / "minio" / f"{org.key}.json").read_bytes()
    assert len(leaks(known["minio"], creds)) == 1
