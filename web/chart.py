"""Donations by state over time as an SVG drawn on the server (no script, no inline style).

The CSP forbids inline script and style, so the chart is markup with presentation
attributes only: one stacked bar per month, a segment per state, a legend, and a ``<title>``
and ``<desc>`` (with the counts as text) for screen readers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from xml.sax.saxutils import escape

__all__ = ["COLOURS", "state_chart"]

# Colour-blind-safe (Okabe-Ito), each at least 3:1 against white (WCAG 1.4.11 graphics).
COLOURS = {
    "REGISTERED": "#6b6b6b", "CONSENTED": "#0072b2", "ACQUIRED": "#56419e",
    "DEIDENTIFIED": "#a65400", "DIAGNOSED": "#8a5a00", "UNDER_REVIEW": "#b3007a",
    "CHANGES_REQUESTED": "#c0392b", "ACCEPTED": "#00795a", "STORED": "#005f38",
    "REVOKED": "#3d3d3d", "ERASED": "#1a1a1a",
}
W, H, LEFT, BOTTOM, TOP = 720, 320, 48, 40, 16


def state_chart(data: Iterable[tuple[str, str, int]], names: Mapping[str, str], *,
                months: int = 12,
                title: str = "Donaciones por estado y mes de registro") -> str:
    """``data``: (``YYYY-MM``, state, count) rows -> an SVG document (the last ``months``)."""
    table: dict[str, dict[str, int]] = {}
    for month, state, n in data:
        if month:
            row = table.setdefault(str(month), {})
            row[state] = row.get(state, 0) + int(n)
    keys = sorted(table)[-months:]
    states = [s for s in COLOURS if any(s in table[m] for m in keys)]
    peak = max((sum(table[m].values()) for m in keys), default=0) or 1
    plot_w, plot_h = W - LEFT - 8, H - TOP - BOTTOM - 40
    slot = plot_w / max(len(keys), 1)
    desc = "; ".join(f"{m}: " + ", ".join(f"{names.get(s, s)} {table[m][s]}"
                                          for s in COLOURS if s in table[m]) for m in keys)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" '
           f'aria-labelledby="t d" font-family="sans-serif" font-size="12">',
           f'<title id="t">{escape(title)}</title>',
           f'<desc id="d">{escape(desc or "-")}</desc>',
           f'<rect x="0" y="0" width="{W}" height="{H}" fill="#ffffff"/>',
           f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{W - 8}" y2="{TOP + plot_h}" '
           'stroke="#4a4a4a"/>',
           f'<text x="{LEFT - 6}" y="{TOP + 10}" text-anchor="end" fill="#1a1a1a">{peak}</text>',
           f'<text x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end" fill="#1a1a1a">0</text>']
    for i, m in enumerate(keys):
        x = LEFT + i * slot + slot * 0.15
        y = TOP + plot_h
        for s in states:
            n = table[m].get(s, 0)
            if not n:
                continue
            h = plot_h * n / peak
            y -= h
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" '
                       f'height="{h:.1f}" fill="{COLOURS[s]}"><title>'
                       f'{escape(m)} {escape(names.get(s, s))}: {n}</title></rect>')
        out.append(f'<text x="{x + slot * 0.35:.1f}" y="{TOP + plot_h + 16}" '
                   f'text-anchor="middle" fill="#1a1a1a">{escape(m)}</text>')
    ly = H - 18
    lx = LEFT
    for s in states:
        label = names.get(s, s)
        out.append(f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" fill="{COLOURS[s]}"/>')
        out.append(f'<text x="{lx + 16}" y="{ly}" fill="#1a1a1a">{escape(label)}</text>')
        lx += 24 + 7 * len(label)
    out.append("</svg>")
    return "\n".join(out)


