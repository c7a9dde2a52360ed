"""client.qr: the viewer URL, and QR images that decode back to it."""

from __future__ import annotations

import io
import re
import secrets
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from client import qr

TOKEN = secrets.token_urlsafe(32)


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("http://127.0.0.1:8080", f"http://127.0.0.1:8080/t/{TOKEN}"),
        ("http://127.0.0.1:8080/", f"http://127.0.0.1:8080/t/{TOKEN}"),
        ("https://traza.example.org/app/", f"https://traza.example.org/app/t/{TOKEN}"),
        ("https://[::1]:8443", f"https://[::1]:8443/t/{TOKEN}"),
    ],
)
def test_viewer_url(base, expected):
    assert qr.viewer_url(base, TOKEN) == expected


@pytest.mark.parametrize(
    "base",
    [
        "ftp://127.0.0.1",
        "127.0.0.1:8080",
        "http://",
        "http://127.0.0.1:8080/?x=1",
        "http://127.0.0.1:8080?",
        "http://127.0.0.1:8080/#top",
        "http://user:pw@127.0.0.1:8080",
        "http://127.0.0.1:99999",
        "javascript:alert(1)",
    ],
)
def test_viewer_url_refuses_a_base_with_query_fragment_user_or_no_host(base):
    with pytest.raises(ValueError, match="base URL"):
        qr.viewer_url(base, TOKEN)


@pytest.mark.parametrize(
    "token",
    ["", "short", TOKEN + "/x", TOKEN[:30] + "?a=b", TOKEN[:30] + " x", "ñ" * 30, "a" * 129],
)
def test_viewer_url_refuses_other_tokens_without_echoing_them(token):
    with pytest.raises(ValueError) as err:
        qr.viewer_url("http://127.0.0.1:8080", token)
    if token:
        assert token not in str(err.value)


URL = qr.viewer_url("http://127.0.0.1:8080", TOKEN)


def _png_matrix(png: bytes, size: int) -> list[list[bool]]:
    """Sample the centre of each module of a PNG drawn by qr_png."""
    img = Image.open(io.BytesIO(png)).convert("L")
    box = img.width // size
    assert img.width == img.height == box * size
    return [[img.getpixel((x * box + box // 2, y * box + box // 2)) < 128 for x in range(size)]
            for y in range(size)]


def test_png_has_the_qr_modules():
    png = qr.qr_png(URL)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    matrix = qr.qr_matrix(URL)
    assert _png_matrix(png, len(matrix)) == matrix


def test_png_decodes_to_the_url_with_error_correction_m():
    zxingcpp = pytest.importorskip("zxingcpp")
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.qr_png(URL))))
    assert [r.text for r in results] == [URL]
    assert results[0].format == zxingcpp.BarcodeFormat.QRCode
    assert results[0].ec_level == "M"


def test_matrix_changes_with_the_url():
    other = qr.viewer_url("http://127.0.0.1:8080", secrets.token_urlsafe(32))
    assert qr.qr_matrix(other) != qr.qr_matrix(URL)


def test_svg_is_one_path_without_external_references_and_has_the_qr_modules():
    svg = qr.qr_svg(URL)
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    children = list(root.iter())[1:]
    assert [c.tag for c in children] == ["{http://www.w3.org/2000/svg}path"]
    for el in root.iter():
        for name, value in el.attrib.items():
            assert "href" not in name
            assert "url(" not in value
    for bad in (b"<script", b"<image", b"href", b"<foreignObject", b"<style"):
        assert bad not in svg
    # Each dark module is a unit square "Mx,yH..." in module units, quiet zone included.
    dark = {(int(x), int(y)) for x, y in re.findall(r"M(\d+),(\d+)H", children[0].attrib["d"])}
    matrix = qr.qr_matrix(URL)
    expected = {(x, y) for y, row in enumerate(matrix) for x, on in enumerate(row) if on}
    assert dark == expected
