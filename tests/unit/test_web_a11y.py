"""WCAG 2.1 AA basics checked without a browser: colour contrast of the stylesheet's text
and graphics colours, and every form control of the console labelled."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from web.chart import COLOURS

CSS = (Path(__file__).resolve().parents[2] / "web" / "static" / "traza.css").read_text()


def luminance(hex_colour: str) -> float:
    """WCAG 2.1 relative luminance of ``#rrggbb``."""
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_contrast_formula():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("name", ["ink", "muted", "accent"])
def test_text_colours_reach_4_5_to_1_on_white(name):
    colour = re.search(rf"--{name}: (#[0-9a-f]{{6}})", CSS).group(1)
    assert contrast(colour, "#ffffff") >= 4.5


def test_every_literal_text_colour_in_the_stylesheet_reaches_4_5_to_1():
    colours = set(re.findall(r"(?<![-\w])color: (#[0-9a-f]{6})", CSS))
    assert colours  # the marks (passed / failed) at least
    for colour in colours:
        assert contrast(colour, "#ffffff") >= 4.5, colour
    assert contrast("#ffffff", re.search(r"--accent: (#[0-9a-f]{6})", CSS).group(1)) >= 4.5


def test_chart_colours_reach_3_to_1_against_white():  # WCAG 1.4.11 non-text contrast
    for state, colour in COLOURS.items():
        assert contrast(colour, "#ffffff") >= 3.0, state


class _Controls(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.labels: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.ids.append(a.get("id", ""))
        if tag == "label":
            self.labels.add(a.get("for", ""))


@pytest.mark.parametrize("path", ["/regulator/", "/regulator/audit"])
def test_every_console_control_has_a_label(tmp_path, path):
    from client.db import Database
    from client.db.database import sqlite_url
    from web import WebConfig, create_app

    db = Database.open(sqlite_url(tmp_path / "a.db"))
    app = create_app(WebConfig(database_url=str(db.url)), database=db)
    client = app.test_client()
    from tests.unit.web_fixtures import staff_session
    staff_session(client, db, {"kind": "staff", "subject": "r", "role": "regulator",
                               "org": "IMSSMSP"})
    parser = _Controls()
    parser.feed(client.get(path).get_data(as_text=True))
    db.dispose()
    assert parser.ids and all(i and i in parser.labels for i in parser.ids), parser.ids
