"""E-mail to the donor: the QR of their donation and the one-time login code, in Spanish.

Messages carry the recipient's address and nothing else personal: no name, no clinical data;
the donation is named by its random id. :func:`send` speaks SMTP with STARTTLS or implicit
TLS when configured (certificates verified) and fails with a :class:`MailError` that never
holds the message, the recipient or the server's free text (which may quote the address).
"""

from __future__ import annotations

import html
import logging
import os
import re
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Literal

from anonymizer.files import LooseSecretError, read_secret

from . import qr

log = logging.getLogger(__name__)

Security = Literal["none", "starttls", "tls"]

# One bare address, no display name: a name would be personal data, and CR/LF or commas
# would smuggle headers or recipients.
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_DONATION_REF = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")  # the contract's id form
_CODE = re.compile(r"^[A-Z0-9]{4,12}$")


class MailError(Exception):
    """A message could not be sent. Names the server and the SMTP code, never the content.

    Attributes
    ----------
    smtp_code : int or None
        The server's reply code when it refused (``550``...), None when it was unreachable.
    """

    def __init__(self, message: str, *, smtp_code: int | None = None) -> None:
        super().__init__(message)
        self.smtp_code = smtp_code


@dataclass(frozen=True)
class MailSettings:
    """Where and how to send: an SMTP server, the sender and the transport security.

    Parameters
    ----------
    host, port : str, int
        The SMTP server (the demo's: ``127.0.0.1:2525``).
    sender : str
        The ``From`` address.
    security : {"none", "starttls", "tls"}
        ``"starttls"`` upgrades a plain connection (port 587), ``"tls"`` is implicit TLS
        (port 465); both verify the server's certificate and name. ``"none"`` is for a
        server on this machine.
    username : str, optional
        Log in as this user (needs ``password_file`` and TLS).
    password_file : path, optional
        A file holding the password, readable by its owner only (0600). The password is read
        when sending and kept nowhere, so it is in no repr, argument list or log.
    timeout : float
        Seconds for connecting and for each SMTP reply (default 10).
    ca_file : path, optional
        CA certificates (PEM) to verify the server with, instead of the system's.
    """

    host: str
    port: int
    sender: str
    security: Security = "none"
    username: str | None = None
    password_file: Path | None = None
    timeout: float = 10
    ca_file: Path | None = None

    def __post_init__(self) -> None:
        if self.security not in ("none", "starttls", "tls"):
            raise ValueError("security must be 'none', 'starttls' or 'tls'")
        if not 0 < int(self.port) < 65536:
            raise ValueError("the SMTP port must be 1-65535")
        _check_address(self.sender, "sender")
        if (self.username is None) != (self.password_file is None):
            raise ValueError("username and password_file go together")
        if self.username is not None and self.security == "none":
            raise ValueError("a password is sent only over TLS: set security")
        if self.timeout <= 0:
            raise ValueError("timeout must be positive")

    def password(self) -> str | None:
        """The password from :attr:`password_file` (None without one).

        Raises
        ------
        MailError
            If the file cannot be read or others may read it.
        """
        if self.password_file is None:
            return None
        path = Path(self.password_file)
        try:
            return read_secret(path).decode("utf-8").rstrip("\r\n")
        except LooseSecretError:
            raise MailError(f"{path} must be readable by its owner only (chmod 600)") from None
        except OSError as e:
            raise MailError(f"cannot read the SMTP password file {path}: {e.strerror}") from None


def is_address(value: str) -> bool:
    """Whether ``value`` is one plain e-mail address (``name@domain``) this module sends to."""
    return isinstance(value, str) and _ADDRESS.fullmatch(value) is not None


def _check_address(value: str, what: str) -> None:
    if not is_address(value):
        # The value is not echoed: it is an e-mail address (personal data) or garbage.
        raise ValueError(f"the {what} must be one plain e-mail address (name@domain)")


def _new_message(to: str, sender: str, subject: str) -> EmailMessage:
    _check_address(to, "recipient")
    _check_address(sender, "sender")
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = to
    msg["Date"] = format_datetime(datetime.now(UTC))
    # The sender's domain, not this host's name (make_msgid's default would leak it).
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[1])
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies back
    return msg


_QR_SUBJECT = "Su código QR para seguir su donación de datos clínicos"

_QR_TEXT = """\
Hola:

Gracias por donar sus datos clínicos a la biblioteca digital de datos
médicos. Su donación ayudará a formar a médicas, médicos y demás
personal de salud, y a entrenar modelos de inteligencia artificial que
apoyen la atención de otras personas.

Con el código QR que viene en este mensaje, o con este enlace, puede
seguir su donación paso a paso:

{url}

QUÉ MUESTRA EL ENLACE
Los pasos de su donación a medida que se registran (consentimiento,
recepción de los datos, desidentificación, revisión, resguardo en la
biblioteca), con la fecha de cada uno y los datos para comprobarlos en
el registro que comparten las instituciones. No muestra sus datos
clínicos, ni su nombre, ni ningún otro dato personal.

ESTE ENLACE ES PERSONAL
Quien tenga este código o este enlace puede ver los pasos de su
donación. No lo comparta ni lo publique. Si cree que alguien más lo
tiene, pida un código nuevo en la institución donde hizo su donación.

UN CÓDIGO NUEVO ANULA EL ANTERIOR
Cada vez que se emite un código nuevo para su donación, el anterior deja
de funcionar. Use siempre el del mensaje más reciente.

SI CAMBIA DE OPINIÓN
Puede revocar su consentimiento en cualquier momento antes de que sus
datos queden resguardados en la biblioteca. Abra el enlace y elija
«Revocar mi consentimiento»: para confirmar que es usted, le enviaremos
un código de un solo uso a este correo. También puede hacerlo en la
institución donde hizo su donación, con la referencia de abajo. Al
revocar, borramos todos los datos de su donación que estén en espera y
le entregamos un comprobante del borrado.

Referencia de su donación: {ref}
Guarde este mensaje. La referencia le sirve para cualquier trámite sobre
su donación, incluido el ejercicio de sus derechos de acceso,
rectificación, cancelación y oposición (derechos ARCO).

Si usted no hizo ninguna donación, puede ignorar este mensaje.

Este mensaje se envió de forma automática; por favor no lo responda.
"""

# The HTML alternatives share their shell (inline styles only: mail clients drop <style>).
_HTML_START = """\
<!DOCTYPE html>
<html lang="es-MX">
<head><meta charset="utf-8"><title>{subject}</title></head>
<body style="font-family: Arial, Helvetica, sans-serif; color: #1a1a1a; line-height: 1.5;
 max-width: 36em; margin: 0 auto; padding: 1em;">
<p>Hola:</p>
"""
_HTML_END = """\
</body>
</html>
"""

_QR_HTML = _HTML_START + """\
<p>Gracias por donar sus datos clínicos a la biblioteca digital de datos médicos. Su
donación ayudará a formar a médicas, médicos y demás personal de salud, y a entrenar
modelos de inteligencia artificial que apoyen la atención de otras personas.</p>
<p>Con este código QR, o con el enlace de abajo, puede seguir su donación paso a paso:</p>
<p style="text-align: center;"><img src="cid:{cid}" width="240" height="240"
 alt="Código QR para seguir su donación"></p>
<p style="word-break: break-all;"><a href="{url}">{url}</a></p>
<h2 style="font-size: 1.05em;">Qué muestra el enlace</h2>
<p>Los pasos de su donación a medida que se registran (consentimiento, recepción de los
datos, desidentificación, revisión, resguardo en la biblioteca), con la fecha de cada uno y
los datos para comprobarlos en el registro que comparten las instituciones. <strong>No
muestra sus datos clínicos, ni su nombre, ni ningún otro dato personal.</strong></p>
<h2 style="font-size: 1.05em;">Este enlace es personal</h2>
<p>Quien tenga este código o este enlace puede ver los pasos de su donación. No lo
comparta ni lo publique. Si cree que alguien más lo tiene, pida un código nuevo en la
institución donde hizo su donación.</p>
<h2 style="font-size: 1.05em;">Un código nuevo anula el anterior</h2>
<p>Cada vez que se emite un código nuevo para su donación, el anterior deja de funcionar.
Use siempre el del mensaje más reciente.</p>
<h2 style="font-size: 1.05em;">Si cambia de opinión</h2>
<p>Puede revocar su consentimiento en cualquier momento antes de que sus datos queden
resguardados en la biblioteca. Abra el enlace y elija «Revocar mi consentimiento»: para
confirmar que es usted, le enviaremos un código de un solo uso a este correo. También
puede hacerlo en la institución donde hizo su donación, con la referencia de abajo. Al
revocar, borramos todos los datos de su donación que estén en espera y le entregamos un
comprobante del borrado.</p>
<p>Referencia de su donación: <strong><code>{ref}</code></strong><br>
Guarde este mensaje. La referencia le sirve para cualquier trámite sobre su donación,
incluido el ejercicio de sus derechos de acceso, rectificación, cancelación y oposición
(derechos ARCO).</p>
<p style="color: #555;">Si usted no hizo ninguna donación, puede ignorar este mensaje.<br>
Este mensaje se envió de forma automática; por favor no lo responda.</p>
""" + _HTML_END


def qr_message(to: str, viewer_url: str, *, donation_ref: str, sender: str) -> EmailMessage:
    """The e-mail that gives a donor the QR of their donation, in Spanish (Mexico).

    Text and HTML alternatives; the HTML shows the QR (PNG, inline by Content-ID), the SVG
    is attached (to print), and both carry the link as text. The message says what the link
    shows (the steps, not clinical data), that it is personal, how to revoke and that a
    newer QR invalidates this one.

    Parameters
    ----------
    to : str
        The donor's address (the only personal data in the message).
    viewer_url : str
        From :func:`client.qr.viewer_url`.
    donation_ref : str
        The random donation id (``d-...``), for the donor's own reference.
    sender : str
        The ``From`` address.
    """
    if not _DONATION_REF.fullmatch(donation_ref or ""):
        raise ValueError("donation_ref must be a donation id (a-z, 0-9, '-')")
    if not viewer_url.startswith(("http://", "https://")) or any(c.isspace() for c in viewer_url):
        raise ValueError("viewer_url must be an http(s) URL from client.qr.viewer_url")
    msg = _new_message(to, sender, _QR_SUBJECT)
    msg.set_content(_QR_TEXT.format(url=viewer_url, ref=donation_ref))
    cid = make_msgid(domain=sender.rsplit("@", 1)[1])  # "<...@domain>"
    esc = html.escape
    msg.add_alternative(
        _QR_HTML.format(subject=esc(_QR_SUBJECT), url=esc(viewer_url, quote=True),
                        ref=esc(donation_ref), cid=esc(cid[1:-1], quote=True)),
        subtype="html",
    )
    html_part = msg.get_payload()[1]
    html_part.add_related(qr.qr_png(viewer_url), maintype="image", subtype="png", cid=cid,
                          disposition="inline", filename="codigo-qr.png")
    msg.add_attachment(qr.qr_svg(viewer_url), maintype="image", subtype="svg+xml",
                       filename="codigo-qr.svg")
    # Set last: building the MIME tree moves Content-* headers into the first part.
    msg["Content-Language"] = "es-MX"
    return msg


_CODE_SUBJECT = "Su código para entrar a la revisión de su donación"

_CODE_TEXT = """\
Hola:

Para entrar a la revisión de su donación de datos clínicos, escriba este
código:

    {code}

El código sirve una sola vez y vence en {minutes} minutos.

Nadie de las instituciones le pedirá este código por teléfono, por
mensaje ni en persona: no se lo dé a nadie. Si usted no pidió entrar,
ignore este mensaje; sin el código nadie puede entrar a su revisión.

Este mensaje se envió de forma automática; por favor no lo responda.
"""

_CODE_HTML = _HTML_START + """\
<p>Para entrar a la revisión de su donación de datos clínicos, escriba este código:</p>
<p style="font-size: 1.8em; letter-spacing: 0.2em; text-align: center;">
<strong><code>{code}</code></strong></p>
<p>El código sirve una sola vez y vence en {minutes} minutos.</p>
<p>Nadie de las instituciones le pedirá este código por teléfono, por mensaje ni en
persona: no se lo dé a nadie. Si usted no pidió entrar, ignore este mensaje; sin el código
nadie puede entrar a su revisión.</p>
<p style="color: #555;">Este mensaje se envió de forma automática; por favor no lo
responda.</p>
""" + _HTML_END


def code_message(to: str, code: str, *, sender: str, minutes: int) -> EmailMessage:
    """The e-mail with a one-time code to log in to the donor review, in Spanish (Mexico).

    The code is in the body only, never in the subject (which lock screens show).

    Parameters
    ----------
    to : str
        The donor's address.
    code : str
        4-12 characters ``A-Z 0-9`` (digits, typically).
    sender : str
        The ``From`` address.
    minutes : int
        How long the code is valid.
    """
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise ValueError("the code must be 4-12 characters A-Z or 0-9")
    if not isinstance(minutes, int) or not 1 <= minutes <= 24 * 60:
        raise ValueError("minutes must be 1-1440")
    msg = _new_message(to, sender, _CODE_SUBJECT)
    msg.set_content(_CODE_TEXT.format(code=code, minutes=minutes))
    msg.add_alternative(
        _CODE_HTML.format(subject=html.escape(_CODE_SUBJECT), code=code, minutes=minutes),
        subtype="html",
    )
    msg["Content-Language"] = "es-MX"
    return msg


def _tls_context(settings: MailSettings) -> ssl.SSLContext:
    # create_default_context verifies the chain and the host name (CERT_REQUIRED).
    try:
        return ssl.create_default_context(
            cafile=os.fspath(settings.ca_file) if settings.ca_file else None
        )
    except (OSError, ssl.SSLError) as e:
        raise MailError(f"cannot load the CA file {settings.ca_file}: {e}") from None


def send(settings: MailSettings, msg: EmailMessage) -> str:
    """Send ``msg`` through the SMTP server of ``settings``; return its Message-ID.

    Raises
    ------
    MailError
        The server is unreachable, its certificate does not verify, it does not offer
        STARTTLS, the login fails, or it refuses the sender, the recipient or the message.
        The error names the server and the SMTP code only.
    """
    if msg["Message-ID"] is None:
        msg["Message-ID"] = make_msgid(domain=settings.sender.rsplit("@", 1)[1])
    message_id = str(msg["Message-ID"])
    where = f"{settings.host}:{settings.port}"
    password = settings.password()
    context = _tls_context(settings) if settings.security != "none" else None
    try:
        if settings.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with smtp:
            smtp.ehlo()
            if settings.security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if settings.username is not None:
                smtp.login(settings.username, password or "")
            smtp.send_message(msg)
    except smtplib.SMTPNotSupportedError:
        raise MailError(f"mail server {where} does not offer STARTTLS") from None
    except smtplib.SMTPAuthenticationError as e:
        raise MailError(f"mail server {where} refused the login (SMTP {e.smtp_code})",
                        smtp_code=e.smtp_code) from None
    except smtplib.SMTPRecipientsRefused as e:
        # e.recipients maps the address to the reply: keep only the code.
        code = next(iter(e.recipients.values()))[0] if e.recipients else None
        raise MailError(f"mail server {where} refused the recipient (SMTP {code})",
                        smtp_code=code) from None
    except smtplib.SMTPSenderRefused as e:
        raise MailError(f"mail server {where} refused the sender (SMTP {e.smtp_code})",
                        smtp_code=e.smtp_code) from None
    except smtplib.SMTPResponseException as e:
        raise MailError(f"mail server {where} refused the message (SMTP {e.smtp_code})",
                        smtp_code=e.smtp_code) from None
    except ssl.SSLCertVerificationError as e:
        why = getattr(e, "verify_message", None) or getattr(e, "reason", None) or "failed"
        raise MailError(f"mail server {where}: TLS certificate not verified ({why})") from None
    except ssl.SSLError as e:
        raise MailError(f"mail server {where}: TLS failed ({getattr(e, 'reason', None)})") from None
    except (OSError, smtplib.SMTPException) as e:
        raise MailError(f"mail server {where} unreachable ({type(e).__name__})") from None
    log.info("mail sent: %s", message_id)
    return message_id


__all__ = ["MailError", "MailSettings", "Security", "code_message", "qr_message", "send"]
