"""``python -m web``: the ``web`` command group on its own (what ``traza web start`` runs)."""

from .cli import web

web(prog_name="traza web")
