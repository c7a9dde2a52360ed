"""network.mailserver: file names, the keeping handler, and the node in the topology."""

from __future__ import annotations

import asyncio
import os
import stat
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from network import control, mailserver, topology


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_message_names_sort_by_arrival_and_are_unique():
    t = datetime(2026, 12, 1, 21, 0, 0, 999_999, tzinfo=UTC)
    names = [mailserver.message_name(t + timedelta(microseconds=i)) for i in range(3)]
    assert names == sorted(names)
    assert names[0].startswith("20261201T210000.999999Z-") and names[0].endswith(".eml")
    assert len({mailserver.message_name(t) for _ in range(50)}) == 50


def test_latest_message(tmp_path):
    assert mailserver.latest_message(tmp_path / "none") is None
    assert mailserver.latest_message(tmp_path) is None
    t = datetime(2026, 12, 1, tzinfo=UTC)
    first = tmp_path / mailserver.message_name(t)
    last = tmp_path / mailserver.message_name(t + timedelta(seconds=1))
    for p in (last, first):  # written out of order: the name decides
        p.write_bytes(b"x")
    (tmp_path / "log").write_text("not a message")
    (tmp_path / "zzz.eml.part").write_text("partial")
    assert mailserver.latest_message(tmp_path) == last


def test_find_message_by_message_id(tmp_path):
    t = datetime(2026, 12, 1, tzinfo=UTC)
    for i, mid in enumerate(["<a@x.example>", "<b@x.example>", "<c@x.example>"]):
        name = mailserver.message_name(t + timedelta(seconds=i))
        (tmp_path / name).write_bytes(f"Message-ID: {mid}\r\nSubject: s\r\n\r\nb\r\n".encode())
        if mid == "<b@x.example>":
            expected = tmp_path / name
    assert mailserver.find_message(tmp_path, "<b@x.example>") == expected
    assert mailserver.find_message(tmp_path, "<z@x.example>") is None
    assert mailserver.find_message(tmp_path / "none", "<b@x.example>") is None


def test_handler_keeps_the_exact_bytes_0600(tmp_path, capsys):
    raw = b"To: maria@x.example\r\nSubject: hola\r\n\r\ncuerpo\r\n"
    handler = mailserver.KeepHandler(tmp_path)
    envelope = SimpleNamespace(original_content=raw, rcpt_tos=["maria@x.example"])
    reply = asyncio.run(handler.handle_DATA(None, None, envelope))
    assert reply.startswith("250 ")
    (path,) = tmp_path.glob("*.eml")
    assert path.read_bytes() == raw
    assert mode(path) == 0o600
    out = capsys.readouterr().out
    assert path.name in out and "maria" not in out


def test_topology_has_the_mail_node_on_its_own_port(tmp_path):
    topo = topology.load(run=tmp_path / "run")
    assert topo.mail == topology.Endpoint("127.0.0.1", 2525)
    assert ("mail", 2525) in topo.ports()
    node = control.node_by_name(topo, "mail")
    assert node.home == tmp_path / "run" / "mail" == control.mail_dir(topo)
    assert node.port == 2525
    assert node.argv[1:5] == ["-m", "network.mailserver", "--dir", str(node.home)]
    assert node.argv[-4:] == ["--host", "127.0.0.1", "--port", "2525"]
    assert node.env == {"PYTHONPATH": str(topology.NETWORK_DIR.parent)}


def test_topology_without_mail(tmp_path):
    text = topology.DEFAULT_TOPOLOGY.read_text()
    lines = [line for line in text.splitlines() if not line.startswith("mail:")]
    path = tmp_path / "topology.yaml"
    path.write_text("\n".join(lines) + "\n")
    topo = topology.load(path, tmp_path / "run")
    assert topo.mail is None
    assert "mail" not in [n.name for n in control.all_nodes(topo)]


@pytest.mark.parametrize("argv", [
    ["--dir", "d", "--tls-cert", "c.pem"],
    ["--dir", "d", "--implicit-tls"],
    ["--port", "2525"],
])
def test_bad_command_lines(argv):
    with pytest.raises(SystemExit) as err:
        mailserver.main(argv)
    assert err.value.code == 2
