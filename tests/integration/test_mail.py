"""The donor's e-mail on a real SMTP server: network/mailserver.py in a subprocess, smtplib.

No Fabric network is needed: each test starts its own server on a free loopback port.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import email
import email.policy
import io
import ipaddress
import os
import secrets
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from PIL import Image

from anonymizer.files import write_secret
from client import mail, qr
from network import mailserver, process, topology

REPO = Path(__file__).resolve().parents[2]
TO = "maria.lopez.hernandez@correo-de-maria.example"
SENDER = "traza@biblioteca.example"


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclasses.dataclass
class Server:
    folder: Path
    port: int
    proc: subprocess.Popen
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def settings(self, **kw) -> mail.MailSettings:
        return mail.MailSettings("127.0.0.1", self.port, SENDER, timeout=5, **kw)


@contextlib.contextmanager
def run_server(tmp: Path, *extra: str) -> Iterator[Server]:
    folder, port, log = tmp / "mail", free_port(), tmp / "server.log"
    argv = [sys.executable, "-m", "network.mailserver", "--dir", str(folder),
            "--host", "127.0.0.1", "--port", str(port), *extra]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(folder, port, proc, log)
    try:
        deadline = time.monotonic() + 20
        while not process.port_open("127.0.0.1", port):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "mail server did not start"
            time.sleep(0.05)
        yield server
    finally:
        server.stop()


def wait_message(folder: Path, count: int = 1, timeout: float = 10) -> Path:
    deadline = time.monotonic() + timeout
    while len(list(folder.glob("*.eml"))) < count:
        assert time.monotonic() < deadline, "no message kept"
        time.sleep(0.05)
    return mailserver.latest_message(folder)


@pytest.fixture
def certificate(tmp_path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (and localhost), and its key (0600)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "traza test mail")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = tmp_path / "cert.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path = write_secret(tmp_path / "key.pem", key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return cert_path, key_path


def qr_msg():
    url = qr.viewer_url("http://127.0.0.1:8080", secrets.token_urlsafe(32))
    ref = "d-" + secrets.token_hex(12)
    return mail.qr_message(TO, url, donation_ref=ref, sender=SENDER), url, ref


def test_a_sent_qr_message_is_kept_0600_and_parses_back(tmp_path):
    msg, url, ref = qr_msg()
    with run_server(tmp_path) as server:
        message_id = mail.send(server.settings(), msg)
        path = wait_message(server.folder)
        assert mailserver.find_message(server.folder, message_id) == path
        mail.send(server.settings(), mail.code_message(TO, "482913", sender=SENDER, minutes=10))
        assert wait_message(server.folder, 2) != path  # the newest is the code message
    assert mode(path) == 0o600 and mode(server.folder) == 0o700
    kept = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert kept["Message-ID"] == message_id
    assert kept["To"] == TO
    assert kept["Subject"] == "Su código QR para seguir su donación de datos clínicos"
    assert url in kept.get_body(("plain",)).get_content()
    assert ref in kept.get_body(("html",)).get_content()
    png = next(p for p in kept.walk() if p.get_content_type() == "image/png")
    assert f'src="cid:{png["Content-ID"].strip("<>")}"' in kept.get_body(("html",)).get_content()
    zxingcpp = pytest.importorskip("zxingcpp")
    assert [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png.get_content())))
            ] == [url]
    # The server printed file names only.
    log = server.log.read_text()
    assert path.name in log
    assert "maria" not in log and "482913" not in log


def test_server_down_is_a_mail_error(tmp_path):
    msg, _, _ = qr_msg()
    with run_server(tmp_path) as server:
        pass  # stopped on leaving
    with pytest.raises(mail.MailError, match="unreachable") as err:
        mail.send(server.settings(), msg)
    assert err.value.smtp_code is None and "maria" not in str(err.value)


def test_starttls_verifies_the_certificate(tmp_path, certificate):
    cert, key = certificate
    msg, _, _ = qr_msg()
    with run_server(tmp_path, "--tls-cert", str(cert), "--tls-key", str(key)) as server:
        with pytest.raises(mail.MailError, match="certificate not verified"):
            mail.send(server.settings(security="starttls"), msg)  # system CAs: not trusted
        with pytest.raises(mail.MailError, match="SMTP 530") as err:
            mail.send(server.settings(), msg)  # no STARTTLS: the server refuses the mail
        assert err.value.smtp_code == 530
        assert list(server.folder.glob("*.eml")) == []
        message_id = mail.send(server.settings(security="starttls", ca_file=cert), msg)
        kept = wait_message(server.folder)
    assert message_id in kept.read_text()


def test_implicit_tls(tmp_path, certificate):
    cert, key = certificate
    msg, _, _ = qr_msg()
    with run_server(tmp_path, "--tls-cert", str(cert), "--tls-key", str(key),
                    "--implicit-tls") as server:
        mail.send(server.settings(security="tls", ca_file=cert), msg)
        wait_message(server.folder)
        with pytest.raises(mail.MailError, match="certificate not verified"):
            mail.send(server.settings(security="tls"), msg)


def test_starttls_asked_of_a_plain_server_is_refused(tmp_path):
    msg, _, _ = qr_msg()
    with run_server(tmp_path) as server, \
            pytest.raises(mail.MailError, match="does not offer STARTTLS"):
        mail.send(server.settings(security="starttls"), msg)
    assert list(server.folder.glob("*.eml")) == []


def test_the_network_node_starts_and_stops(tmp_path):
    port = free_port()
    topo = dataclasses.replace(topology.load(), mail=topology.Endpoint("127.0.0.1", port))
    home = tmp_path / "run" / "mail"
    node = mailserver.mail_node(topo, home)
    mailserver.start_mail(topo, home)
    try:
        msg, _, _ = qr_msg()
        mail.send(mail.MailSettings("127.0.0.1", port, SENDER, timeout=5), msg)
        path = wait_message(home)
        assert mode(path) == 0o600 and mode(home) == 0o700
    finally:
        assert process.stop(node)
    assert not process.port_open("127.0.0.1", port)
    assert "maria" not in node.logfile.read_text()
