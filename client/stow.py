"""DICOMweb STOW-RS (``POST /studies``): the second door of the PACS intake channel.

One request is one transfer of :class:`client.pacs.StoreSCP`: every part goes through the
same checks (study expected for an open donation, limits) and is staged encrypted, then one
Acquire step per donation is recorded *before* the response is sent. Parts are PS3.10
files (``multipart/related; type="application/dicom"``), read into memory (the request is
bounded by ``max_bytes``), never written to disk.

The response (PS3.18 10.5.3) is ``application/dicom+json`` with the Referenced SOP Sequence
(00081199) and the Failed SOP Sequence (00081198), whose Failure Reason (00081197) is the
C-STORE status the SCP would answer (``0x0124`` not expected, ``0xA700`` limits, ``0xC000``
not DICOM, ``0xA701`` staging down): HTTP 200 when all were stored, 202 when some were, 409
when none was. With TLS files the server speaks TLS 1.2+ and requires the sender's
certificate, as the SCP does. No request line, address or UID is logged.
"""

from __future__ import annotations

import io
import json
import logging
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pydicom

from .pacs import CANNOT_UNDERSTAND, SUCCESS, StoreSCP, Transfer

log = logging.getLogger("traza.pacs")
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.I)
_TYPE = re.compile(r'type="?application/dicom"?(;|$)', re.I)


def split_multipart(body: bytes, boundary: str) -> list[tuple[dict[str, str], bytes]]:
    """The parts of a ``multipart/related`` body: (headers, bytes), exactly as sent."""
    delim = b"--" + boundary.encode("latin-1")
    parts = []
    for chunk in body.split(delim)[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("a part has no header end")
        headers = {}
        for line in head.decode("latin-1").split("\r\n"):
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        parts.append((headers, data[:-2] if data.endswith(b"\r\n") else data))
    return parts


def _ref(ds: pydicom.Dataset | None) -> dict[str, Any]:
    if ds is None:
        return {}
    return {"00081150": {"vr": "UI", "Value": [str(ds.SOPClassUID)]},
            "00081155": {"vr": "UI", "Value": [str(ds.SOPInstanceUID)]}}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib's name)
        pass  # the request line can hold a study UID, the address is personal data

    def _reply(self, status: int, body: dict[str, Any] | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/dicom+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        scp = self.server.scp
        if self.path.rstrip("/") != "/studies":
            return self._reply(HTTPStatus.NOT_FOUND)
        ctype = self.headers.get("Content-Type", "")
        boundary = _BOUNDARY.search(ctype)
        if not ctype.lower().startswith("multipart/related") or not _TYPE.search(ctype) \
                or boundary is None:
            return self._reply(HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return self._reply(HTTPStatus.LENGTH_REQUIRED)
        if length > scp.settings.max_bytes:
            return self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        try:
            parts = split_multipart(self.rfile.read(length), boundary.group(1))
        except ValueError:
            return self._reply(HTTPStatus.BAD_REQUEST)
        t, stored, failed = Transfer(), [], []
        for _headers, data in parts:
            try:
                ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
                status = scp.receive(t, lambda d=data: d, len(data),
                                     lambda ds=ds: str(ds.StudyInstanceUID))
            except Exception:  # not a PS3.10 file
                ds, status = None, CANNOT_UNDERSTAND
            if status == SUCCESS:
                stored.append(_ref(ds))
            else:
                failed.append({**_ref(ds), "00081197": {"vr": "US", "Value": [status]}})
        scp.finish(t)
        body: dict[str, Any] = {}
        if stored:
            body["00081199"] = {"vr": "SQ", "Value": stored}
        if failed:
            body["00081198"] = {"vr": "SQ", "Value": failed}
        code = (HTTPStatus.OK if stored and not failed else
                HTTPStatus.ACCEPTED if stored else HTTPStatus.CONFLICT)
        self._reply(code, body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], scp: StoreSCP) -> None:
        self.scp = scp
        super().__init__(address, _Handler)
        if scp.settings.tls is not None:
            # the handshake runs in the request's thread, not in the accept loop
            self.socket = scp.settings.tls.context().wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False)


class StowRS:
    """``POST /studies`` on ``host:port`` over ``scp``'s checks, staging and steps."""

    def __init__(self, scp: StoreSCP, port: int, host: str | None = None) -> None:
        self._server = _Server((host or scp.settings.host, port), scp)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> StowRS:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)

    def __enter__(self) -> StowRS:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["StowRS", "split_multipart"]
