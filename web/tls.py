"""Serving over HTTPS when a certificate is configured (``traza web serve --tls-cert``).

waitress speaks plain HTTP only, so with a certificate the same app runs under cheroot
(CherryPy's WSGI server) with the standard library's TLS: TLS 1.2 or newer, the key file
refused unless only its owner may read it.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from anonymizer.files import read_secret

__all__ = ["tls_server"]


def tls_server(app: Any, host: str, port: int, *, cert: Path, key: Path,
               threads: int = 4) -> Any:
    """A cheroot server for ``app`` on ``host:port`` over TLS (call ``.start()``/``.stop()``).

    Raises :class:`anonymizer.files.LooseSecretError` when ``key`` is readable by others.
    """
    from cheroot import wsgi
    from cheroot.ssl.builtin import BuiltinSSLAdapter

    read_secret(key)  # the mode check only: the adapter loads the file itself
    adapter = BuiltinSSLAdapter(str(cert), str(key))
    adapter.context.minimum_version = ssl.TLSVersion.TLSv1_2
    server = wsgi.Server((host, port), app, numthreads=threads, server_name="traza")
    server.ssl_adapter = adapter
    return server
