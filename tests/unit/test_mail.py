"""client.mail: the donor's messages (structure, Spanish text, no personal data) and send()."""

from __future__ import annotations

import email
import email.policy
import io
import logging
import re
import secrets
import smtplib
import ssl

import pytest
from PIL import Image

from client import mail, qr

TO = "maria.lopez.hernandez@correo-de-maria.example"
SENDER = "traza@biblioteca.example"
REF = "d-" + secrets.token_hex(12)
URL = qr.viewer_url("http://127.0.0.1:8080", secrets.token_urlsafe(32))


def reparse(msg) -> email.message.EmailMessage:
    """The message as a receiver parses it."""
    return email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)


def without_to(msg) -> bytes:
    raw = msg.as_bytes()
    head, _, body = raw.partition(b"\n\n")
    head = b"\n".join(line for line in head.split(b"\n") if not line.startswith(b"To:"))
    return head + b"\n\n" + body


@pytest.fixture
def qr_msg():
    return reparse(mail.qr_message(TO, URL, donation_ref=REF, sender=SENDER))


def test_qr_message_structure(qr_msg):
    assert qr_msg.get_content_type() == "multipart/mixed"
    alt, svg = qr_msg.iter_parts()
    assert alt.get_content_type() == "multipart/alternative"
    plain, related = alt.iter_parts()
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html, png = related.iter_parts()
    assert html.get_content_type() == "text/html"
    assert png.get_content_type() == "image/png"
    assert svg.get_content_type() == "image/svg+xml"
    assert svg.get_content_disposition() == "attachment"
    assert svg.get_filename() == "codigo-qr.svg"
    assert svg.get_content() == qr.qr_svg(URL)
    assert qr_msg["Content-Language"] == "es-MX"
    assert qr_msg["To"] == TO and qr_msg["From"] == SENDER
    assert qr_msg["Message-ID"].endswith("@biblioteca.example>")


def test_inline_qr_matches_the_html_cid_and_decodes_to_the_link(qr_msg):
    html = qr_msg.get_body(("html",)).get_content()
    png = next(p for p in qr_msg.walk() if p.get_content_type() == "image/png")
    cids = re.findall(r'src="cid:([^"]+)"', html)
    assert cids == [png["Content-ID"].strip("<>")]
    assert png.get_content_disposition() == "inline"
    assert png.get_content() == qr.qr_png(URL)
    zxingcpp = pytest.importorskip("zxingcpp")
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.get_content())))
    assert [r.text for r in decoded] == [URL]


def test_both_bodies_carry_the_link_the_reference_and_what_it_means(qr_msg):
    for kind in ("plain", "html"):
        body = qr_msg.get_body((kind,)).get_content()
        assert URL in body
        assert REF in body
        low = " ".join(body.lower().split())  # the text is wrapped
        for phrase in ("no muestra sus datos clínicos", "es personal", "no lo comparta",
                       "revocar mi consentimiento", "anula el anterior",
                       "deja de funcionar", "comprobante del borrado", "derechos arco"):
            assert phrase in low, (kind, phrase)
    assert qr_msg["Subject"] == "Su código QR para seguir su donación de datos clínicos"


def test_no_personal_data_beyond_the_recipient_header(qr_msg):
    rest = without_to(qr_msg)
    local, domain = TO.split("@")
    for text in (TO, local, domain, "maria", "lopez"):
        assert text.encode() not in rest.lower()
    # No other address either: the only "@" outside the headers is in the Content-ID.
    for kind in ("plain", "html"):
        body = qr_msg.get_body((kind,)).get_content()
        body = re.sub(r'cid:[^"]+', "", body)
        assert "@" not in body


@pytest.mark.parametrize(
    "to",
    ["María López <maria@x.example>", "maria@x.example, otro@y.example",
     "maria@x.example\r\nBcc: otro@y.example", "maria", "maria@localhost", ""],
)
def test_only_one_plain_address_is_accepted_and_not_echoed(to):
    with pytest.raises(ValueError) as err:
        mail.qr_message(to, URL, donation_ref=REF, sender=SENDER)
    if to:
        assert to not in str(err.value)


@pytest.mark.parametrize("ref", ["", "Ana", "d-123/../x", "d-" + "a" * 80])
def test_donation_ref_must_be_an_id(ref):
    with pytest.raises(ValueError, match="donation_ref"):
        mail.qr_message(TO, URL, donation_ref=ref, sender=SENDER)


def test_code_message():
    msg = reparse(mail.code_message(TO, "482913", sender=SENDER, minutes=10))
    assert "482913" not in msg["Subject"]
    assert msg["Subject"] == "Su código para entrar a la revisión de su donación"
    for kind in ("plain", "html"):
        body = msg.get_body((kind,)).get_content()
        assert "482913" in body
        assert "vence en 10 minutos" in body
        assert "una sola vez" in body
    assert TO.encode() not in without_to(msg)


@pytest.mark.parametrize(("code", "minutes"), [("12", 10), ("12 34", 10), ("<b>", 10),
                                                ("123456", 0), ("123456", 10_000)])
def test_code_message_refuses_bad_codes_and_durations(code, minutes):
    with pytest.raises(ValueError):
        mail.code_message(TO, code, sender=SENDER, minutes=minutes)


# --- settings ----------------------------------------------------------------------


def test_password_is_read_from_a_0600_file_and_in_no_repr(tmp_path):
    pw = tmp_path / "smtp-password"
    pw.write_text("s3cr3t-pass\n")
    pw.chmod(0o600)
    s = mail.MailSettings("smtp.example", 587, SENDER, "starttls", "traza", pw)
    assert s.password() == "s3cr3t-pass"
    assert "s3cr3t" not in repr(s)


def test_a_password_file_readable_by_others_is_refused(tmp_path):
    pw = tmp_path / "smtp-password"
    pw.write_text("s3cr3t-pass")
    pw.chmod(0o644)
    s = mail.MailSettings("smtp.example", 587, SENDER, "starttls", "traza", pw)
    with pytest.raises(mail.MailError, match="chmod 600") as err:
        s.password()
    assert "s3cr3t" not in str(err.value)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"security": "ssl"}, "security"),
        ({"port": 0}, "port"),
        ({"sender": "Traza <t@x.example>"}, "sender"),
        ({"username": "traza"}, "together"),
        ({"username": "traza", "password_file": "/x"}, "only over TLS"),
        ({"timeout": 0}, "timeout"),
    ],
)
def test_settings_refuse(kwargs, match):
    base = {"host": "127.0.0.1", "port": 2525, "sender": SENDER}
    with pytest.raises(ValueError, match=match):
        mail.MailSettings(**{**base, **kwargs})


# --- send, against a scripted smtplib ------------------------------------------------


class ScriptedSMTP:
    """Stands in for smtplib.SMTP: records calls, raises what the test scripts."""

    instances: list[ScriptedSMTP] = []
    fail: dict[str, BaseException] = {}

    def __init__(self, host, port, timeout=None, context=None):
        self.calls = [("connect", host, port)]
        self.context = context
        ScriptedSMTP.instances.append(self)
        if "connect" in self.fail:
            raise self.fail["connect"]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.calls.append(("quit",))

    def _call(self, name, *args):
        self.calls.append((name, *args))
        if name in self.fail:
            raise self.fail[name]

    def ehlo(self):
        self._call("ehlo")

    def starttls(self, context=None):
        self.context = context
        self._call("starttls")

    def login(self, user, password):
        self._call("login", user, password)

    def send_message(self, msg):
        self._call("send_message", msg["Message-ID"])
        return {}


@pytest.fixture
def scripted(monkeypatch):
    ScriptedSMTP.instances = []
    ScriptedSMTP.fail = {}
    monkeypatch.setattr(smtplib, "SMTP", ScriptedSMTP)
    monkeypatch.setattr(smtplib, "SMTP_SSL", ScriptedSMTP)
    return ScriptedSMTP


def test_send_starttls_with_login_verifies_certificates(scripted, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("s3cr3t")
    pw.chmod(0o600)
    settings = mail.MailSettings("smtp.example", 587, SENDER, "starttls", "traza", pw)
    msg = mail.qr_message(TO, URL, donation_ref=REF, sender=SENDER)
    assert mail.send(settings, msg) == msg["Message-ID"]
    (smtp,) = scripted.instances
    names = [c[0] for c in smtp.calls]
    assert names == ["connect", "ehlo", "starttls", "ehlo", "login", "send_message", "quit"]
    assert ("login", "traza", "s3cr3t") in smtp.calls
    assert smtp.context.verify_mode == ssl.CERT_REQUIRED and smtp.context.check_hostname


def test_send_plain_does_no_tls_and_no_login(scripted):
    settings = mail.MailSettings("127.0.0.1", 2525, SENDER)
    mail.send(settings, mail.code_message(TO, "123456", sender=SENDER, minutes=5))
    assert [c[0] for c in scripted.instances[0].calls] == ["connect", "ehlo", "send_message",
                                                            "quit"]


@pytest.mark.parametrize(
    ("step", "exc", "match", "code"),
    [
        ("connect", ConnectionRefusedError(111, "refused"), "unreachable", None),
        ("connect", TimeoutError(), "unreachable", None),
        ("starttls", smtplib.SMTPNotSupportedError(), "does not offer STARTTLS", None),
        ("login", smtplib.SMTPAuthenticationError(535, b"bad credentials"), "login", 535),
        ("send_message", smtplib.SMTPRecipientsRefused(
            {TO: (550, f"5.1.1 <{TO}> user unknown".encode())}), "recipient", 550),
        ("send_message", smtplib.SMTPSenderRefused(553, b"no", SENDER), "sender", 553),
        ("send_message", smtplib.SMTPDataError(554, f"rejected for {TO}".encode()),
         "message", 554),
        ("send_message", smtplib.SMTPServerDisconnected("gone"), "unreachable", None),
        ("starttls", ssl.SSLCertVerificationError(1, "certificate verify failed"), "TLS", None),
    ],
)
def test_send_failures_are_mail_errors_without_content(scripted, caplog, tmp_path, step, exc,
                                                       match, code):
    scripted.fail = {step: exc}
    pw = tmp_path / "pw"
    pw.write_text("s3cr3t")
    pw.chmod(0o600)
    settings = mail.MailSettings("smtp.example", 587, SENDER, "starttls", "traza", pw)
    msg = mail.qr_message(TO, URL, donation_ref=REF, sender=SENDER)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(mail.MailError, match=match) as err:
        mail.send(settings, msg)
    assert err.value.smtp_code == code
    assert "smtp.example:587" in str(err.value)
    text = str(err.value) + repr(err.value) + caplog.text
    for secret in (TO, "maria", URL, REF, "s3cr3t"):
        assert secret not in text
    assert err.value.__suppress_context__  # the cause (which may quote the address) is hidden


def test_send_logs_the_message_id_only(scripted, caplog):
    caplog.set_level(logging.DEBUG, logger="client.mail")
    msg = mail.qr_message(TO, URL, donation_ref=REF, sender=SENDER)
    mail.send(mail.MailSettings("127.0.0.1", 2525, SENDER), msg)
    assert msg["Message-ID"] in caplog.text
    assert "maria" not in caplog.text and URL not in caplog.text


def test_is_address_is_the_check_messages_use():
    assert mail.is_address("persona@correo.example")
    for bad in ("sin-arroba", "dos@@correo.example", "María <m@correo.example>", "m@ñ.example"):
        assert not mail.is_address(bad)
        with pytest.raises(ValueError):
            mail.qr_message(bad, "http://127.0.0.1:8080/t/" + "a" * 43,
                            donation_ref="d-" + "1" * 24, sender="no-responder@traza.local")
