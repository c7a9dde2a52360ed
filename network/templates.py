"""Render node environments and configs from ``network/templates/`` (Jinja2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def render(name: str, **values: Any) -> str:
    return _env.get_template(name).render(**values)


def render_file(name: str, dest: Path, **values: Any) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(render(name, **values))
    return dest


def render_env(name: str, **values: Any) -> dict[str, str]:
    """Render a ``KEY=value`` env template into a dict (comments and blanks skipped)."""
    out: dict[str, str] = {}
    for line in render(name, **values).splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key] = value
    return out
