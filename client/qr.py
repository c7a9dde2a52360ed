"""The donor's QR: the trace viewer's URL with the capability token, as PNG and SVG.

The URL carries only the random token (``/t/<token>``); the ledger holds its SHA-256
(:attr:`client.donor.DonorSecret.qr_token_sha256`). Nothing personal goes into the URL, so
nothing personal is in the QR.
"""

from __future__ import annotations

import io
import re
from urllib.parse import urlsplit

import qrcode
import qrcode.constants
import qrcode.image.svg

# secrets.token_urlsafe output: the URL-safe base64 alphabet, long enough to be unguessable.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{22,128}$")


def viewer_url(base_url: str, token: str) -> str:
    """The trace viewer's URL for ``token``: ``<base_url>/t/<token>``.

    Parameters
    ----------
    base_url : str
        Where the web app is served, such as ``"http://127.0.0.1:8080"`` or
        ``"https://traza.example.org/app"``; ``http`` or ``https``, with a host, and no
        user, query or fragment (they would end up in every QR).
    token : str
        The capability token (``secrets.token_urlsafe(32)``): 22 to 128 characters of
        ``A-Z a-z 0-9 _ -``.

    Raises
    ------
    ValueError
        If the base or the token has another form (the message does not echo the token).
    """
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        raise ValueError("the token must be 22-128 characters A-Z, a-z, 0-9, '_' or '-'")
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("the viewer base URL must be http(s)://host[:port][/path]")
    if parts.query or parts.fragment or "?" in base_url or "#" in base_url:
        raise ValueError("the viewer base URL must have no query or fragment")
    if parts.username is not None or parts.password is not None:
        raise ValueError("the viewer base URL must have no user or password")
    try:
        _ = parts.port  # a port that is not a number in range raises here
    except ValueError:
        raise ValueError("the viewer base URL has an invalid port") from None
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc}{path}/t/{token}"


def _qr(url: str, box_size: int = 8) -> qrcode.QRCode:
    # Error correction M (15 %): survives a phone screen's glare or a creased print-out
    # while keeping the code small enough for a 40-odd character URL (version 3-4).
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4,
                       box_size=box_size)
    qr.add_data(url)
    qr.make(fit=True)
    return qr


def qr_matrix(url: str) -> list[list[bool]]:
    """The QR's modules (True = dark), quiet zone of 4 modules included."""
    return _qr(url).get_matrix()


def qr_png(url: str) -> bytes:
    """The QR encoding ``url`` as a PNG (8 pixels a module, black on white)."""
    buf = io.BytesIO()
    _qr(url).make_image().save(buf, format="PNG")
    return buf.getvalue()


def qr_svg(url: str) -> bytes:
    """The QR encoding ``url`` as a standalone SVG: one path, no scripts, no external refs."""
    # box_size 10 makes one module one SVG unit (1 mm): the image scales to any size.
    img = _qr(url, box_size=10).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    return img.to_string()


__all__ = ["qr_matrix", "qr_png", "qr_svg", "viewer_url"]
